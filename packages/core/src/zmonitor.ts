/**
 * ZMonitor: a socket's connection events (CZMQ `zmonitor`) as typed events,
 * a lossless one-reader queue with `for await`, and `waitFor` with a
 * deadline whose error says what the socket saw instead.
 * @module
 */
import { EventEmitter } from "node:events";
import type * as zmq from "zeromq";
import { AbortError, ClosedError, ErrorCode, InvalidArgumentError, TimeoutError, ZkitError } from "./errors.js";
import { getLogger } from "./log.js";
import { MONITOR_EVENT_TYPES, describeEvent, fromZmqEvent, type MonitorEvent, type MonitorEventType } from "./monitor-event.js";
import { describeValue, readOptions } from "./options.js";
import { onClose } from "./registry.js";
import { ZSocket } from "./zsocket.js";

const log = getLogger("monitor");

/** Default of {@link ZMonitorOptions.bufferSize}. */
export const DEFAULT_MONITOR_BUFFER = 1000;

/** How many past events each monitor keeps for {@link ZMonitor.history}. */
export const MONITOR_HISTORY = 100;

/** The options of a {@link ZMonitor}. */
export interface ZMonitorOptions {
  /**
   * The event types this monitor delivers (CZMQ's `LISTEN`); others are
   * ignored by it. `monitor-stopped` always ends the monitor.
   * @defaultValue every type
   */
  events?: readonly MonitorEventType[];
  /**
   * Log every event at info level on the `zkit:monitor` logger (CZMQ's
   * `VERBOSE`); shown with `NODE_DEBUG=zkit:monitor` or a sink set with
   * `setLogSink()`.
   * @defaultValue false
   */
  verbose?: boolean;
  /**
   * How many events wait for {@link ZMonitor.receive} / `for await` before
   * the oldest are dropped (counted in {@link ZMonitor.dropped}). Events
   * queue from the moment the monitor is made, so none is missed between
   * creating it and starting to read; a monitor nobody reads holds at most
   * this many. Listeners (`on`) and {@link ZMonitor.waitFor} are not
   * affected.
   * @defaultValue 1000
   */
  bufferSize?: number;
}

/** Options of {@link ZMonitor.waitFor}. */
export interface WaitForEventOptions {
  /**
   * Give up after this many ms with a `TimeoutError` that lists the last
   * events seen.
   * @defaultValue no deadline
   */
  timeoutMs?: number;
  /** Give up when this signal aborts, with an `AbortError`. */
  signal?: AbortSignal;
  /** Only events about this endpoint. @defaultValue any endpoint */
  endpoint?: string;
  /**
   * Also accept the most recent matching event this monitor already saw
   * (from {@link ZMonitor.history}), resolving at once.
   * @defaultValue false
   */
  includePast?: boolean;
}

/** What {@link ZMonitor.waitFor} waits for: a type, any of several, or a test. */
export type MonitorEventMatch = MonitorEventType | readonly MonitorEventType[] | ((event: MonitorEvent) => boolean);

/**
 * The events of a {@link ZMonitor}: `"event"` for every event, and one per
 * {@link MonitorEventType} (`"connected"`, `"disconnected"`, ...).
 */
export type ZMonitorEvents = { event: [event: MonitorEvent] } & { [K in MonitorEventType]: [event: MonitorEvent] };

const OPTION_NAMES = ["events", "verbose", "bufferSize"] as const;

/** Called by a socket's tap with each event, then once at the end. */
interface TapListener {
  event(event: MonitorEvent): void;
  end(): void;
}

/**
 * After a monitored socket closes, how long (ms, beyond its linger) the
 * tap waits for `monitor-stopped` before it stops reading anyway.
 */
const STOP_GRACE_MS = 1000;

