/**
 * MajordomoBroker: the 7/MDP broker with 8/MMI, one ROUTER for clients and
 * workers on a ZLoop. The socket reads and sends; {@link BrokerState}
 * decides; two timers drive heartbeats with worker expiry, and request
 * expiry.
 * @module
 */
import { EventEmitter } from "node:events";
import { ClosedError, InvalidArgumentError, ZSocket, describeValue, getLogger, now, readOptions, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import {
  BrokerState,
  type BrokerConfig,
  type BrokerSnapshot,
  type BrokerStats,
  type MajordomoBrokerEvents,
  type QueueOverflowPolicy,
} from "./broker-state.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_LIVENESS } from "./protocol.js";

const log = getLogger("mdp");

/** Default of {@link MajordomoBrokerOptions.requestExpiryMs}. */
export const DEFAULT_REQUEST_EXPIRY_MS = 10_000;
/** Default of {@link MajordomoBrokerOptions.maxQueuePerService}. */
export const DEFAULT_MAX_QUEUE_PER_SERVICE = 10_000;
/** Default of {@link MajordomoBrokerOptions.maxFrameBytes}: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link MajordomoBrokerOptions.maxServices}. */
export const DEFAULT_MAX_SERVICES = 10_000;
/** Default of {@link MajordomoBrokerOptions.workerPrefetch}: one request per worker at a time, as 7/MDP's broker. */
export const DEFAULT_WORKER_PREFETCH = 1;

/** Options of {@link MajordomoBroker}; every one has a default. */
export interface MajordomoBrokerOptions {
  /**
   * How often the broker sends HEARTBEAT to each worker (idle or busy), and
   * the unit of worker expiry, in ms. Use the workers' value.
   * @defaultValue 2500
   */
  heartbeatIntervalMs?: number;
  /**
   * A worker silent (no command at all) for `liveness` heartbeat intervals
   * is expired, whether it is idle or holds a request.
   * @defaultValue 3
   */
  liveness?: number;
  /**
   * A request that waits in its service's queue (no worker free, or none at
   * all) longer than this many ms is dropped and counted as expired; its
   * client gets no reply (7/MDP has no error reply) and retries or times out.
   * @defaultValue 10000
   */
  requestExpiryMs?: number;
  /**
   * The most requests one service's queue holds; past it, `queueOverflow`
   * says which request is dropped (counted in `stats.dropped`).
   * @defaultValue 10000
   */
  maxQueuePerService?: number;
  /**
   * Which request to drop when a queue is full: the oldest queued one (its
   * client has most likely given up already) or the one arriving.
   * @defaultValue "drop-oldest"
   */
  queueOverflow?: QueueOverflowPolicy;
  /**
   * A message with a frame larger than this many bytes is dropped and
   * counted as malformed.
   * @defaultValue 16777216 (16 MiB)
   */
  maxFrameBytes?: number;
  /**
   * The most services the broker keeps at once (a service is forgotten once
   * it has neither workers nor queued requests); requests and READYs for a
   * new service past it are dropped or refused.
   * @defaultValue 10000
   */
  maxServices?: number;
  /**
   * The most requests the broker sends one worker before it replies
   * (pipelining). `1`, the default, is 7/MDP exactly as the Guide's broker
   * does it: a worker gets a request only when idle, idle workers in
   * least-recently-used order; keep it for wire and behavioural
   * compatibility with anything that expects that.
   *
   * With `N > 1` a worker may hold up to `N` requests: the next ones wait in
   * its socket while it works, so no round trip to the broker separates two
   * requests. This stays wire-compatible (a sequential worker, the Guide's
   * C or Python `mdwrk` included, just finds the next REQUEST queued, and
   * every REPLY names its client), and requests go to the least loaded
   * worker with credit, least recently used among equals. The costs: a
   * worker that dies or expires loses up to `N` requests at once (counted
   * in `stats.lost`; their clients' retries recover them), and a request
   * may wait behind `N - 1` others in a worker rather than in the broker,
   * where another worker could have taken it: keep `N` x the handler's time
   * well under the clients' timeout.
   * @defaultValue 1
   */
  workerPrefetch?: number;
  /** Called with every message the broker receives or sends (the CLI's `-v`). */
  trace?: TraceFn;
}

const OPTION_NAMES = [
  "heartbeatIntervalMs",
  "liveness",
  "requestExpiryMs",
  "maxQueuePerService",
  "queueOverflow",
  "maxFrameBytes",
  "maxServices",
  "workerPrefetch",
  "trace",
] as const;

/**
 * A Majordomo broker (7/MDP, MDP/0.1, with 8/MMI), wire-compatible with the
 * Guide's C and Python clients and workers.
 *
 * - One ROUTER for clients and workers; services are created on demand and
 *   forgotten when they have neither workers nor queued requests.
 * - Requests go to a service's idle workers, least recently used first; a
 *   worker holds one request at a time. With `workerPrefetch` N > 1 a
 *   worker may hold up to N (pipelining): requests go to the least loaded
 *   worker with credit, least recently used among equals.
 * - Heartbeats both ways every `heartbeatIntervalMs`; a worker silent for
 *   `liveness` intervals expires, busy or not. The requests it held are
 *   counted as lost (the clients' retries recover them); a worker that
 *   sends DISCONNECT while holding some gives them back to the head of the
 *   queue.
 * - Per-service queues are bounded (`maxQueuePerService`, `queueOverflow`)
 *   and expire (`requestExpiryMs`).
 * - Any valid but unexpected command gets DISCONNECT; workers may not
 *   register `mmi.*`; `mmi.service` answers 200/404, `mmi.stats` the
 *   counters, other `mmi.*` 501.
 * - Malformed input is dropped, counted (`stats.malformed`) and logged; it
 *   never disturbs other peers.
 *
 * @example
 * ```ts
 * const broker = new MajordomoBroker({ heartbeatIntervalMs: 2500 });
 * console.log(`listening on ${await broker.bind("tcp://127.0.0.1:5555")}`);
 * broker.on("worker-ready", ({ service, worker }) => console.log(`${worker} serves ${service}`));
 * await broker.start();
 * // ... later
 * await broker.close();
 * ```
 */
export class MajordomoBroker extends EventEmitter<MajordomoBrokerEvents> {
  readonly #socket: ZSocket<"ROUTER">;
  readonly #loop = new ZLoop();
  readonly #state: BrokerState;
  readonly #config: BrokerConfig;
  readonly #trace: TraceFn | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link MajordomoBrokerOptions}
   * @throws `InvalidArgumentError` for an unknown option or a bad value
   */
  constructor(options: MajordomoBrokerOptions = {}) {
    super();
    const o = readOptions(options, { owner: "MajordomoBroker", known: OPTION_NAMES });
    this.#config = {
      heartbeatIntervalMs: o.number("heartbeatIntervalMs", DEFAULT_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true }),
      liveness: o.number("liveness", DEFAULT_LIVENESS, { min: 1, integer: true }),
      requestExpiryMs: o.number("requestExpiryMs", DEFAULT_REQUEST_EXPIRY_MS, { min: 0, exclusive: true, infinity: true }),
      maxQueuePerService: o.number("maxQueuePerService", DEFAULT_MAX_QUEUE_PER_SERVICE, { min: 1, integer: true, infinity: true }),
      queueOverflow: o.oneOf<QueueOverflowPolicy>("queueOverflow", ["drop-oldest", "drop-newest"], "drop-oldest"),
      maxFrameBytes: o.number("maxFrameBytes", DEFAULT_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true }),
      maxServices: o.number("maxServices", DEFAULT_MAX_SERVICES, { min: 1, integer: true, infinity: true }),
      workerPrefetch: o.number("workerPrefetch", DEFAULT_WORKER_PREFETCH, { min: 1, integer: true }),
    };
    this.#trace = o.function<TraceFn>("trace");
    this.#socket = new ZSocket("ROUTER");
    const trace = this.#trace;
    const socket = this.#socket;
    this.#state = new BrokerState(this.#config, {
      send: trace
        ? (frames, to) => {
            trace({ direction: "out", socket: to, frames });
            void socket.send(frames);
          }
        : (frames) => void socket.send(frames),
      now,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      listening: (event) => this.listenerCount(event) > 0,
      extraStats: () => {
        const m = process.memoryUsage();
        return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
      },
    });
  }

  /** The broker's counters, live (read-only). */
  get stats(): Readonly<BrokerStats> {
    return this.#state.stats;
  }

  /** The settings in force, defaults applied. */
  get options(): Readonly<Required<Omit<MajordomoBrokerOptions, "trace">>> {
    return this.#config;
  }

  /** Every endpoint the broker is bound to (real addresses, ports resolved). */
  get endpoints(): readonly string[] {
    return this.#socket.endpoints;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The counters and, per service, its workers, idle workers and queue
   * length (what `mmi.stats` answers); for one service when `service` is given.
   */
  snapshot(service?: string): BrokerSnapshot {
    return this.#state.snapshot(service);
  }

  /**
   * Binds the broker's ROUTER; may be called more than once, before or
   * after {@link start}.
   *
   * @param endpoint - e.g. `"tcp://*:5555"`, `"tcp://127.0.0.1:*"` (an
   *   ephemeral port), `"ipc:///tmp/mdp"`; a leading `@` is accepted
   * @returns the real endpoint, e.g. `tcp://127.0.0.1:41234`
   * @throws `ClosedError` after {@link close}; `InvalidEndpointError`, or
   *   `ZkitError` `ZKIT_ADDRESS_IN_USE`, when the bind fails
   */
  async bind(endpoint: string): Promise<string> {
    if (this.#closing !== undefined) throw new ClosedError("MajordomoBroker.bind: the broker is closed");
    if (typeof endpoint !== "string") throw new InvalidArgumentError(`MajordomoBroker.bind(endpoint): pass a string such as "tcp://*:5555", got ${describeValue(endpoint)}`);
    const real = await this.#socket.bind(endpoint.startsWith("@") ? endpoint.slice(1) : endpoint);
    log.info("broker bound %s", real);
    return real;
  }

  /**
   * Starts serving in the background: reading the ROUTER, heartbeating
   * workers, expiring workers and requests. Idempotent. The broker runs
   * until {@link close}, or until the process is interrupted after
   * `handleInterrupts()` of `@zkit/core` (it then closes itself).
   *
   * @returns resolves once the broker serves
   * @throws `ClosedError` (rejects) after {@link close}
   */
  start(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError("MajordomoBroker.start: the broker is closed"));
    if (this.#started) return Promise.resolve();
    this.#started = true;
    const state = this.#state;
    const trace = this.#trace;
    this.#loop.reader(this.#socket, (frames) => {
      if (trace) trace({ direction: "in", socket: peerKind(frames), frames });
      try {
        state.onMessage(frames);
      } catch (err) {
        // BrokerState never throws on input; a bug must still not stop the broker
        log.error("broker: a message could not be handled: %s", (err as Error)?.stack ?? String(err));
      }
    });
    this.#loop.readerSetTolerant(this.#socket);
    this.#loop.timer(this.#config.heartbeatIntervalMs, 0, () => {
      state.purgeWorkers();
      state.heartbeat();
    });
    const expiry = this.#config.requestExpiryMs;
    if (Number.isFinite(expiry)) {
      this.#loop.timer(Math.min(1000, Math.max(10, expiry / 4)), 0, () => state.expireRequests());
    }
    this.#loop.start().then(
      () => {
        if (this.#closing === undefined) {
          log.info("broker: interrupted, closing");
          void this.close();
        }
      },
      (err: unknown) => {
        log.error("broker loop failed: %s", (err as Error)?.stack ?? String(err));
        void this.close();
      },
    );
    return Promise.resolve();
  }

  /**
   * Closes the broker: sends DISCONNECT to every worker (they reconnect to
   * whoever binds the endpoint next), lets the messages out (up to 1 s) and
   * closes the socket. Queued requests and those workers hold are dropped
   * (the held ones counted as lost): their clients retry. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#loop.destroy();
    if (!this.#socket.closed) {
      this.#state.disconnectAll();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#socket.flush(), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      this.#socket.close();
    }
    log.info("broker closed");
  }

  /** Closes the broker (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Which kind of peer a message on the broker's ROUTER comes from, for traces. */
function peerKind(frames: readonly Buffer[]): string {
  const header = frames[2];
  if (header !== undefined && header.length === 6 && header[0] === 0x4d && header[3] === 0x43) return "client";
  if (header !== undefined && header.length === 6 && header[0] === 0x4d && header[3] === 0x57) return "worker";
  return "peer";
}
