/**
 * KVMsg: the key-value message of 12/CHP, the Clone pattern of the ZeroMQ
 * Guide (chapter 5, "Reliable Pub-Sub (Clone Pattern)"), with the Guide's
 * `kvmsg` API. One message is five frames:
 *
 * ```
 * [key][sequence: int64 big-endian, 8 bytes][uuid: 16 bytes or empty][properties: "name=value\n"...][body]
 * ```
 *
 * The Guide's first models (kvsimple) use three frames, `[key][sequence][body]`:
 * {@link KVMsg.decodeSimple} and {@link KVMsg.encodeSimple}. An empty body
 * means "delete the key". Decoders return a `ProtocolError` naming the bad
 * frame; they never throw.
 * @module
 */
import { randomUUID } from "node:crypto";
import { InvalidArgumentError, ProtocolError, describeValue, type Pollable, type Sendable } from "@zkit/core";

/** Frames of a kvmsg (12/CHP). */
export const KVMSG_FRAMES = 5;
/** Frames of a kvsimple message (the Guide's first Clone models). */
export const KVSIMPLE_FRAMES = 3;
/** Bytes of the uuid frame when it is set. */
export const KVMSG_UUID_BYTES = 16;
/** The property that asks the server to delete the key after this many seconds (12/CHP). */
export const KVMSG_TTL = "ttl";

const EMPTY = Buffer.alloc(0);

/** What a {@link KVMsg} is made of; every field is optional. */
export interface KVMsgInit {
  /** The key, a string (the Guide's keys are paths like `/client/42`). @defaultValue "" */
  key?: string;
  /** The sequence number the server assigned. @defaultValue 0 */
  sequence?: number;
  /** The uuid: 16 bytes, or empty for none. @defaultValue empty */
  uuid?: Buffer;
  /** The properties, in order. @defaultValue none */
  properties?: Iterable<readonly [string, string]> | Record<string, string>;
  /** The value; empty means delete. A string is taken as UTF-8. @defaultValue empty */
  body?: Buffer | string;
}

/**
 * A key-value message (12/CHP). Fields are plain properties; setters check
 * what the wire cannot carry (a property name with `=` or a newline, a
 * value with a newline, a uuid that is not 16 bytes, a sequence that is
 * not a whole number from 0 to 2^53 - 1).
 *
 * @example
 * ```ts
 * const msg = new KVMsg({ key: "/client/42", body: "hello" });
 * msg.setUuid();
 * msg.ttl = 30;            // property ttl=30: the server deletes it in 30 s
 * await msg.send(publisher);
 * const got = await KVMsg.recv(subscriber); // throws ProtocolError if malformed
 * got.store(map);          // set, or delete when the body is empty
 * ```
 */
export class KVMsg {
  /** The key. */
  key: string;
  #sequence = 0;
  #uuid: Buffer = EMPTY;
  /** The value; empty means delete. */
  body: Buffer;
  readonly #props = new Map<string, string>();

  /**
   * @param init - the fields, or a sequence number (the Guide's `kvmsg_new (sequence)`)
   * @throws `InvalidArgumentError` for a field the wire cannot carry
   */
  constructor(init: KVMsgInit | number = {}) {
    const i: KVMsgInit = typeof init === "number" ? { sequence: init } : init;
    if (typeof i !== "object" || i === null)
      throw new InvalidArgumentError(`new KVMsg(init): init must be an object { key, sequence, uuid, properties, body } or a sequence number, got ${describeValue(i)}`);
    if (i.key !== undefined && typeof i.key !== "string") throw new InvalidArgumentError(`KVMsg key must be a string, got ${describeValue(i.key)}`);
    this.key = i.key ?? "";
    this.body = toBody(i.body ?? EMPTY);
    if (i.sequence !== undefined) this.sequence = i.sequence;
    if (i.uuid !== undefined) this.uuid = i.uuid;
    if (i.properties !== undefined) {
      const entries = Symbol.iterator in Object(i.properties) ? (i.properties as Iterable<readonly [string, string]>) : Object.entries(i.properties);
      for (const [name, value] of entries) this.setProp(name, value);
    }
  }

  /** The sequence number (0 to 2^53 - 1; the wire has 8 bytes, JavaScript counts exactly up to 2^53). */
  get sequence(): number {
    return this.#sequence;
  }

