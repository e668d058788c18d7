/**
 * ParanoidPirateQueue: the 6/PPP queue (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): an LRU queue of DEALER workers that heartbeats every
 * worker and expires the silent ones, idle or busy.
 * @module
 */
import { EventEmitter } from "node:events";
import {
  ErrorCode,
  LogBurst,
  ProtocolError,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  ZkitError,
  getLogger,
  isRouterNotification,
  parseEndpoints,
  readOptions,
  type TraceFn,
} from "@zkit/core";
import { ZLoop, type Ticket } from "@zkit/zloop";
import {
  PPP_HEARTBEAT_INTERVAL_MS,
  PPP_LIVENESS,
  decodeBackend,
  decodeClientRequest,
  encodeClientReply,
  encodeQueueHeartbeat,
  encodeWorkerRequest,
  type ClientRequest,
} from "./protocol.js";
import { Workers, type WorkerEntry } from "./workers.js";

const log = getLogger("ppp");
const forgedLog = new LogBurst(log, "forged replies dropped (see stats.forged)");

/** Default of {@link ParanoidPirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const PPP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link ParanoidPirateQueueOptions.maxDeliveries}. */
export const PPP_MAX_DELIVERIES = 3;

/** A request the queue accepted, with how many workers it was given to. */
interface HeldRequest extends ClientRequest {
  deliveries: number;
}

/** What the queue keeps per worker. */
interface WorkerData {
  ticket: Ticket;
  /** The request it holds, while busy. */
  request: HeldRequest | undefined;
}

/** Options of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueOptions {
  /**
   * Where clients connect: a CZMQ endpoint list, bound unless prefixed with
   * `>` (e.g. `"tcp://*:5555"`, the Guide's, or `"tcp://127.0.0.1:*"` for an
   * ephemeral port, read back from {@link ParanoidPirateQueue.frontendEndpoint}).
   */
  frontend: string;
  /** Where workers connect, like `frontend` (the Guide's is `"tcp://*:5556"`). */
  backend: string;
  /**
   * How often the queue sends HEARTBEAT to every worker, in ms; workers
   * must use the same interval.
   * @defaultValue 1000 ({@link PPP_HEARTBEAT_INTERVAL_MS})
   */
  heartbeatIntervalMs?: number;
  /**
   * A worker silent for `liveness` heartbeat intervals is expired.
   * @defaultValue 3 ({@link PPP_LIVENESS})
   */
  liveness?: number;
  /**
   * The largest frame either socket accepts, in bytes: the sockets'
   * `maxMessageSize`, so libzmq refuses a bigger frame (and cuts off its
   * sender) before receiving it. Memory stays bounded whatever peers send.
   * @defaultValue 16777216 (16 MiB, {@link PPP_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * How many workers one request may be given to. A request whose worker
   * leaves before answering (its connection ended, or it went silent) goes
   * to the next worker, up to this many in all; then it is dropped and
   * counted (`stats.lostRequests`): a request that kills every worker it
   * meets must not take them all down.
   * @defaultValue 3 ({@link PPP_MAX_DELIVERIES})
   */
  maxDeliveries?: number;
  /**
   * Called with every message the queue receives or sends, with `socket`
   * `"frontend"` or `"backend"` (`zkit ppp queue -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** What `worker-ready` reports. */
export interface WorkerReadyEvent {
  /** The worker's routing id at the backend. */
  readonly identity: Buffer;
}

/** What `worker-expired` reports. */
export interface WorkerExpiredEvent {
  /** The worker's routing id at the backend. */
  readonly identity: Buffer;
  /**
   * True if it held a request, which then goes to the next worker (up to
   * `maxDeliveries` workers in all).
   */
  readonly busy: boolean;
  /**
   * `"silent"`: nothing from it for `liveness` heartbeat intervals;
   * `"disconnected"`: its connection ended (its process died, its socket
   * closed); `"unreachable"`: a message to it could not be delivered.
   */
  readonly reason: "silent" | "disconnected" | "unreachable";
}

