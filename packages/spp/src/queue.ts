/**
 * SimplePirateQueue: the Simple Pirate queue (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a ROUTER frontend for REQ clients, a ROUTER
 * backend for REQ workers, and a least-recently-used list of ready workers.
 * It reads the frontend only while a worker is ready. Its worker
 * bookkeeping is the reliability layer's `WorkerQueue` (the same as
 * Paranoid Pirate's, without expiry: Simple Pirate has no heartbeat); its
 * lifecycle is a `Lifecycle`.
 * @module
 */
import {
  LogBurst,
  ProtocolError,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  getLogger,
  isRouterNotification,
  parseEndpoints,
  readOptions,
  type TraceFn,
} from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { Lifecycle, WorkerQueue, peerId, type QueuedWorker } from "@zkit/reliability";
import { decodeBackend, decodeClientRequest, encodeClientReply, encodeWorkerRequest } from "./protocol.js";

const log = getLogger("spp");
const forgedLog = new LogBurst(log, "forged replies dropped (see stats.forged)");
const malformedLog = new LogBurst(log, "malformed messages dropped (see stats.malformed)");

/** Default of {@link SimplePirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const SPP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link SimplePirateQueueOptions.maxDeliveries}. */
export const SPP_MAX_DELIVERIES = 3;

/** A request the queue accepted. */
interface Work {
  readonly client: Buffer;
  readonly body: Buffer[];
  deliveries: number;
}

