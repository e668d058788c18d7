/**
 * ThreadError: the code running in a thread or an actor failed; the error
 * it threw (with its stack, from the other thread if need be) is the `cause`.
 * @module
 */
import { ZkitError } from "@zkit/core";

/**
 * The function of a thread ({@link zthread.fork}, {@link zthread.new}) or of
 * an actor ({@link ZActor}) threw, its module could not be loaded, or its
 * thread died. `cause` is the error it threw: for a Worker, a copy rebuilt
 * from the other thread with its `name`, `message`, `stack` and `code`.
 */
export class ThreadError extends ZkitError {
  /** The id of the thread that failed (`worker_threads` `threadId`). */
  readonly threadId: number;

  /**
   * @param message - what failed, e.g. `thread echo.ts (id 3) failed: Error: boom`
   * @param threadId - the failing thread's `threadId`
   * @param options - `cause`: the error the thread threw
   */
  constructor(message: string, threadId: number, options?: { cause?: unknown }) {
    super(ThreadError.code, message, options);
    this.threadId = threadId;
  }

  /** The `code` of every ThreadError. */
  static readonly code = "ZKIT_THREAD_FAILED";
}
