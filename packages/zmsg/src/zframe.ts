/**
 * ZFrame: one message frame, CZMQ's `zframe_t` over a Node.js `Buffer`.
 * @module
 */
import { InvalidArgumentError } from "@zkit/core";
import { receivePart, receivePartNowait, sendParts, type ReadableSource } from "./parts.js";
import type { MessageSink, MessageSource } from "./zmsg.js";

/**
 * Anything zmsg accepts as one frame: bytes (kept as they are, no copy), a
 * string (UTF-8 encoded) or a {@link ZFrame} (its Buffer is used).
 */
export type FrameInput = Buffer | Uint8Array | ArrayBuffer | string | ZFrame;

/**
 * Turns a {@link FrameInput} into a Buffer without copying bytes when it
 * already is bytes. Throws an InvalidArgumentError naming `what` otherwise.
 * @internal
 */
export function toBuffer(input: unknown, what: string): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (typeof input === "string") return Buffer.from(input, "utf8");
  if (input instanceof ZFrame) return input.data;
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return Buffer.from(input);
  throw new InvalidArgumentError(`${what} must be a Buffer, Uint8Array, ArrayBuffer, string or ZFrame, got ${describe(input)}`);
}

/** A short description of a value's type for error messages. @internal */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an object (${(value as object).constructor?.name ?? "Object"})`;
  if (typeof value === "string") return `a string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Returns true when CZMQ's printer would show these bytes as hex: any byte
 * below 9 (tab) or above 127.
 * @internal
 */
function looksBinary(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b < 9 || b > 127) return true;
  }
  return false;
}

/**
 * Formats one frame the way CZMQ's `zframe_print` does: `[NNN] ` (the size,
 * at least three digits) then the text, or uppercase hex when any byte is
 * below 9 or above 127; text is cut at 70 characters and hex at 35 bytes,
 * with `...` after a cut.
 * @internal
 */
export function formatFrame(data: Buffer, prefix = ""): string {
  const size = data.length;
  const binary = looksBinary(data);
  const max = binary ? 35 : 70;
  const shown = size > max ? data.subarray(0, max) : data;
  const body = binary ? shown.toString("hex").toUpperCase() : shown.toString("latin1");
  return `${prefix}[${String(size).padStart(3, "0")}] ${body}${size > max ? "..." : ""}`;
}

/**
 * One frame of a message (CZMQ `zframe_t`): a thin wrapper around one
 * `Buffer`. Constructing a frame from bytes does not copy them; {@link dup}
 * does.
 *
 * @example
 * ```ts
 * const frame = new ZFrame("Hello");
 * frame.size;            // 5
 * frame.streq("Hello");  // true
 * frame.strhex();        // "48656C6C6F"
 * ```
 */
export class ZFrame {
  /**
   * True when more parts of the same message follow this frame (CZMQ
   * `zframe_more`, `zframe_set_more`): set by {@link ZFrame.recv}, false
   * for a frame made any other way. {@link ZFrame.send} does not read it;
   * pass `{ more: true }` there.
   */
  more = false;
  #data: Buffer;
  /** Set on frames a ZMsg hands out: carries a reset into the message. */
  #owner: ((old: Buffer, data: Buffer) => void) | undefined;

  /**
   * Creates a frame (CZMQ `zframe_new`, `zframe_new_empty`, `zframe_from`).
   *
   * @param data - the content: bytes are used as they are (no copy), a
   *   string is UTF-8 encoded, a ZFrame shares its Buffer; omit for an empty frame
   * @throws `InvalidArgumentError` for anything else
   */
  constructor(data?: FrameInput) {
    this.#data = data === undefined ? Buffer.alloc(0) : toBuffer(data, "frame data");
  }