/** Options of a {@link SimplePirateQueue}. */
export interface SimplePirateQueueOptions {
  /**
   * Where clients connect: a CZMQ endpoint list, bound unless prefixed with
   * `>` (e.g. `"tcp://*:5555"`, the Guide's, or `"tcp://127.0.0.1:*"` for an
   * ephemeral port, read back from {@link SimplePirateQueue.frontendEndpoint}).
   */
  frontend: string;
  /** Where workers connect, like `frontend` (the Guide's is `"tcp://*:5556"`). */
  backend: string;
  /**
   * The largest frame either socket accepts, in bytes: the sockets'
   * `maxMessageSize`, so libzmq refuses a bigger frame (and cuts off its
   * sender) before receiving it. Memory stays bounded whatever peers send.
   * @defaultValue 16777216 (16 MiB, {@link SPP_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * How many workers one request may be given to. A request whose worker
   * leaves before answering (its connection ended, or a request could not
   * be delivered to it) goes to the next worker, up to this many in all;
   * then it is dropped and counted (`stats.lostRequests`): a request that
   * kills every worker it meets must not take them all down.
   * @defaultValue 3 ({@link SPP_MAX_DELIVERIES})
   */
  maxDeliveries?: number;
  /**
   * Called with every message the queue receives or sends, with `socket`
   * `"frontend"` or `"backend"` (`zkit spp queue -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/**
 * Why a worker left (`worker-gone`): its connection ended
 * (`"disconnected"`), or a request could not be delivered to it
 * (`"unreachable"`). Simple Pirate has no heartbeat, so no worker leaves
 * for being silent.
 */
export type WorkerGoneReason = "disconnected" | "unreachable";

/** The events of a {@link SimplePirateQueue} (the standard names of `@zkit/reliability`; workers and clients by routing id in hex). */
export interface SimplePirateQueueEvents {
  /** A new worker sent READY: it joins the ready list. */
  "worker-ready": [info: { worker: string }];
  /**
   * A worker was forgotten: its connection ended (`"disconnected"`), or a
   * message to it could not be delivered (`"unreachable"`). `inHand` is 1
   * when it held a request, which goes to the next worker.
   */
  "worker-gone": [info: { worker: string; reason: WorkerGoneReason; inHand: number }];
  /** A request whose worker left (or sent READY again) goes to the next worker. */
  "request-requeued": [info: { client: string; worker: string }];
  /** A request given to `maxDeliveries` workers, none of which answered, was dropped. */
  "request-dropped": [info: { client: string; reason: "max-deliveries" }];
  /** A reply for a request that worker was never given was dropped. */
  "reply-forged": [info: { worker: string; client: string }];
  /** A malformed message was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined; socket: "frontend" | "backend" }];
}

/** The counters of a {@link SimplePirateQueue}, since it started. */
export interface SimplePirateQueueStats {
  /** Well-formed requests read from the frontend. */
  readonly requests: number;
  /** Replies passed back to clients. */
  readonly replies: number;
  /** Malformed messages dropped (either socket). */
  readonly malformed: number;
  /**
   * Replies dropped because they answer no request the queue gave that
   * worker (a worker naming a client it was never sent, holding nothing,
   * or unknown to the queue): never forwarded.
   */
  readonly forged: number;
  /** Workers gone: their connection ended, or a request could not be delivered to them. */
  readonly workersLost: number;
  /** Requests dropped after `maxDeliveries` workers left without answering them (the client's retry may still recover them). */
  readonly lostRequests: number;
  /** Requests given to another worker because the one holding them left or could not be reached. */
  readonly redispatched: number;
}

/**
 * A Simple Pirate queue. Clients are REQ sockets (plain Lazy Pirate
 * clients); workers are REQ sockets that send READY once and then answer
 * requests ({@link SimplePirateWorker}, or the Guide's spworker in any
 * language).
 *
 * - Requests go to the worker that has been ready the longest (LRU).
 * - The frontend is read only while a worker is ready; requests wait in the
 *   frontend socket (its high-water mark applies) when none is.
 * - A worker whose connection ends (its process died) leaves at once; a
 *   request sent to a worker that is gone fails at once (the backend
 *   ROUTER is `mandatory`) and is not lost.
 * - A request whose worker leaves before answering goes to the next
 *   worker, up to `maxDeliveries` workers. A worker that hangs with its
 *   connection open is not detected (Simple Pirate has no heartbeats: that
 *   is what Paranoid Pirate, `@zkit/ppp`, adds); the client's Lazy Pirate
 *   retry recovers its request.
 * - A worker that sends READY again (it starts over on the same
 *   connection) gives back the request it held, which goes to the next
 *   worker (which may be itself).
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - Both sockets refuse frames over `maxFrameBytes` before receiving them.
 * - A malformed message is dropped, counted in `stats.malformed` and
 *   logged as a warning on `zkit:spp`; the queue never stops for it.
 *
 * @example
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://*:5555", backend: "tcp://*:5556" });
 * queue.on("worker-ready", ({ worker }) => console.log(`worker ${worker} ready`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class SimplePirateQueue extends Lifecycle<SimplePirateQueueEvents> {
  readonly #frontendSpec: string;
  readonly #backendSpec: string;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #workers: WorkerQueue<Work>;
  #frontend: ZSocket<"ROUTER"> | undefined;
  #backend: ZSocket<"ROUTER"> | undefined;
  #reading = false;
  #stats = { requests: 0, replies: 0, malformed: 0, forged: 0, workersLost: 0, lostRequests: 0, redispatched: 0 };

  /**
   * @param options - see {@link SimplePirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateQueueOptions) {
    super({ owner: "SimplePirateQueue", channel: "zkit:spp:queue" });
    const o = readOptions(options, { owner: "SimplePirateQueue", example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }' });
    this.#frontendSpec = o.requiredString("frontend", "tcp://*:5555", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#frontendSpec, true);
    this.#backendSpec = o.requiredString("backend", "tcp://*:5556", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#backendSpec, true);
    this.#maxFrameBytes = o.number("maxFrameBytes", SPP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    const maxDeliveries = o.number("maxDeliveries", SPP_MAX_DELIVERIES, { min: 1, integer: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
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

  /** The counters since the queue started (a snapshot). */
  get stats(): SimplePirateQueueStats {
    return { ...this.#stats };
  }

  /**
   * Binds both sockets and starts serving (what `start()` does); `start()`
   * resolves once bound, and rejects with `ZKIT_ADDRESS_IN_USE` or another
   * bind error (nothing stays open then).
   */
  protected async onStart(): Promise<void> {
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    this.#frontend = await ZSocket.router(this.#frontendSpec, { maxMessageSize });
    // mandatory + no send timeout: a request to a worker that is gone fails
    // at once instead of vanishing, so it can go to another worker;
    // routerNotify: a worker whose connection ends is known at once
    this.#backend = await ZSocket.router(this.#backendSpec, { mandatory: true, sendTimeout: 0, routerNotify: ROUTER_NOTIFY_DISCONNECT, maxMessageSize });
    this.#loop.reader(this.#backend, this.#onBackend);
    this.#loop.start().catch((err: unknown) => this.fail(err));
    log.info("queue started: frontend %s, backend %s", this.frontendEndpoint, this.backendEndpoint);
  }

  /**
   * Stops reading, lets the messages already sent leave (the sockets'
   * linger), closes both sockets (what `close()` does).
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
      // a worker's connection ended: it leaves now, with its request (if any)
      const gone = this.#workers.get(msg[0]!);
      if (gone !== undefined) {
        log.warn("worker %s disconnected%s", peerId(gone.identity), gone.busy && gone.request !== undefined ? ": its request goes to the next worker" : "");
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
    if (m.kind === "ready") {
      if (worker === undefined) this.#register(m.worker);
      else {
        // READY again on the same connection: the worker starts over, and
        // the request it held goes to the next worker (which may be itself)
        log.debug("worker %s sent READY again", peerId(m.worker));
        this.#workers.ready(worker);
        this.#updateReading();
      }
      return;
    }
    const work = worker === undefined ? undefined : this.#workers.reply(worker, m.client);
    if (worker === undefined || work === undefined) {
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

  // ------------------------------------------------------------- workers

  #register(identity: Buffer): void {
    const worker = this.#workers.register(identity);
    if (worker === undefined) return;
    log.debug("worker %s ready", peerId(identity));
    this.notify("worker-ready", { worker: peerId(identity) });
    this.#workers.ready(worker);
    this.#updateReading();
  }

  #send(worker: QueuedWorker<Work>, work: Work): void {
    const out = encodeWorkerRequest(worker.identity, work.client, work.body);
    this.#trace?.({ direction: "out", socket: "backend", frames: out });
    this.#backend!.send(out).catch((err: unknown) => {
      if (!this.running || this.#workers.get(worker.identity) !== worker) return;
      // unroutable (disconnected) or its pipe is full: it will not answer;
      // the request, which never left, goes to the next worker
      log.warn("request for worker %s not delivered (%s): passing it to the next worker", peerId(worker.identity), (err as Error)?.message ?? String(err));
      this.#notifyGone(worker, "unreachable");
      this.#workers.undelivered(worker, work);
      this.#updateReading();
    });
  }

  /** A worker left: forgotten, its request (if any) to the next worker. */
  #gone(worker: QueuedWorker<Work>, reason: WorkerGoneReason): void {
    this.#notifyGone(worker, reason);
    this.#workers.remove(worker);
    this.#updateReading();
  }

  #notifyGone(worker: QueuedWorker<Work>, reason: WorkerGoneReason): void {
    this.#stats.workersLost++;
    this.notify("worker-gone", { worker: peerId(worker.identity), reason, inHand: worker.busy && worker.request !== undefined ? 1 : 0 });
  }

  /** Reads the frontend only while a worker is ready and nothing is held. */
  #updateReading(): void {
    const want = this.#workers.canTake && !this.closed;
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.#loop.reader(this.#frontend!, this.#onFrontend);
    else this.#loop.readerEnd(this.#frontend!);
  }
}
