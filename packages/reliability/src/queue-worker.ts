/**
 * QueueWorker: the worker of the Guide's Pirate queues (Simple and Paranoid
 * Pirate, chapter 4), written once: one {@link PeerConnection} to the
 * queue's backend (READY first, heartbeats where the protocol has them, a
 * fresh socket after the queue is lost), requests `[client][""][body...]`
 * run by a {@link HandlerRunner} (a handler, or jobs pulled with
 * `for await`), each reply sent on the connection its request came from.
 * The protocol's frames and options come from its package; each package's
 * worker is a small subclass.
 * @module
 */
import { ProtocolError, parseEndpoints, readOptions, toFrames, type Logger, type MessageLike, type OptionReader, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import type { Backoff } from "./backoff.js";
import { PeerConnection, type ConnectionEvent } from "./connection.js";
import type { HandshakeError, SecurityOptions } from "@zkit/security";
import type { DiagnosticsChannelName } from "./diagnostics.js";
import { Lifecycle } from "./lifecycle.js";
import { peerId } from "./peer.js";
import { HandlerRunner, type HandlerContext, type Job } from "./runner.js";

/**
 * Answers one request: gets the request's frames (any number), returns the
 * reply (one frame or an array of frames; strings are sent as UTF-8), or a
 * promise of it. `ctx.signal` aborts when `close()` outlasts its grace. If
 * it throws or rejects, the request gets no answer (the queue or the
 * client's retry gives it to another worker) and the worker starts over on
 * a fresh connection.
 */
export type QueueHandler = (request: Buffer[], ctx: HandlerContext) => MessageLike | Promise<MessageLike>;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type QueueJob = Job<Buffer[], MessageLike>;

/** The options every queue worker takes (a protocol adds its own, `closeTimeoutMs` at least). */
export interface QueueWorkerOptions {
  /**
   * The queue's backend, as a CZMQ endpoint list; no prefix connects, e.g.
   * `"tcp://localhost:5556"` (the Guide's).
   */
  endpoint: string;
  /**
   * Answers each request; see {@link QueueHandler}. Leave it out to consume
   * the requests as jobs with `for await (const job of worker)`.
   * @defaultValue undefined (pull the requests with `for await`)
   */
  handler?: QueueHandler;
  /**
   * Called with every message the worker receives or sends (`socket:
   * "queue"`), heartbeats included (`zkit spp worker -v`, `zkit ppp worker -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
  /**
   * How the connection to the queue is secured (`@zkit/security`): for
   * CURVE the worker's key pair and the queue's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(queueKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong queue key, a key the
   * queue's ZAuth refuses) drops the connection at once: `disconnected`
   * comes with reason `"handshake"` and the `HandshakeError` as `error`,
   * then the worker tries again after its back-off.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's queues run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The events of a {@link QueueWorker} (the standard names of `@zkit/reliability`). */
export interface QueueWorkerEvents {
  /** A fresh socket is connecting (the first connection and every reconnection). */
  connecting: [info: { endpoint: string; connection: number }];
  /**
   * READY was sent on a new connection (handed to libzmq, which delivers it
   * once the queue is there): the queue may not be up yet, see `connected`.
   */
  ready: [info: { connection: number }];
  /** The queue's first well-formed message on this connection (a heartbeat or a request): it is there and has the READY. */
  connected: [info: { connection: number }];
  /**
   * The connection was dropped: the queue was silent for `liveness`
   * heartbeat intervals (`"silent"`, the Guide's "heartbeat failure"), the
   * handler failed (`"handler-error"`), or the queue sent a malformed
   * request to a socket that owes it a reply (`"malformed"`, REQ workers);
   * or the security handshake failed (`"handshake"`, with the
   * `HandshakeError` as `error`); `answered` says whether the queue had
   * answered on that connection.
   */
  disconnected: [info: { connection: number; reason: string; silentMs: number; answered: boolean; error?: HandshakeError }];
  /** The old socket is closed; a fresh one connects after `delayMs`. */
  reconnecting: [info: { delayMs: number; attempt: number; reason: string }];
  /** The handler threw or rejected, or returned something that is not a message: the request gets no answer. */
  "handler-error": [info: { error: unknown; request: Buffer[] }];
  /** A malformed message from the queue was dropped. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined }];
}

/** The counters of a {@link QueueWorker}, since it started. */
export interface QueueWorkerStats {
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

/** What the queue sends a worker, decoded. */
export type QueueWorkerInput = { readonly kind: "heartbeat" } | { readonly kind: "request"; readonly client: Buffer; readonly body: Buffer[] };

/** What the protocol reads from its own options. */
export interface QueueWorkerSettings {
  /** The delays before reconnecting to a queue that was lost. */
  backoff: Backoff;
  /** Heartbeats: sent every `intervalMs`, the queue lost after `liveness` silent intervals. None for Simple Pirate. */
  heartbeat?: { intervalMs: number; liveness: number; frames: () => Buffer[] };
  /** How long `close()` waits for the request in progress, then as long again after aborting its signal, in ms. */
  closeTimeoutMs: number;
}

/** What a protocol's worker tells {@link QueueWorker} about itself. */
export interface QueueWorkerSpec<O extends QueueWorkerOptions = QueueWorkerOptions> {
  /** Its class name, for messages: `"SimplePirateWorker"`. */
  owner: string;
  /** Its diagnostics channel. */
  channel: DiagnosticsChannelName;
  /** Its logger (`getLogger("spp")`). */
  log: Logger;
  /** A valid options object, shown by option errors. */
  example: string;
  /** Its socket: `"DEALER"`, or `"REQ"` (a socket that owes a reply for every request). */
  type: "DEALER" | "REQ";
  /** READY: the first message on every connection. */
  hello: () => Buffer[];
  /** Decodes what the queue sends. */
  decode: (frames: readonly Buffer[]) => QueueWorkerInput | ProtocolError;
  /** The reply to `client`'s request. */
  encodeReply: (client: Buffer, body: readonly Buffer[]) => Buffer[];
  /** Reads the protocol's own options (after `endpoint` and `handler`, before `trace`). */
  settings: (o: OptionReader<O>) => QueueWorkerSettings;
}

/** What the runner keeps per request. */
interface Meta {
  readonly connection: number;
  readonly client: Buffer;
  readonly request: Buffer[];
}

/**
 * A worker of a Pirate queue.
 *
 * - Connects to the queue's backend and sends READY; with heartbeats, sends
 *   one every interval (also while a request is being handled) and counts
 *   the queue lost after `liveness` silent intervals, then connects a fresh
 *   socket after the back-off.
 * - Requests are answered one at a time with the handler, `(request, ctx)`;
 *   the reply keeps the envelope and goes out on the connection the request
 *   came from (never on a newer one). Without a handler, `for await (const
 *   job of worker)` pulls them.
 * - A handler that fails drops the request and starts over at once on a
 *   fresh connection (the queue holds the worker busy until it answers, and
 *   a REQ socket cannot skip a reply); so does a malformed request to a REQ
 *   socket. Other malformed messages are dropped and counted.
 */
export abstract class QueueWorker<O extends QueueWorkerOptions = QueueWorkerOptions> extends Lifecycle<QueueWorkerEvents> implements AsyncIterable<QueueJob> {
  readonly #log: Logger;
  readonly #closeTimeoutMs: number;
  readonly #restartOnMalformed: boolean;
  readonly #decode: QueueWorkerSpec["decode"];
  readonly #encodeReply: QueueWorkerSpec["encodeReply"];
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #conn: PeerConnection;
  readonly #runner: HandlerRunner<Buffer[], MessageLike, Meta>;
  #stats = { requests: 0, replies: 0, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 };

  /**
   * @param options - the user's options (see {@link QueueWorkerOptions}; the protocol adds its own)
   * @param spec - what the protocol's worker says about itself
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  protected constructor(options: O, spec: QueueWorkerSpec<O>) {
    super({ owner: spec.owner, channel: spec.channel });
    this.#log = spec.log;
    this.#restartOnMalformed = spec.type === "REQ";
    this.#decode = spec.decode;
    this.#encodeReply = spec.encodeReply;
    const o = readOptions(options, { owner: spec.owner, example: spec.example });
    const endpoint = o.requiredString("endpoint", "tcp://localhost:5556", "the queue's backend");
    parseEndpoints(endpoint, false);
    const handler = o.function<QueueHandler>("handler", "async (request: Buffer[], ctx) => reply");
    const settings = spec.settings(o);
    this.#closeTimeoutMs = settings.closeTimeoutMs;
    const trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#runner = new HandlerRunner<Buffer[], MessageLike, Meta>({
      ...(handler !== undefined ? { handler } : {}),
      concurrency: 1,
      onResult: (meta, reply) => this.#reply(meta, reply),
      onError: (meta, err) => this.#failed(meta, err),
    });
    this.#conn = new PeerConnection({
      owner: spec.owner,
      endpoint,
      type: spec.type,
      loop: this.#loop,
      backoff: settings.backoff,
      hello: spec.hello,
      ...(settings.heartbeat !== undefined ? { heartbeat: settings.heartbeat } : {}),
      onMessage: (frames, connection) => this.#onMessage(frames, connection),
      onEvent: (e) => this.#onConnection(e),
      ...(trace !== undefined ? { trace } : {}),
      traceName: "queue",
      security: o.raw("security") as SecurityOptions | undefined,
    });
  }

  /** The counters since the worker started (a snapshot). */
  get stats(): QueueWorkerStats {
    return { ...this.#stats };
  }

  /** True while a socket is connected (or connecting), false while waiting to reconnect. */
  get connected(): boolean {
    return this.#conn.connected;
  }

  /** The requests as jobs, for a worker made without a handler; the loop ends when the worker closes. */
  [Symbol.asyncIterator](): AsyncIterator<QueueJob> {
    return this.#runner[Symbol.asyncIterator]();
  }

  /**
   * Connects, sends READY and starts serving (and heartbeating) (what
   * `start()` does); `start()` resolves once READY is on its way (the queue
   * may not be up yet: libzmq connects when it is).
   */
  protected async onStart(): Promise<void> {
    this.#loop.start().catch((err: unknown) => this.fail(err));
    await this.#conn.start();
  }

  /**
   * Stops taking requests (and heartbeating), waits up to `closeTimeoutMs`
   * for the request in progress to be answered (its reply is sent; its
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
        this.#log.debug("worker ready (connection %d)", e.connection);
        this.notify("ready", { connection: e.connection });
        return;
      case "connected":
        this.notify("connected", { connection: e.connection });
        return;
      case "disconnected":
        this.#stats.dropped += this.#runner.discard((meta) => meta.connection === e.connection);
        this.#stats.reconnects++;
        if (e.reason === "silent") this.#log.warn("heartbeat failure: the queue has been silent for %d ms", e.silentMs);
        this.notify("disconnected", { connection: e.connection, reason: e.reason, silentMs: e.silentMs, answered: e.answered, ...(e.error !== undefined ? { error: e.error } : {}) });
        return;
      case "reconnecting":
        this.#log.warn("reconnecting in %d ms (%s)", e.delayMs, e.reason === "silent" ? "heartbeat failure, can't reach the queue" : e.reason);
        this.notify("reconnecting", { delayMs: e.delayMs, attempt: e.attempt, reason: e.reason });
        return;
    }
  }

  #onMessage(frames: Buffer[], connection: number): boolean {
    const m = this.#decode(frames);
    if (m instanceof ProtocolError) {
      this.#stats.malformed++;
      this.#log.warn("dropped a malformed message from the queue (%s)%s", m.message, this.#restartOnMalformed ? "; starting over on a fresh socket" : "");
      this.notify("malformed", { reason: m.message, frame: m.frame, peer: undefined });
      // a REQ socket owes the queue a reply it cannot give: only a fresh one goes on
      if (this.#restartOnMalformed && !this.closed) this.#conn.drop("malformed", 0);
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
      reply = toFrames(result, `${this.owner} handler result`);
    } catch (err) {
      this.#failed(meta, err);
      return;
    }
    if (meta.connection !== this.#conn.connection || !this.#conn.connected) {
      this.#stats.dropped++;
      this.#log.warn("dropped a reply: its connection to the queue was replaced meanwhile");
      return;
    }
    this.#conn.send(this.#encodeReply(meta.client, reply));
    this.#stats.replies++;
  }

  /** The handler failed: the request gets no answer, and the worker starts over on a fresh connection (the queue holds it busy until it answers). */
  #failed(meta: Meta, err: unknown): void {
    this.#stats.handlerErrors++;
    this.#log.warn("the handler failed (%s): the request is dropped, starting over on a fresh connection", (err as Error)?.message ?? String(err));
    this.notify("handler-error", { error: err, request: meta.request });
    if (meta.connection === this.#conn.connection && !this.closed) this.#conn.drop("handler-error", 0);
  }
}
