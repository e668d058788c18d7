/**
 * ParanoidPirateWorker: a 6/PPP worker (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): a DEALER socket that sends READY, heartbeats the
 * queue, answers requests with a handler, and reconnects with exponential
 * back-off on a fresh socket when the queue falls silent.
 * @module
 */
import { ProtocolError, getLogger, parseEndpoints, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { Backoff, HandlerRunner, Lifecycle, PeerConnection, peerId, type ConnectionEvent, type HandlerContext, type Job } from "@zkit/reliability";
import {
  PPP_HEARTBEAT_INTERVAL_MS,
  PPP_LIVENESS,
  PPP_RECONNECT_INITIAL_MS,
  PPP_RECONNECT_MAX_MS,
  decodeWorkerInput,
  encodeHeartbeat,
  encodeReady,
  encodeWorkerReply,
} from "./protocol.js";

const log = getLogger("ppp");

/**
 * Answers one request: gets the request's frames (any number), returns the
 * reply (one frame or an array of frames; strings are sent as UTF-8), or a
 * promise of it. The worker keeps heartbeating while it runs. If it throws
 * or rejects, the request gets no answer (the client's Lazy Pirate retry
 * sends it again) and the worker starts over on a fresh connection.
 */
export type ParanoidPirateHandler = (request: Buffer[], ctx: HandlerContext) => MessageLike | Promise<MessageLike>;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type ParanoidPirateJob = Job<Buffer[], MessageLike>;

/** Options of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerOptions {
  /**
   * The queue's backend, as a CZMQ endpoint list; no prefix connects, e.g.
   * `"tcp://localhost:5556"` (the Guide's).
   */
  endpoint: string;
  /**
   * Answers each request; see {@link ParanoidPirateHandler}. Leave it out to
   * consume the requests as jobs with `for await (const job of worker)`.
   */
  handler?: ParanoidPirateHandler;
  /**
   * How often the worker sends HEARTBEAT, in ms; the queue must use the same.
   * @defaultValue 1000 ({@link PPP_HEARTBEAT_INTERVAL_MS})
   */
  heartbeatIntervalMs?: number;
  /**
   * The queue is dead after `liveness` heartbeat intervals without a
   * message from it: the worker then reconnects.
   * @defaultValue 3 ({@link PPP_LIVENESS})
   */
  liveness?: number;
  /**
   * The wait before the first reconnect, in ms; it doubles at each
   * reconnect that hears nothing from the queue, up to `reconnectMaxMs`,
   * and starts over once the queue speaks.
   * @defaultValue 1000 ({@link PPP_RECONNECT_INITIAL_MS})
   */
  reconnectInitialMs?: number;
  /**
   * The longest wait between reconnects, in ms.
   * @defaultValue 32000 ({@link PPP_RECONNECT_MAX_MS})
   */
  reconnectMaxMs?: number;
  /**
   * How long {@link ParanoidPirateWorker.close} waits for the request in
   * progress to be answered, in ms.
   * @defaultValue `heartbeatIntervalMs * liveness` (after that, the queue
   *   has expired this silent worker and would drop the reply)
   */
  closeTimeoutMs?: number;
  /**
   * Called with every message the worker receives or sends (`socket:
   * "queue"`), heartbeats included (`zkit ppp worker -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** The events of a {@link ParanoidPirateWorker} (the standard names of `@zkit/reliability`). */
export interface ParanoidPirateWorkerEvents {
  /** A fresh socket is connecting (the first connection and every reconnection). */
  connecting: [info: { endpoint: string; connection: number }];
  /**
   * READY was sent on a new connection (handed to libzmq, which delivers it
   * once the queue is there): the queue may not be up yet, see `connected`.
   */
  ready: [info: { connection: number }];
  /** The queue's first well-formed message on this connection: it is there and has the READY. */
  connected: [info: { connection: number }];
  /**
   * The connection was dropped: the queue was silent for `liveness`
   * heartbeat intervals (`"silent"`, the Guide's "heartbeat failure") or the
   * handler failed (`"handler-error"`: only a new connection frees a worker
   * the queue holds busy); `answered` says whether the queue had answered on
   * that connection at all.
   */
  disconnected: [info: { connection: number; reason: string; silentMs: number; answered: boolean }];
  /** The old socket is closed; a fresh one connects after `delayMs`. */
  reconnecting: [info: { delayMs: number; attempt: number; reason: string }];
  /** The handler threw or rejected, or returned something that is not a message: the request gets no answer. */
  "handler-error": [info: { error: unknown; request: Buffer[] }];
  /** A malformed message from the queue was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined }];
}

/** The counters of a {@link ParanoidPirateWorker}, since it started. */
export interface ParanoidPirateWorkerStats {
  /** Requests handed to the handler. */
  readonly requests: number;
  /** Replies sent. */
  readonly replies: number;
  /** Malformed messages from the queue, dropped. */
  readonly malformed: number;
  /** Handler failures (see the `handler-error` event). */
  readonly handlerErrors: number;
  /** Reconnects (fresh sockets). */
  readonly reconnects: number;
  /** Requests answered or pending when their connection was replaced: their replies were dropped. */
  readonly dropped: number;
}

/** What the runner keeps per request. */
interface Meta {
  readonly connection: number;
  readonly client: Buffer;
  readonly request: Buffer[];
}

/**
 * A Paranoid Pirate worker (6/PPP).
 *
 * - Connects a DEALER socket to the queue's backend and sends READY
 *   (`[0x01]`).
 * - Sends HEARTBEAT (`[0x02]`) every `heartbeatIntervalMs`, also while a
 *   request is being handled, so a queue that expires busy workers keeps it.
 * - Any message from the queue proves it alive. After `liveness` silent
 *   intervals the worker closes its socket, waits (1 s, 2 s, 4 s ... up to
 *   32 s by default) and connects a fresh socket with a new READY.
 * - Requests `[client][""][body...]` (any number of body frames) are
 *   answered one at a time with the handler, `(request, ctx)`, whose
 *   `ctx.signal` aborts when `close()` outlasts `closeTimeoutMs`; the reply
 *   keeps the envelope. Should a queue send several at once, they wait
 *   their turn. Without a handler, `for await (const job of worker)` pulls
 *   them.
 *
 * @example
 * ```ts
 * const worker = new ParanoidPirateWorker({
 *   endpoint: "tcp://localhost:5556",
 *   handler: async (request) => request, // echo
 * });
 * worker.on("reconnecting", ({ delayMs }) => console.log(`W: reconnecting in ${delayMs} msec...`));
 * await worker.start();
 * ```
 */
export class ParanoidPirateWorker extends Lifecycle<ParanoidPirateWorkerEvents> implements AsyncIterable<ParanoidPirateJob> {
  readonly #endpoint: string;
  readonly #closeTimeoutMs: number;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #conn: PeerConnection;
  readonly #runner: HandlerRunner<Buffer[], MessageLike, Meta>;
  #stats = { requests: 0, replies: 0, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 };

  /**
   * @param options - see {@link ParanoidPirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateWorkerOptions) {
    super({ owner: "ParanoidPirateWorker", channel: "zkit:ppp:worker" });
    const o = readOptions(options, { owner: "ParanoidPirateWorker", example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }' });
    this.#endpoint = o.requiredString("endpoint", "tcp://localhost:5556", "the queue's backend");
    parseEndpoints(this.#endpoint, false);
    const handler = o.function<ParanoidPirateHandler>("handler", "async (request: Buffer[], ctx) => reply");
    const intervalMs = o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    const liveness = o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals the queue may stay silent" });
    const reconnectInitialMs = o.number("reconnectInitialMs", PPP_RECONNECT_INITIAL_MS, { min: 0 });
    const reconnectMaxMs = o.number("reconnectMaxMs", Math.max(PPP_RECONNECT_MAX_MS, reconnectInitialMs), { min: 0 });
    if (reconnectMaxMs < reconnectInitialMs) o.fail("reconnectMaxMs", `(${reconnectMaxMs}) must be >= reconnectInitialMs (${reconnectInitialMs})`);
    this.#closeTimeoutMs = o.number("closeTimeoutMs", intervalMs * liveness, { min: 0 });
    const trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#runner = new HandlerRunner<Buffer[], MessageLike, Meta>({
      ...(handler !== undefined ? { handler } : {}),
      concurrency: 1,
      onResult: (meta, reply) => this.#reply(meta, reply),
      onError: (meta, err) => this.#failed(meta, err),
    });
    this.#conn = new PeerConnection({
      owner: "ParanoidPirateWorker",
      endpoint: this.#endpoint,
      type: "DEALER",
      loop: this.#loop,
      backoff: new Backoff({ initialMs: reconnectInitialMs, maxMs: reconnectMaxMs }),
      hello: () => encodeReady(),
      heartbeat: { intervalMs, liveness, frames: () => encodeHeartbeat() },
      onMessage: (frames, connection) => this.#onMessage(frames, connection),
      onEvent: (e) => this.#onConnection(e),
      ...(trace !== undefined ? { trace } : {}),
      traceName: "queue",
    });
  }

  /** The counters since the worker started (a snapshot). */
  get stats(): ParanoidPirateWorkerStats {
    return { ...this.#stats };
  }

  /** True while a socket is connected (or connecting), false while waiting to reconnect. */
  get connected(): boolean {
    return this.#conn.connected;
  }

  /** The requests as jobs, for a worker made without a handler; the loop ends when the worker closes. */
  [Symbol.asyncIterator](): AsyncIterator<ParanoidPirateJob> {
    return this.#runner[Symbol.asyncIterator]();
  }

  /**
   * Connects, sends READY and starts serving and heartbeating (what
   * `start()` does); `start()` resolves once READY is on its way (the queue
   * may not be up yet: libzmq connects when it is).
   */
  protected async onStart(): Promise<void> {
    this.#loop.start().catch((err: unknown) => this.fail(err));
    await this.#conn.start();
  }

  /**
   * Stops taking requests and heartbeating, waits up to `closeTimeoutMs` for
   * the request in progress to be answered (its reply is sent; its
   * `ctx.signal` aborts then), then closes the socket (what `close()` does).
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
        if (e.reason === "silent") log.warn("heartbeat failure: the queue has been silent for %d ms", e.silentMs);
        this.notify("disconnected", { connection: e.connection, reason: e.reason, silentMs: e.silentMs, answered: e.answered });
        return;
      case "reconnecting":
        log.warn("reconnecting in %d ms (%s)", e.delayMs, e.reason === "silent" ? "heartbeat failure, can't reach the queue" : e.reason);
        this.notify("reconnecting", { delayMs: e.delayMs, attempt: e.attempt, reason: e.reason });
        return;
    }
  }

  #onMessage(frames: Buffer[], connection: number): boolean {
    const m = decodeWorkerInput(frames);
    if (m instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("dropped a malformed message from the queue (%s)", m.message);
      this.notify("malformed", { reason: m.message, frame: m.frame, peer: undefined });
      return false;
    }
    if (m.kind === "heartbeat") return true;
    if (this.closed) return true;
    this.#stats.requests++;
    this.#runner.submit(m.body, { connection, client: m.client, request: m.body }, { peer: peerId(m.client) });
    return true;
  }

  #reply(meta: Meta, result: MessageLike): void {
    let reply: Buffer[];
    try {
      reply = toFrames(result, "ParanoidPirateWorker handler result");
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

  /** The handler failed: the request gets no answer, and the worker starts over on a fresh connection (the queue holds it busy until it answers). */
  #failed(meta: Meta, err: unknown): void {
    this.#stats.handlerErrors++;
    log.warn("the handler failed (%s): the request is dropped, starting over on a fresh connection", (err as Error)?.message ?? String(err));
    this.notify("handler-error", { error: err, request: meta.request });
    if (meta.connection === this.#conn.connection && !this.closed) this.#conn.drop("handler-error", 0);
  }
}
