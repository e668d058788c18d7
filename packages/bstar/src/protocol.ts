/**
 * Binary Star on the wire (ZeroMQ Guide chapter 4; no RFC): the state
 * message each server publishes to its peer, the reply zkit servers may
 * give to a rejected vote, and the reference timings. Constants and pure
 * encode/decode functions only: no sockets, no timers.
 * @module
 */

/**
 * The four states of a Binary Star server, named as the Guide names them:
 * `primary` and `backup` while waiting for the peer, then `active` (serving
 * clients) or `passive` (standing by).
 */
export type BinaryStarState = "primary" | "backup" | "active" | "passive";

/** Which server of the pair this is: the one that is active when both start, or the other. */
export type BinaryStarRole = "primary" | "backup";

/**
 * Each state's number on the wire: a state message is this number as one
 * decimal ASCII frame (`"1"` to `"4"`), as the Guide's C and Python
 * `bstarsrv` send it.
 */
export const STATE_CODES: Readonly<Record<BinaryStarState, number>> = Object.freeze({ primary: 1, backup: 2, active: 3, passive: 4 });

const STATE_BY_CODE: readonly (BinaryStarState | undefined)[] = [undefined, "primary", "backup", "active", "passive"];

/** Default of `BinaryStarOptions.heartbeatIntervalMs`, the Guide's `BSTAR_HEARTBEAT`: each server publishes its state every 1000 ms. */
export const BSTAR_HEARTBEAT_INTERVAL_MS = 1000;

/** The peer counts as gone after this many heartbeats of silence: 2, as in the Guide. */
export const PEER_EXPIRY_HEARTBEATS = 2;

/** Default of `BinaryStarClientOptions.timeoutMs`, the Guide's `REQUEST_TIMEOUT`: `bstarcli` waits 1000 ms for a reply. */
export const BSTAR_TIMEOUT_MS = 1000;

/** Default of `BinaryStarClientOptions.settleDelayMs`, the Guide's `SETTLE_DELAY`: `bstarcli` waits 2000 ms before resending to the other server. */
export const BSTAR_SETTLE_DELAY_MS = 2000;

/**
 * The first frame of zkit's answer to a rejected vote (an opt-in extension,
 * see `BinaryStarOptions.answerRejectedVotes`): `["BSTAR-REJECTED"][state]`
 * after the client's envelope, where `state` is the rejecting server's state
 * number. The Guide's servers never send it; a zkit client that gets it
 * switches to the other server at once instead of waiting for its timeout.
 */
export const REJECTED_HEADER = "BSTAR-REJECTED";

const REJECTED_BYTES = Buffer.from(REJECTED_HEADER, "latin1");
const ZERO = 0x30;

/**
 * The state message for `state`: one frame, its number in decimal ASCII.
 *
 * @example
 * ```ts
 * encodeState("active"); // [Buffer "3"]
 * ```
 */
export function encodeState(state: BinaryStarState): Buffer[] {
  return [Buffer.from([ZERO + STATE_CODES[state]])];
}

/** What {@link decodeState} makes of a message: the peer's state, or why it is not one. */
export type DecodedState = { ok: true; state: BinaryStarState } | { ok: false; reason: string; frame: number | undefined };

/**
 * Reads a state message from the peer: exactly one frame holding `1`, `2`,
 * `3` or `4` in ASCII, optionally followed by a NUL byte (C programs that
 * send the string's terminator). Anything else is not a state message;
 * the reason says what is wrong. Never throws.
 *
 * @param frames - the message as received on the state SUB socket
 */
export function decodeState(frames: readonly Buffer[]): DecodedState {
  if (frames.length !== 1) return { ok: false, reason: `a state message is one frame, got ${frames.length}`, frame: frames.length === 0 ? undefined : 1 };
  const f = frames[0]!;
  const digits = f.length === 2 && f[1] === 0 ? 1 : f.length;
  const code = digits === 1 ? f[0]! - ZERO : -1;
  const state = code >= 1 && code <= 4 ? STATE_BY_CODE[code] : undefined;
  if (state === undefined) return { ok: false, reason: `a state is "1" to "4", got ${describeFrame(f)}`, frame: 0 };
  return { ok: true, state };
}

/**
 * The answer to a rejected vote (opt-in): the client's envelope (the ROUTER
 * routing frames up to and including the empty delimiter), then
 * `["BSTAR-REJECTED"][state]`.
 *
 * @param envelope - the frames that route the reply back to the client
 * @param state - the rejecting server's state
 */
export function encodeRejected(envelope: readonly Buffer[], state: BinaryStarState): Buffer[] {
  return [...envelope, REJECTED_BYTES, Buffer.from([ZERO + STATE_CODES[state]])];
}

/**
 * The state of the server that rejected a request, when `reply` (the frames
 * a client received, envelope removed) is zkit's answer to a rejected vote;
 * `undefined` for any other reply.
 *
 * @param reply - a reply as a REQ socket delivers it
 */
export function decodeRejected(reply: readonly Buffer[]): BinaryStarState | undefined {
  if (reply.length !== 2 || !reply[0]!.equals(REJECTED_BYTES)) return undefined;
  const decoded = decodeState([reply[1]!]);
  return decoded.ok ? decoded.state : undefined;
}

/**
 * Splits a message received on a ROUTER voter into its envelope (the
 * routing id and any further routing frames, up to and including the first
 * empty frame: what a REQ client or a chain of proxies put there) and the
 * request body after it. A message with no empty frame (a DEALER client
 * that sends no delimiter) has the routing id alone as its envelope.
 *
 * @param frames - the message as a ROUTER delivers it, routing id first
 */
export function splitEnvelope(frames: readonly Buffer[]): { envelope: Buffer[]; body: Buffer[] } {
  for (let i = 1; i < frames.length; i++) {
    if (frames[i]!.length === 0) return { envelope: frames.slice(0, i + 1), body: frames.slice(i + 1) };
  }
  return { envelope: frames.slice(0, 1), body: frames.slice(1) };
}

/** The name of a state number, or `undefined` (for logs of foreign messages). */
export function stateName(code: number): BinaryStarState | undefined {
  return STATE_BY_CODE[code];
}

function describeFrame(f: Buffer): string {
  if (f.length === 0) return "an empty frame";
  if (f.length > 16) return `${f.length} bytes`;
  const text = f.toString("latin1");
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${f.toString("hex")}`;
}
