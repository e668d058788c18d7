/**
 * Internal: the owner's side of a Worker started by zthread. It starts the
 * Worker (with a pipe unless detached), follows what the bootstrap reports
 * on the Worker's port (`error`, `ended`) and the Worker's `exit`, and tells
 * the thread to close its pipe or all its sockets. Never `terminate()`.
 * @module
 * @internal
 */
import type { Worker } from "node:worker_threads";
import { getLogger } from "@zkit/core";
import { ThreadError } from "./errors.js";
import { PipeEnd, uniquePipeEndpoint } from "./pipe.js";
import { handled, type Runner } from "./runner.js";
import { moduleLabel, spawnWorker, toModuleUrl, type SpawnOptions } from "./spawn.js";
import { ZThread } from "./thread.js";
import { reviveError, type FromThread, type ThreadKind, type ToThread } from "./wire.js";

const log = getLogger("zthread");

const running = new Set<WorkerRunner>();

/**
 * Number of Worker threads started by zthread (threads and actors) from this
 * thread that have not ended yet. Tests use it to check that nothing is left
 * behind.
 */
export function runningThreadCount(): number {
  return running.size;
}

/** The runner of a Worker thread. */
export class WorkerRunner implements Runner {
  readonly pipe: PipeEnd | undefined;
  readonly threadId: number;
  readonly label: string;
  readonly ended: Promise<void>;
  readonly done: Promise<void>;
  hasEnded = false;
  exited = false;
  error: ThreadError | undefined;
  #worker: Worker;
  #settleEnded!: () => void;
  #settleDone!: () => void;
  #onError: ((err: ThreadError) => void) | undefined;

  constructor(worker: Worker, pipe: PipeEnd | undefined, label: string) {
    this.#worker = worker;
    this.pipe = pipe;
    this.label = label;
    this.threadId = worker.threadId;
    this.ended = handled(
      new Promise<void>((resolve, reject) => {
        this.#settleEnded = () => (this.error ? reject(this.error) : resolve());
      }),
    );
    this.done = handled(
      new Promise<void>((resolve, reject) => {
        this.#settleDone = () => (this.error ? reject(this.error) : resolve());
      }),
    );
    running.add(this);
    pipe?.onClose(() => this.#post({ t: "close-pipe" }));
    worker.on("message", (msg: FromThread) => {
      if (msg.t === "error") this.#fail(reviveError(msg.error));
      else if (msg.t === "ended") this.#end();
    });
    // an error the bootstrap could not catch (e.g. it failed to load)
    worker.on("error", (err) => this.#fail(err));
    worker.on("exit", (code) => {
      this.exited = true;
      running.delete(this);
      if (code !== 0) this.#fail(new Error(`the thread exited with code ${code}`));
      this.#end();
      log.debug("thread %s (id %d) exited with code %d", label, this.threadId, code);
      this.#settleDone();
    });
  }

  #end(): void {
    if (this.hasEnded) return;
    this.hasEnded = true;
    // every socket of the thread is closed: nothing more will come down the pipe
    this.pipe?.peerEnded();
    this.#settleEnded();
  }

  #fail(cause: Error): void {
    if (this.error) return;
    this.error = new ThreadError(`thread ${this.label} (id ${this.threadId}) failed: ${cause.name}: ${cause.message}`, this.threadId, { cause });
    log.error("%s", this.error.message);
    this.#onError?.(this.error);
  }

  #post(msg: ToThread): void {
    if (this.exited) return;
    try {
      this.#worker.postMessage(msg);
    } catch (err) {
      log.debug("cannot tell thread %d %s: %s", this.threadId, msg.t, (err as Error).message);
    }
  }

  forceStop(): void {
    this.#post({ t: "shutdown" });
    this.pipe?.close();
  }

  onError(fn: (err: ThreadError) => void): void {
    this.#onError = fn;
  }
}

const runners = new WeakMap<ZThread, WorkerRunner>();

/** The runner behind a thread (for ZActor). */
export function threadRunner(thread: ZThread): Runner {
  return runners.get(thread)!;
}

/** Starts a Worker running `module`: with a pipe unless `kind` is `"detached"`. */
export async function startThread(kind: ThreadKind, module: unknown, args: unknown, options: SpawnOptions, what: string): Promise<ZThread> {
  const url = toModuleUrl(module, what);
  const label = moduleLabel(url);
  let pipe: PipeEnd | undefined;
  let endpoint: string | null = null;
  if (kind !== "detached") {
    endpoint = uniquePipeEndpoint(kind === "actor" ? "actor" : "zthread");
    pipe = await PipeEnd.open(endpoint);
  }
  let worker: Worker;
  try {
    worker = spawnWorker(kind, url, endpoint, args, options);
  } catch (err) {
    pipe?.close();
    throw err;
  }
  const runner = new WorkerRunner(worker, pipe, label);
  const thread = new ZThread(runner, url.href);
  runners.set(thread, runner);
  log.debug("started %s thread %s (id %d)", kind, label, runner.threadId);
  return thread;
}
