/**
 * Clock: CZMQ's zclock for Node. `now()` is monotonic milliseconds, for timers
 * and expiry; `time()` is wall-clock milliseconds since the epoch.
 * @module
 */
import { performance } from "node:perf_hooks";

/** Monotonic milliseconds (fractional). Never goes backwards; use for deadlines. */
export function now(): number {
  return performance.now();
}

/** Wall-clock milliseconds since the Unix epoch (CZMQ `zclock_time`). */
export function time(): number {
  return Date.now();
}

/**
 * Resolves after `ms` milliseconds (CZMQ `zclock_sleep`). For applications and
 * examples; never use a fixed sleep to synchronize tests.
 *
 * @param ms - milliseconds to wait
 * @param signal - rejects early with the signal's reason when aborted
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
