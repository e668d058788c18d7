/**
 * CZMQ's `zsock_signal` and `zsock_wait` for actors and pipes: {@link signal}
 * sends a one-frame status, {@link waitSignal} reads until one comes.
 * @module
 */
import { ClosedError, TimeoutError, now, readOptions, type Pollable, type Sendable } from "@zkit/core";
import { TIMED_OUT, TIMEOUT_RULE, raceDeadline } from "./deadline.js";
import { decodeSignal, encodeSignal } from "./signal-codec.js";

/**
 * Sends a signal (CZMQ `zsock_signal`): one 8-byte frame holding
 * `0x7766554433221100 + status` in host byte order. An actor signals 0 once
 * it is ready; see {@link ZActor}.
 *
 * @example
 * ```ts
 * await signal(pipe, 0); // "I am ready"
 * ```
 * @param sock - the socket (or actor) to send on
 * @param status - 0 to 255; 0 means success by convention
 * @returns the send's promise
 * @throws `InvalidArgumentError` when `status` is not an integer from 0 to 255
 */
export function signal(sock: Sendable, status = 0): Promise<void> {
  return sock.send(encodeSignal(status));
}

/** Options of {@link waitSignal}. */
export interface WaitSignalOptions {
  /**
   * Gives up after this many milliseconds with a `TimeoutError`. Nothing is
   * lost then: a message that arrives later stays readable.
   * @defaultValue no deadline, as in CZMQ
   */
  timeoutMs?: number;
}

/**
 * Receives messages until one is a signal and returns its status (CZMQ
 * `zsock_wait`). As in CZMQ, messages that are not signals are read and
 * dropped.
 *
 * @example
 * ```ts
 * const status = await waitSignal(pipe, { timeoutMs: 5000 });
 * ```
 * @param sock - a socket, an actor, anything `Pollable`
 * @returns the status, 0 to 255
 * @throws `TimeoutError` when `timeoutMs` passes first
 * @throws `ClosedError` when the socket closes first
 */
export async function waitSignal(sock: Pollable, options: WaitSignalOptions = {}): Promise<number> {
  const timeoutMs = readOptions(options, { owner: "waitSignal" }).number("timeoutMs", undefined, TIMEOUT_RULE);
  // created now so that its stack points at the caller
  const timeout = timeoutMs === undefined ? undefined : new TimeoutError(`waitSignal: no signal within ${timeoutMs} ms`);
  const deadline = timeoutMs === undefined ? undefined : now() + timeoutMs;
  for (;;) {
    const ready = deadline === undefined ? await sock.waitReadable() : await raceDeadline(sock.waitReadable(), deadline);
    if (ready === TIMED_OUT) throw timeout!;
    if (!ready) throw new ClosedError("waitSignal: the socket closed before a signal came");
    const status = decodeSignal(await sock.receive());
    if (status >= 0) return status;
  }
}
