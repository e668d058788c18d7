/**
 * ZMsg: a multipart message with CZMQ's `zmsg_t` semantics (push, pop, add,
 * wrap, unwrap, addmsg/popmsg, encode/decode, dup, eq, dump, signals,
 * pictures), stored as the `Buffer[]` that sockets send and receive.
 * @module
 */
import { format } from "node:util";
import { InvalidArgumentError } from "@zkit/core";
import { decodeBinaryPicture, encodeBinaryPicture, type BinaryPictureArgs, type BinaryPictureValues } from "./bpicture.js";
import { decodeFrames, encodeFrames } from "./encoding.js";
import { receiveFrames, receiveFramesNowait, sendParts, type ReadableSource } from "./parts.js";
import { decodePicture, encodePicture, type PictureArgs, type PictureValues } from "./picture.js";
import { decodeSaved, encodeSaved, readAll, writeAll, type LoadSource, type SaveTarget } from "./saved.js";
import { signalFrame, signalStatus } from "./signal.js";
import { ZFrame, describe, formatFrame, toBuffer, type FrameInput } from "./zframe.js";

/**
 * Anything a message can be received from: a `ZSocket` of `@zkit/core`, or
 * any object with the same `receive()`.
 */
export interface MessageSource {
  /** Resolves with the frames of the next message. */
  receive(): Promise<Buffer[]>;
}

/**
 * Anything a message can be sent to: a `ZSocket` of `@zkit/core`, or any
 * object with the same `send()`.
 */
export interface MessageSink {
  /** Sends the frames as one multipart message; resolves once the socket has it. */
  send(frames: Buffer[]): Promise<void>;
}

/** Options of {@link ZMsg.dump}. */
export interface DumpOptions {
  /**
   * Prints at most this many frames, like CZMQ's old `zmsg_dump` (which
   * stopped at 10).
   * @defaultValue all frames
   */
  maxFrames?: number;
  /**
   * Text put before every line, as in `zframe_print(frame, prefix)`.
   * @defaultValue `""`
   */
  prefix?: string;
}

/** Cursor value once {@link ZMsg.next} ran past the last frame. */
const PAST_END = Number.POSITIVE_INFINITY;

/**
 * A multipart message (CZMQ `zmsg_t`): an ordered list of frames, kept as
 * the `Buffer[]` that zeromq.js sends and receives, so nothing is copied on
 * {@link ZMsg.recv} or {@link ZMsg.send}.
 *
 * Frames returned by {@link pop}, {@link first}, {@link next}, {@link last}
 * and iteration are {@link ZFrame}s wrapping the message's own Buffers.
 *
 * @example
 * ```ts
 * // ROUTER side of a DEALER -> ROUTER dialogue
 * const request = await ZMsg.recv(router);   // [identity]["Hello"]
 * const identity = request.unwrap()!;        // pops the identity (and a "" delimiter if any)
 * const reply = new ZMsg(["World"]);
 * reply.wrap(identity);                      // [identity][""]["World"]
 * await reply.send(router);                  // reply is now empty
 * ```
 */
export class ZMsg implements Iterable<ZFrame> {
  #frames: Buffer[];
  /** -1: before the first frame; PAST_END: after the last. */
  #cursor = -1;

  /**
   * Creates a message (CZMQ `zmsg_new`), optionally with frames: bytes are
   * kept without copying, strings are UTF-8 encoded, ZFrames give their Buffer.
   *
   * @throws `InvalidArgumentError` when a frame is not one of those
   */
  constructor(frames?: Iterable<FrameInput>) {
    const list: Buffer[] = [];
    if (frames !== undefined) {
      if (typeof frames === "string" || typeof (frames as Iterable<FrameInput>)[Symbol.iterator] !== "function") {
        throw new InvalidArgumentError(`new ZMsg() takes an array of frames (Buffer, Uint8Array, string or ZFrame), got ${describe(frames)}`);
      }
      let i = 0;
      for (const frame of frames) list.push(toBuffer(frame, `frame ${i++}`));
    }
    this.#frames = list;
  }