/**
 * The one reader of a socket's zeromq.js observer. zeromq.js allows one
 * reader per observer, and an observer must be read until libzmq stops the
 * monitor: closing it earlier leaves libzmq's monitor blocked in its next
 * event send (in an I/O thread), after which sockets stop delivering
 * messages and a new observer hangs the thread (measured on zeromq.js 6.8).
 * So a tap starts with the first monitor of a socket, reads until the
 * socket's `monitor-stopped`, and hands each event to every monitor still
 * listening; a monitor's close only stops its own delivery.
 *
 * libzmq sends `monitor-stopped` when it destroys the socket, which for an
 * inproc socket can wait forever (a connect to a name nobody bound, or a
 * peer that is never read). Such a socket has no I/O-thread events left,
 * so once it has been closed for its linger plus {@link STOP_GRACE_MS}
 * without `monitor-stopped`, the tap closes the observer: nothing keeps
 * the process alive.
 */
class Tap {
  readonly #listeners = new Set<TapListener>();
  readonly #observer: zmq.Observer;
  #ended = false;
  #stopTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: ZSocket,
    onEnd: () => void,
  ) {
    this.#observer = socket.raw.events;
    onClose(socket, () => this.#socketClosing());
    void this.#run().finally(() => {
      this.#ended = true;
      if (this.#stopTimer !== undefined) clearTimeout(this.#stopTimer);
      onEnd();
      for (const l of [...this.#listeners]) l.end();
      this.#listeners.clear();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  add(listener: TapListener): void {
    this.#listeners.add(listener);
  }

  remove(listener: TapListener): void {
    this.#listeners.delete(listener);
  }

  #socketClosing(): void {
    if (this.#ended) return;
    let linger: number;
    try {
      linger = this.socket.raw.linger;
    } catch {
      linger = 0;
    }
    // linger -1: libzmq keeps the socket (and may report on it) until it delivered everything
    if (linger < 0) return;
    // unref: the observer's pending read keeps the process alive meanwhile;
    // cleared when the monitor stops, so a close never delays an exit
    this.#stopTimer = setTimeout(() => {
      if (this.#ended) return;
      log.debug("%s socket closed %d ms ago without monitor-stopped: monitoring ends", this.socket.type, linger + STOP_GRACE_MS);
      this.#observer.close();
    }, linger + STOP_GRACE_MS).unref();
  }

  async #run(): Promise<void> {
    for (;;) {
      let raw: zmq.Event | undefined;
      try {
        raw = await this.#observer.receive();
      } catch (err) {
        // the observer closed under us (socket closed without a final event)
        log.debug("%s monitor read ended: %s", this.socket.type, (err as Error)?.message ?? String(err));
        return;
      }
      if (raw === undefined || raw === null) return;
      const event = fromZmqEvent(raw);
      for (const l of [...this.#listeners]) l.event(event);
      if (event.type === "monitor-stopped") return;
    }
  }
}

const taps = new WeakMap<ZSocket, Tap>();

function tapOf(socket: ZSocket): Tap {
  let tap = taps.get(socket);
  if (tap === undefined || tap.ended) {
    tap = new Tap(socket, () => {
      if (taps.get(socket) === tap) taps.delete(socket);
    });
    taps.set(socket, tap);
  }
  return tap;
}

interface Waiter {
  match: (event: MonitorEvent) => boolean;
  resolve: (event: MonitorEvent) => void;
  reject: (err: unknown) => void;
}

/**
 * The connection events of one socket (CZMQ `zmonitor`): connects, retries,
 * binds, accepts, disconnects, handshakes, closes, each with the endpoint
 * libzmq names. Use it to tell a user why a peer is unreachable: nobody
 * listening (`connect-retried` again and again), a peer that died
 * (`disconnected`), a CURVE key that does not match
 * (`handshake-failed-no-detail` at the client, `handshake-failed-protocol`
 * `ERR_ZMTP_CRYPTOGRAPHIC` at the server).
 *
 * Three ways to read, all usable at once:
 * - typed events: `monitor.on("disconnected", (e) => ...)`, or `"event"` for all;
 * - one reader, losslessly: `for await (const e of monitor)` or
 *   {@link ZMonitor.receive}; events queue from the moment the monitor is
 *   made (up to {@link ZMonitorOptions.bufferSize});
 * - {@link ZMonitor.waitFor}: the next event of a kind, with a deadline.
 *
 * libzmq reports only what happens after monitoring starts: make the
 * monitor before `bind`/`connect` (create the socket without endpoints,
 * then `attach`). A socket may have any number of monitors; all share one
 * reader underneath (zeromq.js allows one). The monitor ends with
 * `monitor-stopped` when its socket closes, or on {@link ZMonitor.close}.
 * Like a pending receive, monitoring keeps the process running while the
 * socket is open: close the socket (or call `shutdown()`).
 *
 * Events travel apart from messages (libzmq sends them on a socket of
 * their own): a message may arrive before the event of the connection it
 * came through. Wait for an event with {@link ZMonitor.waitFor}
 * (`includePast: true` if it may have come already) rather than assuming
 * it came.
 *
 * @example
 * ```ts
 * const req = new ZSocket("REQ");
 * const monitor = new ZMonitor(req);
 * await req.attach(">tcp://127.0.0.1:5555");
 * try {
 *   await monitor.waitFor("handshake-succeeded", { timeoutMs: 2000 });
 * } catch (err) {
 *   console.log(err.message); // ...; last events: connect-retried tcp://127.0.0.1:5555 (value 200), ...
 * }
 * ```
 */
export class ZMonitor extends EventEmitter<ZMonitorEvents> implements AsyncIterable<MonitorEvent> {
  /** The monitored socket. */
  readonly socket: ZSocket;
  /** See {@link ZMonitorOptions.verbose}; may be changed at any time. */
  verbose: boolean;

  readonly #filter: ReadonlySet<MonitorEventType> | undefined;
  readonly #bufferSize: number;
  readonly #tap: Tap;
  readonly #listener: TapListener;
  #closed = false;
  #queue: MonitorEvent[] = [];
  #reader: { resolve: (e: MonitorEvent) => void; reject: (err: unknown) => void } | undefined;
  #dropped = 0;
  readonly #history: MonitorEvent[] = [];
  readonly #lastByEndpoint = new Map<string, MonitorEvent>();
  readonly #counts = new Map<MonitorEventType, number>();
  readonly #waiters = new Set<Waiter>();
  readonly #done: Promise<void>;
  #finish!: () => void;

  /**
   * Starts monitoring `socket`.
   *
   * @param socket - an open `ZSocket`
   * @param options - see {@link ZMonitorOptions}
   * @throws `InvalidArgumentError` for a bad option or something that is not a ZSocket;
   *   `ClosedError` when the socket is closed
   */
  constructor(socket: ZSocket, options?: ZMonitorOptions) {
    super();
    const o = readOptions(options, { owner: "ZMonitor", known: OPTION_NAMES, example: '{ events: ["connected", "disconnected"] }' });
    const events = o.raw("events");
    if (events !== undefined) {
      if (!Array.isArray(events) || events.some((e) => !MONITOR_EVENT_TYPES.includes(e as MonitorEventType))) {
        o.fail("events", `must be an array of event types (${MONITOR_EVENT_TYPES.join(", ")}), got ${Array.isArray(events) ? JSON.stringify(events) : describeValue(events)}`);
      }
      this.#filter = new Set(events as MonitorEventType[]);
    }
    this.verbose = o.boolean("verbose", false);
    this.#bufferSize = o.number("bufferSize", DEFAULT_MONITOR_BUFFER, { min: 1, integer: true, meaning: "events waiting to be read" });
    if (!(socket instanceof ZSocket)) {
      throw new InvalidArgumentError(`new ZMonitor(socket): socket must be a ZSocket of @zkit/core, got ${describeValue(socket)}`);
    }
    if (socket.closed) throw new ClosedError(`ZMonitor: the ${socket.type} socket is closed`);
    this.socket = socket;
    this.#done = new Promise((resolve) => {
      this.#finish = resolve;
    });
    this.#listener = { event: (e) => this.#deliver(e), end: () => this.#end() };
    this.#tap = tapOf(socket);
    this.#tap.add(this.#listener);
  }

  /** True once the monitor has ended (its socket closed, or {@link ZMonitor.close}). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the monitor has ended. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Events dropped from the read queue because nobody read them (see {@link ZMonitorOptions.bufferSize}). */
  get dropped(): number {
    return this.#dropped;
  }

  /** The last events this monitor delivered, oldest first (at most {@link MONITOR_HISTORY}). */
  get history(): readonly MonitorEvent[] {
    return [...this.#history];
  }

  /** How many events of each type this monitor delivered (types never seen are absent). */
  get counts(): Readonly<Partial<Record<MonitorEventType, number>>> {
    return Object.fromEntries(this.#counts);
  }

  /**
   * The last event delivered, or the last one about `endpoint`: what
   * happened most recently to a peer. `connect-retried` means nobody
   * listens there, `disconnected` that the peer went away,
   * `handshake-failed-*` that it refused us.
   *
   * @param endpoint - an endpoint as the events name it, e.g. `tcp://127.0.0.1:5555`
   */
  last(endpoint?: string): MonitorEvent | undefined {
    if (endpoint === undefined) return this.#history[this.#history.length - 1];
    return this.#lastByEndpoint.get(endpoint);
  }

  /**
   * The next event, in order (one reader at a time, like a socket). Events
   * queue from the moment the monitor was made.
   *
   * @returns the event; rejects with `ClosedError` once the monitor has
   *   ended and every queued event was read, `ZkitError` `ZKIT_BUSY` when
   *   another receive is pending
   */
  receive(): Promise<MonitorEvent> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed) return Promise.reject(new ClosedError("ZMonitor.receive: the monitor has ended"));
    if (this.#reader !== undefined) {
      return Promise.reject(new ZkitError(ErrorCode.Busy, "ZMonitor.receive: another receive is already pending; read a monitor from one place (one for-await loop)"));
    }
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /**
   * Iterates over events in order; the loop ends when the monitor ends.
   * @example
   * ```ts
   * for await (const { type, endpoint } of monitor) console.log(type, endpoint);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<MonitorEvent> {
    return {
      next: () =>
        this.receive().then(
          (value) => ({ value, done: false }),
          (err: unknown) => {
            if (err instanceof ZkitError && err.code === ErrorCode.Closed) return { value: undefined, done: true };
            throw err;
          },
        ),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * Waits for the next event that matches, with a deadline. The
   * `TimeoutError` it rejects with lists the last events seen, which is the
   * answer to "why is my peer unreachable": e.g. `connect-retried` (nobody
   * listens), `handshake-failed-no-detail` (wrong CURVE key).
   *
   * Call it before the action whose event it waits for, or pass
   * `includePast: true`.
   *
   * @param match - an event type, several, or a test
   * @param options - see {@link WaitForEventOptions}
   * @returns the event; rejects with `TimeoutError`, `AbortError`, or
   *   `ClosedError` when the monitor ends first
   * @throws `InvalidArgumentError` for a bad `match` or option
   */
  waitFor(match: MonitorEventMatch, options?: WaitForEventOptions): Promise<MonitorEvent> {
    const o = readOptions(options, { owner: "ZMonitor.waitFor", known: ["timeoutMs", "signal", "endpoint", "includePast"] });
    const timeoutMs = o.number("timeoutMs", undefined, { min: 0 });
    const signal = o.signal("signal");
    const endpoint = o.raw("endpoint");
    if (endpoint !== undefined && typeof endpoint !== "string") o.fail("endpoint", `must be an endpoint string, got ${describeValue(endpoint)}`);
    const includePast = o.boolean("includePast", false);
    const test = toTest(match);
    const wanted = (e: MonitorEvent): boolean => (endpoint === undefined || e.endpoint === endpoint) && test(e);
    const what = `${describeMatch(match)}${endpoint === undefined ? "" : ` on ${endpoint}`}`;
    // made now, so that its stack points at the caller
    const timeoutError = new TimeoutError(`ZMonitor.waitFor: no ${what} within ${timeoutMs} ms`);
    if (includePast) {
      for (let i = this.#history.length - 1; i >= 0; i--) if (wanted(this.#history[i]!)) return Promise.resolve(this.#history[i]!);
    }
    if (this.#closed) return Promise.reject(new ClosedError(`ZMonitor.waitFor: the monitor has ended before any ${what}`));
    if (signal?.aborted) return Promise.reject(new AbortError(`ZMonitor.waitFor: aborted before any ${what}`, { cause: signal.reason }));
    return new Promise<MonitorEvent>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => settle(new AbortError(`ZMonitor.waitFor: aborted before any ${what}`, { cause: signal?.reason }));
      const settle = (err: unknown, event?: MonitorEvent): void => {
        if (!this.#waiters.delete(waiter)) return;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (err === undefined) resolve(event!);
        else reject(err);
      };
      const waiter: Waiter = { match: wanted, resolve: (e) => settle(undefined, e), reject: (err) => settle(err) };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timeoutError.message += `; ${this.#recentText(endpoint as string | undefined)}`;
          settle(timeoutError);
        }, timeoutMs);
      }
    });
  }

  /**
   * Stops this monitor: queued events can still be read, then `for await`
   * ends; pending {@link ZMonitor.waitFor} calls reject with `ClosedError`.
   * Other monitors of the socket go on. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#tap.remove(this.#listener);
    this.#end();
  }

  /** Closes the monitor (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #deliver(event: MonitorEvent): void {
    if (this.#closed) return;
    if (this.#filter !== undefined && !this.#filter.has(event.type)) return;
    if (this.verbose) {
      log.info("%s %s%s%s", this.socket.type, event.type, event.endpoint ? ` ${event.endpoint}` : "", event.error ? ` (${event.error.code}: ${event.error.message})` : "");
    }
    this.#history.push(event);
    if (this.#history.length > MONITOR_HISTORY) this.#history.shift();
    if (event.endpoint !== "") this.#lastByEndpoint.set(event.endpoint, event);
    this.#counts.set(event.type, (this.#counts.get(event.type) ?? 0) + 1);
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve(event);
    } else {
      this.#queue.push(event);
      if (this.#queue.length > this.#bufferSize) {
        this.#queue.shift();
        this.#dropped++;
      }
    }
    for (const w of [...this.#waiters]) if (safeTest(w.match, event)) w.resolve(event);
    // a listener that throws must not stop the socket's monitoring
    this.#emitSafely(event.type, event);
    this.#emitSafely("event", event);
  }

  #emitSafely(name: keyof ZMonitorEvents, event: MonitorEvent): void {
    try {
      (this.emit as (n: string, e: MonitorEvent) => boolean)(name, event);
    } catch (err) {
      log.error("a %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(new ClosedError("ZMonitor.receive: the monitor has ended"));
    for (const w of [...this.#waiters]) w.reject(new ClosedError(`ZMonitor.waitFor: the monitor has ended (${this.#recentText(undefined)})`));
    this.#finish();
  }

  #recentText(endpoint: string | undefined): string {
    const recent = this.#history.filter((e) => endpoint === undefined || e.endpoint === endpoint).slice(-5);
    if (recent.length === 0) return "no event seen";
    return `last events: ${recent.map(describeEvent).join(", ")}`;
  }
}

function toTest(match: MonitorEventMatch): (event: MonitorEvent) => boolean {
  if (typeof match === "function") return match;
  const types = typeof match === "string" ? [match] : match;
  if (!Array.isArray(types) || types.length === 0 || types.some((t) => !MONITOR_EVENT_TYPES.includes(t))) {
    throw new InvalidArgumentError(
      `ZMonitor.waitFor(match): match must be an event type (${MONITOR_EVENT_TYPES.join(", ")}), an array of them, or a function (event) => boolean, got ${describeValue(match)}`,
    );
  }
  return (event) => types.includes(event.type);
}

function safeTest(test: (event: MonitorEvent) => boolean, event: MonitorEvent): boolean {
  try {
    return test(event);
  } catch (err) {
    log.error("a waitFor test threw: %s", (err as Error)?.message ?? String(err));
    return false;
  }
}

function describeMatch(match: MonitorEventMatch): string {
  if (typeof match === "function") return "matching event";
  if (typeof match === "string") return `${match} event`;
  return `${match.join(" or ")} event`;
}
