/**
 * Deadline and retry: the Lazy Pirate loop, once. Each attempt gets its own
 * timeout; an attempt that times out is retried (the attempt function opens
 * a fresh socket when it must), up to `retries` times, then the call fails
 * with {@link RetriesExhaustedError}. The caller's signal cancels it at any
 * point with an `AbortError`.
 * @module
 */
import { TIMED_OUT, TimeoutError, abortError, type ZkitErrorOptions } from "@zkit/core";

/**
 * A request got no reply after its last retry: every attempt (`1 + retries`)
 * timed out. Its `code` is `ZKIT_TIMEOUT`, like every zkit timeout; test
 * `err instanceof RetriesExhaustedError` to tell it apart.
 */
export class RetriesExhaustedError extends TimeoutError {
  /** How many times the request was sent (1 + retries). */
  readonly attempts: number;
  /** The reply timeout of each attempt, in ms. */
  readonly timeoutMs: number;

  /**
   * @param what - what was asked, for the message (e.g. `MajordomoClient.request("echo")`)
   * @param attempts - how many times the request was sent
   * @param timeoutMs - the timeout of each attempt
   */
  constructor(what: string, attempts: number, timeoutMs: number, options?: ZkitErrorOptions) {
    super(`${what}: no reply after ${attempts} attempt${attempts === 1 ? "" : "s"} of ${timeoutMs} ms each: the server seems to be offline`, options);
    this.attempts = attempts;
    this.timeoutMs = timeoutMs;
  }
}

/** What the `retry` event of every retrying client reports. */
export interface RetryEvent {
  /** The attempt that timed out (1 for the first send). */
  readonly attempt: number;
  /** Resends left after the one about to happen. */
  readonly retriesLeft: number;
  /** The timeout that passed, in ms. */
  readonly timeoutMs: number;
}

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** Resends after the first attempt timed out. */
  retries: number;
  /** Each attempt's timeout, in ms. */
  timeoutMs: number;
  /** Cancels the whole call: it rejects with an `AbortError`. */
  signal?: AbortSignal | undefined;
  /** What is asked, for error messages, e.g. `MajordomoClient.request("echo")`. */
  what: string;
  /** Called before each resend. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs `attempt` until it returns something other than `TIMED_OUT` (core's
 * symbol): the answer. Each call gets its number (1, 2, ...) and its
 * timeout; it must return `TIMED_OUT` when that passes (and discard what it
 * cannot reuse, such as a REQ socket), or throw to fail the whole call.
 *
 * @returns the first answer
 * @throws (rejects) {@link RetriesExhaustedError} after `1 + retries`
 *   timeouts; `AbortError` when `signal` aborts; what `attempt` throws
 */
export async function withRetries<T>(attempt: (n: number, timeoutMs: number) => Promise<T | typeof TIMED_OUT>, options: RetryOptions): Promise<T> {
  const { retries, timeoutMs, signal, what, onRetry } = options;
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw abortError(what, signal);
    const answer = await attempt(n, timeoutMs);
    if (answer !== TIMED_OUT) return answer;
    if (n > retries) throw new RetriesExhaustedError(what, n, timeoutMs);
    onRetry?.({ attempt: n, retriesLeft: retries - n, timeoutMs });
  }
}
