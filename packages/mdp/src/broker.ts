/**
 * MajordomoBroker: the 7/MDP broker with 8/MMI, one ROUTER for clients and
 * workers on a ZLoop. The socket reads and sends; {@link BrokerState}
 * decides; two timers drive heartbeats with worker expiry, and request
 * expiry.
 * @module
 */
import {
  ErrorCode,
  IdleCollector,
  InvalidArgumentError,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  type ZkitError,
  describeValue,
  getLogger,
  isRouterNotification,
  now,
  readOptions,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { Lifecycle, PeerExpiry, diagnosticsChannel } from "@zkit/reliability";
import { securitySocketOptions, type SecurityOptions } from "@zkit/security";
import { BrokerState, type BrokerConfig, type BrokerSnapshot, type BrokerStats, type MajordomoBrokerEvents, type QueueOverflowPolicy } from "./broker-state.js";
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_LIVENESS } from "./protocol.js";

const log = getLogger("mdp");

/**
 * Default of {@link MajordomoBrokerOptions.unservedExpiryMs}: a request for
 * a service with no worker waits 10 s (four times the Guide's client
 * timeout) for one to register.
 */
export const MDP_UNSERVED_EXPIRY_MS = 10_000;
/** Default of {@link MajordomoBrokerOptions.requestExpiryMs}: no limit while the service has workers. */
export const MDP_REQUEST_EXPIRY_MS = Infinity;
/** Default of {@link MajordomoBrokerOptions.maxQueueBytes}: 256 MiB. */
export const MDP_MAX_QUEUE_BYTES = 256 * 1024 * 1024;
/** Default of {@link MajordomoBrokerOptions.maxQueuePerService}: no limit of its own (`maxQueueBytes` bounds memory). */
export const DEFAULT_MAX_QUEUE_PER_SERVICE = Infinity;
/** Default of {@link MajordomoBrokerOptions.maxFrameBytes}: 16 MiB. */
export const MDP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link MajordomoBrokerOptions.maxServices}. */
export const DEFAULT_MAX_SERVICES = 10_000;
/** Default of {@link MajordomoBrokerOptions.workerPrefetch}: one request per worker at a time, as 7/MDP's broker. */
export const MDP_WORKER_PREFETCH = 1;
/** Default of {@link MajordomoBrokerOptions.maxDeliveries}. */
export const MDP_MAX_DELIVERIES = 3;
/** Default of {@link MajordomoBrokerOptions.queueOverflow}: refuse new work, never drop accepted work. */
export const DEFAULT_QUEUE_OVERFLOW: QueueOverflowPolicy = "drop-newest";

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
   * A request for a service that has no worker (none registered yet, or
   * all gone) is dropped once it has waited this many ms without one, and
   * counted as expired: 7/MDP's "SHOULD expire requests for services with
   * no workers". Its client gets no reply (7/MDP has no error reply) and
   * retries or gives up. `Infinity` keeps them until a worker comes.
   * @defaultValue 10000
   */
  unservedExpiryMs?: number;
  /**
   * A request that waits in a queue longer than this many ms is dropped
   * even though its service has workers (they are all busy), and counted as
   * expired. By default a request waits as long as it takes: a broker never
   * throws away work a live worker of its service will serve.
   * @defaultValue Infinity
   */
  requestExpiryMs?: number;
  /**
   * The most memory queued requests may hold, in bytes, over all services
   * (bodies, client addresses, and about 64 bytes of bookkeeping each).
   * Past it, `queueOverflow` says which request is dropped (counted in
   * `stats.dropped`, logged once per burst).
   * @defaultValue 268435456 (256 MiB)
   */
  maxQueueBytes?: number;
  /**
   * The most requests one service's queue holds; past it, `queueOverflow`
   * says which request is dropped.
   * @defaultValue Infinity (`maxQueueBytes` bounds the memory)
   */
  maxQueuePerService?: number;
  /**
   * Which request to drop when a queue limit is reached: the arriving one
   * (`"drop-newest"`: work already accepted is never thrown away; the
   * client retries later) or the oldest queued ones of that service
   * (`"drop-oldest"`: their clients have most likely given up).
   * @defaultValue "drop-newest"
   */
  queueOverflow?: QueueOverflowPolicy;
  /**
   * The largest frame the broker accepts, in bytes. It is also the ROUTER's
   * `maxMessageSize`, so libzmq itself refuses a bigger frame (it
   * disconnects the sender) before receiving it: memory stays bounded
   * whatever peers send. A frame above it that gets through otherwise is
   * dropped and counted as malformed.
   * @defaultValue 16777216 (16 MiB)
   */
  maxFrameBytes?: number;
  /**
   * The most services the broker keeps at once (a service is forgotten once
   * it has neither workers nor queued requests). Past it, requests for a new
   * service are dropped; a worker's READY for a new service makes the broker
   * forget the service that has gone longest without a worker (and its
   * queued requests) instead: clients asking for services nobody serves
   * never lock a real worker out.
   * @defaultValue 10000
   */
  maxServices?: number;
  /**
   * How many workers one request may be sent to. A request whose worker
   * leaves before answering (it crashed, expired, lost its connection or
   * sent DISCONNECT) goes back to the head of its queue for the next
   * worker; after this many deliveries with no answer it is dropped
   * (counted in `stats.dropped`, reason `max-deliveries`): a request that
   * kills every worker it meets must not take them all down.
   * @defaultValue 3
   */
  maxDeliveries?: number;
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
  /**
   * Run one full garbage collection when the broker goes quiet after a
   * burst (a heartbeat interval with next to no traffic, after at least
   * 1 MiB received or dropped). Node frees the native memory behind received
   * frames only when V8 collects their Buffers, and an idle process may not
   * collect for a long time: without this, a broker that has answered or
   * dropped a burst can sit on hundreds of MB. Costs a few ms per burst;
   * turn it off if your application manages collections itself.
   * @defaultValue true
   */
  collectWhenIdle?: boolean;
  /** Called with every message the broker receives or sends (the CLI's `-v`). */
  trace?: TraceFn;
  /**
   * How the broker's socket is secured (`@zkit/security`): CURVE with the
   * broker's key pair, `{ curve: { secretKey, publicKey } }` (or
   * `cert.serverSecurity()`), no `serverKey`; or `{ plain: { server: true } }`.
   * Clients and workers then need the broker's public key. Which keys are
   * let in is decided by a `ZAuth` started in the same process (libzmq asks
   * the one ZAP handler of the process); without one, libzmq admits every
   * CURVE key (the traffic is still encrypted) and refuses every PLAIN
   * client.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run and every 7/MDP peer expects; use CURVE whenever
   *   the network is not trusted
   */
  security?: SecurityOptions;
}

