/**
 * Deadlines instead of sleeps: wait for a promise or a condition, and fail
 * with a message that says what did not happen.
 * @module
 */

/** Resolves like `p`, or rejects after `ms` with `timed out after ms waiting for <what>`. */
export function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof what === "function" ? what() : `timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `cond` (sync or async) every `intervalMs` until it returns true, or
 * rejects once `ms` have passed.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let inprocCounter = 0;

/** A unique inproc endpoint, e.g. `inproc://mdp-1234-7`. */
export function inprocName(prefix = "test"): string {
  return `inproc://${prefix}-${process.pid}-${++inprocCounter}`;
}
