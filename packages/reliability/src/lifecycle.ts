/**
 * Lifecycle: the one contract every zkit server, worker and client keeps.
 * `start()` is idempotent, `close()` is graceful and idempotent, `closed`
 * says whether `close()` was called, `done` settles once the object is fully
 * closed (and rejects on a fatal error), `await using` closes it. Events go
 * to listeners and, when anyone subscribes, to a `node:diagnostics_channel`.
 * @module
 */
import { EventEmitter } from "node:events";
import { ClosedError, ErrorCode, ZkitError, getLogger, interruptSignal } from "@zkit/core";
import { publish, type DiagnosticsChannelName } from "./diagnostics.js";

const log = getLogger("reliability");

/** Where an object is in its life: new, starting, running, closing, closed. */
export type LifecycleState = "new" | "starting" | "running" | "closing" | "closed";

/** The events every {@link Lifecycle} emits, besides its own. */
export interface LifecycleEvents {
  /** It runs: `start()` finished. */
  start: [];
  /** It is closed: after `close()`, an interrupt, or a fatal error (then `error` is set). */
  close: [info: { error: unknown }];
}

/** Options of a {@link Lifecycle}. */
export interface LifecycleOptions {
  /** Its name in messages, e.g. `"MajordomoBroker"`. */
  owner: string;
  /**
   * The diagnostics channel its events are published on (see
   * {@link CHANNELS}), or none.
   */
  channel?: DiagnosticsChannelName;
  /**
   * Close by itself when the process is interrupted (SIGINT or SIGTERM,
   * after `handleInterrupts()` of `@zkit/core`): what servers and workers
   * do. A library never installs signal handlers; this only listens to
   * core's interrupt signal.
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
}

/** The shape of an events map: each event name to its listener's arguments. */
export type EventMap<T> = { [K in keyof T]: unknown[] };

/**
 * The base class of zkit's servers, workers and clients: the lifecycle
 * contract, in one place.
 *
 * - {@link Lifecycle.start}: runs `onStart()` once; every call returns the
 *   same promise. Rejects with `ClosedError` after `close()`.
 * - {@link Lifecycle.close}: runs `onClose()` once (after a start in
 *   progress); every call returns the same promise, which never rejects.
 *   `onClose()` finishes the work in hand (graceful).
 * - {@link Lifecycle.done}: settles once closed; rejects with the error
 *   passed to {@link Lifecycle.fail} (a fatal error), or a start that failed.
 * - `await using x = ...` closes it.
 *
 * Subclasses emit with {@link Lifecycle.notify}, which never lets a
 * listener's exception escape into the object's own code and publishes the
 * event on the object's diagnostics channel when anyone subscribes.
 */
export abstract class Lifecycle<E extends EventMap<E> = Record<never, never>> extends EventEmitter<E & LifecycleEvents> {
  /** The name used in messages, e.g. `"MajordomoBroker"`. */
  protected readonly owner: string;
  readonly #channel: DiagnosticsChannelName | undefined;
  readonly #closeOnInterrupt: boolean;
  #state: LifecycleState = "new";
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #error: unknown;
  #failed = false;
  readonly #done: Promise<void>;
  #settle!: (error?: { error: unknown }) => void;
  #onInterrupt: (() => void) | undefined;

