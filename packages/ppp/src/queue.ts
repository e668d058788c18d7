/**
 * ParanoidPirateQueue: the 6/PPP queue (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): an LRU queue of DEALER workers that heartbeats every
 * worker and expires the silent ones, idle or busy. Its worker bookkeeping
 * is the reliability layer's `WorkerQueue` (the same as Simple Pirate's),
 * with expiry on ZLoop tickets; its lifecycle is a `Lifecycle`.
 * @module
 */
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
import { ZLoop } from "@zkit/zloop";
import { Lifecycle, WorkerQueue, peerId, type QueuedWorker } from "@zkit/reliability";
import {
  PPP_HEARTBEAT_INTERVAL_MS,
  PPP_LIVENESS,
  decodeBackend,
  decodeClientRequest,
  encodeClientReply,
  encodeQueueHeartbeat,
  encodeWorkerRequest,
} from "./protocol.js";

const log = getLogger("ppp");
const forgedLog = new LogBurst(log, "forged replies dropped (see stats.forged)");
const malformedLog = new LogBurst(log, "malformed messages dropped (see stats.malformed)");

/** Default of {@link ParanoidPirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const PPP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link ParanoidPirateQueueOptions.maxDeliveries}. */
export const PPP_MAX_DELIVERIES = 3;

/** A request the queue accepted. */
interface Work {
  readonly client: Buffer;
  readonly body: Buffer[];
  deliveries: number;
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

/** Why a worker left (`worker-gone`). */
export type WorkerGoneReason = "silent" | "disconnected" | "unreachable";

/** The events of a {@link ParanoidPirateQueue} (the standard names of `@zkit/reliability`; workers and clients by routing id in hex). */
export interface ParanoidPirateQueueEvents {
  /** A new worker sent READY: it joins the ready list. */
  "worker-ready": [info: { worker: string }];
  /**
   * A worker was forgotten: silent for `liveness` intervals (`"silent"`),
   * its connection ended (`"disconnected"`), or a message to it could not
   * be delivered (`"unreachable"`). `inHand` is 1 when it held a request,
   * which goes to the next worker.
   */
  "worker-gone": [info: { worker: string; reason: WorkerGoneReason; inHand: number }];
  /** A request whose worker left goes to the next worker. */
  "request-requeued": [info: { client: string; worker: string }];
  /** A request given to `maxDeliveries` workers, none of which answered, was dropped. */
  "request-dropped": [info: { client: string; reason: "max-deliveries" }];
  /** A reply for a request that worker was never given was dropped. */
  "reply-forged": [info: { worker: string; client: string }];
  /** A malformed message was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined; socket: "frontend" | "backend" }];
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
 * queue.on("worker-gone", ({ worker, reason }) => console.log(`lost ${worker} (${reason})`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class ParanoidPirateQueue extends Lifecycle<ParanoidPirateQueueEvents> {
  readonly #frontendSpec: string;
  readonly #backendSpec: string;
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop: ZLoop;
  readonly #workers: WorkerQueue<Work>;
  #frontend: ZSocket<"ROUTER"> | undefined;
  #backend: ZSocket<"ROUTER"> | undefined;
  #reading = false;
  #stats = { requests: 0, replies: 0, malformed: 0, unexpected: 0, forged: 0, workersExpired: 0, lostRequests: 0, redispatched: 0 };

  /**
   * @param options - see {@link ParanoidPirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateQueueOptions) {
    super({ owner: "ParanoidPirateQueue", channel: "zkit:ppp:queue" });
    const o = readOptions(options, { owner: "ParanoidPirateQueue", example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }' });
    this.#frontendSpec = o.requiredString("frontend", "tcp://*:5555", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#frontendSpec, true);
    this.#backendSpec = o.requiredString("backend", "tcp://*:5556", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#backendSpec, true);
    this.#intervalMs = o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#liveness = o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals a worker may stay silent" });
    this.#maxFrameBytes = o.number("maxFrameBytes", PPP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    const maxDeliveries = o.number("maxDeliveries", PPP_MAX_DELIVERIES, { min: 1, integer: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#loop = new ZLoop({ nonstop: true });
    this.#workers = new WorkerQueue<Work>({
      maxDeliveries,
      send: (worker, work) => this.#send(worker, work),
      onRequeued: (work, from) => {
        this.#stats.redispatched++;
        this.notify("request-requeued", { client: peerId(work.client), worker: peerId(from.identity) });
      },
      onDropped: (work) => {
        this.#stats.lostRequests++;
        log.warn("a request from client %s was given to %d workers and none answered: dropped (the client's retry may still recover it)", peerId(work.client), work.deliveries);
        this.notify("request-dropped", { client: peerId(work.client), reason: "max-deliveries" });
      },
      expiry: {
        loop: this.#loop,
        expiryMs: this.#intervalMs * this.#liveness,
        onExpire: (worker) => {
          log.warn("worker %s expired: silent for %d ms", peerId(worker.identity), this.#intervalMs * this.#liveness);
          this.#gone(worker, "silent");
        },
      },
    });
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
    return this.#workers.readyCount;
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

  /**
   * Binds both sockets and starts serving and heartbeating (what `start()`
   * does); `start()` resolves once bound, and rejects with `ZKIT_ADDRESS_IN_USE`
   * or another bind error (nothing stays open then).
   */
  protected async onStart(): Promise<void> {
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    this.#frontend = await ZSocket.router(this.#frontendSpec, { maxMessageSize });
    // mandatory + no send timeout: a send to a worker that is gone fails at
    // once instead of vanishing, so its request can go to another worker;
    // routerNotify: a worker whose connection ends is known at once
    this.#backend = await ZSocket.router(this.#backendSpec, { mandatory: true, sendTimeout: 0, routerNotify: ROUTER_NOTIFY_DISCONNECT, maxMessageSize });
    this.#loop.reader(this.#backend, this.#onBackend);
    this.#loop.timer(this.#intervalMs, 0, this.#heartbeat);
    this.#loop.start().catch((err: unknown) => this.fail(err));
    log.info("queue started: frontend %s, backend %s", this.frontendEndpoint, this.backendEndpoint);
  }

