/**
 * What zkit accepts as a frame and as a message, and turning it into the
 * Buffers that go on the wire.
 * @module
 */
import { InvalidArgumentError } from "./errors.js";
import { describeValue } from "./options.js";

/** One frame as {@link ZSocket.send} accepts it: bytes or a string (sent as UTF-8). */
export type FrameLike = Buffer | Uint8Array | ArrayBuffer | string;

/** A message to send: one frame, or the frames of a multipart message in order. */
export type MessageLike = FrameLike | readonly FrameLike[];

/** Options of {@link toFrames}. */
export interface ToFramesOptions {
  /** True to accept an empty array (a message of no frames, e.g. an empty body). @defaultValue false */
  allowEmpty?: boolean;
}

/**
 * True when `value` is a {@link FrameLike}: a string, a Buffer or other
 * Uint8Array, or an ArrayBuffer.
 *
 * @param value - anything
 */
export function isFrameLike(value: unknown): value is FrameLike {
  return typeof value === "string" || value instanceof Uint8Array || value instanceof ArrayBuffer;
}

/**
 * True when `value` is a {@link MessageLike}: a frame, or an array whose
 * items are all frames (an empty array included).
 *
 * @param value - anything
 */
export function isMessageLike(value: unknown): value is MessageLike {
  return Array.isArray(value) ? value.every(isFrameLike) : isFrameLike(value);
}

/**
 * One frame as a Buffer: a Buffer as it is, a Uint8Array or ArrayBuffer as a
 * Buffer over the same bytes (no copy), a string as UTF-8.
 *
 * @param frame - the frame
 * @param what - what is being converted, to start the message, e.g. `"MyClient.request(body)"`
 * @throws {@link InvalidArgumentError} for anything else, saying what a frame may be
 */
export function toFrame(frame: FrameLike, what?: string): Buffer {
  return convert(frame, what, "a frame");
}

/**
 * A message (one frame or an array of frames) as an array of Buffers,
 * converted as {@link toFrame} does; a single frame gives an array of one.
 *
 * @param message - the message
 * @param what - what is being converted, to start the message, e.g. `"MyWorker handler result"`
 * @param options - see {@link ToFramesOptions}
 * @throws {@link InvalidArgumentError} for an item that is not a frame (the
 *   message names its index), or an empty array unless `allowEmpty`
 */
export function toFrames(message: MessageLike, what?: string, options: ToFramesOptions = {}): Buffer[] {
  if (!Array.isArray(message)) return [convert(message, what, "a frame")];
  const list = message as readonly unknown[];
  if (list.length === 0 && options.allowEmpty !== true) {
    throw new InvalidArgumentError(`${prefix(what)}a message needs at least one frame; pass e.g. "hello" or [frame1, frame2]`);
  }
  const out = new Array<Buffer>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = convert(list[i], what, `frame ${i}`);
  return out;
}

function convert(frame: unknown, what: string | undefined, which: string): Buffer {
  if (Buffer.isBuffer(frame)) return frame;
  if (typeof frame === "string") return Buffer.from(frame, "utf8");
  if (frame instanceof Uint8Array) return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame instanceof ArrayBuffer) return Buffer.from(frame);
  throw new InvalidArgumentError(`${prefix(what)}${which} must be a Buffer, Uint8Array, ArrayBuffer or string, got ${describeValue(frame)}`);
}

function prefix(what: string | undefined): string {
  return what === undefined ? "" : `${what}: `;
}

const EMPTY_FRAME = Buffer.alloc(0);
const ONE_EMPTY_FRAME: readonly Buffer[] = Object.freeze([EMPTY_FRAME]);

/**
 * A message body of at least one frame: `body` itself, or one empty frame
 * when it has none. The Guide's protocols (7/MDP, 6/PPP, 9/TSP...) carry at
 * least one body frame in every request and reply, and some peers (the
 * Guide's C broker) abort on a message without one: every zkit encoder sends
 * bodies through this.
 *
 * @param body - the body frames, possibly none
 * @returns `body`, or a shared read-only `[<empty frame>]`
 */
export function atLeastOneFrame(body: readonly Buffer[]): readonly Buffer[] {
  return body.length === 0 ? ONE_EMPTY_FRAME : body;
}
