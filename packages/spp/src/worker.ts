/**
 * SimplePirateWorker: a Simple Pirate worker (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a REQ socket that tells the queue it is ready,
 * then answers each request with a handler (or hands it to a `for await`
 * loop). Its connection is the reliability layer's `PeerConnection` (no
 * heartbeat: Simple Pirate has none), its handler runs in a
 * `HandlerRunner`, its lifecycle is a `Lifecycle`.
 * @module
 */
import { ProtocolError, getLogger, parseEndpoints, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { Backoff, HandlerRunner, Lifecycle, PeerConnection, peerId, type ConnectionEvent, type HandlerContext, type Job } from "@zkit/reliability";
import { decodeWorkerRequest, encodeReady, encodeWorkerReply } from "./protocol.js";

const log = getLogger("spp");

/** Default of {@link SimplePirateWorkerOptions.closeTimeoutMs}. */
export const SPP_CLOSE_TIMEOUT_MS = 2500;

/**
 * The waits before connecting again when a fresh socket could not be made
 * (no sockets left, for instance), in ms: the Guide's Paranoid Pirate
 * range. A worker that drops its connection on purpose (a failed handler,
 * a malformed request) reconnects at once.
 */
const RECONNECT_INITIAL_MS = 1000;
const RECONNECT_MAX_MS = 32_000;

/**
 * Answers one request: gets the request's frames (any number), returns the
 * reply (one frame or an array of frames; strings are sent as UTF-8), or a
 * promise of it. `ctx.signal` aborts when `close()` outlasts
 * `closeTimeoutMs`. If it throws or rejects, the request gets no answer
 * (the queue gives it to the next worker, or the client's Lazy Pirate retry
 * sends it again) and the worker starts over on a fresh socket: a REQ
 * socket cannot skip a reply.
 */
export type SimplePirateHandler = (request: Buffer[], ctx: HandlerContext) => MessageLike | Promise<MessageLike>;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type SimplePirateJob = Job<Buffer[], MessageLike>;

/** Options of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerOptions {
  /**
   * The queue's backend, as a CZMQ endpoint list; no prefix connects, e.g.
   * `"tcp://localhost:5556"` (the Guide's).
   */
  endpoint: string;
  /**
   * Answers each request; see {@link SimplePirateHandler}. Leave it out to
   * consume the requests as jobs with `for await (const job of worker)`.
   * @defaultValue undefined (pull the requests with `for await`)
   */
  handler?: SimplePirateHandler;
  /**
   * How long {@link SimplePirateWorker.close} waits for the request in
   * progress to be answered, in ms; then the handler's `ctx.signal` aborts
   * and it gets as long again before the socket closes.
   * @defaultValue 2500 ({@link SPP_CLOSE_TIMEOUT_MS}: a Lazy Pirate
   *   client's reference timeout; by then its client has resent the request)
   */
  closeTimeoutMs?: number;
  /**
   * Called with every message the worker receives or sends (`socket:
   * "queue"`), for tracing (`zkit spp worker -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** The events of a {@link SimplePirateWorker} (the standard names of `@zkit/reliability`). */
export interface SimplePirateWorkerEvents {
  /** A fresh socket is connecting (the first connection and every reconnection). */
  connecting: [info: { endpoint: string; connection: number }];
  /**
   * READY was sent on a new connection (handed to libzmq, which delivers it
   * once the queue is there): Simple Pirate has no heartbeat, so the queue
   * says nothing until it sends a request, see `connected`.
   */
  ready: [info: { connection: number }];
  /** The queue's first well-formed request on this connection: it is there and has the READY. */
  connected: [info: { connection: number }];
  /**
   * The connection was dropped on purpose: the handler failed
   * (`"handler-error"`) or the queue sent a malformed request
   * (`"malformed"`); a REQ socket that cannot answer is stuck, so only a
   * fresh one goes on. `answered` says whether the queue had sent a
   * well-formed request on that connection.
   */
  disconnected: [info: { connection: number; reason: string; silentMs: number; answered: boolean }];
  /** The old socket is closed; a fresh one connects after `delayMs` (0 after a drop on purpose). */
  reconnecting: [info: { delayMs: number; attempt: number; reason: string }];
  /** The handler threw or rejected, or returned something that is not a message: the request gets no answer. */
  "handler-error": [info: { error: unknown; request: Buffer[] }];
  /** A malformed request from the queue was dropped (the worker then starts over on a fresh socket). */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined }];
}