  /**
   * Stops reading and heartbeating, lets the messages already sent leave
   * (the sockets' linger), closes both sockets (what `close()` does).
   * Workers notice the silence and reconnect.
   */
  protected onClose(): void {
    this.#loop.destroy();
    const held = this.#workers.clear();
    if (held.length) log.warn("closed with %d request(s) held for a worker", held.length);
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
      if (gone !== undefined) {
        log.warn("worker %s disconnected%s", peerId(gone.identity), gone.busy ? ": its request goes to the next worker" : "");
        this.#gone(gone, "disconnected");
      }
      return;
    }
    const m = decodeBackend(msg);
    if (m instanceof ProtocolError) {
      this.#malformed("backend", m, msg[0]);
      return;
    }
    const worker = this.#workers.get(m.worker);
    if (worker === undefined) {
      if (m.kind === "ready") this.#register(m.worker);
      else this.#unexpected(m.worker, `${m.kind === "reply" ? "a reply" : "HEARTBEAT"} from a worker that has not sent READY (or was expired)`);
      return;
    }
    // any message from a known worker proves it alive
    this.#workers.touch(worker);
    switch (m.kind) {
      case "heartbeat":
        return;
      case "ready":
        // READY again on the same connection: the worker starts over, and
        // the request it held goes to the next worker (which may be itself)
        this.#unexpected(m.worker, "a second READY");
        this.#workers.ready(worker);
        this.#updateReading();
        return;
      case "reply": {
        const work = this.#workers.reply(worker, m.client);
        if (work === undefined) {
          // only the answer to the request this worker was given goes out
          this.#stats.forged++;
          forgedLog.record("backend: dropped a reply from worker %s for client %s: it was never given that client's request", peerId(m.worker), peerId(m.client));
          this.notify("reply-forged", { worker: peerId(m.worker), client: peerId(m.client) });
          return;
        }
        const out = encodeClientReply(m.client, m.body);
        this.#trace?.({ direction: "out", socket: "frontend", frames: out });
        void this.#frontend!.send(out);
        this.#stats.replies++;
        this.#workers.ready(worker);
        this.#updateReading();
        return;
      }
    }
  };

