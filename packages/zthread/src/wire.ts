/**
 * Internal: what the owner and a Worker started by zthread tell each other
 * over the Worker's own message port (not the ZeroMQ pipe), and how an error
 * crosses threads.
 * @module
 * @internal
 */

/** How a thread was started: with a pipe, with a pipe and the actor contract, or detached. */
export type ThreadKind = "fork" | "actor" | "detached";

/** What the bootstrap finds in `workerData`. */
export interface BootData {
  /** URL of the bootstrap module (the eval'd entry imports it). */
  bootstrap: string;
  /** URL of tsx's ESM API when the thread must load TypeScript, else null. */
  tsx: string | null;
  /** URL of the user's module. */
  module: string;
  /** The inproc endpoint the child connects its pipe to, or null (detached). */
  endpoint: string | null;
  kind: ThreadKind;
  args: unknown;
}

/** The key under which {@link BootData} travels in `workerData`. */
export const BOOT_KEY = "zkit:zthread";

/** Owner to thread. */
export type ToThread =
  /** The owner closed its pipe end: close the child's end too. */
  | { t: "close-pipe" }
  /** Close every zkit socket of the thread (the pipe included). */
  | { t: "shutdown" };

/** Thread to owner. */
export type FromThread =
  /** The thread's function threw (or an exception went uncaught there); sent once, first error only. */
  | { t: "error"; error: SerializedError }
  /** The function is over and every socket of the thread is closed; the thread ends next. */
  | { t: "ended" };

/** An error as it crosses threads (structured clone drops `code` and custom fields). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
}

/** Flattens `err` (any thrown value) for postMessage, causes included (3 levels). */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof Error || (typeof err === "object" && err !== null && "message" in err)) {
    const e = err as Error & { code?: unknown };
    const out: SerializedError = { name: String(e.name ?? "Error"), message: String(e.message) };
    if (typeof e.stack === "string") out.stack = e.stack;
    if (typeof e.code === "string") out.code = e.code;
    if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
    return out;
  }
  return { name: "Error", message: `non-error thrown: ${String(err)}` };
}

/** Rebuilds an Error from {@link serializeError}'s output, keeping the other thread's stack. */
export function reviveError(s: SerializedError): Error {
  const err = new Error(s.message, s.cause ? { cause: reviveError(s.cause) } : undefined) as Error & { code?: string };
  err.name = s.name;
  if (s.stack !== undefined) err.stack = s.stack;
  if (s.code !== undefined) err.code = s.code;
  return err;
}

/** True for a ZkitError-like error with code ZKIT_CLOSED (any copy of @zkit/core). */
export function isClosedError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "ZKIT_CLOSED";
}
