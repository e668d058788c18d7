/**
 * CZMQ signals: a one-frame message of 8 bytes holding
 * `0x7766554433221100 + status` in host byte order (`zmsg_new_signal`,
 * `zmsg_signal`, `zsock_signal`). Pure functions over frames.
 * @module
 */
import { endianness } from "node:os";
import { InvalidArgumentError } from "@zkit/core";
import { describe } from "./zframe.js";

const SIGNAL_BASE = 0x7766554433221100n;
const SIGNAL_MASK = 0xffffffffffffff00n;
const LITTLE_ENDIAN = endianness() === "LE";

/**
 * The one frame of a signal with `status` (CZMQ `zmsg_new_signal`): 8 bytes,
 * `0x7766554433221100 + status` in host byte order, so `00 11 22 33 44 55 66 77`
 * for status 0 on x86 and ARM.
 *
 * @param status - 0 to 255; by convention 0 means success
 * @throws `InvalidArgumentError` when `status` is not an integer from 0 to 255
 */
export function signalFrame(status: number): Buffer {
  if (!Number.isInteger(status) || status < 0 || status > 255) {
    throw new InvalidArgumentError(`a signal status must be an integer from 0 to 255, got ${describe(status)}`);
  }
  const frame = Buffer.allocUnsafe(8);
  const value = SIGNAL_BASE + BigInt(status);
  if (LITTLE_ENDIAN) frame.writeBigUInt64LE(value);
  else frame.writeBigUInt64BE(value);
  return frame;
}

/**
 * The status of a signal message (CZMQ `zmsg_signal`): 0 to 255 when
 * `frames` is exactly one 8-byte frame holding a signal, otherwise -1.
 *
 * @param frames - the frames of a received message
 */
export function signalStatus(frames: readonly Uint8Array[]): number {
  if (frames.length !== 1) return -1;
  const frame = frames[0]!;
  if (frame.length !== 8) return -1;
  const view = new DataView(frame.buffer, frame.byteOffset, 8);
  const value = view.getBigUint64(0, LITTLE_ENDIAN);
  if ((value & SIGNAL_MASK) !== SIGNAL_BASE) return -1;
  return Number(value & 0xffn);
}
