/**
 * ZLoop: CZMQ's reactor (`zloop`) for Node. Readers on sockets, timers and
 * tickets, one read loop per socket built on the socket's one-message
 * lookahead, so no message is lost by adding or removing a reader or by
 * stopping and restarting the loop; busy readers yield to the event loop so
 * timers keep time.
 * @module
 */
import { ClosedError, ErrorCode, InvalidArgumentError, ZkitError, getLogger, interruptSignal, now, readOptions, type Pollable } from "@zkit/core";
import { EventLoopTurn } from "./event-loop-turn.js";
import { isThenable, type HandlerResult, type ReaderHandler, type TicketHandler, type TimerHandler } from "./handlers.js";
import { assertPollable, describe } from "./pollable-check.js";
import { TicketList, TicketNode, type Ticket } from "./ticket-list.js";
import { TimerHeap, type HeapEntry } from "./timer-heap.js";

const log = getLogger("zloop");

/** The options of a {@link ZLoop}; every one can also be changed later. */
export interface ZLoopOptions {
  /**
   * Keep running when the process is interrupted (CZMQ
   * `zloop_set_nonstop`). By default a loop ends (its {@link ZLoop.start}
   * promise resolves) when `interruptSignal()` of `@zkit/core` aborts, that
   * is after `handleInterrupts()` caught SIGINT or SIGTERM.
   * @defaultValue false
   */
  nonstop?: boolean;
  /**
   * Log every reader, timer and ticket call at debug level on the
   * `zkit:zloop` logger (CZMQ `zloop_set_verbose`); shown with
   * `NODE_DEBUG=zkit:zloop` or a sink set with `setLogSink()`.
   * @defaultValue false
   */
  verbose?: boolean;
  /**
   * The delay shared by every ticket, in ms (CZMQ
   * `zloop_set_ticket_delay`); {@link ZLoop.ticket} needs it set, here or
   * with {@link ZLoop.setTicketDelay}.
   * @defaultValue undefined (not set)
   */
  ticketDelayMs?: number;
  /**
   * How many messages the loop handles, over all its sockets, before it
   * yields to the event loop (`setImmediate`), so timers and other I/O run
   * on time while sockets are flooded. Busy sockets share it equally (at
   * least one message each per turn). Whatever the count, readers also
   * yield once a turn has lasted {@link MAX_TURN_MS}. Lower keeps timers
   * more punctual, higher gives a little more throughput.
   * @defaultValue 64
   */
  yieldEvery?: number;
}

/**
 * A repeating timer that fell behind (the event loop was blocked) catches up
 * by firing once per event-loop turn until it is on time again, like CZMQ;
 * but after a stall longer than this many ms (a suspended laptop, a debugger
 * pause) the missed firings are skipped instead of replayed.
 */
export const MAX_CATCH_UP_MS = 1000;

/**
 * Timers and tickets have millisecond resolution, like CZMQ's (whose clock
 * counts whole milliseconds) and Node's: one fires when its deadline is less
 * than this many ms away, so it may run up to 1 ms early, and is otherwise
 * as punctual as the event loop allows.
 */
export const TIMER_RESOLUTION_MS = 1;

/** Default of {@link ZLoopOptions.yieldEvery}. */
export const DEFAULT_YIELD_EVERY = 64;

/**
 * Readers yield to the event loop once they have run this long (ms) in one
 * turn, however few messages that was (slow handlers), so timers stay
 * within about this much of their deadline while sockets are busy.
 */
export const MAX_TURN_MS = 1;

/** What `#settle` returns for a handler that rejected. */
const FAILED: unique symbol = Symbol("failed");

const OPTION_NAMES = ["nonstop", "verbose", "ticketDelayMs", "yieldEvery"] as const;

/** The registration of one socket in one loop. */
interface ReaderState {
  handlers: ReaderHandler<Pollable>[];
  /** Bumped by readerEnd: a dispatch in progress stops at the next handler. */
  gen: number;
  tolerant: boolean;
  /** True while a read loop (pump) exists for the socket, even suspended. */
  pumping: boolean;
  /**
   * Messages taken off the socket that no handler saw yet, because the
   * reader was removed or the loop ended between the take and the dispatch.
   * Dispatched first when reading resumes; never more than one in practice.
   */
  held: Buffer[][];
  /** Consecutive read errors (tolerant readers back off on them). */
  errors: number;
}