  /**
   * Makes a message of `frames`, taking the array itself (no copy): do not
   * use the array afterwards. This is how {@link ZMsg.recv} wraps what a
   * socket received.
   *
   * @throws `InvalidArgumentError` when `frames` is not an array of Buffers
   */
  static fromBuffers(frames: Buffer[]): ZMsg {
    if (!Array.isArray(frames)) throw new InvalidArgumentError(`ZMsg.fromBuffers needs an array of Buffers, got ${describe(frames)}`);
    for (let i = 0; i < frames.length; i++) {
      if (!Buffer.isBuffer(frames[i])) {
        throw new InvalidArgumentError(`ZMsg.fromBuffers: frame ${i} must be a Buffer, got ${describe(frames[i])}; use new ZMsg(frames) for strings and Uint8Arrays`);
      }
    }
    const msg = new ZMsg();
    msg.#frames = frames;
    return msg;
  }

  /**
   * Receives one message from a socket (CZMQ `zmsg_recv`). The received
   * Buffers are used as they are. After {@link ZFrame.recv} read the first
   * parts of a message, this returns the rest of it, as in CZMQ.
   *
   * @param source - a `ZSocket`, or anything with `receive(): Promise<Buffer[]>`
   * @returns the message; rejects as the socket's `receive()` rejects
   *   (for a `ZSocket`: `ZKIT_CLOSED`, `ZKIT_TIMEOUT`, `ZKIT_BUSY`)
   */
  static async recv(source: MessageSource): Promise<ZMsg> {
    return ZMsg.fromBuffers(await receiveFrames(source));
  }

  /**
   * Receives a message only if one can be had without waiting (CZMQ
   * `zmsg_recv_nowait`): the rest of a message read part by part, or the
   * next message when the socket is `readable`; otherwise `null`. The
   * promise settles without waiting for any peer.
   *
   * @param source - a `ZSocket`, or anything with `receive()` and `readable`
   * @returns the message, or `null` when none is waiting
   */
  static async recvNowait(source: ReadableSource): Promise<ZMsg | null> {
    const frames = await receiveFramesNowait(source);
    return frames === null ? null : ZMsg.fromBuffers(frames);
  }

  /**
   * Reads a message saved by {@link ZMsg.save} or by CZMQ's `zmsg_save`
   * (CZMQ `zmsg_load`): the whole stream is one message, read to its end.
   * Frames are views into the bytes read.
   *
   * @example
   * ```ts
   * const msg = await ZMsg.load(createReadStream("request.msg"));
   * ```
   * @param source - a readable stream opened without an encoding, an
   *   async iterable of bytes, or the bytes themselves
   * @returns the message (no frames for an empty stream); rejects with a
   *   `ProtocolError` for truncated or foreign bytes (naming the frame and
   *   offset), with `InvalidArgumentError` for something that is not bytes,
   *   and with the stream's own error when reading fails
   */
  static async load(source: LoadSource): Promise<ZMsg> {
    return ZMsg.fromBuffers(decodeSaved(await readAll(source)));
  }

  /**
   * Decodes a message from CZMQ's `zmsg_encode` format (CZMQ `zmsg_decode`).
   * The frames are views into `data`, not copies.
   *
   * @param data - the encoded bytes, or a frame holding them
   * @throws `ProtocolError` when the bytes are truncated or are not
   *   zmsg-encoded; the message says at which frame and offset
   */
  static decode(data: Uint8Array | ZFrame): ZMsg {
    return ZMsg.fromBuffers(decodeFrames(data instanceof ZFrame ? data.data : data));
  }

  /**
   * A signal message (CZMQ `zmsg_new_signal`): one 8-byte frame holding
   * `0x7766554433221100 + status` in host byte order. Actors use status 0 to
   * say "ready" or "done".
   *
   * @param status - 0 to 255
   * @throws `InvalidArgumentError` when `status` is out of range
   */
  static newSignal(status: number): ZMsg {
    return ZMsg.fromBuffers([signalFrame(status)]);
  }

