/**
 * HandlerRunner: how every zkit worker and server runs the application's
 * code on a request. A handler gets `(request, ctx)`; `ctx.signal` aborts on
 * close (after a grace period) or at the request's deadline. Up to
 * `concurrency` handlers run at once; more requests wait in order. Or, with
 * no handler, the requests are consumed as an async iterator of jobs
 * (`for await (const job of worker) job.reply(...)`).
 * @module
 */
import { ClosedError, DeadlineSignal, TimeoutError, getLogger, now, readOptions } from "@zkit/core";

const log = getLogger("reliability");

/** What a handler gets beside the request. */
export interface HandlerContext {
  /** Aborts when the owner closes (after its grace period) or at the deadline: stop working then. */
  readonly signal: AbortSignal;
  /** The request's deadline as a `now()` time of `@zkit/core` (monotonic ms), or `Infinity`. */
  readonly deadline: number;
  /** The service the request is for, when the protocol names one. */
  readonly service?: string;
  /** The peer the request came from (its routing id in hex), when known. */
  readonly peer?: string;
}

/** Serves one request: returns (or resolves to) the reply. */
export type Handler<Req, Res> = (request: Req, ctx: HandlerContext) => Res | Promise<Res>;

/** One request handed to a consumer of the pull API. */
export interface Job<Req, Res> {
  /** The request. */
  readonly request: Req;
  /** Its context: signal, deadline, service, peer. */
  readonly ctx: HandlerContext;
  /** Sends the reply (once; later calls are ignored). */
  reply(result: Res): void;
  /** Gives up on the request: reported like a handler that threw. */
  fail(error: unknown): void;
  /** True once replied or failed. */
  readonly settled: boolean;
}

/** Per-request details for {@link HandlerRunner.submit}. */
export interface SubmitOptions {
  /** The service, for `ctx.service`. */
  service?: string;
  /** The peer, for `ctx.peer`. */
  peer?: string;
  /** This request's deadline from now, in ms (default: the runner's `timeoutMs`). */
  timeoutMs?: number;
}

/** Options of a {@link HandlerRunner}. */
export interface HandlerRunnerOptions<Req, Res, M> {
  /** The handler; without it, requests are consumed with the async iterator (pull). */
  handler?: Handler<Req, Res>;
  /** Handlers (or jobs handed out) at once. @defaultValue 1 */
  concurrency?: number;
  /** Each request's deadline, in ms from when it is submitted. @defaultValue Infinity */
  timeoutMs?: number;
  /** Called once per request with its reply. */
  onResult: (meta: M, result: Res) => void;
  /** Called once per request whose handler threw, rejected, or passed its deadline. */
  onError: (meta: M, error: unknown) => void;
}

interface Entry<Req, Res, M> extends Job<Req, Res> {
  meta: M;
  /** Made when the handler first reads `ctx.signal`, or at once for a finite deadline. */
  deadline: DeadlineSignal | undefined;
  settled: boolean;
}

/**
 * Runs a handler over submitted requests, `concurrency` at a time, in order.
 * Each request is settled exactly once: `onResult` with the reply, or
 * `onError` with what went wrong (a handler that threw, or its deadline).
 */
export class HandlerRunner<Req, Res, M> implements AsyncIterable<Job<Req, Res>> {
  readonly #handler: Handler<Req, Res> | undefined;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #onResult: (meta: M, result: Res) => void;
  readonly #onError: (meta: M, error: unknown) => void;
  readonly #closing = new AbortController();
  #queue: Entry<Req, Res, M>[] = [];
  #head = 0;
  readonly #active = new Set<Entry<Req, Res, M>>();
  #pumping = false;
  #idle: (() => void)[] = [];
  /** Pull consumers waiting for a job. */
  #takers: ((result: IteratorResult<Job<Req, Res>>) => void)[] = [];
  #closed = false;

  /**
   * @param options - see {@link HandlerRunnerOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: HandlerRunnerOptions<Req, Res, M>) {
    const o = readOptions(options, { owner: "HandlerRunner", known: ["handler", "concurrency", "timeoutMs", "onResult", "onError"] });
    this.#handler = o.function<Handler<Req, Res>>("handler", "(request, ctx) => reply");
    this.#concurrency = o.number("concurrency", 1, { min: 1, integer: true });
    this.#timeoutMs = o.number("timeoutMs", Infinity, { min: 0, exclusive: true, infinity: true });
    this.#onResult = o.requiredFunction("onResult", "(meta, result) => void");
    this.#onError = o.requiredFunction("onError", "(meta, error) => void");
  }

  /** Requests being handled now (or, pulled, handed out and not settled). */
  get active(): number {
    return this.#active.size;
  }

  /** Requests waiting for a handler (or a consumer). */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** How many handlers may run at once. */
  get concurrency(): number {
    return this.#concurrency;
  }

