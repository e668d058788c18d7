/**
 * Internal: waiting with a deadline without losing anything. A race here
 * never leaves a receive behind that could swallow a message: callers race
 * `waitReadable()` (a read-ahead that keeps its message) or promises that
 * only report that something ended.
 * @module
 * @internal
 */
import { now, type NumberRule } from "@zkit/core";

/** What {@link raceDeadline} resolves with when the deadline passes first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** What {@link settled} resolves with. */
export const SETTLED: unique symbol = Symbol("settled");

/** Resolves with `p`'s value, or with {@link TIMED_OUT} once `deadline` (a {@link now} time) passes. */
export function raceDeadline<T>(p: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
  const left = deadline - now();
  if (left <= 0) return Promise.race([p, Promise.resolve(TIMED_OUT)]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.ceil(left));
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with {@link SETTLED} when `p` settles either way; never rejects. */
export function settled(p: Promise<unknown>): Promise<typeof SETTLED> {
  return p.then(
    () => SETTLED,
    () => SETTLED,
  );
}

/** What a timeout option accepts: a finite number of milliseconds > 0 (for `readOptions` of `@zkit/core`). */
export const TIMEOUT_RULE: NumberRule = { min: 0, exclusive: true };

/** The default deadline for an actor's start and destroy and a thread's stop: 10 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;
