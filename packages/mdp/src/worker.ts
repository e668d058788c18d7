/**
 * MajordomoWorker: a 7/MDP worker that serves one service with a handler
 * (or hands the requests out as jobs to a `for await` loop), heartbeats,
 * reconnects with a fresh socket when the broker is lost or says
 * DISCONNECT, and closes gracefully. Built on the reliability layer: its
 * connection is a `PeerConnection`, its handlers run in a `HandlerRunner`,
 * its lifecycle is a `Lifecycle`.
 * @module
 */
import { InvalidArgumentError, getLogger, isMessageLike, readOptions, type FrameLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import type { HandshakeError, SecurityOptions } from "@zkit/security";
import { Backoff, HandlerRunner, Lifecycle, PeerConnection, peerId, type ConnectionEvent, type HandlerContext, type Job } from "@zkit/reliability";
import { readEndpoint } from "./request.js";
import {
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_LIVENESS,
  decodeWorkerMessage,
  encodeDisconnect,
  encodeHeartbeat,
  encodeReady,
  encodeReply,
  isMmiService,
  serviceNameProblem,
  toBody,
} from "./protocol.js";

const log = getLogger("mdp");

/** The Guide's delay before a worker reconnects to a lost broker, in ms. */
export const MDP_RECONNECT_MS = 2500;

/** Default of {@link MajordomoWorkerOptions.closeTimeoutMs}. */
export const MDP_CLOSE_TIMEOUT_MS = 10_000;

/** What a worker's handler returns: the reply body, one frame or several. */
export type MajordomoReply = FrameLike | readonly FrameLike[];

/**
 * Serves one request: gets the request body frames and a context
 * (`ctx.signal` aborts when the worker closes, `ctx.peer` is the client's
 * address in hex, `ctx.service` the service), returns (or resolves to) the
 * reply body.
 */
export type MajordomoHandler = (request: Buffer[], ctx: HandlerContext) => Promise<MajordomoReply> | MajordomoReply;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type MajordomoJob = Job<Buffer[], MajordomoReply>;

/** Options of {@link MajordomoWorker}. */
export interface MajordomoWorkerOptions {
  /** The broker: `"tcp://host:5555"` (connects), a CZMQ endpoint list. */
  endpoint: string;
  /** The service this worker serves; not `mmi.*`, at most 255 bytes. */
  service: string;
  /**
   * Serves each request; up to `concurrency` at once (one at a time by
   * default). Leave it out to consume the requests as jobs with
   * `for await (const job of worker) job.reply(...)`.
   */
  handler?: MajordomoHandler;
  /**
   * How many requests the handler may work on at once. Above 1, replies go
   * out as handlers finish, possibly out of order (each carries its own
   * client address, so 7/MDP allows it). Only useful with a broker that
   * sends a worker more than one request at a time (`MajordomoBroker`'s
   * `workerPrefetch`): a 7/MDP broker that does not sends one request at a
   * time whatever this says.
   * @defaultValue 1
   */
  concurrency?: number;
  /**
   * How often the worker sends HEARTBEAT, busy or idle, in ms; use the
   * broker's value.
   * @defaultValue 2500
   */
  heartbeatIntervalMs?: number;
  /**
   * The broker is lost after this many heartbeat intervals without any
   * message from it.
   * @defaultValue 3
   */
  liveness?: number;
  /**
   * How long to wait before reconnecting to a lost broker, in ms (the
   * Guide's fixed delay). After a DISCONNECT the worker reconnects at once,
   * but never more often than once every `reconnectMs`.
   * @defaultValue 2500
   */
  reconnectMs?: number;
  /**
   * How long {@link MajordomoWorker.close} lets the requests in hand finish
   * before their `ctx.signal` aborts, in ms.
   * @defaultValue 10000
   */
  closeTimeoutMs?: number;
  /**
   * Builds the reply when the handler throws (7/MDP has no error reply, so
   * the convention is yours). Without it, the worker replies with an empty
   * body (one empty frame, as 7/MDP wants), so that the client is not left
   * waiting.
   */
  onError?: (err: unknown, request: Buffer[]) => MajordomoReply;
  /** Called with every message the worker receives or sends. */
  trace?: TraceFn;
  /**
   * How the connection to the broker is secured (`@zkit/security`): for
   * CURVE the worker's key pair and the broker's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(brokerKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong broker key, a key the
   * broker's ZAuth refuses) drops the connection at once: `disconnected`
   * comes with reason `"handshake"` and the `HandshakeError` as `error`,
   * then the worker tries again after `reconnectMs` and its back-off.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The worker's counters. */
export interface WorkerStats {
  /** Requests received. */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Requests whose handler threw. */
  handlerErrors: number;
  /** Replies dropped because the connection they belonged to was gone. */
  repliesDropped: number;
  /** READY commands sent (the first connection and every reconnection). */
  connections: number;
  /** Reconnections after the broker was lost or sent DISCONNECT. */
  reconnects: number;
  /** Malformed messages from the broker, dropped. */
  malformed: number;
}

/** The events of a {@link MajordomoWorker} (the standard names of `@zkit/reliability`). */
export interface MajordomoWorkerEvents {
  /** A fresh socket is connecting (the first connection and every reconnection). */
  connecting: [info: { service: string; endpoint: string; connection: number }];
  /**
   * READY was sent on a fresh connection (handed to libzmq, which delivers
   * it once the broker is there): the broker may not be up yet, see
   * `connected`.
   */
  ready: [info: { service: string; connection: number }];
  /** The first well-formed 7/MDP message from the broker on this connection: it is there and has the READY. */
  connected: [info: { service: string; connection: number }];
  /**
   * The connection was dropped: the broker went silent (`"silent"`) or sent
   * DISCONNECT (`"disconnect"`), or the security handshake failed
   * (`"handshake"`, with the `HandshakeError` as `error`); `answered` says
   * whether it had answered on that connection at all (false: nobody
   * there, or not a 7/MDP broker).
   */
  disconnected: [info: { service: string; connection: number; reason: string; silentMs: number; answered: boolean; error?: HandshakeError }];
  /** Waiting before the next connection. */
  reconnecting: [info: { service: string; delayMs: number; attempt: number; reason: string }];
  /** The handler threw; `onError`'s reply (or an empty one) was sent. */
  "handler-error": [info: { error: unknown; request: Buffer[] }];
  /** A malformed message from the broker was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined }];
}

const OPTION_NAMES = ["endpoint", "service", "handler", "concurrency", "heartbeatIntervalMs", "liveness", "reconnectMs", "closeTimeoutMs", "onError", "trace", "security"] as const;

/** Default of {@link MajordomoWorkerOptions.concurrency}. */
export const MDP_CONCURRENCY = 1;

/** What the runner keeps per request. */
interface Meta {
  connection: number;
  client: Buffer;
  request: Buffer[];
}

/**
 * A Majordomo worker (7/MDP): registers a service with the broker and
 * answers its requests with a handler, one request at a time (or up to
 * `concurrency` at once), or hands them out as jobs.
 *
 * - `start()` connects a DEALER, sends READY and resolves; the worker then
 *   serves in the background. Events say what is true: `connecting`,
 *   `ready` (READY sent), `connected` (the broker answered).
 * - It sends HEARTBEAT every `heartbeatIntervalMs`, also while the handler
 *   works, so a broker that expires busy workers keeps it.
 * - When the broker is silent for `liveness` intervals, the worker waits
 *   `reconnectMs` and reconnects with a fresh socket and READY; on
 *   DISCONNECT it does so at once (at most once per `reconnectMs`). A reply
 *   finished after its connection was dropped is discarded (its client
 *   address meant nothing to the new connection).
 * - Requests that arrive while the handler is busy wait in order (a
 *   broker with `workerPrefetch` sends several); `concurrency` handlers
 *   run at once, and each reply goes out as soon as its handler is done.
 *   The handler gets `(request, ctx)`: `ctx.signal` aborts when the worker
 *   closes and its grace (`closeTimeoutMs`) has passed.
 * - `close()` finishes the requests being handled, sends their replies,
 *   then DISCONNECT (the broker requeues the requests that were still
 *   waiting), and closes. `done` settles then.
 *
 * @example
 * ```ts
 * const worker = new MajordomoWorker({
 *   endpoint: "tcp://127.0.0.1:5555",
 *   service: "echo",
 *   handler: (request) => request, // echo the body back
 * });
 * await worker.start();
 * // ... later
 * await worker.close();
 *
 * // or pull the requests:
 * const puller = new MajordomoWorker({ endpoint: "tcp://127.0.0.1:5555", service: "upper" });
 * await puller.start();
 * for await (const job of puller) job.reply(job.request.map((f) => f.toString().toUpperCase()));
 * ```
 */
export class MajordomoWorker extends Lifecycle<MajordomoWorkerEvents> implements AsyncIterable<MajordomoJob> {
  /** The service this worker serves. */
  readonly service: string;
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;

  readonly #onError: ((err: unknown, request: Buffer[]) => MajordomoReply) | undefined;
  readonly #reconnectMs: number;
  readonly #closeTimeoutMs: number;
  readonly #stats: WorkerStats = { requests: 0, replies: 0, handlerErrors: 0, repliesDropped: 0, connections: 0, reconnects: 0, malformed: 0 };
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #conn: PeerConnection;
  readonly #runner: HandlerRunner<Buffer[], MajordomoReply, Meta>;

  /**
   * @param options - see {@link MajordomoWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, or an
   *   `mmi.*` service
   */
  constructor(options: MajordomoWorkerOptions) {
    super({ owner: "MajordomoWorker", channel: "zkit:mdp:worker" });
    const o = readOptions(options, { owner: "MajordomoWorker", known: OPTION_NAMES });
    this.endpoint = readEndpoint(o);
    this.service = o.requiredString("service", "echo");
    const problem = serviceNameProblem(this.service);
    if (problem !== undefined) o.fail("service", `must be a valid service name: ${problem}`);
    if (isMmiService(this.service)) o.fail("service", `"${this.service}" is reserved: mmi.* services are answered by the broker (8/MMI)`);
    const handler = o.function<MajordomoHandler>("handler", "async (request: Buffer[], ctx) => reply");
    this.#onError = o.function("onError", "(err, request: Buffer[]) => reply");
    const trace = o.function<TraceFn>("trace");
    const heartbeatIntervalMs = o.number("heartbeatIntervalMs", MDP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    const liveness = o.number("liveness", MDP_LIVENESS, { min: 1, integer: true });
    this.#reconnectMs = o.number("reconnectMs", MDP_RECONNECT_MS, { min: 0 });
    this.#closeTimeoutMs = o.number("closeTimeoutMs", MDP_CLOSE_TIMEOUT_MS, { min: 0 });
    const concurrency = o.number("concurrency", MDP_CONCURRENCY, { min: 1, integer: true });
    this.#runner = new HandlerRunner<Buffer[], MajordomoReply, Meta>({
      ...(handler !== undefined ? { handler } : {}),
      concurrency,
      onResult: (meta, reply) => this.#reply(meta, reply),
      onError: (meta, err) => this.#reply(meta, this.#failed(err, meta.request)),
    });
    this.#conn = new PeerConnection({
      owner: `MajordomoWorker ${this.service}`,
      endpoint: this.endpoint,
      type: "DEALER",
      loop: this.#loop,
      backoff: new Backoff({ initialMs: this.#reconnectMs }),
      hello: () => encodeReady(this.service),
      heartbeat: { intervalMs: heartbeatIntervalMs, liveness, frames: () => encodeHeartbeat() },
      onMessage: (frames, connection) => this.#onMessage(frames, connection),
      onEvent: (e) => this.#onConnection(e),
      ...(trace !== undefined ? { trace } : {}),
      traceName: "broker",
      security: o.raw("security") as SecurityOptions | undefined,
    });
  }

  /** The worker's counters, live (read-only). */
  get stats(): Readonly<WorkerStats> {
    return this.#stats;
  }

  /** True while a request is being handled. */
  get busy(): boolean {
    return this.#runner.active > 0;
  }

  /**
   * Requests received and not answered yet: being handled, or waiting for
   * a handler (at most the broker's `workerPrefetch`).
   */
  get inHand(): number {
    return this.#runner.active + this.#runner.queued;
  }

  /** How many requests the handler may work on at once (the `concurrency` option). */
  get concurrency(): number {
    return this.#runner.concurrency;
  }

  /**
   * The requests as jobs, for a worker made without a handler:
   * `for await (const job of worker) job.reply(...)`. The loop ends when the
   * worker closes.
   */
  [Symbol.asyncIterator](): AsyncIterator<MajordomoJob> {
    return this.#runner[Symbol.asyncIterator]();
  }

  /**
   * Connects to the broker and sends READY (what `start()` does,
   * idempotent); the worker then serves in the background until `close()`
   * (or an interrupt after `handleInterrupts()`). `start()` resolves once
   * READY is handed to libzmq, and rejects with `ClosedError` after
   * `close()`, or with the error when the socket cannot be created or
   * connected (the worker is then closed).
   */
  protected async onStart(): Promise<void> {
    this.#loop.start().catch((err: unknown) => this.fail(err));
    await this.#conn.start();
    log.info("worker %s: READY sent to %s", this.service, this.endpoint);
  }

  /**
   * Closes the worker gracefully (what `close()` does): finishes the
   * requests being handled (their `ctx.signal` aborts after
   * `closeTimeoutMs`) and sends their replies, then DISCONNECT (requests
   * that were waiting for a handler, or that the broker sent meanwhile, go
   * back to its queue), and closes the socket.
   */
  protected async onClose(): Promise<void> {
    await this.#runner.close(this.#closeTimeoutMs);
    this.#conn.send(encodeDisconnect());
    await this.#conn.flush(1000);
    this.#conn.close();
    this.#loop.destroy();
    log.info("worker %s: closed", this.service);
  }

  #onConnection(e: ConnectionEvent): void {
    const service = this.service;
    switch (e.type) {
      case "connecting":
        this.notify("connecting", { service, endpoint: e.endpoint, connection: e.connection });
        return;
      case "ready":
        this.#stats.connections++;
        this.notify("ready", { service, connection: e.connection });
        return;
      case "connected":
        this.notify("connected", { service, connection: e.connection });
        return;
      case "disconnected":
        // every waiting request belongs to the dropped connection
        this.#runner.discard((meta) => meta.connection === e.connection);
        this.#stats.reconnects++;
        this.notify("disconnected", {
          service,
          connection: e.connection,
          reason: e.reason,
          silentMs: e.silentMs,
          answered: e.answered,
          ...(e.error !== undefined ? { error: e.error } : {}),
        });
        return;
      case "reconnecting":
        this.notify("reconnecting", { service, delayMs: e.delayMs, attempt: e.attempt, reason: e.reason });
        return;
    }
  }

  #onMessage(frames: Buffer[], connection: number): boolean {
    const msg = decodeWorkerMessage(frames);
    switch (msg.kind) {
      case "request":
        this.#stats.requests++;
        if (this.closed) return true; // said or saying DISCONNECT: the broker requeues it
        this.#runner.submit(msg.body, { connection, client: msg.client, request: msg.body }, { service: this.service, peer: peerId(msg.client) });
        return true;
      case "heartbeat":
        return true;
      case "disconnect":
        log.info("worker %s: DISCONNECT from the broker, reconnecting", this.service);
        // at once, but never more often than once every reconnectMs
        this.#conn.drop("disconnect", Math.max(0, this.#reconnectMs - this.#conn.sinceConnectMs));
        return true;
      case "invalid":
        this.#stats.malformed++;
        log.warn("worker %s: dropped a malformed message from the broker: %s", this.service, msg.error.message);
        this.notify("malformed", { reason: msg.error.message, frame: msg.error.frame, peer: undefined });
        return false;
    }
  }

  /** A handler finished: its reply goes out, unless its connection is gone. */
  #reply(meta: Meta, result: MajordomoReply): void {
    let reply = result;
    if (!isMessageLike(reply)) reply = this.#failed(new InvalidArgumentError("the handler must return a frame (Buffer, string, ...) or an array of frames"), meta.request);
    if (meta.connection !== this.#conn.connection || !this.#conn.connected) {
      this.#stats.repliesDropped++;
      log.warn("worker %s: the connection of a request was dropped while it was handled; its reply is discarded", this.service);
      return;
    }
    this.#stats.replies++;
    // the socket's send queue keeps replies in order; what a worker can have
    // to send is bounded by what the broker sent it
    this.#conn.send(encodeReply(meta.client, toBody(reply)));
  }

  #failed(err: unknown, request: Buffer[]): MajordomoReply {
    this.#stats.handlerErrors++;
    log.warn("worker %s: the handler failed: %s", this.service, (err as Error)?.stack ?? String(err));
    this.notify("handler-error", { error: err, request });
    if (this.#onError !== undefined) {
      try {
        const reply = this.#onError(err, request);
        if (isMessageLike(reply)) return reply;
      } catch (e) {
        log.warn("worker %s: onError failed too: %s", this.service, (e as Error)?.message ?? String(e));
      }
    }
    return [];
  }
}
