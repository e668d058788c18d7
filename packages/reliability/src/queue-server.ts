/**
 * QueueServer: the Guide's Pirate queues (Simple and Paranoid Pirate,
 * chapter 4) as one server, written once: a frontend ROUTER for Lazy Pirate
 * clients, a backend ROUTER for workers, a {@link WorkerQueue} between
 * them, and heartbeats with expiry for the protocol that has them. The
 * protocol's frames come from a {@link QueueCodec}; each package's queue is
 * a small subclass that names itself and reads its own options.
 * @module
 */
import {
  ErrorCode,
  LogBurst,
  ProtocolError,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  ZkitError,
  isRouterNotification,
  parseEndpoints,
  readOptions,
  type Logger,
  type OptionReader,
  type TraceFn,
} from "@zkit/core";
import { securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { ZLoop } from "@zkit/zloop";
import type { DiagnosticsChannelName } from "./diagnostics.js";
import { Lifecycle } from "./lifecycle.js";
import { peerId } from "./peer.js";
import { WorkerQueue, type QueuedWorker } from "./worker-queue.js";

/** Default of {@link QueueServerOptions.maxFrameBytes}: 16 MiB. */
export const QUEUE_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link QueueServerOptions.maxDeliveries}. */
export const QUEUE_MAX_DELIVERIES = 3;

/** What a queue's backend ROUTER can receive from a worker, decoded. */
export type QueueBackendMessage =
  | { readonly kind: "ready"; readonly worker: Buffer }
  | { readonly kind: "heartbeat"; readonly worker: Buffer }
  | { readonly kind: "reply"; readonly worker: Buffer; readonly client: Buffer; readonly body: Buffer[] };

/** The frames of one queue protocol: pure functions from its `protocol.ts`. */
export interface QueueCodec {
  /** A client's request at the frontend ROUTER: its routing id and body, or what is wrong with it. */
  decodeClientRequest(frames: readonly Buffer[]): { readonly client: Buffer; readonly body: Buffer[] } | ProtocolError;
  /** The reply the frontend sends a client. */
  encodeClientReply(client: Buffer, body: readonly Buffer[]): Buffer[];
  /** A worker's message at the backend ROUTER. */
  decodeBackend(frames: readonly Buffer[]): QueueBackendMessage | ProtocolError;
  /** The request the backend sends a worker. */
  encodeWorkerRequest(worker: Buffer, client: Buffer, body: readonly Buffer[]): Buffer[];
}

/** The options every queue takes (a protocol may add its own). */
export interface QueueServerOptions {
  /**
   * Where clients connect: a CZMQ endpoint list, bound unless prefixed with
   * `>` (e.g. `"tcp://*:5555"`, the Guide's, or `"tcp://127.0.0.1:*"` for an
   * ephemeral port, read back from `frontendEndpoint`).
   */
  frontend: string;
  /** Where workers connect, like `frontend` (the Guide's is `"tcp://*:5556"`). */
  backend: string;
  /**
   * The largest frame either socket accepts, in bytes: the sockets'
   * `maxMessageSize`, so libzmq refuses a bigger frame (and cuts off its
   * sender) before receiving it. Memory stays bounded whatever peers send.
   * @defaultValue 16777216 (16 MiB, {@link QUEUE_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * How many workers one request may be given to. A request whose worker
   * leaves before answering (its connection ended, it could not be reached,
   * or it went silent where the protocol heartbeats) goes to the next
   * worker, up to this many in all; then it is dropped and counted
   * (`stats.lostRequests`): a request that kills every worker it meets must
   * not take them all down.
   * @defaultValue 3 ({@link QUEUE_MAX_DELIVERIES})
   */
  maxDeliveries?: number;
  /**
   * Called with every message the queue receives or sends, with `socket`
   * `"frontend"` or `"backend"` (`zkit spp queue -v`, `zkit ppp queue -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
  /**
   * How both sockets are secured (`@zkit/security`): CURVE with the
   * queue's key pair, `{ curve: { secretKey, publicKey } }` (or
   * `cert.serverSecurity()`), no `serverKey`; or `{ plain: { server: true } }`.
   * Clients and workers then need the queue's public key. Which keys are
   * let in is decided by a `ZAuth` started in the same process (libzmq asks
   * the one ZAP handler of the process); without one, libzmq admits every
   * CURVE key (the traffic is still encrypted) and refuses every PLAIN
   * peer.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's queues run and their peers expect; use CURVE whenever the
   *   network is not trusted
   */
  security?: SecurityOptions;
}

