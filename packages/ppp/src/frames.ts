/**
 * Turning what handlers return as a message into frames.
 * @internal
 * @module
 */
import { InvalidArgumentError, type FrameLike, type MessageLike } from "@zkit/core";

/** @internal One frame as a Buffer (strings are UTF-8). */
export function toFrame(frame: FrameLike, what: string): Buffer {
  if (Buffer.isBuffer(frame)) return frame;
  if (typeof frame === "string") return Buffer.from(frame, "utf8");
  if (frame instanceof Uint8Array) return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame instanceof ArrayBuffer) return Buffer.from(frame);
  throw new InvalidArgumentError(`${what}: a frame must be a Buffer, Uint8Array, ArrayBuffer or string, got ${frame === null ? "null" : typeof frame}`);
}

/** @internal A message (one frame or an array of frames) as a non-empty array of Buffers. */
export function toFrames(message: MessageLike, what: string): Buffer[] {
  const list = Array.isArray(message) ? (message as readonly FrameLike[]) : [message as FrameLike];
  if (list.length === 0) throw new InvalidArgumentError(`${what}: a message needs at least one frame; pass e.g. "hello" or [frame1, frame2]`);
  return list.map((f) => toFrame(f, what));
}