  protected constructor(options: LifecycleOptions) {
    super();
    this.owner = options.owner;
    this.#channel = options.channel;
    this.#closeOnInterrupt = options.closeOnInterrupt ?? true;
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settle = (failure) => (failure === undefined ? resolve() : reject(failure.error));
    });
    this.#done.catch(() => {}); // awaited by those who care; never an unhandled rejection
  }

  /** Where it is in its life. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** True while running: started, and not closing or closed. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** True once `close()` was called (or it closed by itself). */
  get closed(): boolean {
    return this.#state === "closing" || this.#state === "closed";
  }

  /**
   * Settles once it is fully closed: resolves after a normal close or an
   * interrupt, rejects with the error that ended it (a fatal error, or the
   * failure of `start()`).
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Starts it: idempotent, every call returns the same promise.
   * @throws (rejects) `ClosedError` after `close()`; whatever `onStart()`
   *   throws (it is then closed, and `done` rejects with it)
   */
  start(): Promise<void> {
    if (this.#closing !== undefined) {
      const p = Promise.reject(new ClosedError(`${this.owner}.start: it is closed; create a new one`));
      p.catch(() => {});
      return p;
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    try {
      await this.onStart();
    } catch (err) {
      this.#error = err;
      this.#failed = true;
      this.#closing ??= this.#close();
      await this.#closing;
      throw err;
    }
    if (this.#closing !== undefined) return; // closed while starting: close() takes it from here
    this.#state = "running";
    if (this.#closeOnInterrupt) {
      const signal = interruptSignal();
      const onInterrupt = (): void => {
        log.info("%s: interrupted, closing", this.owner);
        void this.close();
      };
      if (signal.aborted) queueMicrotask(onInterrupt);
      else this.#onInterrupt = onAbort(signal, onInterrupt);
    }
    this.#emitOwn("start", []);
  }

  /**
   * Closes it gracefully (`onClose()` finishes the work in hand): idempotent,
   * every call returns the same promise, which never rejects; `done` tells
   * how it ended.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasNew = this.#state === "new";
    this.#state = "closing";
    this.#onInterrupt?.();
    this.#onInterrupt = undefined;
    if (this.#starting !== undefined && !this.#failed) await this.#starting.catch(() => {});
    if (!wasNew) {
      try {
        await this.onClose();
      } catch (err) {
        log.error("%s: closing failed: %s", this.owner, (err as Error)?.stack ?? String(err));
        if (!this.#failed) {
          this.#failed = true;
          this.#error = err;
        }
      }
    }
    this.#state = "closed";
    this.#emitOwn("close", [{ error: this.#error }]);
    this.#settle(this.#failed ? { error: this.#error } : undefined);
  }

  /** Closes it (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * A fatal error while running: it is logged, the object closes, and
   * `done` rejects with `error`. Safe to call more than once (the first
   * error wins) and from anywhere.
   */
  protected fail(error: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = error;
      log.error("%s: fatal: %s", this.owner, (error as Error)?.stack ?? String(error));
    }
    void this.close();
  }

  /**
   * Throws `ClosedError` unless it may still take work: for the methods of
   * subclasses (`request()`, `bind()`...).
   * @param what - the method, e.g. `"MajordomoBroker.bind"`
   */
  protected assertOpen(what: string): void {
    if (this.closed) throw new ClosedError(`${what}: it is closed`);
  }

  /** Runs `onStart()` work: binds, connects, starts loops. Throw to fail the start. */
  protected abstract onStart(): Promise<void> | void;

  /** Stops gracefully: finishes the work in hand, says goodbye to peers, closes sockets. */
  protected abstract onClose(): Promise<void> | void;

  /**
   * Emits `event` to its listeners, and publishes it on the object's
   * diagnostics channel when anyone subscribes (`{ source, event, info }`).
   * A listener that throws is logged; the exception never reaches the
   * caller, so a bad listener cannot break a server.
   */
  protected notify<K extends keyof (E & LifecycleEvents)>(event: K, ...args: (E & LifecycleEvents)[K] & unknown[]): void {
    if (this.#channel !== undefined) publish(this.#channel, { source: this, event: String(event), info: args[0] });
    try {
      (this.emit as (e: unknown, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      log.error("%s: a %s listener threw: %s", this.owner, String(event), (err as Error)?.stack ?? String(err));
    }
  }

  #emitOwn(event: keyof LifecycleEvents, args: unknown[]): void {
    (this.notify as (e: string, ...a: unknown[]) => void)(event, ...args);
  }

  /** Publishes `stats` on the diagnostics channel as a `stats` event, if anyone listens (call it from a periodic timer). */
  protected publishStats(stats: unknown): void {
    if (this.#channel !== undefined) publish(this.#channel, { source: this, event: "stats", info: stats });
  }
}

/**
 * One listener on each interrupt signal, however many objects wait on it (a
 * listener each would trip Node's MaxListenersExceededWarning past ten
 * servers, clients and workers in one process). Returns the unsubscribe.
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();
function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = waiting.get(signal);
  if (set === undefined) {
    const fresh = new Set<() => void>();
    set = fresh;
    waiting.set(signal, fresh);
    signal.addEventListener(
      "abort",
      () => {
        for (const f of [...fresh]) f();
        fresh.clear();
      },
      { once: true },
    );
  }
  const mine = set;
  mine.add(fn);
  return () => mine.delete(fn);
}

/** A `ZkitError` with code `ZKIT_STATE` for an operation in the wrong lifecycle state. */
export function stateError(message: string): ZkitError {
  return new ZkitError(ErrorCode.State, message);
}