/**
 * Why a worker left a queue (`worker-gone`): silent for too long
 * (`"silent"`, only where the protocol heartbeats), its connection ended
 * (`"disconnected"`), or a message to it could not be delivered
 * (`"unreachable"`).
 */
export type QueueWorkerGoneReason = "silent" | "disconnected" | "unreachable";

/** The events of a {@link QueueServer} (the standard names; workers and clients by routing id in hex). */
export interface QueueServerEvents<Reason extends QueueWorkerGoneReason = QueueWorkerGoneReason> {
  /** A new worker sent READY: it joins the ready list. */
  "worker-ready": [info: { worker: string }];
  /**
   * A worker was forgotten (see {@link QueueWorkerGoneReason}). `inHand` is
   * 1 when it held a request, which goes to the next worker.
   */
  "worker-gone": [info: { worker: string; reason: Reason; inHand: number }];
  /** A request whose worker left (or sent READY again) goes to the next worker. */
  "request-requeued": [info: { client: string; worker: string }];
  /** A request given to `maxDeliveries` workers, none of which answered, was dropped. */
  "request-dropped": [info: { client: string; reason: "max-deliveries" }];
  /** A reply for a request that worker was never given was dropped. */
  "reply-forged": [info: { worker: string; client: string }];
  /** A malformed message was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined; socket: "frontend" | "backend" }];
}

/** The counters of a {@link QueueServer}, since it started. */
export interface QueueServerStats {
  /** Well-formed requests read from the frontend. */
  readonly requests: number;
  /** Replies passed back to clients. */
  readonly replies: number;
  /** Malformed messages dropped (either socket). */
  readonly malformed: number;
  /**
   * Well-formed messages dropped because they break the protocol's order:
   * a HEARTBEAT or reply from a worker that never sent READY (or was
   * forgotten), a second READY.
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

/** Heartbeats and expiry, for a protocol that has them. */
export interface QueueHeartbeat {
  /** The HEARTBEAT to every known worker, idle or busy, every `intervalMs`. */
  readonly intervalMs: number;
  /** A worker silent for `liveness` intervals is forgotten (`"silent"`). */
  readonly liveness: number;
  /** The HEARTBEAT message to `worker`, envelope included. */
  frames(worker: Buffer): Buffer[];
}

/** What a protocol's queue tells {@link QueueServer} about itself. */
export interface QueueServerSpec<O extends QueueServerOptions = QueueServerOptions> {
  /** Its class name, for messages: `"SimplePirateQueue"`. */
  owner: string;
  /** Its diagnostics channel. */
  channel: DiagnosticsChannelName;
  /** Its logger (`getLogger("spp")`). */
  log: Logger;
  /** A valid options object, shown by option errors. */
  example: string;
  /** Its frames. */
  codec: QueueCodec;
  /** Heartbeats and expiry, read from the options (after `frontend` and `backend`); none when the protocol has none. */
  heartbeat?: (o: OptionReader<O>) => QueueHeartbeat;
}

/** A request the queue accepted. */
interface Work {
  readonly client: Buffer;
  readonly body: Buffer[];
  deliveries: number;
}

/**
 * A Pirate queue: Lazy Pirate clients at the frontend, workers at the
 * backend, requests to the least recently used ready worker.
 *
 * - A worker's first message must be READY; then it gets requests, least
 *   recently used first, one at a time.
 * - The frontend is read only while a worker is ready and no request is
 *   held; meanwhile requests wait in the frontend socket.
 * - A worker whose connection ends leaves at once (the backend ROUTER's
 *   disconnect notifications); a request sent to a worker that is gone
 *   fails at once (the backend is `mandatory`) and is not lost.
 * - With heartbeats, every known worker, idle or busy, gets one every
 *   interval; any message from a worker refreshes its expiry, and a worker
 *   silent for `liveness` intervals is forgotten (ZLoop tickets: O(1) per
 *   message).
 * - A request whose worker leaves before answering goes to the next worker,
 *   up to `maxDeliveries` workers. A second READY from a worker gives its
 *   request back the same way (the worker starts over).
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - Both sockets refuse frames over `maxFrameBytes` before receiving them.
 * - Malformed or out-of-order messages are dropped, counted and logged as
 *   warnings; the queue never stops for them.
 */
export abstract class QueueServer<Reason extends QueueWorkerGoneReason = QueueWorkerGoneReason, O extends QueueServerOptions = QueueServerOptions> extends Lifecycle<
  QueueServerEvents<Reason>
> {
  readonly #log: Logger;
  readonly #forgedLog: LogBurst;
  readonly #malformedLog: LogBurst;
  readonly #codec: QueueCodec;
  readonly #frontendSpec: string;
  readonly #backendSpec: string;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #workers: WorkerQueue<Work>;
  /** The heartbeats and expiry, when the protocol has them. */
  protected readonly heartbeat: QueueHeartbeat | undefined;
  readonly #security: SecuritySocketOptions;
  #frontend: ZSocket<"ROUTER"> | undefined;
  #backend: ZSocket<"ROUTER"> | undefined;
  #reading = false;
  #stats = { requests: 0, replies: 0, malformed: 0, unexpected: 0, forged: 0, workersExpired: 0, lostRequests: 0, redispatched: 0 };

  /**
   * @param options - the user's options (see {@link QueueServerOptions}; a protocol may add its own)
   * @param spec - what the protocol's queue says about itself
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  protected constructor(options: O, spec: QueueServerSpec<O>) {
    super({ owner: spec.owner, channel: spec.channel });
    this.#log = spec.log;
    this.#forgedLog = new LogBurst(spec.log, "forged replies dropped (see stats.forged)");
    this.#malformedLog = new LogBurst(spec.log, "malformed messages dropped (see stats.malformed)");
    this.#codec = spec.codec;
    const o = readOptions(options, { owner: spec.owner, example: spec.example });
    this.#frontendSpec = o.requiredString("frontend", "tcp://*:5555", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#frontendSpec, true);
    this.#backendSpec = o.requiredString("backend", "tcp://*:5556", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#backendSpec, true);
    this.heartbeat = spec.heartbeat?.(o);
    this.#maxFrameBytes = o.number("maxFrameBytes", QUEUE_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    const maxDeliveries = o.number("maxDeliveries", QUEUE_MAX_DELIVERIES, { min: 1, integer: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#security = securitySocketOptions(o.raw("security") as SecurityOptions | undefined, { owner: spec.owner, role: "server" });
    const hb = this.heartbeat;
    this.#workers = new WorkerQueue<Work>({
      maxDeliveries,
      send: (worker, work) => this.#send(worker, work),
      onRequeued: (work, from) => {
        this.#stats.redispatched++;
        this.notify("request-requeued", { client: peerId(work.client), worker: peerId(from.identity) });
      },
      onDropped: (work) => {
        this.#stats.lostRequests++;
        this.#log.warn("a request from client %s was given to %d workers and none answered: dropped (the client's retry may still recover it)", peerId(work.client), work.deliveries);
        this.notify("request-dropped", { client: peerId(work.client), reason: "max-deliveries" });
      },
      ...(hb === undefined
        ? {}
        : {
            expiry: {
              loop: this.#loop,
              expiryMs: hb.intervalMs * hb.liveness,
              onExpire: (worker: QueuedWorker<Work>) => {
                this.#log.warn("worker %s expired: silent for %d ms", peerId(worker.identity), hb.intervalMs * hb.liveness);
                this.#gone(worker, "silent");
              },
            },
          }),
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
  get stats(): QueueServerStats {
    return { ...this.#stats };
  }

  /**
   * Binds both sockets and starts serving (and heartbeating) (what
   * `start()` does); `start()` resolves once bound, and rejects with
   * `ZKIT_ADDRESS_IN_USE` or another bind error (nothing stays open then).
   */
  protected async onStart(): Promise<void> {
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    this.#frontend = await ZSocket.router(this.#frontendSpec, { ...this.#security, maxMessageSize });
    // mandatory + no send timeout: a send to a worker that is gone fails at
    // once instead of vanishing, so its request can go to another worker;
    // routerNotify: a worker whose connection ends is known at once
    this.#backend = await ZSocket.router(this.#backendSpec, { ...this.#security, mandatory: true, sendTimeout: 0, routerNotify: ROUTER_NOTIFY_DISCONNECT, maxMessageSize });
    this.#loop.reader(this.#backend, this.#onBackend);
    if (this.heartbeat !== undefined) this.#loop.timer(this.heartbeat.intervalMs, 0, this.#beat);
    this.#loop.start().catch((err: unknown) => this.fail(err));
    this.#log.info("queue started: frontend %s, backend %s", this.frontendEndpoint, this.backendEndpoint);
  }

  /**
   * Stops reading (and heartbeating), lets the messages already sent leave
   * (the sockets' linger), closes both sockets (what `close()` does).
   */
  protected onClose(): void {
    this.#loop.destroy();
    const held = this.#workers.clear();
    if (held.length) this.#log.warn("closed with %d request(s) held for a worker", held.length);
    this.#frontend?.close();
    this.#backend?.close();
    this.#log.info("queue stopped");
  }

  // ------------------------------------------------------------ messages

  #onBackend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "backend", frames: msg });
    if (isRouterNotification(msg)) {
      // a worker's connection ended: it leaves now, not after liveness intervals
      const gone = this.#workers.get(msg[0]!);
      if (gone !== undefined) {
        this.#log.warn("worker %s disconnected%s", peerId(gone.identity), gone.busy ? ": its request goes to the next worker" : "");
        this.#gone(gone, "disconnected");
      }
      return;
    }
    const m = this.#codec.decodeBackend(msg);
    if (m instanceof ProtocolError) {
      this.#malformed("backend", m, msg[0]);
      return;
    }
    const worker = this.#workers.get(m.worker);
    if (worker === undefined) {
      if (m.kind === "ready") this.#register(m.worker);
      else this.#unexpected(m.worker, `${m.kind === "reply" ? "a reply" : "HEARTBEAT"} from a worker that has not sent READY (or was forgotten)`);
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
          this.#forgedLog.record("backend: dropped a reply from worker %s for client %s: it was never given that client's request", peerId(m.worker), peerId(m.client));
          this.notify("reply-forged", { worker: peerId(m.worker), client: peerId(m.client) });
          return;
        }
        const out = this.#codec.encodeClientReply(m.client, m.body);
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
    const r = this.#codec.decodeClientRequest(msg);
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
    this.#malformedLog.record("%s: dropped a malformed message (%s)", socket, error.message);
    this.notify("malformed", { reason: error.message, frame: error.frame, peer: sender === undefined ? undefined : peerId(sender), socket });
  }

