/**
 * Waiting with a deadline and an AbortSignal, the one way every zkit package
 * does it. A race here never leaves a receive behind that could swallow a
 * message: race `waitReadable()` (a read-ahead that keeps its message) or
 * promises that only report that something ended, never `receive()`.
 * @module
 */
import { AbortError } from "./errors.js";
import { now } from "./clock.js";
import type { NumberRule } from "./options.js";

/** What {@link raceDeadline} resolves with when the time is up first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** What a `timeoutMs` option accepts: a number of milliseconds > 0 (for `readOptions`). */
export const TIMEOUT_RULE: NumberRule = { min: 0, exclusive: true };

/** What a `retries` option accepts: an integer >= 0 (for `readOptions`). */
export const RETRIES_RULE: NumberRule = { min: 0, integer: true, meaning: "resends after the first attempt" };

/**
 * The `AbortError` for an operation `what` cancelled by `signal`, its reason
 * kept as `cause`.
 */
export function abortError(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what}: aborted`, { cause: signal.reason });
}

/** Options of {@link raceDeadline}. */
export interface RaceOptions {
  /** Milliseconds from now; `Infinity` for none. */
  timeoutMs: number;
  /** Rejects the race with an `AbortError` when it aborts first. */
  signal?: AbortSignal | undefined;
  /** What is waited for, for the `AbortError`'s message. @defaultValue "the operation" */
  what?: string;
}

/**
 * Resolves like `p`, or with {@link TIMED_OUT} once `timeoutMs` pass;
 * rejects with an `AbortError` when `signal` aborts first (or already has).
 * The timer and the abort listener are gone when it settles.
 */
export function raceDeadline<T>(p: Promise<T>, options: RaceOptions): Promise<T | typeof TIMED_OUT> {
  const { timeoutMs, signal, what = "the operation" } = options;
  return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(what, signal));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(what, signal!));
    };
    if (timeoutMs !== Infinity) {
      timer = setTimeout(
        () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(TIMED_OUT);
        },
        Math.max(0, timeoutMs),
      );
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * An AbortSignal that aborts when the time is up or when any of the given
 * signals aborts, whichever comes first; `dispose()` drops its timer and
 * listeners. For handing one signal to a handler that must stop on a
 * deadline, on its caller's cancel, and on close.
 */
export class DeadlineSignal {
  readonly #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  readonly #cleanup: (() => void)[] = [];
  /** The deadline as a {@link now}-style time in ms (`Infinity` for none). */
  readonly deadline: number;

  /**
   * @param timeoutMs - milliseconds from now, `Infinity` for no deadline
   * @param signals - signals that abort this one too (undefined ones are skipped)
   */
  constructor(timeoutMs: number, ...signals: (AbortSignal | undefined)[]) {
    this.deadline = timeoutMs === Infinity ? Infinity : now() + timeoutMs;
    for (const s of signals) {
      if (s === undefined) continue;
      if (s.aborted) {
        this.#controller.abort(s.reason);
        return;
      }
      const on = (): void => this.#abort(s.reason);
      s.addEventListener("abort", on, { once: true });
      this.#cleanup.push(() => s.removeEventListener("abort", on));
    }
    if (timeoutMs !== Infinity) {
      this.#timer = setTimeout(() => this.#abort(new DOMException("the deadline passed", "TimeoutError")), Math.max(0, timeoutMs));
    }
  }

  /** The signal. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True when it aborted because the time was up. */
  get timedOut(): boolean {
    return this.#controller.signal.aborted && (this.#controller.signal.reason as { name?: unknown } | undefined)?.name === "TimeoutError";
  }

  /**
   * Milliseconds left before the deadline (0 when past or once it timed
   * out, `Infinity` for none). Node's timers may fire a fraction of a
   * millisecond before the deadline read from the monotonic clock (seen on
   * Node 24): once the timer fired, the time is up.
   */
  get remainingMs(): number {
    if (this.timedOut) return 0;
    return Math.max(0, this.deadline - now());
  }

  /** Drops the timer and the listeners; the signal stays as it is. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const f of this.#cleanup.splice(0)) f();
  }

  #abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    this.dispose();
  }
}
