/**
 * The CZMQ `zmsg_encode` byte format: a list of frames in one Buffer, as pure
 * functions with no I/O.
 *
 * Each frame is its size then its bytes. A size below 255 is one byte; a
 * larger size is the byte `0xFF` followed by the size as 4 bytes big-endian.
 * `["hello"][""][300 x "x"]` encodes as `05 68 65 6c 6c 6f 00 ff 00 00 01 2c 78 ...`.
 * @module
 */
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { describe } from "./zframe.js";

/** Sizes below this take one byte; from it on, `0xFF` + 4 bytes. */
const SHORT_LIMIT = 0xff;
const MAX_FRAME = 0xffffffff;

/**
 * Encodes frames in CZMQ's `zmsg_encode` format, byte for byte. The result is
 * one new Buffer; the frames are copied into it once.
 *
 * @param frames - the frames, in order
 * @returns the encoded bytes (empty for no frames)
 * @throws `InvalidArgumentError` when a frame is not bytes or is 4 GiB or larger
 */
export function encodeFrames(frames: readonly Uint8Array[]): Buffer {
  if (!Array.isArray(frames)) throw new InvalidArgumentError(`encodeFrames needs an array of Buffers, got ${describe(frames)}`);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    if (!(frame instanceof Uint8Array)) {
      throw new InvalidArgumentError(`encodeFrames: frame ${i} must be a Buffer or Uint8Array, got ${describe(frame)}`);
    }
    const size = frame.length;
    if (size > MAX_FRAME) throw new InvalidArgumentError(`encodeFrames: frame ${i} has ${size} bytes; the CZMQ format holds at most ${MAX_FRAME}`);
    total += size < SHORT_LIMIT ? 1 + size : 5 + size;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const frame of frames) {
    const size = frame.length;
    if (size < SHORT_LIMIT) {
      out[at++] = size;
    } else {
      out[at++] = SHORT_LIMIT;
      out.writeUInt32BE(size, at);
      at += 4;
    }
    out.set(frame, at);
    at += size;
  }
  return out;
}

/**
 * Decodes CZMQ's `zmsg_encode` format. The frames returned are views into
 * `data` (no copy): change `data` and they change.
 *
 * A long size header (`0xFF` + 4 bytes) is accepted for any size, as CZMQ
 * accepts it. An empty input is a message with no frames.
 *
 * @param data - the encoded bytes
 * @returns the frames, in order
 * @throws `ProtocolError` when the bytes end inside a size header or a
 *   frame; the message names the frame and the offset, and `err.frame` is
 *   the index of the frame that could not be read
 * @throws `InvalidArgumentError` when `data` is not bytes
 */
export function decodeFrames(data: Uint8Array): Buffer[] {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`decodeFrames needs a Buffer or Uint8Array, got ${describe(data)}`);
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const limit = buf.length;
  const frames: Buffer[] = [];
  let at = 0;
  while (at < limit) {
    const index = frames.length;
    const start = at;
    let size = buf[at++]!;
    if (size === SHORT_LIMIT) {
      if (limit - at < 4) {
        throw new ProtocolError(`zmsg decode: frame ${index} at offset ${start} has a long size header (0xFF + 4 bytes) but only ${limit - at} bytes follow the 0xFF`, index);
      }
      size = buf.readUInt32BE(at);
      at += 4;
    }
    if (limit - at < size) {
      throw new ProtocolError(`zmsg decode: frame ${index} at offset ${start} declares ${size} bytes but only ${limit - at} remain (truncated or not zmsg-encoded)`, index);
    }
    frames.push(buf.subarray(at, at + size));
    at += size;
  }
  return frames;
}
