/**
 * ZActor: CZMQ's zactor. A function runs at the other end of a PAIR pipe,
 * in this thread ({@link ZActor.create}) or in a Worker ({@link ZActor.fork});
 * the owner talks to it through the actor as through a socket. Starting
 * waits for the actor's ready signal; destroying sends `["$TERM"]` and waits
 * for its signal and its end.
 * @module
 */
import { EventEmitter } from "node:events";
import { ClosedError, InvalidArgumentError, TimeoutError, now, readOptions, type MessageLike, type Pollable, type Sendable, type ZSocket } from "@zkit/core";
import { DEFAULT_TIMEOUT_MS, SETTLED, TIMED_OUT, TIMEOUT_RULE, raceDeadline, settled } from "./deadline.js";
import type { ThreadError } from "./errors.js";
import { startInThread } from "./in-thread.js";
import { handled, type Runner } from "./runner.js";
import { decodeSignal } from "./signal-codec.js";
import { startThread, threadRunner } from "./worker-runner.js";
import type { ThreadOptions } from "./zthread.js";

/**
 * An actor's function (CZMQ `zactor_fn`): called with the actor's end of the
 * pipe and the args. The contract:
 *
 * 1. when ready, send signal 0 on the pipe: `await signal(pipe, 0)`; until
 *    then {@link ZActor.create} / {@link ZActor.fork} do not resolve;
 * 2. read commands from the pipe; on `["$TERM"]` ({@link ZActor.isTerm})
 *    return. zkit then sends the final signal 0 for it, as CZMQ's actor shim
 *    does (an actor that sends it itself does no harm);
 * 3. close the sockets it opened. In a Worker, zkit closes every zkit socket
 *    of the thread once the function returns or throws; in this thread it
 *    closes the pipe only.
 *
 * Throwing ends the actor too: the owner sees a {@link ThreadError}.
 *
 * @typeParam A - the args (structured-cloned into a Worker, passed as is in this thread)
 */
export type ActorFn<A = unknown> = (pipe: ZSocket<"PAIR">, args: A) => void | Promise<void>;

/** Default of {@link ActorOptions.startTimeoutMs} for {@link ZActor.fork}, in ms. */
export const ZACTOR_FORK_START_TIMEOUT_MS = 30_000;

/** Deadlines of an actor, for {@link ZActor.create} and {@link ZActor.fork}. */
export interface ActorOptions {
  /**
   * How long to wait for the actor's ready signal. Past it, zkit closes the
   * actor's pipe (and in a Worker every socket of the thread) and the start
   * fails with a `TimeoutError`. (An actor whose module fails to load, or
   * whose function throws, fails at once, whatever this deadline.)
   * @defaultValue 10000 for {@link ZActor.create}; 30000
   * ({@link ZACTOR_FORK_START_TIMEOUT_MS}) for {@link ZActor.fork}, whose
   * new thread first loads its module: seconds on a loaded machine or under
   * a TypeScript loader
   */
  startTimeoutMs?: number;
  /**
   * The default deadline of {@link ZActor.destroy}.
   * @defaultValue 10000
   */
  destroyTimeoutMs?: number;
}

/** Options of {@link ZActor.fork}: the actor's deadlines and the Worker's options. */
export interface ActorForkOptions extends ActorOptions, ThreadOptions {}

/** Options of {@link ZActor.destroy}. */
export interface DestroyOptions {
  /**
   * How long the whole `$TERM` handshake and the actor's end may take.
   * @defaultValue the actor's `destroyTimeoutMs` (10000)
   */
  timeoutMs?: number;
}

/** The events of a {@link ZActor}. */
export interface ZActorEvents {
  /**
   * The actor's function threw (or its Worker died). Emitted only when
   * someone listens; {@link ZActor.done} and {@link ZActor.destroy} reject
   * with the same error either way.
   */
  error: [err: ThreadError];
}

const TERM = "$TERM";
const SENT = Symbol("sent");