  /**
   * Builds a message from a text picture, one frame per character, as CZMQ's
   * `zsock_send` does: `i` int, `u` uint, `1` `2` `4` `8` unsigned integers
   * (sent as decimal text; `8` takes a number or a bigint), `s` string,
   * `b` bytes, `c` bytes, `f` a frame, `U` a 16-byte uuid, `m` a whole
   * message (its frames, last character only), `z` an empty frame (no argument).
   *
   * @example `ZMsg.fromPicture("is8z", 42, "hello", 2n ** 40n)` is `["42"]["hello"]["1099511627776"][""]`
   * @throws `InvalidArgumentError` for a bad picture, a missing or
   *   extra argument, or an argument of the wrong type or range
   */
  static fromPicture<P extends string>(picture: P, ...args: PictureArgs<P>): ZMsg {
    return ZMsg.fromBuffers(encodePicture(picture, args));
  }

  /**
   * Builds a message from a binary picture, as CZMQ's `zsock_bsend` does:
   * one data frame with `1` `2` `4` `8` big-endian unsigned integers, `s` a
   * string of up to 255 bytes (1-byte length), `S` a long string (4-byte
   * length), `c` a chunk of bytes (4-byte length), `u` a 16-byte uuid; then
   * one more frame per `f` argument, then the frames of an `m` message (last).
   *
   * @example `ZMsg.fromBinaryPicture("1248sS", 1, 2, 3, 4, "ab", "cd")` is one frame
   *   `01 0002 00000003 0000000000000004 02 6162 00000002 6364`
   * @throws `InvalidArgumentError` for a bad picture or argument
   */
  static fromBinaryPicture<P extends string>(picture: P, ...args: BinaryPictureArgs<P>): ZMsg {
    return ZMsg.fromBuffers(encodeBinaryPicture(picture, args));
  }

  /** Number of frames (CZMQ `zmsg_size`). */
  get size(): number {
    return this.#frames.length;
  }