/** One timer. */
interface TimerEntry extends HeapEntry {
  readonly id: number;
  readonly delay: number;
  /** Firings left; Infinity for a timer that repeats forever. */
  left: number;
  readonly handler: TimerHandler;
  /** False once ended (timerEnd, or its last firing). */
  active: boolean;
  /** True until the loop gives it its first deadline (created while stopped). */
  pending: boolean;
}

/** One run of start(): settled once no handler is running any more. */
interface Run {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Set when the run ended with an error. */
  failure: { error: unknown } | undefined;
  /** True while a settle is queued. */
  settling: boolean;
}

/**
 * An event reactor (CZMQ `zloop`): call handlers when sockets have messages,
 * when timers expire and when tickets expire, until a handler returns `-1`,
 * {@link ZLoop.stop} is called, or the process is interrupted.
 *
 * - **Readers** ({@link ZLoop.reader}): ZLoop owns the socket's read loop
 *   and hands every message to each handler of that socket, in order. It
 *   waits with the socket's lookahead (`waitReadable()`), so removing a
 *   reader, adding it back, or stopping and restarting the loop never loses
 *   or reorders a message.
 * - **Timers** ({@link ZLoop.timer}): repeat `times` times (0 = forever),
 *   drift-free: each deadline is the previous one plus the delay.
 * - **Tickets** ({@link ZLoop.ticket}): one shared delay, O(1) reset, for
 *   per-peer expiry with thousands of peers.
 *
 * Handlers may add and remove readers, timers and tickets at any time. A
 * handler that throws ends the loop: {@link ZLoop.start} rejects with that
 * error. A loop can be started again after it ended.
 *
 * @example
 * ```ts
 * const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
 * const loop = new ZLoop();
 * loop.reader(pull, (msg) => {
 *   console.log(msg[0]!.toString());
 *   if (msg[0]!.toString() === "END") return -1; // ends the loop
 * });
 * loop.timer(1000, 0, () => console.log("tick"));
 * await loop.start();
 * ```
 */
export class ZLoop {
  /** See {@link ZLoopOptions.nonstop}. */
  nonstop: boolean;
  /** See {@link ZLoopOptions.verbose}. */
  verbose: boolean;

  #yieldEvery: number;
  #ticketDelay: number | undefined;

  #readers = new Map<Pollable, ReaderState>();

  #timers = new Map<number, TimerEntry>();
  #heap = new TimerHeap<TimerEntry>();
  #lastTimerId = 0;
  #timerSeq = 0;

  #tickets = new TicketList();

  #running = false;
  #run: Run | undefined;
  /** Async handlers that have not settled yet. */
  #inflight = 0;
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #signal: AbortSignal | undefined;
  #turn = new EventLoopTurn();

  /**
   * @param options - see {@link ZLoopOptions} for each option and its default
   * @throws `InvalidArgumentError` for an unknown option or a bad value
   */
  constructor(options: ZLoopOptions = {}) {
    const o = readOptions(options, { owner: "ZLoop", known: OPTION_NAMES, example: "{ nonstop: true }" });
    this.nonstop = o.boolean("nonstop", false);
    this.verbose = o.boolean("verbose", false);
    this.#yieldEvery = o.number("yieldEvery", DEFAULT_YIELD_EVERY, { min: 1, integer: true, meaning: "messages per socket between yields" });
    const ticketDelayMs = o.number("ticketDelayMs", undefined, { min: 0, exclusive: true });
    if (ticketDelayMs !== undefined) this.setTicketDelay(ticketDelayMs);
  }

  /** True between {@link ZLoop.start} and the end of the loop. */
  get running(): boolean {
    return this.#running;
  }

