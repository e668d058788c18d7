/**
 * zthread: CZMQ's `zthread_fork` and `zthread_new` on `worker_threads`. A
 * module runs in a Worker, joined to its owner by an inproc PAIR pipe in
 * the default ZeroMQ context, which every thread of the process shares.
 * @module
 */
import type { TransferListItem, WorkerOptions } from "node:worker_threads";
import type { ZSocket } from "@zkit/core";
import type { ForkedThread, ZThread } from "./thread.js";
import { startThread } from "./worker-runner.js";

/**
 * The default export of a module run by {@link zthread.fork} (CZMQ
 * `zthread_attached_fn`): called in the new thread with the thread's end of
 * the pipe and the args. When it returns or throws, zkit delivers the sends
 * it left queued on the pipe (up to the 1 s linger), closes every zkit socket
 * of the thread, and the thread ends.
 *
 * @typeParam A - the args, as the owner passed them (structured-cloned)
 */
export type AttachedFn<A = unknown> = (pipe: ZSocket<"PAIR">, args: A) => void | Promise<void>;

/**
 * The default export of a module run by {@link zthread.new} (CZMQ
 * `zthread_detached_fn`): called in the new thread with the args only.
 *
 * @typeParam A - the args, as the owner passed them (structured-cloned)
 */
export type DetachedFn<A = unknown> = (args: A) => void | Promise<void>;

/** Options for starting a Worker thread ({@link zthread.fork}, {@link zthread.new}, `ZActor.fork`). */
export interface ThreadOptions {
  /**
   * Node options for the Worker, instead of `process.execArgv` (which the
   * Worker inherits by default). zkit still adds what it needs to run from
   * source (`--conditions=@zkit/source`) and loads tsx by itself for a
   * TypeScript module.
   * @defaultValue `process.execArgv`
   */
  execArgv?: readonly string[];
  /** Objects in `args` to transfer rather than copy (ArrayBuffers, MessagePorts). */
  transferList?: readonly TransferListItem[];
  /** Memory limits of the Worker, as `worker_threads` takes them. */
  resourceLimits?: WorkerOptions["resourceLimits"];
}

/**
 * CZMQ's zthread: run a module in a `worker_threads` Worker, with a pipe
 * ({@link zthread.fork}) or detached ({@link zthread.new}).
 * @namespace
 */
export const zthread = {
  /**
   * Runs `module` in a new Worker thread joined to the caller by a PAIR pipe
   * (CZMQ `zthread_fork`).
   *
   * `module` is a file URL or path of an ES module whose default export is an
   * {@link AttachedFn}: `export default async (pipe, args) => { ... }`. It may
   * be TypeScript (`.ts`) when tsx is installed. `args` are structured-cloned
   * into the thread.
   *
   * The thread ends when its function returns or throws; zkit then closes
   * every zkit socket of the thread. Closing the returned `pipe` closes the
   * thread's end too (its receive rejects with `ClosedError`, its `for await`
   * ends). See {@link ZThread} for the rest of the contract.
   *
   * @example
   * ```ts
   * const thread = await zthread.fork(new URL("./echo.js", import.meta.url), { greeting: "hi" });
   * await thread.pipe.send("hello");
   * console.log((await thread.pipe.receive()).toString());
   * thread.pipe.close();   // the child's for-await loop ends, so does the thread
   * await thread.done;     // rejects with a ThreadError if the child threw
   * ```
   * @param module - the module to run: `new URL("./worker.js", import.meta.url)`, a `file:` URL string or a path
   * @param args - passed to the function (structured-cloned)
   * @param options - Worker options
   * @returns the thread, once started (its function may not be running yet)
   * @throws `InvalidArgumentError` when the module does not exist or `args` cannot be cloned
   */
  async fork<A>(module: string | URL, args?: A, options: ThreadOptions = {}): Promise<ForkedThread> {
    return (await startThread("fork", module, args, options, "zthread.fork")) as ForkedThread;
  },

  /**
   * Runs `module` in a new Worker thread with no pipe (CZMQ `zthread_new`).
   * Its default export is a {@link DetachedFn}: `export default async (args) => { ... }`.
   * Await {@link ZThread.done} to see it end or fail; {@link ZThread.stop}
   * closes its sockets.
   *
   * @param module - the module to run: `new URL("./task.js", import.meta.url)`, a `file:` URL string or a path
   * @param args - passed to the function (structured-cloned)
   * @param options - Worker options
   * @returns the thread, once started
   * @throws `InvalidArgumentError` when the module does not exist or `args` cannot be cloned
   */
  async new<A>(module: string | URL, args?: A, options: ThreadOptions = {}): Promise<ZThread> {
    return startThread("detached", module, args, options, "zthread.new");
  },
};
