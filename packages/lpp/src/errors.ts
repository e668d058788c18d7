/**
 * The errors of `@zkit/lpp`.
 * @module
 */
import { TimeoutError, type ZkitErrorOptions } from "@zkit/core";

/**
 * A request got no matching reply after its last retry: every attempt
 * (`1 + retries`) timed out. Its `code` is `ZKIT_TIMEOUT`, like every zkit
 * timeout; test `err instanceof RetriesExhaustedError` to tell it apart.
 */
export class RetriesExhaustedError extends TimeoutError {
  /** How many times the request was sent (1 + retries). */
  readonly attempts: number;
  /** The reply timeout of each attempt, in ms. */
  readonly timeoutMs: number;

  /**
   * @param attempts - how many times the request was sent
   * @param timeoutMs - the timeout of each attempt
   */
  constructor(attempts: number, timeoutMs: number, options?: ZkitErrorOptions) {
    super(
      `no reply after ${attempts} attempt${attempts === 1 ? "" : "s"} of ${timeoutMs} ms each: the server seems to be offline`,
      options,
    );
    this.attempts = attempts;
    this.timeoutMs = timeoutMs;
  }
}
