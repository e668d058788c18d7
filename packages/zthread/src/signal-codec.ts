/**
 * Internal: CZMQ signal frames, through `@zkit/zmsg` (`ZMsg.newSignal`,
 * `msg.signal()`). The one place zthread encodes or decodes a signal.
 * @module
 * @internal
 */
import { ZMsg } from "@zkit/zmsg";

/** The frames of a signal with `status` (0 to 255); throws InvalidArgumentError otherwise. */
export function encodeSignal(status: number): Buffer[] {
  return ZMsg.newSignal(status).toBuffers();
}

/** The status of a signal message, or -1 when `frames` is not a signal. */
export function decodeSignal(frames: readonly Buffer[]): number {
  // cheap pre-check: a signal is exactly one 8-byte frame
  if (frames.length !== 1 || frames[0]!.length !== 8) return -1;
  return ZMsg.fromBuffers([...frames]).signal();
}