/** The events of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueEvents {
  /** A new worker sent READY: it joins the ready list. */
  "worker-ready": [event: WorkerReadyEvent];
  /** A worker was forgotten; see {@link WorkerExpiredEvent}. */
  "worker-expired": [event: WorkerExpiredEvent];
}

/** The counters of a {@link ParanoidPirateQueue}, since it started. */
export interface ParanoidPirateQueueStats {
  /** Well-formed requests read from the frontend. */
  readonly requests: number;
  /** Replies passed back to clients. */
  readonly replies: number;
  /** Malformed messages dropped (either socket). */
  readonly malformed: number;
  /**
   * Well-formed messages dropped because they break the protocol's order:
   * a HEARTBEAT or reply from a worker that never sent READY (or was
   * expired), a second READY.
   */
  readonly unexpected: number;
  /**
   * Replies dropped because they answer no request the queue gave that
   * worker (a worker naming a client it was never sent, or holding
   * nothing): never forwarded.
   */
  readonly forged: number;
  /** Workers forgotten: silent, disconnected or unreachable. */
  readonly workersExpired: number;
  /** Requests dropped after `maxDeliveries` workers left without answering them (the client's retry may still recover them). */
  readonly lostRequests: number;
  /** Requests given to another worker because the one holding them left or could not be reached. */
  readonly redispatched: number;
}

type State = "new" | "starting" | "running" | "closed";