  set sequence(value: number) {
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`KVMsg sequence must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${describeValue(value)}`);
    this.#sequence = value;
  }

  /** The uuid: 16 bytes, or empty when not set. */
  get uuid(): Buffer {
    return this.#uuid;
  }

  set uuid(value: Buffer) {
    if (!Buffer.isBuffer(value) || (value.length !== 0 && value.length !== KVMSG_UUID_BYTES)) {
      throw new InvalidArgumentError(`KVMsg uuid must be a Buffer of ${KVMSG_UUID_BYTES} bytes (or empty for none), got ${describeValue(value)}; setUuid() makes a fresh one`);
    }
    this.#uuid = value;
  }

  /** The uuid as 32 hex digits, or `""` when not set. */
  get uuidHex(): string {
    return this.#uuid.toString("hex");
  }

  /** Gives it a fresh random uuid (the Guide's `kvmsg_set_uuid`) and returns it. */
  setUuid(): Buffer {
    this.#uuid = Buffer.from(randomUUID().replace(/-/g, ""), "hex");
    return this.#uuid;
  }

  /** The body's size in bytes (the Guide's `kvmsg_size`); 0 means delete. */
  get size(): number {
    return this.body.length;
  }

  /** The body as UTF-8 text. */
  get text(): string {
    return this.body.toString("utf8");
  }

  /** A property's value, or `undefined` (the Guide's `kvmsg_get_prop` returns `""`). */
  getProp(name: string): string | undefined {
    return this.#props.get(name);
  }

  /**
   * Sets a property (replacing one of the same name, in place).
   * @throws `InvalidArgumentError` when `name` is empty or holds `=` or a
   *   newline, or `value` holds a newline: the wire form `name=value\n`
   *   could not carry them
   */
  setProp(name: string, value: string | number): this {
    if (typeof name !== "string" || name === "" || /[=\n]/.test(name)) {
      throw new InvalidArgumentError(`KVMsg property name must be a non-empty string without "=" or a newline, got ${describeValue(name)}`);
    }
    const v = typeof value === "number" ? String(value) : value;
    if (typeof v !== "string" || v.includes("\n"))
      throw new InvalidArgumentError(`KVMsg property ${name}: the value must be a string (or number) without a newline, got ${describeValue(value)}`);
    this.#props.set(name, v);
    return this;
  }

  /** Removes a property; true if it was there. */
  deleteProp(name: string): boolean {
    return this.#props.delete(name);
  }

  /** The properties, in order. */
  get properties(): ReadonlyMap<string, string> {
    return this.#props;
  }

  /**
   * The `ttl` property as a number, or `undefined` when absent or not a
   * number. Set it to a number of seconds (or `undefined` to remove it).
   */
  get ttl(): number | undefined {
    const raw = this.#props.get(KVMSG_TTL);
    if (raw === undefined || raw.trim() === "") return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }

  set ttl(seconds: number | undefined) {
    if (seconds === undefined) {
      this.#props.delete(KVMSG_TTL);
      return;
    }
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError(`KVMsg ttl must be a number of seconds >= 0, got ${describeValue(seconds)}`);
    this.setProp(KVMSG_TTL, seconds);
  }

  /** The properties frame: `name=value\n` for each, in order; empty for none. */
  encodeProperties(): Buffer {
    if (this.#props.size === 0) return EMPTY;
    let s = "";
    for (const [name, value] of this.#props) s += `${name}=${value}\n`;
    return Buffer.from(s, "utf8");
  }

  /** The five frames of 12/CHP: `[key][sequence][uuid][properties][body]`. */
  encode(): Buffer[] {
    return [Buffer.from(this.key, "utf8"), encodeSequence(this.#sequence), this.#uuid, this.encodeProperties(), this.body];
  }

  /** The three frames of kvsimple: `[key][sequence][body]` (no uuid, no properties). */
  encodeSimple(): Buffer[] {
    return [Buffer.from(this.key, "utf8"), encodeSequence(this.#sequence), this.body];
  }

  /**
   * Decodes the five frames of 12/CHP.
   * @returns the message, or a `ProtocolError` naming the bad frame
   */
  static decode(frames: readonly Buffer[]): KVMsg | ProtocolError {
    const what = "kvmsg";
    if (!Array.isArray(frames)) return new ProtocolError(`${what}: expected an array of frames`);
    if (frames.length !== KVMSG_FRAMES) return new ProtocolError(`${what}: expected ${KVMSG_FRAMES} frames [key][sequence][uuid][properties][body], got ${frames.length}`);
    const sequence = decodeSequence(frames[1]!, what);
    if (sequence instanceof ProtocolError) return sequence;
    const uuid = frames[2]!;
    if (uuid.length !== 0 && uuid.length !== KVMSG_UUID_BYTES) return new ProtocolError(`${what}: frame 2 (uuid) must be ${KVMSG_UUID_BYTES} bytes or empty, got ${uuid.length}`, 2);
    const msg = new KVMsg();
    msg.key = frames[0]!.toString("utf8");
    msg.#sequence = sequence;
    msg.#uuid = uuid;
    const props = decodeProperties(frames[3]!, msg.#props);
    if (props !== undefined) return props;
    msg.body = frames[4]!;
    return msg;
  }

  /**
   * Decodes the three frames of kvsimple, `[key][sequence][body]`.
   * @returns the message, or a `ProtocolError` naming the bad frame
   */
  static decodeSimple(frames: readonly Buffer[]): KVMsg | ProtocolError {
    const what = "kvsimple message";
    if (!Array.isArray(frames)) return new ProtocolError(`${what}: expected an array of frames`);
    if (frames.length !== KVSIMPLE_FRAMES) return new ProtocolError(`${what}: expected ${KVSIMPLE_FRAMES} frames [key][sequence][body], got ${frames.length}`);
    const sequence = decodeSequence(frames[1]!, what);
    if (sequence instanceof ProtocolError) return sequence;
    const msg = new KVMsg();
    msg.key = frames[0]!.toString("utf8");
    msg.#sequence = sequence;
    msg.body = frames[2]!;
    return msg;
  }

  /**
   * Receives one kvmsg from `sock` (the Guide's `kvmsg_recv`).
   * @throws (rejects) `ProtocolError` for a malformed message (it is consumed);
   *   whatever the receive rejects with (`ClosedError`, `TimeoutError`)
   */
  static async recv(sock: Pollable): Promise<KVMsg> {
    const m = KVMsg.decode(await sock.receive());
    if (m instanceof ProtocolError) throw m;
    return m;
  }

  /** Receives one kvsimple message (three frames) from `sock`; see {@link KVMsg.recv}. */
  static async recvSimple(sock: Pollable): Promise<KVMsg> {
    const m = KVMsg.decodeSimple(await sock.receive());
    if (m instanceof ProtocolError) throw m;
    return m;
  }

  /** Sends the five frames on `sock` (the Guide's `kvmsg_send`); resolves when libzmq has them. */
  send(sock: Sendable): Promise<void> {
    return sock.send(this.encode());
  }

  /** Sends the three kvsimple frames on `sock`. */
  sendSimple(sock: Sendable): Promise<void> {
    return sock.send(this.encodeSimple());
  }

  /**
   * Stores it into `map` under its key (the Guide's `kvmsg_store`): set when
   * the body is not empty, delete when it is.
   * @returns true if it was stored, false if it deleted the key
   */
  store(map: Map<string, KVMsg>): boolean {
    if (this.body.length === 0) {
      map.delete(this.key);
      return false;
    }
    map.set(this.key, this);
    return true;
  }

  /** A copy (the body and uuid buffers are shared: neither is changed in place). */
  dup(): KVMsg {
    const c = new KVMsg();
    c.key = this.key;
    c.#sequence = this.#sequence;
    c.#uuid = this.#uuid;
    c.body = this.body;
    for (const [n, v] of this.#props) c.#props.set(n, v);
    return c;
  }

  /** True if every field is equal, byte for byte. */
  equals(other: KVMsg): boolean {
    if (this.key !== other.key || this.#sequence !== other.#sequence || !this.#uuid.equals(other.#uuid) || !this.body.equals(other.body)) return false;
    return this.encodeProperties().equals(other.encodeProperties());
  }

  /** One line for logs (the Guide's `kvmsg_dump`): `[seq:7][key:/a][size:5] uuid=... ttl=30 "hello"`. */
  dump(): string {
    const props = [...this.#props].map(([n, v]) => ` ${n}=${v}`).join("");
    const printable = this.body.length <= 64 && /^[\x20-\x7e]*$/.test(this.body.toString("latin1"));
    const body = printable ? JSON.stringify(this.body.toString("latin1")) : `${this.body.subarray(0, 32).toString("hex")}${this.body.length > 32 ? "..." : ""}`;
    return `[seq:${this.#sequence}][key:${this.key}][size:${this.body.length}]${this.#uuid.length ? ` uuid=${this.uuidHex}` : ""}${props} ${body}`;
  }
}

/** The sequence frame: 8 bytes, big-endian. */
export function encodeSequence(sequence: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(sequence));
  return b;
}

/**
 * Reads a sequence frame (8 bytes, big-endian, 0 to 2^53 - 1).
 * @returns the number, or a `ProtocolError` for frame 1
 */
export function decodeSequence(frame: Buffer, what = "kvmsg"): number | ProtocolError {
  if (frame.length !== 8) return new ProtocolError(`${what}: frame 1 (sequence) must be 8 bytes, got ${frame.length}`, 1);
  const n = frame.readBigInt64BE();
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) return new ProtocolError(`${what}: frame 1 (sequence) ${n} is outside 0 to 2^53 - 1`, 1);
  return Number(n);
}

function decodeProperties(frame: Buffer, into: Map<string, string>): ProtocolError | undefined {
  if (frame.length === 0) return undefined;
  const text = frame.toString("utf8");
  const lines = text.split("\n");
  // "a=1\nb=2\n" splits into [..., ""]: the last newline ends a line; a last line without one is accepted
  if (lines[lines.length - 1] === "") lines.pop();
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq <= 0) return new ProtocolError(`kvmsg: frame 3 (properties) must be lines of name=value, got ${JSON.stringify(line.slice(0, 40))}`, 3);
    into.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return undefined;
}

function toBody(body: Buffer | string): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (Buffer.isBuffer(body)) return body;
  if ((body as unknown) instanceof Uint8Array) return Buffer.from((body as Uint8Array).buffer, (body as Uint8Array).byteOffset, (body as Uint8Array).byteLength);
  throw new InvalidArgumentError(`KVMsg body must be a Buffer or a string, got ${describeValue(body)}`);
}