  /** True once {@link HandlerRunner.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues a request; it runs when a handler is free (at once when one is).
   * @throws `ClosedError` after {@link HandlerRunner.close}
   */
  submit(request: Req, meta: M, options: SubmitOptions = {}): void {
    if (this.#closed) throw new ClosedError("HandlerRunner.submit: the runner is closed");
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const closing = this.#closing.signal;
    // the signal costs an AbortController and a listener: made only when the
    // handler asks for it, or at once when a deadline must be enforced
    const signalOf = (): AbortSignal => (entry.deadline ??= new DeadlineSignal(timeoutMs, closing)).signal;
    const ctx: HandlerContext = {
      get signal() {
        return signalOf();
      },
      deadline: timeoutMs === Infinity ? Infinity : now() + timeoutMs,
      service: options.service,
      peer: options.peer,
    };
    const entry: Entry<Req, Res, M> = {
      request,
      ctx,
      meta,
      deadline: undefined,
      settled: false,
      reply: (result) => this.#settle(entry, true, result),
      fail: (error) => this.#settle(entry, false, error),
    };
    if (timeoutMs !== Infinity) {
      signalOf().addEventListener(
        "abort",
        () => {
          if (entry.deadline?.timedOut) this.#settle(entry, false, new TimeoutError(`the request passed its deadline of ${timeoutMs} ms`));
        },
        { once: true },
      );
    }
    this.#queue.push(entry);
    this.#pump();
  }

  /**
   * Drops waiting requests for which `predicate` holds (their connection
   * went away): they are not settled. Running ones are left alone.
   * @returns how many were dropped
   */
  discard(predicate: (meta: M) => boolean): number {
    let dropped = 0;
    const kept: Entry<Req, Res, M>[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      if (predicate(e.meta)) {
        e.settled = true;
        e.deadline?.dispose();
        dropped++;
      } else kept.push(e);
    }
    this.#queue = kept;
    this.#head = 0;
    return dropped;
  }

  /**
   * Stops taking requests and drops the waiting ones (unsettled); lets the
   * running ones finish for up to `graceMs`, then aborts their
   * `ctx.signal` and waits for them up to `graceMs` more. Pull consumers'
   * loops end. Idempotent.
   * @returns resolves once nothing runs any more (or the second grace passed)
   */
  async close(graceMs = Infinity): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.discard(() => true);
      for (const take of this.#takers.splice(0)) take({ value: undefined, done: true });
    }
    if (this.#active.size === 0) return;
    if (await this.#waitIdle(graceMs)) return;
    log.warn("HandlerRunner: %d handler(s) still running after %d ms: aborting their signal", this.#active.size, graceMs);
    this.#closing.abort(new ClosedError("closing"));
    if (!(await this.#waitIdle(graceMs))) log.warn("HandlerRunner: %d handler(s) ignored the abort; giving up on them", this.#active.size);
  }

  /** The requests, one job at a time (when the runner has no handler). The loop ends at close. */
  [Symbol.asyncIterator](): AsyncIterator<Job<Req, Res>> {
    return {
      next: () => {
        const entry = this.#take();
        if (entry !== undefined) return Promise.resolve({ value: entry, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#takers.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  #take(): Entry<Req, Res, M> | undefined {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      if (e.settled) continue;
      this.#active.add(e);
      return e;
    }
    return undefined;
  }

  #pump(): void {
    if (this.#pumping) return; // a synchronous handler settled inside the loop below: it goes on
    this.#pumping = true;
    try {
      if (this.#handler === undefined) {
        while (this.#takers.length > 0) {
          const e = this.#take();
          if (e === undefined) break;
          this.#takers.shift()!({ value: e, done: false });
        }
        return;
      }
      while (this.#active.size < this.#concurrency) {
        const e = this.#take();
        if (e === undefined) break;
        this.#run(e);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #run(e: Entry<Req, Res, M>): void {
    let result: Res | Promise<Res>;
    try {
      result = this.#handler!(e.request, e.ctx);
    } catch (err) {
      this.#settle(e, false, err);
      return;
    }
    if (isThenable(result)) {
      (result as Promise<Res>).then(
        (value) => this.#settle(e, true, value),
        (err: unknown) => this.#settle(e, false, err),
      );
    } else {
      this.#settle(e, true, result);
    }
  }

  #settle(e: Entry<Req, Res, M>, ok: boolean, value: unknown): void {
    if (e.settled) return;
    e.settled = true;
    e.deadline?.dispose();
    const wasActive = this.#active.delete(e);
    try {
      if (ok) this.#onResult(e.meta, value as Res);
      else this.#onError(e.meta, value);
    } catch (err) {
      log.error("HandlerRunner: a result callback threw: %s", (err as Error)?.stack ?? String(err));
    }
    if (this.#active.size === 0 && this.#idle.length > 0) for (const f of this.#idle.splice(0)) f();
    if (wasActive && !this.#closed) this.#pump();
  }

  /** True once nothing runs, false when `ms` passed first. */
  #waitIdle(ms: number): Promise<boolean> {
    if (this.#active.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idle.push(done);
      if (ms !== Infinity) {
        timer = setTimeout(() => {
          const i = this.#idle.indexOf(done);
          if (i >= 0) this.#idle.splice(i, 1);
          resolve(false);
        }, ms);
      }
    });
  }
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