  #onFrontend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "frontend", frames: msg });
    const r = decodeClientRequest(msg);
    if (r instanceof ProtocolError) {
      this.#malformed("frontend", r, msg[0]);
      return;
    }
    this.#stats.requests++;
    this.#workers.dispatch({ client: r.client, body: r.body, deliveries: 0 });
    this.#updateReading();
  };

  #malformed(socket: "frontend" | "backend", error: ProtocolError, sender: Buffer | undefined): void {
    this.#stats.malformed++;
    malformedLog.record("%s: dropped a malformed message (%s)", socket, error.message);
    this.notify("malformed", { reason: error.message, frame: error.frame, peer: sender === undefined ? undefined : peerId(sender), socket });
  }

  #unexpected(identity: Buffer, what: string): void {
    this.#stats.unexpected++;
    log.warn("backend: dropped %s (worker %s)", what, peerId(identity));
  }

  // ------------------------------------------------------------- workers

  #register(identity: Buffer): void {
    const worker = this.#workers.register(identity);
    if (worker === undefined) return;
    log.info("worker %s ready", peerId(identity));
    this.notify("worker-ready", { worker: peerId(identity) });
    this.#workers.ready(worker);
    this.#updateReading();
  }

  #send(worker: QueuedWorker<Work>, work: Work): void {
    const out = encodeWorkerRequest(worker.identity, work.client, work.body);
    this.#trace?.({ direction: "out", socket: "backend", frames: out });
    this.#backend!.send(out).catch((err: unknown) => {
      if (!this.running) return;
      // unroutable (disconnected) or its pipe is full: it will not answer
      log.warn("request for worker %s not delivered (%s): passing it to the next worker", peerId(worker.identity), (err as Error)?.message ?? String(err));
      if (this.#workers.get(worker.identity) !== worker) return;
      this.#notifyGone(worker, "unreachable");
      this.#workers.undelivered(worker, work);
      this.#updateReading();
    });
  }

  /** A worker left: forgotten, its request (if any) to the next worker. */
  #gone(worker: QueuedWorker<Work>, reason: WorkerGoneReason): void {
    this.#notifyGone(worker, reason);
    this.#workers.remove(worker); // expiry already removed it; remove is idempotent
    this.#updateReading();
  }

  #notifyGone(worker: QueuedWorker<Work>, reason: WorkerGoneReason): void {
    this.#stats.workersExpired++;
    this.notify("worker-gone", { worker: peerId(worker.identity), reason, inHand: worker.busy && worker.request !== undefined ? 1 : 0 });
  }

  /** Heartbeats, the one place: HEARTBEAT to every known worker, idle or busy. */
  #heartbeat = (): void => {
    for (const worker of [...this.#workers.workers()]) {
      const out = encodeQueueHeartbeat(worker.identity);
      this.#trace?.({ direction: "out", socket: "backend", frames: out });
      this.#backend!.send(out).catch((err: unknown) => {
        if (!this.running || !(err instanceof ZkitError) || err.code !== ErrorCode.HostUnreachable) return;
        if (this.#workers.get(worker.identity) !== worker) return;
        log.warn("worker %s unreachable%s", peerId(worker.identity), worker.busy ? ": its request goes to the next worker" : "");
        this.#gone(worker, "unreachable");
      });
    }
    this.publishStats(this.#stats);
  };

  /** Reads the frontend only while a worker is ready and nothing is held. */
  #updateReading(): void {
    const want = this.#workers.canTake && this.running;
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.#loop.reader(this.#frontend!, this.#onFrontend);
    else this.#loop.readerEnd(this.#frontend!);
  }
}