/** The counters of a {@link SimplePirateWorker}, since it started. */
export interface SimplePirateWorkerStats {
  /** Requests handed to the handler. */
  readonly requests: number;
  /** Replies sent. */
  readonly replies: number;
  /** Malformed requests dropped (the worker then starts over on a fresh socket). */
  readonly malformed: number;
  /** Handler failures (see the `handler-error` event). */
  readonly handlerErrors: number;
  /** Fresh sockets opened after a malformed request or a handler failure. */
  readonly reconnects: number;
  /** Requests answered or pending when their connection was replaced or the worker closed: their replies were dropped. */
  readonly dropped: number;
}

/** What the runner keeps per request. */
interface Meta {
  readonly connection: number;
  readonly client: Buffer;
  readonly request: Buffer[];
}

/**
 * A Simple Pirate worker.
 *
 * - Connects a REQ socket to the queue's backend and sends READY
 *   (`[0x01]`).
 * - For each request `[client][""][body...]` calls the handler,
 *   `(request, ctx)`, and sends back `[client][""][reply...]`; one request
 *   at a time (REQ is lockstep). Multi-frame bodies and replies pass
 *   through. Without a handler, `for await (const job of worker)` pulls
 *   the requests.
 * - A handler that fails, or a malformed request, leaves a REQ socket
 *   unable to go on: the worker closes it and connects a fresh one with a
 *   new READY, at once.
 * - No heartbeat: a queue that dies is not noticed (Paranoid Pirate,
 *   `@zkit/ppp`, adds that).
 *
 * @example
 * ```ts
 * const worker = new SimplePirateWorker({
 *   endpoint: "tcp://localhost:5556",
 *   handler: async (request) => request, // echo
 * });
 * await worker.start();
 * ```
 */
export class SimplePirateWorker extends Lifecycle<SimplePirateWorkerEvents> implements AsyncIterable<SimplePirateJob> {
  readonly #closeTimeoutMs: number;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #conn: PeerConnection;
  readonly #runner: HandlerRunner<Buffer[], MessageLike, Meta>;
  #stats = { requests: 0, replies: 0, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 };