const OPTION_NAMES = [
  "heartbeatIntervalMs",
  "liveness",
  "unservedExpiryMs",
  "requestExpiryMs",
  "maxQueueBytes",
  "maxQueuePerService",
  "queueOverflow",
  "maxFrameBytes",
  "maxServices",
  "workerPrefetch",
  "maxDeliveries",
  "collectWhenIdle",
  "trace",
  "security",
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
 * - A worker leaves the books the moment its connection ends (the ROUTER's
 *   disconnect notification) or a message to it cannot be delivered, not
 *   only after its heartbeats stop: no request goes to a dead worker while
 *   a live one waits. Heartbeats both ways every `heartbeatIntervalMs`; a
 *   worker silent for `liveness` intervals expires, busy or not.
 * - A request whose worker leaves before answering (crash, expiry, lost
 *   connection, DISCONNECT) goes back to the head of its queue for another
 *   worker, up to `maxDeliveries` workers; a reply is forwarded only for a
 *   request the broker gave that worker (forged ones are dropped).
 * - Clients that disconnect (a Lazy Pirate client retrying on a fresh
 *   socket) have their queued requests dropped: nobody would read the reply.
 * - Queues are bounded by memory (`maxQueueBytes`, `queueOverflow`); a
 *   request waits as long as its service has workers, and up to
 *   `unservedExpiryMs` for one when it has none. libzmq refuses frames over
 *   `maxFrameBytes` before receiving them.
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
export class MajordomoBroker extends Lifecycle<MajordomoBrokerEvents> {
  readonly #socket: ZSocket<"ROUTER">;
  readonly #loop = new ZLoop({ nonstop: true });
  /** Worker expiry: one ticket each, O(1) per message. */
  readonly #expiry: PeerExpiry<() => void>;
  readonly #state: BrokerState;
  readonly #config: BrokerConfig;
  readonly #trace: TraceFn | undefined;
  /** One full GC when the broker goes quiet after a burst: the native memory behind received frames goes back then, not whenever V8 next collects. */
  readonly #collector: IdleCollector | undefined;

  /**
   * @param options - see {@link MajordomoBrokerOptions}
   * @throws `InvalidArgumentError` for an unknown option or a bad value
   */
  constructor(options: MajordomoBrokerOptions = {}) {
    super({ owner: "MajordomoBroker", channel: "zkit:mdp:broker" });
    const o = readOptions(options, { owner: "MajordomoBroker", known: OPTION_NAMES });
    this.#config = {
      heartbeatIntervalMs: o.number("heartbeatIntervalMs", MDP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true }),
      liveness: o.number("liveness", MDP_LIVENESS, { min: 1, integer: true }),
      unservedExpiryMs: o.number("unservedExpiryMs", MDP_UNSERVED_EXPIRY_MS, { min: 0, exclusive: true, infinity: true }),
      requestExpiryMs: o.number("requestExpiryMs", MDP_REQUEST_EXPIRY_MS, { min: 0, exclusive: true, infinity: true }),
      maxQueueBytes: o.number("maxQueueBytes", MDP_MAX_QUEUE_BYTES, { min: 1, integer: true, infinity: true }),
      maxQueuePerService: o.number("maxQueuePerService", DEFAULT_MAX_QUEUE_PER_SERVICE, { min: 1, integer: true, infinity: true }),
      queueOverflow: o.oneOf<QueueOverflowPolicy>("queueOverflow", ["drop-oldest", "drop-newest"], DEFAULT_QUEUE_OVERFLOW),
      maxFrameBytes: o.number("maxFrameBytes", MDP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true }),
      maxServices: o.number("maxServices", DEFAULT_MAX_SERVICES, { min: 1, integer: true, infinity: true }),
      workerPrefetch: o.number("workerPrefetch", MDP_WORKER_PREFETCH, { min: 1, integer: true }),
      maxDeliveries: o.number("maxDeliveries", MDP_MAX_DELIVERIES, { min: 1, integer: true }),
    };
    this.#trace = o.function<TraceFn>("trace");
    if (o.boolean("collectWhenIdle", true)) this.#collector = new IdleCollector({ thresholdBytes: 1024 * 1024 });
    // mandatory + no send timeout: a message to a peer that is gone fails at
    // once instead of vanishing; routerNotify: a peer whose connection ends
    // is reported at once; maxMessageSize: libzmq refuses oversized frames
    // before they are received
    const security = securitySocketOptions(o.raw("security") as SecurityOptions | undefined, { owner: "MajordomoBroker", role: "server" });
    this.#socket = new ZSocket("ROUTER", {
      ...security,
      mandatory: true,
      sendTimeout: 0,
      routerNotify: ROUTER_NOTIFY_DISCONNECT,
      maxMessageSize: Number.isFinite(this.#config.maxFrameBytes) ? this.#config.maxFrameBytes : -1,
    });
    this.#expiry = new PeerExpiry(this.#loop, this.#config.heartbeatIntervalMs * this.#config.liveness, (onExpire) => onExpire());
    const expiry = this.#expiry;
    const trace = this.#trace;
    const socket = this.#socket;
    const channel = diagnosticsChannel("zkit:mdp:broker");
    // post(), not send(): nobody waits for libzmq to take a message, and a
    // failure comes back through one of these two, with the message
    const failed =
      (to: "client" | "worker") =>
      (err: ZkitError, message: MessageLike): void => {
        if (socket.closed) return;
        this.#state.sendFailed((message as Buffer[])[0]!, to, err.code === ErrorCode.HostUnreachable);
      };
    const failedTo = { client: failed("client"), worker: failed("worker") };
    this.#state = new BrokerState(this.#config, {
      send: (frames, to) => {
        trace?.({ direction: "out", socket: to, frames });
        socket.post(frames, failedTo[to]);
      },
      now,
      emit: (event, ...args) => {
        (this.notify as (e: string, ...a: unknown[]) => void)(event, ...args);
        return true;
      },
      listening: (event) => this.listenerCount(event) > 0 || channel.hasSubscribers,
      watch: (onExpire) => {
        const handle = expiry.add(onExpire);
        return { touch: () => expiry.touch(handle), stop: () => expiry.remove(handle) };
      },
      extraStats: () => {
        const m = process.memoryUsage();
        return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
      },
    });
  }

  /** The broker's counters, live (read-only). */
  get stats(): Readonly<BrokerStats> {
    return this.#state.stats;
  }

  /** The settings in force, defaults applied (not `security`: its keys stay inside). */
  get options(): Readonly<Required<Omit<MajordomoBrokerOptions, "trace" | "security">>> {
    return { ...this.#config, collectWhenIdle: this.#collector !== undefined };
  }

  /** Every endpoint the broker is bound to (real addresses, ports resolved). */
  get endpoints(): readonly string[] {
    return this.#socket.endpoints;
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
    this.assertOpen("MajordomoBroker.bind");
    if (typeof endpoint !== "string") throw new InvalidArgumentError(`MajordomoBroker.bind(endpoint): pass a string such as "tcp://*:5555", got ${describeValue(endpoint)}`);
    const real = await this.#socket.bind(endpoint.startsWith("@") ? endpoint.slice(1) : endpoint);
    log.info("broker bound %s", real);
    return real;
  }

  /**
   * Starts serving in the background: reading the ROUTER, heartbeating
   * workers, expiring workers and requests. Idempotent. The broker runs
   * until {@link MajordomoBroker.close}, or until the process is
   * interrupted after `handleInterrupts()` of `@zkit/core` (it then closes
   * itself); `done` settles when it has closed.
   *
   * @returns resolves once the broker serves
   * @throws `ClosedError` (rejects) after `close()`
   */
  protected onStart(): void {
    const state = this.#state;
    const trace = this.#trace;
    const collector = this.#collector;
    this.#loop.reader(this.#socket, (frames) => {
      if (trace) trace({ direction: "in", socket: peerKind(frames), frames });
      if (collector !== undefined) {
        let bytes = 0;
        for (let i = 0; i < frames.length; i++) bytes += frames[i]!.length;
        collector.received(bytes);
      }
      try {
        if (isRouterNotification(frames)) state.peerGone(frames[0]!);
        else state.onMessage(frames);
      } catch (err) {
        // BrokerState never throws on input; a bug must still not stop the broker
        log.error("broker: a message could not be handled: %s", (err as Error)?.stack ?? String(err));
      }
    });
    this.#loop.readerSetTolerant(this.#socket);
    let released = 0;
    this.#loop.timer(this.#config.heartbeatIntervalMs, 0, () => {
      state.heartbeat();
      this.publishStats(state.stats);
      if (collector !== undefined) {
        collector.released(state.releasedBytes - released);
        released = state.releasedBytes;
        collector.tick();
      }
    });
    const expiry = Math.min(this.#config.unservedExpiryMs, this.#config.requestExpiryMs);
    if (Number.isFinite(expiry)) {
      this.#loop.timer(Math.min(1000, Math.max(10, expiry / 4)), 0, () => state.expireRequests());
    }
    this.#loop.start().catch((err: unknown) => this.fail(err));
  }

  /**
   * Closes the broker: sends DISCONNECT to every worker (they reconnect to
   * whoever binds the endpoint next), lets the messages out (up to 1 s) and
   * closes the socket. Queued requests and those workers hold are dropped
   * (the held ones counted as lost): their clients retry.
   */
  protected async onClose(): Promise<void> {
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
}

/** Which kind of peer a message on the broker's ROUTER comes from, for traces. */
function peerKind(frames: readonly Buffer[]): string {
  const header = frames[2];
  if (header !== undefined && header.length === 6 && header[0] === 0x4d && header[3] === 0x43) return "client";
  if (header !== undefined && header.length === 6 && header[0] === 0x4d && header[3] === 0x57) return "worker";
  return "peer";
}