  /** Number of sockets with at least one reader. */
  get readerCount(): number {
    let n = 0;
    for (const state of this.#readers.values()) if (state.handlers.length > 0) n++;
    return n;
  }

  /** Number of timers that have not ended. */
  get timerCount(): number {
    return this.#timers.size;
  }

  /** Number of armed tickets. */
  get ticketCount(): number {
    return this.#tickets.size;
  }

  /** The shared ticket delay in ms, or undefined if not set yet. */
  get ticketDelay(): number | undefined {
    return this.#ticketDelay;
  }

  // ---------------------------------------------------------------- readers

  /**
   * Calls `handler` with every message `sock` receives (CZMQ
   * `zloop_reader`), while the loop runs. Several handlers on one socket
   * each get every message, in registration order. An async handler is
   * awaited before the socket's next message is read (order is kept; other
   * sockets and timers go on meanwhile).
   *
   * When the socket closes, its readers are removed. When reading fails, a
   * reader ends the loop with the error (and is removed) unless it is
   * tolerant ({@link ZLoop.readerSetTolerant}).
   *
   * @param sock - a socket that can receive (or an actor): any `Pollable`
   * @param handler - called with `(msg, sock, loop)`; return `-1` to end the loop
   * @throws `InvalidArgumentError` if `sock` is not Pollable or
   *   `handler` is not a function; `ClosedError` if `sock` is closed
   */
  reader<S extends Pollable>(sock: S, handler: ReaderHandler<S>): void {
    assertPollable(sock, "ZLoop.reader(sock, handler)");
    if (typeof handler !== "function") {
      throw new InvalidArgumentError(`ZLoop.reader(sock, handler): handler must be a function (msg, sock, loop) => ..., got ${describe(handler)}`);
    }
    let state = this.#readers.get(sock);
    if (sock.closed && !sock.readable && (state === undefined || state.held.length === 0)) {
      throw new ClosedError("ZLoop.reader: the socket is closed");
    }
    if (state === undefined) {
      state = { handlers: [], gen: 0, tolerant: false, pumping: false, held: [], errors: 0 };
      this.#readers.set(sock, state);
    }
    // copy on write: a dispatch in progress keeps iterating its own snapshot
    state.handlers = [...state.handlers, handler as ReaderHandler<Pollable>];
    if (this.verbose) log.debug("reader added (%d handler(s) on this socket)", state.handlers.length);
    if (this.#running && !state.pumping) void this.#pump(sock, state);
  }

  /**
   * Removes every reader of `sock` (CZMQ `zloop_reader_end`). Safe from any
   * handler, including the socket's own: no handler of `sock` is called
   * after this returns, not even the remaining handlers of the message being
   * dispatched. Messages not yet handed to a handler stay queued (in the
   * socket, or held by the loop for the next reader of `sock`).
   *
   * @param sock - a socket given to {@link ZLoop.reader}
   * @returns true if `sock` had readers
   * @throws `InvalidArgumentError` if `sock` is not Pollable
   */
  readerEnd(sock: Pollable): boolean {
    assertPollable(sock, "ZLoop.readerEnd(sock)");
    const state = this.#readers.get(sock);
    if (state === undefined || state.handlers.length === 0) return false;
    state.handlers = [];
    state.gen++;
    state.tolerant = false;
    state.errors = 0;
    this.#forgetIfIdle(sock, state);
    if (this.verbose) log.debug("reader ended");
    return true;
  }

  /**
   * Makes the readers of `sock` tolerant of read errors (CZMQ
   * `zloop_reader_set_tolerant`): a failed receive is logged as a warning on
   * `zkit:zloop` and the reader keeps reading, waiting 1, 2, 4 ... up to
   * 1000 ms between consecutive failures so that a socket stuck in error does
   * not spin. Without it, a read error removes the reader and ends the loop
   * with the error. Lasts until {@link ZLoop.readerEnd}.
   *
   * @param sock - a socket with a reader
   * @throws `InvalidArgumentError` if `sock` has no reader in this loop
   */
  readerSetTolerant(sock: Pollable): void {
    assertPollable(sock, "ZLoop.readerSetTolerant(sock)");
    const state = this.#readers.get(sock);
    if (state === undefined || state.handlers.length === 0) {
      throw new InvalidArgumentError("ZLoop.readerSetTolerant(sock): this socket has no reader in this loop; call loop.reader(sock, handler) first");
    }
    state.tolerant = true;
  }

  #forgetIfIdle(sock: Pollable, state: ReaderState): void {
    if (state.handlers.length === 0 && !state.pumping && state.held.length === 0 && this.#readers.get(sock) === state) {
      this.#readers.delete(sock);
    }
  }

  /** True while `state` may take messages off `sock`. */
  #reading(state: ReaderState): boolean {
    return this.#running && state.handlers.length > 0;
  }

