/**
 * Internal: runs an actor's function in this thread, joined to its owner by
 * an inproc PAIR pipe, with the same shim as in a Worker: when the function
 * returns, signal 0 on its pipe (as CZMQ's actor shim does), then close its
 * end.
 * @module
 * @internal
 */
import { threadId } from "node:worker_threads";
import { ZSOCKET_LINGER_MS, ZSocket, getLogger, now } from "@zkit/core";
import { raceDeadline } from "./deadline.js";
import { ThreadError } from "./errors.js";
import { PipeEnd, uniquePipeEndpoint } from "./pipe.js";
import { handled, type Runner } from "./runner.js";
import { encodeSignal } from "./signal-codec.js";
import { isClosedError } from "./wire.js";

const log = getLogger("zthread");

/** The function an in-thread runner calls. */
export type PipeFn<A> = (pipe: ZSocket<"PAIR">, args: A) => unknown;

/** Creates the pipe and starts `fn` on the next microtask. */
export async function startInThread<A>(fn: PipeFn<A>, args: A, label: string): Promise<Runner> {
  const endpoint = uniquePipeEndpoint("actor");
  const pipe = await PipeEnd.open(endpoint);
  let child: ZSocket<"PAIR">;
  try {
    child = await ZSocket.pair(`>${endpoint}`);
  } catch (err) {
    pipe.close();
    throw err;
  }
  return new InThreadRunner(pipe, child, fn, args, label);
}

class InThreadRunner<A> implements Runner {
  readonly pipe: PipeEnd;
  readonly threadId = threadId;
  readonly label: string;
  readonly ended: Promise<void>;
  readonly done: Promise<void>;
  hasEnded = false;
  error: ThreadError | undefined;
  #child: ZSocket<"PAIR">;
  #stopRequested = false;
  #onError: ((err: ThreadError) => void) | undefined;

  constructor(pipe: PipeEnd, child: ZSocket<"PAIR">, fn: PipeFn<A>, args: A, label: string) {
    this.pipe = pipe;
    this.#child = child;
    this.label = label;
    pipe.onClose(() => {
      this.#stopRequested = true;
      child.close();
    });
    this.ended = handled(this.#run(fn, args));
    this.done = this.ended;
  }

  async #run(fn: PipeFn<A>, args: A): Promise<void> {
    await Promise.resolve();
    let failure: unknown;
    let failed = false;
    try {
      await fn(this.#child, args);
    } catch (err) {
      if (!(this.#stopRequested && isClosedError(err))) {
        failed = true;
        failure = err;
      }
    }
    const child = this.#child;
    if (!child.closed) await raceDeadline(child.flush(), now() + ZSOCKET_LINGER_MS); // sends left queued
    if (!failed && !child.closed) {
      try {
        child.set("sendTimeout", 0);
        await child.send(encodeSignal(0));
      } catch {
        // the owner is gone
      }
    }
    child.close();
    this.hasEnded = true;
    this.pipe.peerEnded();
    if (failed) {
      const cause = failure instanceof Error ? failure : new Error(`non-error thrown: ${String(failure)}`);
      const err = new ThreadError(`actor ${this.label} (in thread ${this.threadId}) failed: ${cause.name}: ${cause.message}`, this.threadId, {
        cause: failure,
      });
      this.error = err;
      log.error("%s", err.message);
      this.#onError?.(err);
      throw err;
    }
  }

  forceStop(): void {
    this.#stopRequested = true;
    this.pipe.close();
  }

  onError(fn: (err: ThreadError) => void): void {
    this.#onError = fn;
  }
}