  /** Total number of bytes in all frames (CZMQ `zmsg_content_size`). */
  get contentSize(): number {
    let total = 0;
    for (const frame of this.#frames) total += frame.length;
    return total;
  }

  /**
   * The message's frames: the live array, not a copy. Read it; change the
   * message through its methods.
   */
  get frames(): readonly Buffer[] {
    return this.#frames;
  }

  /**
   * The frames as a new array, ready for `socket.send()`; the Buffers are
   * shared, not copied.
   */
  toBuffers(): Buffer[] {
    return this.#frames.slice();
  }

  /**
   * Sends the message (CZMQ `zmsg_send`). Like CZMQ, sending empties the
   * message: its frames now belong to the socket. An empty message sends
   * nothing.
   *
   * @param sink - a `ZSocket`, or anything with `send(frames: Buffer[]): Promise<void>`
   * @returns the socket's send promise
   */
  send(sink: MessageSink): Promise<void> {
    const frames = this.#frames;
    this.#frames = [];
    this.#cursor = -1;
    if (frames.length === 0) return Promise.resolve();
    return sendParts(sink, frames, false);
  }

  /**
   * Sends the message as the first parts of a longer one (CZMQ
   * `zmsg_sendm`): its frames are held until a send without "more"
   * ({@link ZMsg.send}, {@link ZFrame.send}, `zstr.send`, `zsend`, ...)
   * completes the message on the same socket, and then leave together.
   * Empties the message, as {@link ZMsg.send} does.
   *
   * Held parts are zkit's (zeromq.js sends whole messages only): a
   * socket's own `send()` does not see them.
   *
   * @example
   * ```ts
   * await new ZMsg([identity, ""]).sendm(router);
   * await new ZMsg(["reply"]).send(router); // [identity][""]["reply"]
   * ```
   * @returns resolves at once
   */
  sendm(sink: MessageSink): Promise<void> {
    const frames = this.#frames;
    this.#frames = [];
    this.#cursor = -1;
    return sendParts(sink, frames, true);
  }

  /**
   * Writes the message in CZMQ's `zmsg_save` format to a stream: each frame
   * as an 8-byte size (little-endian) and its bytes. {@link ZMsg.load}
   * and CZMQ's `zmsg_load` read it back; a stream holds one message. The
   * message is left as it was.
   *
   * @example
   * ```ts
   * const file = createWriteStream("request.msg");
   * await msg.save(file);
   * file.end();
   * ```
   * @param target - a writable stream (anything with `write(chunk, callback)`)
   * @returns resolves once the stream has taken the bytes; rejects with the
   *   stream's error, or `InvalidArgumentError` for something that is not a stream
   */
  async save(target: SaveTarget): Promise<void> {
    await writeAll(target, encodeSaved(this.#frames));
  }

  /**
   * Puts a frame before all others (CZMQ `zmsg_prepend`, `zmsg_push`). Bytes
   * are not copied.
   * @returns this message, for chaining
   */
  prepend(frame: FrameInput): this {
    this.#frames.unshift(toBuffer(frame, "the frame to prepend"));
    if (this.#cursor >= 0) this.#cursor++;
    return this;
  }

  /** Same as {@link prepend} (CZMQ's older name `zmsg_push`). */
  push(frame: FrameInput): this {
    return this.prepend(frame);
  }

  /**
   * Adds a frame after all others (CZMQ `zmsg_append`, `zmsg_add`). Bytes
   * are not copied.
   * @returns this message, for chaining
   */
  append(frame: FrameInput): this {
    this.#frames.push(toBuffer(frame, "the frame to append"));
    return this;
  }

  /** Same as {@link append} (CZMQ's older name `zmsg_add`). */
  add(frame: FrameInput): this {
    return this.append(frame);
  }

  /**
   * Puts a copy of `data` before all other frames (CZMQ `zmsg_pushmem`): the
   * caller may reuse `data` afterwards.
   */
  pushmem(data: Uint8Array): this {
    return this.prepend(copyOf(data, "pushmem"));
  }

  /**
   * Adds a copy of `data` after all other frames (CZMQ `zmsg_addmem`): the
   * caller may reuse `data` afterwards.
   */
  addmem(data: Uint8Array): this {
    return this.append(copyOf(data, "addmem"));
  }

  /** Puts a string (UTF-8) before all other frames (CZMQ `zmsg_pushstr`). */
  pushstr(text: string): this {
    return this.prepend(checkString(text, "pushstr"));
  }

  /** Adds a string (UTF-8) after all other frames (CZMQ `zmsg_addstr`). */
  addstr(text: string): this {
    return this.append(checkString(text, "addstr"));
  }

  /**
   * Puts a formatted string before all other frames (CZMQ `zmsg_pushstrf`),
   * formatted by `node:util` `format` (`%s`, `%d`, `%i`, `%j`, `%o`, ...).
   */
  pushstrf(fmt: string, ...args: unknown[]): this {
    return this.prepend(format(checkString(fmt, "pushstrf"), ...args));
  }

  /**
   * Adds a formatted string after all other frames (CZMQ `zmsg_addstrf`),
   * formatted by `node:util` `format`.
   * @example `msg.addstrf("%d-%s", 7, "up")` adds `"7-up"`
   */
  addstrf(fmt: string, ...args: unknown[]): this {
    return this.append(format(checkString(fmt, "addstrf"), ...args));
  }

  /** Removes and returns the first frame, or `undefined` when empty (CZMQ `zmsg_pop`). */
  pop(): ZFrame | undefined {
    const data = this.#shift();
    return data === undefined ? undefined : new ZFrame(data);
  }

  /**
   * Removes the first frame and returns it as a UTF-8 string, or `undefined`
   * when empty (CZMQ `zmsg_popstr`).
   */
  popstr(): string | undefined {
    return this.#shift()?.toString("utf8");
  }

  /**
   * Pushes `frame` and an empty delimiter before all other frames:
   * `[frame][""][...]`, the envelope a ROUTER reply needs for a REQ peer
   * (CZMQ `zmsg_wrap`).
   */
  wrap(frame: FrameInput): this {
    const data = toBuffer(frame, "the frame to wrap");
    this.prepend(Buffer.alloc(0));
    return this.prepend(data);
  }

  /**
   * Pops the first frame (the address) and, only when the next frame is
   * empty, drops that delimiter too (CZMQ `zmsg_unwrap`). Works on
   * `[id][""][body]` from a REQ peer and on `[id][body]` from a DEALER alike.
   *
   * @returns the address frame, or `undefined` when the message is empty
   */
  unwrap(): ZFrame | undefined {
    const address = this.pop();
    if (address !== undefined && this.#frames.length > 0 && this.#frames[0]!.length === 0) this.#shift();
    return address;
  }

  /**
   * Encodes `msg` (CZMQ `zmsg_encode`) and adds it as one frame at the end
   * (CZMQ `zmsg_addmsg`). `msg` is left as it was.
   */
  addmsg(msg: ZMsg): this {
    if (!(msg instanceof ZMsg)) throw new InvalidArgumentError(`addmsg needs a ZMsg, got ${describe(msg)}`);
    return this.append(msg.encode());
  }

  /**
   * Pops the first frame and decodes it as a message added by
   * {@link addmsg} (CZMQ `zmsg_popmsg`).
   *
   * @returns the submessage, or `undefined` when this message is empty
   * @throws `ProtocolError` when the frame is not zmsg-encoded (it is
   *   popped all the same)
   */
  popmsg(): ZMsg | undefined {
    const data = this.#shift();
    return data === undefined ? undefined : ZMsg.decode(data);
  }

  /**
   * Encodes the message in CZMQ's `zmsg_encode` format, byte for byte: each
   * frame as its size (1 byte below 255, else `0xFF` + 4 bytes big-endian)
   * then its bytes.
   */
  encode(): Buffer {
    return encodeFrames(this.#frames);
  }

  /** A deep copy: a new message with copies of every frame (CZMQ `zmsg_dup`). */
  dup(): ZMsg {
    return ZMsg.fromBuffers(this.#frames.map((frame) => Buffer.from(frame)));
  }

  /**
   * True when `other` has the same number of frames with the same bytes
   * (CZMQ `zmsg_eq`).
   */
  eq(other: ZMsg | undefined | null): boolean {
    if (!(other instanceof ZMsg)) return false;
    const a = this.#frames;
    const b = other.#frames;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!a[i]!.equals(b[i]!)) return false;
    return true;
  }

  /**
   * Moves the cursor to the first frame and returns it, or `undefined` when
   * the message is empty (CZMQ `zmsg_first`).
   */
  first(): ZFrame | undefined {
    return this.#at(0);
  }

  /**
   * Moves the cursor to the next frame and returns it (CZMQ `zmsg_next`).
   * Before any {@link first} it returns the first frame; past the last it
   * returns `undefined` until {@link first} is called again. Removing the
   * current frame with {@link remove} is safe while walking.
   */
  next(): ZFrame | undefined {
    return this.#cursor === PAST_END ? undefined : this.#at(this.#cursor + 1);
  }

  /** Moves the cursor to the last frame and returns it (CZMQ `zmsg_last`). */
  last(): ZFrame | undefined {
    return this.#at(this.#frames.length - 1);
  }

  /**
   * Removes a frame of this message (CZMQ `zmsg_remove`): the first whose
   * Buffer is the very Buffer of `frame` (as returned by {@link first},
   * {@link next}, {@link last}, iteration or {@link frames}).
   *
   * @returns true when a frame was removed
   */
  remove(frame: ZFrame | Buffer): boolean {
    const data = frame instanceof ZFrame ? frame.data : frame;
    const i = this.#frames.indexOf(data);
    if (i < 0) return false;
    this.#frames.splice(i, 1);
    if (this.#cursor !== PAST_END && i <= this.#cursor) this.#cursor--;
    return true;
  }

  /**
   * The status of this message if it is a signal (one 8-byte frame made by
   * {@link ZMsg.newSignal}), else -1 (CZMQ `zmsg_signal`).
   */
  signal(): number {
    return signalStatus(this.#frames);
  }

  /**
   * Reads the message by a text picture without changing it (what CZMQ's
   * `zsock_recv` does after receiving). Returns one value per picture
   * character except `z`: numbers for `i` `u` `1` `2` `4`, a bigint for `8`,
   * a string for `s`, a Buffer for `b` `c` `U`, a ZFrame for `f`, a ZMsg of
   * the remaining frames for `m`. Frames beyond the picture are ignored, as
   * in CZMQ.
   *
   * @example `const [n, name] = msg.toPicture("is")`
   * @throws `InvalidArgumentError` for a bad picture
   * @throws `ProtocolError` when a frame is missing, a number frame is
   *   not decimal text in range, or a `z` frame is not empty; `err.frame`
   *   names the frame
   */
  toPicture<P extends string>(picture: P): PictureValues<P> {
    return decodePicture(picture, this.#frames) as PictureValues<P>;
  }

  /**
   * Reads the message by a binary picture without changing it (what CZMQ's
   * `zsock_brecv` does): the values of the first frame, then one ZFrame per
   * `f`, then a ZMsg of the remaining frames for `m`. Integers come back as
   * numbers except `8`, a bigint; `c` and `u` as Buffers (views, no copy).
   * Bytes after the picture's end are ignored, as in CZMQ.
   *
   * @throws `InvalidArgumentError` for a bad picture
   * @throws `ProtocolError` when the data frame is too short for the
   *   picture or an `f` frame is missing
   */
  toBinaryPicture<P extends string>(picture: P): BinaryPictureValues<P> {
    return decodeBinaryPicture(picture, this.#frames) as BinaryPictureValues<P>;
  }

  /**
   * The message as CZMQ's `zmsg_print` shows it, one line per frame:
   * `[005] Hello`, or uppercase hex when a frame holds bytes below 9 or above
   * 127; text is cut at 70 characters and hex at 35 bytes, followed by `...`.
   * An empty message gives an empty string.
   */
  dump(options: DumpOptions = {}): string {
    const max = options.maxFrames ?? this.#frames.length;
    if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError(`dump: maxFrames must be a whole number of frames, got ${describe(max)}`);
    const lines: string[] = [];
    const n = Math.min(max, this.#frames.length);
    for (let i = 0; i < n; i++) lines.push(formatFrame(this.#frames[i]!, options.prefix));
    return lines.join("\n");
  }

  /** The same text as {@link dump}, so a message prints readably in a template string. */
  toString(): string {
    return this.dump();
  }

  /** Iterates over the frames, first to last, as ZFrames; independent of the cursor. */
  *[Symbol.iterator](): Iterator<ZFrame> {
    const frames = this.#frames;
    for (let i = 0; i < frames.length; i++) yield this.#live(frames[i]!);
  }

  #shift(): Buffer | undefined {
    const data = this.#frames.shift();
    if (data !== undefined && this.#cursor !== PAST_END && this.#cursor >= 0) this.#cursor--;
    return data;
  }

  /** A ZFrame on `data` whose reset() replaces `data` in this message. */
  #live(data: Buffer): ZFrame {
    return ZFrame.attach(new ZFrame(data), (old, neu) => {
      const j = this.#frames.indexOf(old);
      if (j >= 0) this.#frames[j] = neu;
    });
  }

  #at(i: number): ZFrame | undefined {
    const data = this.#frames[i];
    if (data === undefined) {
      this.#cursor = i < 0 ? -1 : PAST_END;
      return undefined;
    }
    this.#cursor = i;
    return this.#live(data);
  }
}

function copyOf(data: Uint8Array, what: string): Buffer {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`${what} needs a Buffer or Uint8Array, got ${describe(data)}`);
  return Buffer.from(data);
}

function checkString(text: string, what: string): string {
  if (typeof text !== "string") throw new InvalidArgumentError(`${what} needs a string, got ${describe(text)}`);
  return text;
}
