/**
 * Backoff: how long to wait before the next reconnect. Exponential from
 * `initialMs` to `maxMs` (a fixed delay when they are equal), with optional
 * jitter so that a fleet of workers does not reconnect in lockstep.
 * @module
 */
import { readOptions } from "@zkit/core";

/** Options of a {@link Backoff}. */
export interface BackoffOptions {
  /** The first delay, in ms. */
  initialMs: number;
  /** The longest delay, in ms (>= `initialMs`). @defaultValue `initialMs` (a fixed delay) */
  maxMs?: number;
  /** The factor between two delays. @defaultValue 2 */
  multiplier?: number;
  /**
   * A fraction of each delay drawn at random and subtracted (0 to 1): with
   * 0.2 a 1000 ms delay is anything from 800 to 1000 ms.
   * @defaultValue 0
   */
  jitter?: number;
}

/**
 * The delays of successive reconnect attempts: `next()` gives the wait
 * before the next one, `reset()` starts over once the peer answered.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 1000, maxMs: 32_000 }); // the Guide's Paranoid Pirate
 * backoff.next(); // 1000, then 2000, 4000 ... 32000, 32000
 * backoff.reset();
 * ```
 */
export class Backoff {
  /** The first delay, in ms. */
  readonly initialMs: number;
  /** The longest delay, in ms. */
  readonly maxMs: number;
  readonly #multiplier: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #next: number;
  #attempt = 0;

  /**
   * @param options - see {@link BackoffOptions}
   * @param random - the source of jitter, `Math.random` unless a test fixes it
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: BackoffOptions, random: () => number = Math.random) {
    const o = readOptions(options, { owner: "Backoff", known: ["initialMs", "maxMs", "multiplier", "jitter"] });
    this.initialMs = o.number("initialMs", 1000, { min: 0 });
    this.maxMs = o.number("maxMs", this.initialMs, { min: 0 });
    if (this.maxMs < this.initialMs) o.fail("maxMs", `(${this.maxMs}) must be >= initialMs (${this.initialMs})`);
    this.#multiplier = o.number("multiplier", 2, { min: 1 });
    this.#jitter = o.number("jitter", 0, { min: 0 });
    if (this.#jitter > 1) o.fail("jitter", `must be a fraction from 0 to 1, got ${this.#jitter}`);
    this.#random = random;
    this.#next = this.initialMs;
  }

  /** Attempts since the last reset (how many times `next()` was called). */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay `next()` will give, before jitter. */
  peek(): number {
    return this.#next;
  }

  /** The wait before the next attempt, in ms; the one after it is longer, up to `maxMs`. */
  next(): number {
    const base = this.#next;
    this.#attempt++;
    this.#next = Math.min(this.maxMs, this.#next * this.#multiplier);
    return this.#jitter === 0 ? base : Math.round(base * (1 - this.#jitter * this.#random()));
  }

  /** Starts over from `initialMs` (the peer answered). */
  reset(): void {
    this.#next = this.initialMs;
    this.#attempt = 0;
  }
}