  /**
   * The read loop of one socket. At most one exists per socket and loop: it
   * waits with the lookahead (`waitReadable()`, which takes nothing), checks
   * the reader is still wanted, then takes the message with `receive()`.
   */
  async #pump(sock: Pollable, state: ReaderState): Promise<void> {
    state.pumping = true;
    let burst = 0;
    try {
      for (;;) {
        if (!this.#reading(state)) return;
        let msg: Buffer[];
        if (state.held.length > 0) {
          msg = state.held.shift()!;
        } else {
          let ok: boolean;
          let taken: Buffer[] | undefined;
          try {
            ok = await sock.waitReadable();
            // the message read ahead, taken without a promise where the socket can
            if (ok && this.#reading(state)) taken = sock.receiveReady?.() ?? (await sock.receive());
          } catch (err) {
            if (await this.#readFailed(sock, state, err)) continue;
            return;
          }
          if (!ok) {
            this.#socketClosed(sock, state);
            return;
          }
          if (taken === undefined) return; // not wanted any more: the message stays in the lookahead
          msg = taken;
          state.errors = 0;
          if (!this.#reading(state)) {
            // taken, then the reader was removed or the loop ended before the
            // dispatch: keep it for the next reader of this socket
            state.held.push(msg);
            return;
          }
        }
        let go = this.#dispatch(sock, state, msg);
        if (typeof go !== "boolean") go = await go;
        if (!go) return;
        // yield once this socket had its share of the turn, or the turn has
        // lasted MAX_TURN_MS (many sockets, slow handlers)
        if (this.#turn.overtime(MAX_TURN_MS) || ++burst >= this.#turn.quota(this.#yieldEvery)) {
          burst = 0;
          await this.#turn.next();
        }
      }
    } finally {
      state.pumping = false;
      // a new run may have started while this pump was finishing
      if (this.#reading(state)) void this.#pump(sock, state);
      else this.#forgetIfIdle(sock, state);
    }
  }

  /**
   * Hands `msg` to each handler in turn; false when the pump must stop.
   * Synchronous handlers cost no promise: only an async one switches to
   * `#dispatchRest`.
   */
  #dispatch(sock: Pollable, state: ReaderState, msg: Buffer[]): boolean | Promise<boolean> {
    const handlers = state.handlers;
    const gen = state.gen;
    for (let i = 0; i < handlers.length; i++) {
      if (this.verbose) log.debug("call reader handler %d of %d (%d frame(s))", i + 1, handlers.length, msg.length);
      let result: HandlerResult;
      try {
        result = handlers[i]!(msg, sock, this);
      } catch (err) {
        this.#end({ error: err });
        return false;
      }
      if (isThenable(result)) return this.#dispatchRest(sock, state, msg, handlers, gen, i, this.#run!, result);
      if (result === -1) {
        if (this.verbose) log.debug("reader handler returned -1: ending the loop");
        this.#end(undefined);
        return false;
      }
      if (state.gen !== gen || !this.#running) return true;
    }
    return true;
  }

  /** The async tail of `#dispatch`, from handler `i` whose result is pending. */
  async #dispatchRest(
    sock: Pollable,
    state: ReaderState,
    msg: Buffer[],
    handlers: ReaderHandler<Pollable>[],
    gen: number,
    i: number,
    run: Run,
    pending: PromiseLike<unknown>,
  ): Promise<boolean> {
    for (;;) {
      const result = await this.#settle(run, pending);
      if (result === FAILED || result === -1) return false;
      for (;;) {
        if (state.gen !== gen || !this.#running || this.#run !== run) return true;
        if (++i >= handlers.length) return true;
        if (this.verbose) log.debug("call reader handler %d of %d (%d frame(s))", i + 1, handlers.length, msg.length);
        let next: HandlerResult;
        try {
          next = handlers[i]!(msg, sock, this);
        } catch (err) {
          this.#end({ error: err });
          return false;
        }
        if (isThenable(next)) {
          pending = next;
          break;
        }
        if (next === -1) {
          if (this.verbose) log.debug("reader handler returned -1: ending the loop");
          this.#end(undefined);
          return false;
        }
      }
    }
  }

  /**
   * Awaits the promise an async handler returned, counted as in flight, and
   * applies its outcome to `run`, the run it was called in, before that run
   * may settle: `-1` ends it, a rejection fails it (even if it was already
   * stopped and only waits for its handlers). `after` runs last.
   *
   * @returns the handler's result, or {@link FAILED} if it rejected
   */
  async #settle(run: Run, pending: PromiseLike<unknown>, after?: () => void): Promise<unknown> {
    this.#inflight++;
    try {
      let result: unknown;
      try {
        result = await pending;
      } catch (err) {
        this.#endRun(run, { error: err });
        return FAILED;
      }
      if (result === -1) {
        if (this.verbose) log.debug("async handler returned -1: ending the loop");
        this.#endRun(run, undefined);
      }
      return result;
    } finally {
      after?.();
      this.#inflight--;
      this.#maybeSettle();
    }
  }

  /** Ends `run` if it is the current one; records a failure if it is ending. */
  #endRun(run: Run | undefined, failure: { error: unknown } | undefined): void {
    if (run !== undefined && this.#run === run && this.#running) {
      this.#end(failure);
    } else if (failure !== undefined) {
      if (run !== undefined && this.#run === run && run.failure === undefined) run.failure = failure;
      else log.error("a handler failed after its loop had ended: %s", (failure.error as Error)?.stack ?? String(failure.error));
    }
  }

  /** Handles a failed read; true to retry. */
  async #readFailed(sock: Pollable, state: ReaderState, err: unknown): Promise<boolean> {
    if (sock.closed) {
      this.#socketClosed(sock, state);
      return false;
    }
    if (state.tolerant && state.handlers.length > 0) {
      state.errors++;
      const backoff = Math.min(1000, 2 ** (state.errors - 1));
      log.warn("tolerant reader: receive failed (%s), retrying in %d ms", (err as Error)?.message ?? String(err), backoff);
      await new Promise((resolve) => setTimeout(resolve, backoff));
      return true;
    }
    if (state.handlers.length === 0 || !this.#running) return false; // removed meanwhile: not ours to report
    log.warn("reader removed: receive failed (%s)", (err as Error)?.message ?? String(err));
    state.handlers = [];
    state.gen++;
    this.#end({ error: err });
    return false;
  }

  #socketClosed(sock: Pollable, state: ReaderState): void {
    if (state.handlers.length > 0) log.debug("reader removed: the socket closed");
    state.handlers = [];
    state.gen++;
    this.#forgetIfIdle(sock, state);
  }

  // ----------------------------------------------------------------- timers

  /**
   * Calls `handler` after `delayMs`, `times` times (CZMQ `zloop_timer`);
   * `times` 0 repeats until {@link ZLoop.timerEnd}.
   *
   * - Drift-free: each deadline is the previous deadline plus `delayMs`, not
   *   the firing time plus `delayMs`. A late timer catches up, firing once
   *   per event-loop turn, unless it fell more than {@link MAX_CATCH_UP_MS}
   *   behind: then the missed periods are skipped (phase kept), not replayed.
   * - Millisecond resolution ({@link TIMER_RESOLUTION_MS}): it may fire up to
   *   1 ms before its deadline, like CZMQ's.
   * - A handler that returns a promise is not fired again before it settles.
   * - A timer created while the loop is stopped starts counting when the
   *   loop starts; a stopped loop keeps its timers' deadlines for the next
   *   start().
   *
   * @param delayMs - milliseconds between firings (>= 0)
   * @param times - how many times to fire; 0 = forever
   * @param handler - called with `(timerId, loop)`; return `-1` to end the loop
   * @returns the timer id, for {@link ZLoop.timerEnd}
   * @throws `InvalidArgumentError` for a negative or non-finite delay, a
   *   `times` that is not an integer >= 0, or a handler that is not a function
   */
  timer(delayMs: number, times: number, handler: TimerHandler): number {
    if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError(`ZLoop.timer(delayMs, times, handler): delayMs must be a finite number of milliseconds >= 0, got ${describe(delayMs)}`);
    }
    if (typeof times !== "number" || !Number.isInteger(times) || times < 0) {
      throw new InvalidArgumentError(`ZLoop.timer(delayMs, times, handler): times must be an integer >= 0 (0 = forever), got ${describe(times)}`);
    }
    if (typeof handler !== "function") {
      throw new InvalidArgumentError(`ZLoop.timer(delayMs, times, handler): handler must be a function (timerId, loop) => ..., got ${describe(handler)}`);
    }
    const entry: TimerEntry = {
      id: ++this.#lastTimerId,
      seq: ++this.#timerSeq,
      delay: delayMs,
      left: times === 0 ? Infinity : times,
      handler,
      active: true,
      pending: true,
      deadline: 0,
      index: -1,
    };
    this.#timers.set(entry.id, entry);
    if (this.#running) this.#schedule(entry, now() + delayMs);
    return entry.id;
  }

  /**
   * Cancels a timer (CZMQ `zloop_timer_end`). Safe from any handler,
   * including the timer's own (it then does not fire again).
   *
   * @param timerId - an id returned by {@link ZLoop.timer}
   * @returns true if the timer was still active, false if it had already
   *   ended or fired its last time
   * @throws `InvalidArgumentError` for an id this loop never returned
   */
  timerEnd(timerId: number): boolean {
    if (typeof timerId !== "number" || !Number.isInteger(timerId) || timerId < 1 || timerId > this.#lastTimerId) {
      throw new InvalidArgumentError(`ZLoop.timerEnd(timerId): unknown timer id ${describe(timerId)}; pass an id returned by loop.timer() of this loop`);
    }
    const entry = this.#timers.get(timerId);
    if (entry === undefined) return false;
    entry.active = false;
    this.#timers.delete(timerId);
    this.#heap.remove(entry);
    return true;
  }

  #schedule(entry: TimerEntry, deadline: number): void {
    entry.pending = false;
    entry.deadline = deadline;
    this.#heap.push(entry);
    this.#arm();
  }

