/**
 * Lazy Pirate (ZeroMQ Guide chapter 4; no RFC): the client side of reliable
 * request-reply over a plain REQ socket. There is no envelope of its own: a
 * request is the frames the application sends, a reply the frames it gets.
 * What the pattern defines is timing (wait `timeoutMs`, then close the socket,
 * open a fresh one and resend, `retries` times) and which reply answers a
 * request. This module holds the reference figures and the Guide's reference
 * request (a decimal sequence number that the server echoes): pure functions,
 * no sockets, no timers; decoders return a value or a `ProtocolError`
 * naming the bad frame, and never throw.
 * @module
 */
import { ProtocolError } from "@zkit/core";

/** The Guide's reply timeout per attempt, in ms (`REQUEST_TIMEOUT`). */
export const LPP_TIMEOUT_MS = 2500;

/**
 * How many times a request is resent after its first attempt timed out.
 * The Guide's `REQUEST_RETRIES` is also 3, but counts attempts (its client
 * gives up after the third send); zkit counts resends, so a request is sent
 * up to `1 + retries` times.
 */
export const LPP_RETRIES = 3;

/**
 * Decides whether `reply` answers `request` (the frames as sent and as
 * received). A reply for which it returns false is counted, dropped and not
 * returned to the caller.
 */
export type MatchFn = (request: readonly Buffer[], reply: readonly Buffer[]) => boolean;

/** True when `a` and `b` have the same number of frames with the same bytes. */
export function sameFrames(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!a[i]!.equals(b[i]!)) return false;
  return true;
}

/**
 * The Guide's check, for any request: the reply is the request echoed
 * unchanged, frame for frame (the Guide's lpclient sends a sequence number
 * and accepts only a reply that equals it). Pass it as the `match` option.
 */
export const echoMatch: MatchFn = (request, reply) => sameFrames(request, reply);

/**
 * Encodes the Guide's reference request: the sequence number as decimal
 * ASCII in one frame (`1` is `31`, `42` is `34 32`).
 *
 * @param seq - an integer >= 0
 */
export function encodeSequence(seq: number): Buffer[] {
  return [Buffer.from(String(seq), "ascii")];
}

/**
 * Decodes a reply to the Guide's reference request: exactly one frame of
 * decimal digits with no sign, no leading zero (except `0` itself) and no
 * spaces.
 *
 * @returns the sequence number, or a `ProtocolError` whose `frame`
 *   names the bad frame (0 for a bad number, 1 for an extra frame, undefined
 *   for an empty message)
 */
export function decodeSequence(frames: readonly Buffer[]): number | ProtocolError {
  if (frames.length === 0) return new ProtocolError("Lazy Pirate reply: empty message, expected one frame holding the sequence number");
  if (frames.length > 1) return new ProtocolError(`Lazy Pirate reply: ${frames.length} frames, expected one frame holding the sequence number`, 1);
  const text = frames[0]!.toString("latin1");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) {
    return new ProtocolError(`Lazy Pirate reply: frame 0 is not a decimal sequence number (${JSON.stringify(text.slice(0, 40))})`, 0);
  }
  const seq = Number(text);
  if (!Number.isSafeInteger(seq)) return new ProtocolError(`Lazy Pirate reply: sequence number ${text} is too large`, 0);
  return seq;
}