  /**
   * @param options - see {@link SimplePirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateWorkerOptions) {
    super({ owner: "SimplePirateWorker", channel: "zkit:spp:worker" });
    const o = readOptions(options, { owner: "SimplePirateWorker", example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }' });
    const endpoint = o.requiredString("endpoint", "tcp://localhost:5556", "the queue's backend");
    parseEndpoints(endpoint, false);
    const handler = o.function<SimplePirateHandler>("handler", "async (request: Buffer[], ctx) => reply");
    this.#closeTimeoutMs = o.number("closeTimeoutMs", SPP_CLOSE_TIMEOUT_MS, { min: 0 });
    const trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#runner = new HandlerRunner<Buffer[], MessageLike, Meta>({
      ...(handler !== undefined ? { handler } : {}),
      concurrency: 1,
      onResult: (meta, reply) => this.#reply(meta, reply),
      onError: (meta, err) => this.#failed(meta, err),
    });
    this.#conn = new PeerConnection({
      owner: "SimplePirateWorker",
      endpoint,
      type: "REQ",
      loop: this.#loop,
      backoff: new Backoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS }),
      hello: () => encodeReady(),
      onMessage: (frames, connection) => this.#onMessage(frames, connection),
      onEvent: (e) => this.#onConnection(e),
      ...(trace !== undefined ? { trace } : {}),
      traceName: "queue",
    });
  }

  /** The counters since the worker started (a snapshot). */
  get stats(): SimplePirateWorkerStats {
    return { ...this.#stats };
  }

  /** True while a socket is connected (or connecting), false between a dropped socket and its successor. */
  get connected(): boolean {
    return this.#conn.connected;
  }

  /** The requests as jobs, for a worker made without a handler; the loop ends when the worker closes. */
  [Symbol.asyncIterator](): AsyncIterator<SimplePirateJob> {
    return this.#runner[Symbol.asyncIterator]();
  }

  /**
   * Connects, sends READY and starts serving (what `start()` does);
   * `start()` resolves once READY is on its way (the queue may not be up
   * yet: libzmq connects when it is).
   */
  protected async onStart(): Promise<void> {
    this.#loop.start().catch((err: unknown) => this.fail(err));
    await this.#conn.start();
  }

  /**
   * Stops taking requests, waits up to `closeTimeoutMs` for the request in
   * progress to be answered (its reply is sent; its `ctx.signal` aborts
   * then), then closes the socket (what `close()` does).
   */
  protected async onClose(): Promise<void> {
    this.#stats.dropped += this.#runner.queued;
    await this.#runner.close(this.#closeTimeoutMs);
    await this.#conn.flush(1000);
    this.#conn.close();
    this.#loop.destroy();
  }

  #onConnection(e: ConnectionEvent): void {
    switch (e.type) {
      case "connecting":
        this.notify("connecting", { endpoint: e.endpoint, connection: e.connection });
        return;
      case "ready":
        log.debug("worker ready (connection %d)", e.connection);
        this.notify("ready", { connection: e.connection });
        return;
      case "connected":
        this.notify("connected", { connection: e.connection });
        return;
      case "disconnected":
        this.#stats.dropped += this.#runner.discard((meta) => meta.connection === e.connection);
        this.#stats.reconnects++;
        this.notify("disconnected", { connection: e.connection, reason: e.reason, silentMs: e.silentMs, answered: e.answered });
        return;
      case "reconnecting":
        log.debug("starting over on a fresh socket in %d ms (%s)", e.delayMs, e.reason);
        this.notify("reconnecting", { delayMs: e.delayMs, attempt: e.attempt, reason: e.reason });
        return;
    }
  }

  #onMessage(frames: Buffer[], connection: number): boolean {
    const r = decodeWorkerRequest(frames);
    if (r instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("dropped a malformed request (%s); starting over on a fresh socket", r.message);
      this.notify("malformed", { reason: r.message, frame: r.frame, peer: undefined });
      // a REQ socket owes the queue a reply it cannot give: only a fresh one goes on
      if (!this.closed) this.#conn.drop("malformed", 0);
      return false;
    }
    if (this.closed) return true;
    this.#stats.requests++;
    this.#runner.submit(r.body, { connection, client: r.client, request: r.body }, { peer: peerId(r.client) });
    return true;
  }

  #reply(meta: Meta, result: MessageLike): void {
    let reply: Buffer[];
    try {
      reply = toFrames(result, "SimplePirateWorker handler result");
    } catch (err) {
      this.#failed(meta, err);
      return;
    }
    if (meta.connection !== this.#conn.connection || !this.#conn.connected) {
      this.#stats.dropped++;
      log.warn("dropped a reply: its connection to the queue was replaced meanwhile");
      return;
    }
    this.#conn.send(encodeWorkerReply(meta.client, reply));
    this.#stats.replies++;
  }

  /** The handler failed: the request gets no answer, and the worker starts over on a fresh socket (its REQ socket owes a reply). */
  #failed(meta: Meta, err: unknown): void {
    this.#stats.handlerErrors++;
    log.warn("the handler failed (%s): the request is dropped, starting over on a fresh socket", (err as Error)?.message ?? String(err));
    this.notify("handler-error", { error: err, request: meta.request });
    if (meta.connection === this.#conn.connection && !this.closed) this.#conn.drop("handler-error", 0);
  }
}