  /**
   * The deadline after `entry` fired: previous + delay (drift-free; a late
   * timer catches up). After a stall longer than {@link MAX_CATCH_UP_MS} the
   * missed periods are skipped instead (the phase is kept).
   */
  #nextDeadline(entry: TimerEntry): number {
    const d = entry.deadline + entry.delay;
    const behind = now() - d;
    if (behind <= MAX_CATCH_UP_MS) return d;
    if (entry.delay === 0) return d + behind;
    return d + Math.floor(behind / entry.delay) * entry.delay;
  }

  #fireTimer(entry: TimerEntry): void {
    if (!entry.active) return;
    entry.left--;
    if (this.verbose) log.debug("call timer handler %d", entry.id);
    let result: HandlerResult;
    try {
      result = entry.handler(entry.id, this);
    } catch (err) {
      this.#afterTimer(entry);
      this.#end({ error: err });
      return;
    }
    if (isThenable(result)) {
      void this.#settle(this.#run!, result, () => this.#afterTimer(entry));
      return;
    }
    this.#afterTimer(entry);
    if (result === -1) {
      if (this.verbose) log.debug("timer handler %d returned -1: ending the loop", entry.id);
      this.#end(undefined);
    }
  }

  #afterTimer(entry: TimerEntry): void {
    if (!entry.active) return;
    if (entry.left <= 0) {
      entry.active = false;
      this.#timers.delete(entry.id);
      return;
    }
    entry.deadline = this.#nextDeadline(entry);
    this.#heap.push(entry);
    this.#arm();
  }

  // ---------------------------------------------------------------- tickets

  /**
   * Sets the delay shared by every ticket (CZMQ `zloop_set_ticket_delay`).
   * A changed delay applies to tickets created or reset afterwards; tickets
   * still expire in deadline order.
   *
   * @param delayMs - milliseconds, > 0
   * @throws `InvalidArgumentError` unless `delayMs` is a finite number > 0
   */
  setTicketDelay(delayMs: number): void {
    if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs <= 0) {
      throw new InvalidArgumentError(`ZLoop.setTicketDelay(delayMs): delayMs must be a finite number of milliseconds > 0, got ${describe(delayMs)}`);
    }
    this.#ticketDelay = delayMs;
  }

  /**
   * Creates a ticket (CZMQ `zloop_ticket`): `handler` is called once the
   * ticket delay passes without a {@link ZLoop.ticketReset}, and the ticket
   * is then done, unless the handler resets it. The delay counts from the
   * creation (or the last reset), whether the loop runs or not. Cost is O(1)
   * for create, reset and delete, whatever the number of tickets; tickets
   * expire in deadline order.
   *
   * @param handler - called with `(ticket, loop)`; return `-1` to end the loop
   * @returns the ticket, for {@link ZLoop.ticketReset} and {@link ZLoop.ticketDelete}
   * @throws `InvalidArgumentError` if no ticket delay is set (pass
   *   `ticketDelayMs` or call {@link ZLoop.setTicketDelay} first) or
   *   `handler` is not a function
   */
  ticket(handler: TicketHandler): Ticket {
    if (this.#ticketDelay === undefined) {
      throw new InvalidArgumentError("ZLoop.ticket(handler): no ticket delay set; call loop.setTicketDelay(ms) or pass { ticketDelayMs } to new ZLoop() first");
    }
    if (typeof handler !== "function") {
      throw new InvalidArgumentError(`ZLoop.ticket(handler): handler must be a function (ticket, loop) => ..., got ${describe(handler)}`);
    }
    const node = new TicketNode(this.#tickets, handler);
    this.#tickets.insert(node, now() + this.#ticketDelay);
    if (this.#running && this.#tickets.head === node) this.#arm();
    return node;
  }

  /**
   * Restarts a ticket's delay from now (CZMQ `zloop_ticket_reset`): O(1).
   * From inside the ticket's own handler it re-arms the ticket.
   *
   * @param ticket - a ticket from {@link ZLoop.ticket} of this loop
   * @returns true if the ticket is armed again, false if it had already
   *   expired or been deleted (nothing happens then)
   * @throws `InvalidArgumentError` if `ticket` does not come from this loop
   */
  ticketReset(ticket: Ticket): boolean {
    const node = this.#ownTicket(ticket, "ticketReset");
    if (node.done || (!node.linked && !node.firing)) return false;
    const list = this.#tickets;
    list.unlink(node);
    list.insert(node, now() + this.#ticketDelay!);
    if (this.#running && list.head === node) this.#arm();
    return true;
  }

  /**
   * Deletes a ticket (CZMQ `zloop_ticket_delete`): its handler will not be
   * called. Safe from any handler, and on a ticket that already expired.
   *
   * @param ticket - a ticket from {@link ZLoop.ticket} of this loop
   * @returns true if the ticket was armed (or firing)
   * @throws `InvalidArgumentError` if `ticket` does not come from this loop
   */
  ticketDelete(ticket: Ticket): boolean {
    const node = this.#ownTicket(ticket, "ticketDelete");
    if (node.done) return false;
    const was = node.linked || node.firing;
    this.#tickets.unlink(node);
    node.done = true;
    return was;
  }

  #ownTicket(ticket: Ticket, what: string): TicketNode {
    if (!(ticket instanceof TicketNode) || ticket.list !== this.#tickets) {
      throw new InvalidArgumentError(`ZLoop.${what}(ticket): pass a ticket returned by loop.ticket() of this loop, got ${describe(ticket)}`);
    }
    return ticket;
  }

  #fireTicket(node: TicketNode): void {
    this.#tickets.unlink(node);
    node.firing = true;
    if (this.verbose) log.debug("call ticket handler");
    let result: HandlerResult;
    try {
      result = node.handler(node, this);
    } catch (err) {
      this.#afterTicket(node);
      this.#end({ error: err });
      return;
    }
    this.#afterTicket(node);
    if (isThenable(result)) {
      void this.#settle(this.#run!, result);
    } else if (result === -1) {
      if (this.verbose) log.debug("ticket handler returned -1: ending the loop");
      this.#end(undefined);
    }
  }

  #afterTicket(node: TicketNode): void {
    node.firing = false;
    if (!node.linked) node.done = true;
  }

  // ------------------------------------------------------------- wake timer

  /** Arms the one Node timeout for the earliest timer or ticket deadline. */
  #arm(): void {
    if (!this.#running) return;
    const timer = this.#heap.peek();
    const ticket = this.#tickets.head;
    const earliest = Math.min(timer?.deadline ?? Infinity, ticket?.deadline ?? Infinity);
    if (earliest === Infinity || earliest >= this.#wakeAt) return; // an earlier (or equal) wake is already set
    if (this.#wake !== undefined) clearTimeout(this.#wake);
    this.#wakeAt = earliest;
    this.#wake = setTimeout(this.#onWake, Math.max(1, Math.floor(earliest - now())));
  }

  #disarm(): void {
    if (this.#wake !== undefined) clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = Infinity;
  }

  /** Fires every timer and ticket due now, in deadline order, then re-arms. */
  #onWake = (): void => {
    this.#wake = undefined;
    this.#wakeAt = Infinity;
    if (!this.#running) return;
    const t = now() + TIMER_RESOLUTION_MS;
    // timers fire at most once per wake: take the due ones out first
    const due: TimerEntry[] = [];
    for (let top = this.#heap.peek(); top !== undefined && top.deadline <= t; top = this.#heap.peek()) {
      due.push(this.#heap.pop()!);
    }
    let i = 0;
    const tickets = this.#tickets;
    while (this.#running) {
      while (i < due.length && !due[i]!.active) i++;
      const timer = due[i];
      const ticket = tickets.head !== undefined && tickets.head.deadline <= t ? tickets.head : undefined;
      if (timer === undefined && ticket === undefined) break;
      if (timer !== undefined && (ticket === undefined || timer.deadline <= ticket.deadline)) {
        i++;
        this.#fireTimer(timer);
      } else {
        this.#fireTicket(ticket!);
      }
    }
    // the loop ended midway: put back what did not fire, with its deadline
    for (; i < due.length; i++) if (due[i]!.active) this.#heap.push(due[i]!);
    this.#arm();
  };

  // --------------------------------------------------------------- lifecycle

  /**
   * Runs the loop (CZMQ `zloop_start`) until a handler returns `-1`,
   * {@link ZLoop.stop} is called, or the process is interrupted (the
   * `interruptSignal()` of `@zkit/core` aborts; ignored when
   * {@link ZLoop.nonstop}). If the process is already interrupted, it
   * returns at once.
   *
   * The promise settles once no handler is running any more (async ones
   * included). The loop can be started again afterwards: readers resume
   * where they stopped, nothing is lost in between, and timers keep their
   * deadlines.
   *
   * @returns resolves when the loop ended normally; rejects with the error
   *   of a handler that threw, or of a non-tolerant reader whose socket
   *   failed (a `ZkitError` with the zeromq.js error as `cause`)
   * @throws (rejects) `ZkitError` with code `ZKIT_STATE` if the loop is
   *   already running
   */
  start(): Promise<void> {
    if (this.#running) {
      const err = new ZkitError(ErrorCode.State, "ZLoop.start: the loop is already running; end it with loop.stop() or by returning -1 from a handler");
      const p = Promise.reject(err);
      p.catch(() => {});
      return p;
    }
    if (this.#run !== undefined) {
      // still ending (async handlers settling): start once that run is over
      const again = (): Promise<void> => this.start();
      return this.#run.promise.then(again, again);
    }
    const signal = interruptSignal();
    if (!this.nonstop && signal.aborted) {
      log.debug("start: the process is interrupted, not starting");
      return Promise.resolve();
    }
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#run = { promise, resolve, reject, failure: undefined, settling: false };
    this.#running = true;
    this.#signal = signal;
    signal.addEventListener("abort", this.#onInterrupt);
    const t = now();
    for (const entry of this.#timers.values()) {
      if (entry.pending) {
        entry.pending = false;
        entry.deadline = t + entry.delay;
        this.#heap.push(entry);
      }
    }
    for (const [sock, state] of this.#readers) {
      if (state.handlers.length > 0 && !state.pumping) void this.#pump(sock, state);
    }
    this.#arm();
    if (this.verbose) log.debug("loop started: %d reader(s), %d timer(s), %d ticket(s)", this.readerCount, this.timerCount, this.ticketCount);
    return promise;
  }

  /**
   * Ends the loop from outside a handler, or from one: {@link ZLoop.start}
   * resolves (once running async handlers settle). No-op when not running.
   * Readers, timers and tickets stay registered for a later start().
   */
  stop(): void {
    if (this.#running) this.#end(undefined);
  }

  /**
   * Stops the loop and removes every reader, timer and ticket (CZMQ
   * `zloop_destroy`). Messages read ahead stay in their sockets.
   */
  destroy(): void {
    this.stop();
    for (const [sock, state] of [...this.#readers]) {
      state.handlers = [];
      state.gen++;
      state.held.length = 0;
      this.#forgetIfIdle(sock, state);
    }
    for (const entry of this.#timers.values()) entry.active = false;
    this.#timers.clear();
    this.#heap.clear();
    this.#tickets.clear();
  }

  /** Symbol.dispose: {@link ZLoop.destroy}, for `using loop = new ZLoop()`. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  #onInterrupt = (): void => {
    if (this.nonstop) {
      log.debug("interrupted; nonstop, so the loop goes on");
      return;
    }
    log.debug("interrupted: ending the loop");
    this.#end(undefined);
  };

  /** Ends the running loop, with an error or not. */
  #end(failure: { error: unknown } | undefined): void {
    if (!this.#running) {
      // e.g. a handler called stop() and then threw: the run is still ending
      if (failure !== undefined) this.#endRun(this.#run, failure);
      return;
    }
    this.#running = false;
    this.#disarm();
    this.#signal?.removeEventListener("abort", this.#onInterrupt);
    this.#signal = undefined;
    if (failure !== undefined) {
      log.debug("loop ended by an error: %s", (failure.error as Error)?.message ?? String(failure.error));
      this.#run!.failure = failure;
    } else if (this.verbose) log.debug("loop ended");
    this.#maybeSettle();
  }

  /**
   * Settles the ended run once no async handler is in flight, in a microtask
   * so that a handler that calls stop() and then throws still fails it.
   */
  #maybeSettle(): void {
    const run = this.#run;
    if (run === undefined || run.settling || this.#running || this.#inflight > 0) return;
    run.settling = true;
    queueMicrotask(() => {
      run.settling = false;
      if (this.#run !== run || this.#running || this.#inflight > 0) return;
      this.#run = undefined;
      if (run.failure !== undefined) run.reject(run.failure.error);
      else run.resolve();
    });
  }
}
