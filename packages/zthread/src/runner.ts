/**
 * Internal: what ZActor needs from whatever runs its function, in this
 * thread ({@link startInThread}) or in a Worker (a ZThread's runner).
 * @module
 * @internal
 */
import type { ThreadError } from "./errors.js";
import type { PipeEnd } from "./pipe.js";

/** Something running a function at the other end of a pipe. */
export interface Runner {
  /** The owner's end of the pipe (undefined for a detached thread). */
  readonly pipe: PipeEnd | undefined;
  /** The thread the function runs in. */
  readonly threadId: number;
  /** A short name for errors: the module's file name or the function's name. */
  readonly label: string;
  /** Settles when the function returned or threw (rejects with the ThreadError); handled. */
  readonly ended: Promise<void>;
  /** Settles when the thread is gone too (the same as `ended` in this thread); handled. */
  readonly done: Promise<void>;
  /** True once `ended` settled. */
  readonly hasEnded: boolean;
  /** The first failure, once there is one. */
  readonly error: ThreadError | undefined;
  /**
   * Ends it the safe way: closes both ends of the pipe and, for a Worker,
   * every zkit socket of that thread; pending operations there reject with
   * ClosedError, which then counts as a normal end.
   */
  forceStop(): void;
  /** Called once with the first failure. */
  onError(fn: (err: ThreadError) => void): void;
}

/** Marks `p` handled (a rejection nobody awaits must not crash the process) and returns it. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