/**
 * An actor (CZMQ `zactor`): a function running at the other end of a PAIR
 * pipe, in this thread or in a Worker, that the owner uses like a socket.
 * It is `Pollable` and `Sendable`, so it goes wherever a socket
 * does: a ZLoop reader, a ZPoller, a `for await` loop.
 *
 * @example
 * ```ts
 * const actor = await ZActor.create(async (pipe) => {
 *   await signal(pipe, 0); // ready
 *   for await (const msg of pipe) {
 *     if (ZActor.isTerm(msg)) break;
 *     await pipe.send(msg); // echo
 *   }
 * });
 * await actor.send("hello");
 * console.log((await actor.receive()).toString());
 * await actor.destroy(); // $TERM, its signal, its end
 * ```
 */
export class ZActor extends EventEmitter<ZActorEvents> implements Pollable, Sendable, AsyncIterable<Buffer[]> {
  /** The command that asks an actor to end: a message whose first frame is `$TERM`. */
  static readonly TERM = TERM;

  readonly #runner: Runner;
  readonly #pipe: ZSocket<"PAIR">;
  readonly #destroyTimeoutMs: number;
  #destroying: Promise<void> | undefined;

  private constructor(runner: Runner, destroyTimeoutMs: number) {
    super();
    this.#runner = runner;
    this.#pipe = runner.pipe!;
    this.#destroyTimeoutMs = destroyTimeoutMs;
    runner.onError((err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
  }

  /**
   * Starts an actor in this thread (CZMQ `zactor_new`): `fn` runs on the
   * next microtask with its end of a fresh inproc PAIR pipe. Resolves once
   * the actor has sent its ready signal.
   *
   * @param fn - the actor's function; see {@link ActorFn}
   * @param args - passed to `fn` as they are
   * @param options - the start and destroy deadlines
   * @throws `TimeoutError` when no ready signal comes within `startTimeoutMs`
   * @throws {@link ThreadError} when `fn` throws before it is ready
   * @throws `InvalidArgumentError` when `fn` is not a function or an option is bad
   */
  static async create<A>(fn: ActorFn<A>, args?: A, options: ActorOptions = {}): Promise<ZActor> {
    if (typeof fn !== "function") throw new InvalidArgumentError(`ZActor.create: fn must be a function, got ${typeof fn}`);
    const { startTimeoutMs, destroyTimeoutMs } = readDeadlines(options, "ZActor.create");
    const timeout = new TimeoutError("the actor did not start in time");
    const runner = await startInThread(fn, args as A, fn.name || "(anonymous)");
    const actor = new ZActor(runner, destroyTimeoutMs);
    await actor.#awaitReady(startTimeoutMs, timeout);
    return actor;
  }

  /**
   * Starts an actor in a new Worker thread: `module`'s default export is an
   * {@link ActorFn}, run there as by `zthread.fork`. Resolves once the actor
   * has sent its ready signal.
   *
   * @example
   * ```ts
   * const actor = await ZActor.fork(new URL("./echo-actor.js", import.meta.url), { prefix: "echo:" });
   * ```
   * @param module - the module: `new URL("./actor.js", import.meta.url)`, a `file:` URL string or a path
   * @param args - passed to the function (structured-cloned)
   * @param options - the deadlines and the Worker's options
   * @throws `TimeoutError` when no ready signal comes within `startTimeoutMs`
   * @throws {@link ThreadError} when the module fails to load or the function throws before it is ready
   * @throws `InvalidArgumentError` when the module does not exist, `args` cannot be cloned or an option is bad
   */
  static async fork<A>(module: string | URL, args?: A, options: ActorForkOptions = {}): Promise<ZActor> {
    const { startTimeoutMs, destroyTimeoutMs } = readDeadlines(options, "ZActor.fork", ZACTOR_FORK_START_TIMEOUT_MS);
    const timeout = new TimeoutError("the actor did not start in time");
    const thread = await startThread("actor", module, args, options, "ZActor.fork");
    const actor = new ZActor(threadRunner(thread), destroyTimeoutMs);
    await actor.#awaitReady(startTimeoutMs, timeout);
    return actor;
  }

  /**
   * True when `msg` is the `$TERM` command (its first frame is `$TERM`), which
   * asks an actor to end.
   */
  static isTerm(msg: readonly Buffer[]): boolean {
    const first = msg[0];
    return first !== undefined && first.length === TERM.length && first.toString("latin1") === TERM;
  }

  /** The owner's end of the pipe. Closing it closes the actor's end too. */
  get pipe(): ZSocket<"PAIR"> {
    return this.#pipe;
  }

  /** The thread the actor runs in: a Worker's `threadId`, or this thread's for {@link ZActor.create}. */
  get threadId(): number {
    return this.#runner.threadId;
  }

  /**
   * Resolves when the actor's function has returned and, in a Worker, the
   * thread has ended; rejects with a {@link ThreadError} when the function
   * threw. Never an unhandled rejection: await it to see the error.
   */
  get done(): Promise<void> {
    return this.#runner.done;
  }

  /** True until the actor's function has returned or thrown. */
  get running(): boolean {
    return !this.#runner.hasEnded;
  }

  /** True when {@link ZActor.receive} would complete at once. */
  get readable(): boolean {
    return this.#pipe.readable;
  }

  /** True once the pipe is closed (after {@link ZActor.destroy}, or once the actor ended and everything it sent was read). */
  get closed(): boolean {
    return this.#pipe.closed;
  }

  /** Sends a message to the actor. */
  send(message: MessageLike): Promise<void> {
    return this.#pipe.send(message);
  }

  /** Receives the next message from the actor; rejects with `ClosedError` once the pipe is closed. */
  receive(): Promise<Buffer[]> {
    return this.#pipe.receive();
  }

  /** Waits until a message from the actor can be received at once (a read-ahead; nothing is lost). */
  waitReadable(): Promise<boolean> {
    return this.#pipe.waitReadable();
  }

  /** Iterates over the actor's messages; ends when the pipe closes. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer[]> {
    return this.#pipe[Symbol.asyncIterator]();
  }

  /**
   * Ends the actor (CZMQ `zactor_destroy`): sends `["$TERM"]`, waits for the
   * actor's signal and for its function (and Worker thread) to end, then
   * closes the pipe. Idempotent: every call returns the same promise. If the
   * actor has already ended, it just closes the pipe.
   *
   * If the handshake does not complete within `timeoutMs`, zkit closes the
   * actor's pipe (and in a Worker every zkit socket of the thread), waits up
   * to `timeoutMs` more for it to end, and rejects with a `TimeoutError`
   * saying which step did not happen and whether the actor ended after all.
   *
   * @returns resolves once the actor is gone
   * @throws {@link ThreadError} when the actor's function threw (now or earlier)
   * @throws `TimeoutError` as above
   */
  destroy(options: DestroyOptions = {}): Promise<void> {
    if (this.#destroying === undefined) {
      let timeoutMs: number;
      try {
        timeoutMs = readOptions(options, { owner: "ZActor.destroy" }).number("timeoutMs", this.#destroyTimeoutMs, TIMEOUT_RULE);
      } catch (err) {
        return Promise.reject(err);
      }
      this.#destroying = handled(this.#destroy(timeoutMs, new TimeoutError("the actor did not end in time")));
    }
    return this.#destroying;
  }

  /** Destroys the actor (for `await using`); see {@link ZActor.destroy}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  async #awaitReady(timeoutMs: number, timeout: TimeoutError): Promise<void> {
    const runner = this.#runner;
    const pipe = this.#pipe;
    const deadline = now() + timeoutMs;
    const ended = settled(runner.ended);
    for (;;) {
      const got = await raceDeadline(Promise.race([pipe.waitReadable(), ended]), deadline);
      if (got === TIMED_OUT) {
        const gone = await this.#abandon(timeoutMs);
        timeout.message = `actor ${runner.label} did not signal ready within ${timeoutMs} ms; zkit closed its sockets and ${gone ? "it ended" : "its thread is still running"}`;
        throw timeout;
      }
      if (got === SETTLED || got === false) {
        // the function ended before a ready signal came
        if (runner.error) {
          await this.#abandon(timeoutMs);
          throw runner.error;
        }
        if (got === false) throw new ClosedError(`actor ${runner.label}: the pipe closed before the actor signalled ready`);
        return; // it returned without signalling: as in CZMQ, its end counts as the signal
      }
      if (decodeSignal(await pipe.receive()) >= 0) return;
    }
  }

  /** Closes everything and waits up to `graceMs` for the end; true if it ended. */
  async #abandon(graceMs: number): Promise<boolean> {
    this.#runner.forceStop();
    return (await raceDeadline(settled(this.#runner.done), now() + graceMs)) !== TIMED_OUT;
  }

  async #destroy(timeoutMs: number, timeout: TimeoutError): Promise<void> {
    const runner = this.#runner;
    const pipe = this.#pipe;
    const deadline = now() + timeoutMs;
    const ended = settled(runner.ended);
    let missed: string | undefined; // the step that did not happen in time
    if (!runner.hasEnded && !pipe.closed) {
      const sent = await raceDeadline(
        Promise.race([
          pipe.send(TERM).then(
            () => SENT,
            () => SENT,
          ),
          ended,
        ]),
        deadline,
      );
      if (sent === TIMED_OUT) missed = "take the $TERM message";
      else if (sent === SENT && (await this.#waitSignalOrEnd(ended, deadline)) === TIMED_OUT) missed = "answer $TERM with a signal";
      if (missed === undefined && (await raceDeadline(ended, deadline)) === TIMED_OUT) missed = "return after answering $TERM";
    }
    if (missed === undefined) {
      pipe.close();
      if ((await raceDeadline(settled(runner.done), deadline)) === TIMED_OUT) missed = "end its thread after its function returned";
    }
    if (missed !== undefined) {
      const gone = await this.#abandon(timeoutMs);
      timeout.message = `actor ${runner.label} did not ${missed} within ${timeoutMs} ms; zkit closed its sockets and ${gone ? "it ended" : "its thread is still running"}`;
      throw timeout;
    }
    await runner.done;
  }

  /**
   * Reads the pipe until a signal comes (CZMQ `zsock_wait`, dropping other
   * messages) or the function ends. If the owner has a receive pending on the
   * pipe itself (a `for await` loop), the signal is theirs: wait for the end only.
   */
  async #waitSignalOrEnd(ended: Promise<typeof SETTLED>, deadline: number): Promise<"signal" | "closed" | typeof SETTLED | typeof TIMED_OUT> {
    const pipe = this.#pipe;
    try {
      for (;;) {
        const got = await raceDeadline(Promise.race([pipe.waitReadable(), ended]), deadline);
        if (got === TIMED_OUT || got === SETTLED) return got;
        if (got === false) return "closed";
        if (decodeSignal(await pipe.receive()) >= 0) return "signal";
      }
    } catch {
      // another reader is on the pipe
      return raceDeadline(ended, deadline);
    }
  }
}

/** The start and destroy deadlines of `ZActor.create` and `ZActor.fork`. */
function readDeadlines(options: ActorOptions, owner: string, startDefault = DEFAULT_TIMEOUT_MS): { startTimeoutMs: number; destroyTimeoutMs: number } {
  const o = readOptions(options, { owner });
  return {
    startTimeoutMs: o.number("startTimeoutMs", startDefault, TIMEOUT_RULE),
    destroyTimeoutMs: o.number("destroyTimeoutMs", DEFAULT_TIMEOUT_MS, TIMEOUT_RULE),
  };
}
