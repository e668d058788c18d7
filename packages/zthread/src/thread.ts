/**
 * ZThread: the owner's handle on a Worker thread started by
 * {@link zthread.fork} or {@link zthread.new}: its pipe, its end
 * ({@link ZThread.done}) and a safe way to stop it ({@link ZThread.stop}).
 * @module
 */
import { EventEmitter } from "node:events";
import { TimeoutError, now, readOptions, type ZSocket } from "@zkit/core";
import { DEFAULT_TIMEOUT_MS, TIMED_OUT, TIMEOUT_RULE, raceDeadline, settled } from "./deadline.js";
import type { ThreadError } from "./errors.js";
import type { WorkerRunner } from "./worker-runner.js";

/** The events of a {@link ZThread}. */
export interface ZThreadEvents {
  /**
   * The thread's function threw, its module failed to load, or the thread
   * died. Emitted only when someone listens; {@link ZThread.done} rejects
   * with the same error either way.
   */
  error: [err: ThreadError];
}

/** Options of {@link ZThread.stop}. */
export interface StopOptions {
  /**
   * How long to wait for the thread to end once its sockets are closed.
   * @defaultValue 10000
   */
  timeoutMs?: number;
}

/**
 * A Worker thread running a module, as {@link zthread.fork} and
 * {@link zthread.new} return it.
 *
 * How it ends:
 * - its function returns or throws: zkit lets the sends it left queued on
 *   the pipe out (waiting up to the 1 s linger), closes every zkit socket of
 *   the thread, and the thread ends by itself; {@link ZThread.done} settles;
 * - the owner closes {@link ZThread.pipe}: the child's end closes too, so
 *   its pending `receive()` rejects with `ClosedError` and its
 *   `for await (… of pipe)` loop ends (messages it had not read are dropped);
 * - the owner calls {@link ZThread.stop}: every zkit socket of the thread is
 *   closed, then zkit waits for the end.
 *
 * The owner's pipe end closes by itself once the thread's function has ended
 * and everything it sent has been read, so an owner's `for await` loop ends too.
 *
 * zkit never calls `worker.terminate()`: with a socket operation pending it
 * aborts the whole process (zeromq.js issue 411).
 */
export class ZThread extends EventEmitter<ZThreadEvents> {
  /** The Worker's `threadId`. */
  readonly threadId: number;
  /** The URL of the module the thread runs. */
  readonly module: string;
  /**
   * The owner's end of the PAIR pipe (undefined for a detached thread).
   * Closing it closes the thread's end too.
   */
  readonly pipe: ZSocket<"PAIR"> | undefined;
  /**
   * Resolves when the thread has ended after its function returned; rejects
   * with a {@link ThreadError} (the child's error, with its stack, as `cause`)
   * when the function threw or the thread died. Never an unhandled
   * rejection: await it to see the error.
   */
  readonly done: Promise<void>;
  readonly #runner: WorkerRunner;

  /** @internal Created by {@link zthread.fork} and {@link zthread.new}. */
  constructor(runner: WorkerRunner, module: string) {
    super();
    this.#runner = runner;
    this.threadId = runner.threadId;
    this.module = module;
    this.pipe = runner.pipe;
    this.done = runner.done;
    runner.onError((err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
  }

  /** True until the thread has ended. */
  get running(): boolean {
    return !this.#runner.exited;
  }

  /**
   * Stops the thread the safe way: closes every zkit socket of the thread
   * (its pipe end included; with linger 0, so what they had not delivered is
   * dropped) and the owner's pipe end, so pending operations
   * there reject with `ClosedError` and `for await` loops end, then waits for
   * the thread to end. A `ClosedError` the thread's function throws after
   * this counts as a normal end. For a graceful end, send the thread a
   * message it understands instead (CZMQ's convention: `["$TERM"]`) and
   * await {@link ZThread.done}.
   *
   * @returns resolves when the thread has ended; rejects with the
   *   {@link ThreadError} if its function failed
   * @throws `TimeoutError` when the thread is still running after
   *   `timeoutMs` (something other than a socket keeps it alive: a timer, a
   *   server, a busy loop)
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const timeoutMs = readOptions(options, { owner: "ZThread.stop" }).number("timeoutMs", DEFAULT_TIMEOUT_MS, TIMEOUT_RULE);
    const timeout = new TimeoutError(`thread ${this.#runner.label} (id ${this.threadId}) did not end within ${timeoutMs} ms after its sockets were closed`);
    this.#runner.forceStop();
    if ((await raceDeadline(settled(this.done), now() + timeoutMs)) === TIMED_OUT) throw timeout;
    await this.done;
  }

  /** Stops the thread (for `await using`); see {@link ZThread.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** A thread started with a pipe: {@link ZThread.pipe} is set. */
export type ForkedThread = ZThread & { readonly pipe: ZSocket<"PAIR"> };