  /**
   * Creates a frame from a hexadecimal string such as `"00FF10"` (either
   * case), the inverse of {@link strhex}.
   *
   * @throws `InvalidArgumentError` when `hex` has an odd length or a
   *   character that is not a hex digit
   */
  static fromHex(hex: string): ZFrame {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new InvalidArgumentError(`ZFrame.fromHex needs an even number of hex digits (0-9, a-f, A-F), got ${describe(hex)}`);
    }
    return new ZFrame(Buffer.from(hex, "hex"));
  }

  /**
   * Receives one part of a message (CZMQ `zframe_recv`): the next part of a
   * message already being read, or the first part of the next message.
   * {@link ZFrame.more} says whether parts remain; read them with more
   * `ZFrame.recv` calls, or all at once with `ZMsg.recv`.
   *
   * @example
   * ```ts
   * do {
   *   const frame = await ZFrame.recv(sock);
   *   console.log(frame.dump());
   *   if (!frame.more) break;
   * } while (true);
   * ```
   * @param source - a `ZSocket`, or anything with `receive(): Promise<Buffer[]>`
   * @returns the frame; rejects as the socket's `receive()` rejects
   */
  static async recv(source: MessageSource): Promise<ZFrame> {
    return partFrame(await receivePart(source));
  }

  /**
   * Receives one part only if it can be had without waiting (CZMQ
   * `zframe_recv_nowait`): the next part of a message being read, or the
   * first part of a message the socket has `readable`; else `null`.
   *
   * @param source - a `ZSocket`, or anything with `receive()` and `readable`
   */
  static async recvNowait(source: ReadableSource): Promise<ZFrame | null> {
    const part = await receivePartNowait(source);
    return part === null ? null : partFrame(part);
  }

  /**
   * Sends the frame (CZMQ `zframe_send`). With `more`, it is held as the
   * first part of a message that the next send without `more` on the same
   * socket completes (CZMQ's `ZFRAME_MORE`); held parts go out together.
   * The frame keeps its bytes (CZMQ's `ZFRAME_REUSE`: JavaScript frees them
   * when nothing uses them).
   *
   * @example
   * ```ts
   * await new ZFrame(identity).send(router, { more: true });
   * await new ZFrame("").send(router, { more: true });
   * await new ZFrame("World").send(router); // one message of three frames
   * ```
   * @param sink - a `ZSocket`, or anything with `send(frames: Buffer[])`
   * @param options - `more: true` to hold it for the rest of its message
   * @returns the socket's send promise (resolves at once with `more`)
   */
  send(sink: MessageSink, options?: { more?: boolean }): Promise<void> {
    return sendParts(sink, [this.#data], options?.more === true);
  }

  /** The frame's bytes (the Buffer itself, not a copy). CZMQ `zframe_data`. */
  get data(): Buffer {
    return this.#data;
  }

  /** Number of bytes in the frame. CZMQ `zframe_size`. */
  get size(): number {
    return this.#data.length;
  }

  /** True when the frame has no bytes, like a REQ/ROUTER envelope delimiter. */
  get isEmpty(): boolean {
    return this.#data.length === 0;
  }

  /** The content decoded as UTF-8. CZMQ `zframe_strdup`. */
  toString(): string {
    return this.#data.toString("utf8");
  }

  /**
   * True when the frame holds exactly the UTF-8 bytes of `text`.
   * CZMQ `zframe_streq`.
   */
  streq(text: string): boolean {
    if (Buffer.byteLength(text, "utf8") !== this.#data.length) return false;
    return this.#data.equals(Buffer.from(text, "utf8"));
  }

  /**
   * True when `other` has the same size and bytes. Accepts another frame or
   * raw bytes or a string; `undefined` is never equal. CZMQ `zframe_eq`.
   */
  eq(other: FrameInput | undefined | null): boolean {
    if (other === undefined || other === null) return false;
    const data = toBuffer(other, "the frame to compare");
    return data === this.#data || data.equals(this.#data);
  }

  /** A new frame holding a copy of the bytes. CZMQ `zframe_dup`. */
  dup(): ZFrame {
    const copy = new ZFrame(Buffer.from(this.#data));
    copy.more = this.more;
    return copy;
  }

  /** The bytes as uppercase hexadecimal, e.g. `"0A1B"`. CZMQ `zframe_strhex`. */
  strhex(): string {
    return this.#data.toString("hex").toUpperCase();
  }

  /**
   * Replaces the frame's content (CZMQ `zframe_reset`). Bytes are used as
   * they are, not copied. A frame taken from a {@link ZMsg} with
   * `first()`, `next()`, `last()` or iteration is that message's frame, as
   * in CZMQ: resetting it changes the message too
   * (`msg.last()!.reset("OK")` replaces the last frame), as long as the
   * frame is still in the message.
   */
  reset(data: FrameInput): void {
    const old = this.#data;
    this.#data = toBuffer(data, "frame data");
    this.#owner?.(old, this.#data);
  }

  /**
   * Ties this frame to the message slot holding its Buffer.
   * @internal
   */
  static attach(frame: ZFrame, owner: (old: Buffer, data: Buffer) => void): ZFrame {
    frame.#owner = owner;
    return frame;
  }

  /**
   * The frame as CZMQ's `zframe_print` shows it: `[005] Hello`, or hex when
   * the bytes are binary, cut after 70 characters (35 bytes of hex) with `...`.
   *
   * @param prefix - text put before the line, as in `zframe_print(frame, prefix)`
   */
  dump(prefix?: string): string {
    return formatFrame(this.#data, prefix);
  }
}

function partFrame(part: { data: Buffer; more: boolean } | undefined): ZFrame {
  const frame = new ZFrame(part?.data);
  frame.more = part?.more ?? false;
  return frame;
}
