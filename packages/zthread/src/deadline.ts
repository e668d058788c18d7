/**
 * Internal: waiting with a deadline without losing anything. A race here
 * never leaves a receive behind that could swallow a message: callers race
 * `waitReadable()` (a read-ahead that keeps its message) or promises that
 * only report that something ended.
 * @module
 * @internal
 */
import { TIMED_OUT, TIMEOUT_RULE, now, raceDeadline as raceFor } from "@zkit/core";

export { TIMED_OUT, TIMEOUT_RULE };

/** What {@link settled} resolves with. */
export const SETTLED: unique symbol = Symbol("settled");

/** Resolves with `p`'s value, or with `TIMED_OUT` once `deadline` (a {@link now} time) passes: core's race, by an absolute time. */
export function raceDeadline<T>(p: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
  return raceFor(p, { timeoutMs: Math.max(0, deadline - now()) });
}

/** Resolves with {@link SETTLED} when `p` settles either way; never rejects. */
export function settled(p: Promise<unknown>): Promise<typeof SETTLED> {
  return p.then(
    () => SETTLED,
    () => SETTLED,
  );
}

/** The default deadline for an actor's start and destroy and a thread's stop: 10 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;