/**
 * A Paranoid Pirate queue (6/PPP). Clients are plain REQ sockets (Lazy
 * Pirate clients); workers are DEALER sockets that speak 6/PPP
 * ({@link ParanoidPirateWorker}, or the Guide's ppworker in any language).
 *
 * - A worker's first message must be READY; then it gets requests, least
 *   recently used first, one at a time.
 * - The frontend is read only while a worker is ready.
 * - Every `heartbeatIntervalMs` the queue sends HEARTBEAT to every worker,
 *   idle or busy. Any message from a worker refreshes its expiry; a worker
 *   silent for `liveness` intervals is expired whether idle or busy (the
 *   Guide's queue purges only up to the first live worker and never
 *   expires busy ones).
 * - A worker whose connection ends (its process died) leaves at once, not
 *   after `liveness` intervals; a request sent to a worker that is gone
 *   fails at once (the backend ROUTER is `mandatory`) and is not lost.
 * - A request whose worker leaves before answering (disconnected, silent,
 *   unreachable) goes to the next worker, up to `maxDeliveries` workers.
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - Both sockets refuse frames over `maxFrameBytes` before receiving them.
 * - Malformed or out-of-order messages are dropped, counted and logged as
 *   warnings on `zkit:ppp`; the queue never stops for them.
 *
 * @example
 * ```ts
 * const queue = new ParanoidPirateQueue({ frontend: "tcp://*:5555", backend: "tcp://*:5556" });
 * queue.on("worker-expired", ({ identity, busy }) => console.log(`lost ${identity.toString("hex")}${busy ? " (busy)" : ""}`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class ParanoidPirateQueue extends EventEmitter<ParanoidPirateQueueEvents> {
  readonly #frontendSpec: string;
  readonly #backendSpec: string;
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #maxFrameBytes: number;
  readonly #maxDeliveries: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop: ZLoop;
  #frontend: ZSocket<"ROUTER"> | undefined;
  #backend: ZSocket<"ROUTER"> | undefined;
  readonly #workers = new Workers<WorkerData>();
  /** Accepted requests whose worker left or was unreachable, waiting for the next ready worker. */
  readonly #held: HeldRequest[] = [];
  #reading = false;
  #state: State = "new";
  #done: Promise<void> = Promise.resolve();
  #stats = { requests: 0, replies: 0, malformed: 0, unexpected: 0, forged: 0, workersExpired: 0, lostRequests: 0, redispatched: 0 };

  /**
   * @param options - see {@link ParanoidPirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateQueueOptions) {
    super();
    const o = readOptions(options, { owner: "ParanoidPirateQueue", example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }' });
    this.#frontendSpec = o.requiredString("frontend", "tcp://*:5555", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#frontendSpec, true);
    this.#backendSpec = o.requiredString("backend", "tcp://*:5556", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#backendSpec, true);
    this.#intervalMs = o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#liveness = o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals a worker may stay silent" });
    this.#maxFrameBytes = o.number("maxFrameBytes", PPP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    this.#maxDeliveries = o.number("maxDeliveries", PPP_MAX_DELIVERIES, { min: 1, integer: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#loop = new ZLoop({ ticketDelayMs: this.#intervalMs * this.#liveness });
  }

  /** The frontend's real endpoint (the last one bound), once started. */
  get frontendEndpoint(): string {
    return this.#frontend?.endpoint ?? "";
  }

  /** The backend's real endpoint (the last one bound), once started. */
  get backendEndpoint(): string {
    return this.#backend?.endpoint ?? "";
  }

  /** Workers known to the queue (idle and busy). */
  get workerCount(): number {
    return this.#workers.size;
  }

  /** Workers ready for a request right now. */
  get readyWorkers(): number {
    return this.#workers.idleCount;
  }

  /** The heartbeat interval in ms. */
  get heartbeatIntervalMs(): number {
    return this.#intervalMs;
  }

  /** The liveness in heartbeat intervals. */
  get liveness(): number {
    return this.#liveness;
  }

  /** The counters since the queue started (a snapshot). */
  get stats(): ParanoidPirateQueueStats {
    return { ...this.#stats };
  }

  /** True from {@link ParanoidPirateQueue.start} until the queue stops. */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Settles when the queue has stopped and closed its sockets: after
   * {@link ParanoidPirateQueue.close}, or once the process is interrupted
   * (`handleInterrupts()` of `@zkit/core`). Rejects only if its reactor
   * failed, with that error.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Binds both sockets and starts serving and heartbeating; resolves once bound.
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close;
   *   `ZKIT_ADDRESS_IN_USE` and other bind errors (nothing stays open then)
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `ParanoidPirateQueue.start: the queue is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    try {
      this.#frontend = await ZSocket.router(this.#frontendSpec, { maxMessageSize });
      // mandatory + no send timeout: a send to a worker that is gone fails at
      // once instead of vanishing, so its request can go to another worker;
      // routerNotify: a worker whose connection ends is known at once
      this.#backend = await ZSocket.router(this.#backendSpec, { mandatory: true, sendTimeout: 0, routerNotify: ROUTER_NOTIFY_DISCONNECT, maxMessageSize });
    } catch (err) {
      this.#frontend?.close();
      this.#state = "closed";
      throw err;
    }
    if (this.#state !== "starting") {
      this.#frontend.close();
      this.#backend.close();
      throw new ZkitError(ErrorCode.Closed, "ParanoidPirateQueue.start: closed while starting");
    }
    this.#state = "running";
    this.#loop.reader(this.#backend, this.#onBackend);
    this.#loop.timer(this.#intervalMs, 0, this.#heartbeat);
    this.#done = this.#loop.start().then(
      () => this.#stopped(),
      (err: unknown) => {
        log.error("queue stopped by an error: %s", (err as Error)?.message ?? String(err));
        this.#stopped();
        throw err;
      },
    );
    this.#done.catch(() => {});
    log.info("queue started: frontend %s, backend %s", this.frontendEndpoint, this.backendEndpoint);
  }

  /**
   * Stops reading and heartbeating, lets the messages already sent leave
   * (the sockets' linger), closes both sockets. Idempotent; resolves once
   * stopped. Workers notice the silence and reconnect.
   */
  async close(): Promise<void> {
    if (this.#state === "new" || this.#state === "starting") {
      this.#state = "closed";
      return;
    }
    if (this.#state === "running") this.#loop.stop();
    await this.#done.catch(() => {});
  }

  /** Closes the queue (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stopped(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#loop.destroy();
    this.#workers.clear();
    if (this.#held.length) log.warn("closed with %d request(s) held for a worker", this.#held.length);
    this.#held.length = 0;
    this.#frontend?.close();
    this.#backend?.close();
    log.info("queue stopped");
  }

  // ------------------------------------------------------------ messages

  #onBackend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "backend", frames: msg });
    if (isRouterNotification(msg)) {
      // a worker's connection ended: it leaves now, not after liveness intervals
      const gone = this.#workers.get(msg[0]!);
      if (gone !== undefined && this.#workers.remove(gone)) {
        log.warn("worker %s disconnected%s", gone.identity.toString("hex"), gone.busy ? ": its request goes to the next worker" : "");
        this.#forget(gone, "disconnected");
      }
      return;
    }
    const m = decodeBackend(msg);
    if (m instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("backend: dropped a malformed message (%s)", m.message);
      return;
    }
    const worker = this.#workers.get(m.worker);
    if (worker === undefined) {
      if (m.kind === "ready") this.#register(m.worker);
      else this.#unexpected(m.worker, `${m.kind === "reply" ? "a reply" : "HEARTBEAT"} from a worker that has not sent READY (or was expired)`);
      return;
    }
    // any message from a known worker proves it alive
    this.#loop.ticketReset(worker.data.ticket);
    switch (m.kind) {
      case "heartbeat":
        return;
      case "ready": {
        // READY again on the same connection: the worker starts over, and
        // the request it held goes to the next worker
        this.#unexpected(m.worker, "a second READY");
        const held = worker.data.request;
        worker.data.request = undefined;
        if (held !== undefined) this.#giveBack(held);
        if (worker.busy) this.#idle(worker);
        return;
      }
      case "reply": {
        const request = worker.data.request;
        if (!worker.busy || request === undefined || !request.client.equals(m.client)) {
          // only the answer to the request this worker was given goes out
          this.#stats.forged++;
          forgedLog.record("backend: dropped a reply from worker %s for client %s: it was never given that client's request", m.worker.toString("hex"), m.client.toString("hex"));
          return;
        }
        worker.data.request = undefined;
        const out = encodeClientReply(m.client, m.body);
        this.#trace?.({ direction: "out", socket: "frontend", frames: out });
        void this.#frontend!.send(out);
        this.#stats.replies++;
        this.#idle(worker);
        return;
      }
    }
  };

  #onFrontend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "frontend", frames: msg });
    const r = decodeClientRequest(msg);
    if (r instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("frontend: dropped a malformed message (%s)", r.message);
      return;
    }
    this.#stats.requests++;
    this.#dispatch({ client: r.client, body: r.body, deliveries: 0 });
  };

  #unexpected(identity: Buffer, what: string): void {
    this.#stats.unexpected++;
    log.warn("backend: dropped %s (worker %s)", what, identity.toString("hex"));
  }

  // ------------------------------------------------------------- workers

  #register(identity: Buffer): void {
    const entry = this.#workers.add(identity, { ticket: this.#loop.ticket(() => this.#expire(entry)), request: undefined });
    log.info("worker %s ready", identity.toString("hex"));
    this.#emit("worker-ready", { identity });
    this.#idle(entry);
  }

  /** A worker can take a request: a held one first, else it joins the LRU list. */
  #idle(worker: WorkerEntry<WorkerData>): void {
    const held = this.#held.shift();
    if (held !== undefined) this.#send(worker, held);
    else this.#workers.idle(worker);
    this.#updateReading();
  }

  /** Gives `r` to the least recently used ready worker, or holds it until one is ready. */
  #dispatch(r: HeldRequest): void {
    const worker = this.#workers.take();
    if (worker === undefined) this.#held.push(r);
    else this.#send(worker, r);
    this.#updateReading();
  }

  #send(worker: WorkerEntry<WorkerData>, r: HeldRequest): void {
    worker.busy = true;
    worker.data.request = r;
    r.deliveries++;
    const out = encodeWorkerRequest(worker.identity, r.client, r.body);
    this.#trace?.({ direction: "out", socket: "backend", frames: out });
    this.#backend!.send(out).catch((err: unknown) => {
      if (this.#state !== "running") return;
      // unroutable (disconnected) or its pipe is full: it will not answer
      log.warn("request for worker %s not delivered (%s): passing it to the next worker", worker.identity.toString("hex"), (err as Error)?.message ?? String(err));
      if (this.#workers.remove(worker)) {
        r.deliveries--; // it never left
        this.#forget(worker, "unreachable");
      }
    });
  }

  /** Expiry, the one place: a worker silent for liveness intervals. */
  #expire(worker: WorkerEntry<WorkerData>): void {
    if (!this.#workers.remove(worker)) return;
    log.warn("worker %s expired: silent for %d ms%s", worker.identity.toString("hex"), this.#intervalMs * this.#liveness, worker.busy ? ", its request goes to the next worker" : "");
    this.#forget(worker, "silent");
  }

  /** A worker left the books (it was removed): its request, if any, goes to the next worker. */
  #forget(worker: WorkerEntry<WorkerData>, reason: "silent" | "disconnected" | "unreachable"): void {
    this.#loop.ticketDelete(worker.data.ticket);
    this.#stats.workersExpired++;
    const held = worker.data.request;
    worker.data.request = undefined;
    this.#emit("worker-expired", { identity: worker.identity, busy: held !== undefined, reason });
    if (held !== undefined) this.#giveBack(held);
    this.#updateReading();
  }

  /**
   * A request whose worker left before answering goes to the next worker
   * (first in line): that worker cannot answer it any more (a late reply
   * is dropped as forged). The service sees it at least once, as with the
   * client's own retry. After `maxDeliveries` workers it is dropped.
   */
  #giveBack(r: HeldRequest): void {
    if (r.deliveries >= this.#maxDeliveries) {
      this.#stats.lostRequests++;
      log.warn("a request from client %s was given to %d workers and none answered: dropped (the client's retry may still recover it)", r.client.toString("hex"), r.deliveries);
      return;
    }
    this.#stats.redispatched++;
    const worker = this.#workers.take();
    if (worker === undefined) this.#held.unshift(r);
    else this.#send(worker, r);
    this.#updateReading();
  }

  /** Heartbeats, the one place: HEARTBEAT to every known worker, idle or busy. */
  #heartbeat = (): void => {
    for (const worker of this.#workers.all()) {
      const out = encodeQueueHeartbeat(worker.identity);
      this.#trace?.({ direction: "out", socket: "backend", frames: out });
      this.#backend!.send(out).catch((err: unknown) => {
        if (this.#state !== "running" || !(err instanceof ZkitError) || err.code !== ErrorCode.HostUnreachable) return;
        if (!this.#workers.remove(worker)) return;
        log.warn("worker %s unreachable%s", worker.identity.toString("hex"), worker.busy ? ": its request goes to the next worker" : "");
        this.#forget(worker, "unreachable");
      });
    }
  };

  /** Reads the frontend only while a worker is ready and nothing is held. */
  #updateReading(): void {
    const want = this.#workers.idleCount > 0 && this.#held.length === 0 && this.#state === "running";
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.#loop.reader(this.#frontend!, this.#onFrontend);
    else this.#loop.readerEnd(this.#frontend!);
  }

  #emit<K extends keyof ParanoidPirateQueueEvents>(name: K, ...args: ParanoidPirateQueueEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}