  #unexpected(identity: Buffer, what: string): void {
    this.#stats.unexpected++;
    this.#log.warn("backend: dropped %s (worker %s)", what, peerId(identity));
  }

  // ------------------------------------------------------------- workers

  #register(identity: Buffer): void {
    const worker = this.#workers.register(identity);
    if (worker === undefined) return;
    this.#log.info("worker %s ready", peerId(identity));
    this.notify("worker-ready", { worker: peerId(identity) });
    this.#workers.ready(worker);
    this.#updateReading();
  }

  #send(worker: QueuedWorker<Work>, work: Work): void {
    const out = this.#codec.encodeWorkerRequest(worker.identity, work.client, work.body);
    this.#trace?.({ direction: "out", socket: "backend", frames: out });
    this.#backend!.send(out).catch((err: unknown) => {
      if (!this.running || this.#workers.get(worker.identity) !== worker) return;
      // unroutable (disconnected) or its pipe is full: it will not answer;
      // the request, which never left, goes to the next worker
      this.#log.warn("request for worker %s not delivered (%s): passing it to the next worker", peerId(worker.identity), (err as Error)?.message ?? String(err));
      this.#notifyGone(worker, "unreachable");
      this.#workers.undelivered(worker, work);
      this.#updateReading();
    });
  }

  /** A worker left: forgotten, its request (if any) to the next worker. */
  #gone(worker: QueuedWorker<Work>, reason: QueueWorkerGoneReason): void {
    this.#notifyGone(worker, reason);
    this.#workers.remove(worker); // expiry already removed it; remove is idempotent
    this.#updateReading();
  }

  #notifyGone(worker: QueuedWorker<Work>, reason: QueueWorkerGoneReason): void {
    this.#stats.workersExpired++;
    // the protocol's Reason: "silent" only comes from expiry, which only a heartbeating protocol has
    this.notify("worker-gone", { worker: peerId(worker.identity), reason: reason as Reason, inHand: worker.busy && worker.request !== undefined ? 1 : 0 });
  }

  /** Heartbeats, the one place: HEARTBEAT to every known worker, idle or busy. */
  #beat = (): void => {
    const hb = this.heartbeat!;
    for (const worker of [...this.#workers.workers()]) {
      const out = hb.frames(worker.identity);
      this.#trace?.({ direction: "out", socket: "backend", frames: out });
      this.#backend!.send(out).catch((err: unknown) => {
        if (!this.running || !(err instanceof ZkitError) || err.code !== ErrorCode.HostUnreachable) return;
        if (this.#workers.get(worker.identity) !== worker) return;
        this.#log.warn("worker %s unreachable%s", peerId(worker.identity), worker.busy ? ": its request goes to the next worker" : "");
        this.#gone(worker, "unreachable");
      });
    }
    this.publishStats(this.#stats);
  };

  /** Reads the frontend only while a worker is ready and nothing is held. */
  #updateReading(): void {
    const want = this.#workers.canTake && !this.closed;
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.#loop.reader(this.#frontend!, this.#onFrontend);
    else this.#loop.readerEnd(this.#frontend!);
  }
}
