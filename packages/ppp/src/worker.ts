/**
 * ParanoidPirateWorker: a 6/PPP worker (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): a DEALER socket that sends READY, heartbeats the
 * queue, answers requests with a handler, and reconnects with exponential
 * back-off on a fresh socket when the queue falls silent.
 * @module
 */
import { EventEmitter } from "node:events";
import { ErrorCode, ProtocolError, ZSocket, ZkitError, getLogger, now, parseEndpoints, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
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
export type ParanoidPirateHandler = (request: Buffer[]) => MessageLike | Promise<MessageLike>;

/** Options of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerOptions {
  /**
   * The queue's backend, as a CZMQ endpoint list; no prefix connects, e.g.
   * `"tcp://localhost:5556"` (the Guide's).
   */
  endpoint: string;
  /** Answers each request; see {@link ParanoidPirateHandler}. */
  handler: ParanoidPirateHandler;
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

/** What `disconnected` reports. */
export interface DisconnectedEvent {
  /** How long the queue had been silent, in ms. */
  readonly silentMs: number;
}

/** What `reconnect` reports. */
export interface ReconnectEvent {
  /** The wait before the new connection, in ms. */
  readonly delayMs: number;
  /** Reconnects in a row without hearing from the queue, this one included. */
  readonly attempt: number;
  /** Why: the queue fell silent, or the handler failed. */
  readonly reason: "silent" | "handler-error";
}

/** What `queue-seen` reports. */
export interface QueueSeenEvent {
  /** Which connection this is: 1 for the first, 2 after the first reconnect, ... */
  readonly connection: number;
}

/** The events of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerEvents {
  /**
   * READY was sent on a new connection (handed to libzmq, which delivers it
   * once the queue is there): the queue may not be up yet, see `queue-seen`.
   */
  ready: [];
  /** The queue's first well-formed message on this connection: it is there and has the READY. */
  "queue-seen": [event: QueueSeenEvent];
  /** The queue was silent for `liveness` heartbeat intervals ("heartbeat failure"). */
  disconnected: [event: DisconnectedEvent];
  /** The old socket is closed; a fresh one connects after `delayMs`. */
  reconnect: [event: ReconnectEvent];
  /** The handler threw or rejected, or returned something that is not a message. */
  "handler-error": [error: unknown];
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

interface Job {
  readonly conn: number;
  readonly client: Buffer;
  readonly body: Buffer[];
}

type State = "new" | "starting" | "running" | "closing" | "closed";

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
 *   answered one at a time with the handler; the reply keeps the envelope.
 *   Should a queue send several at once, they wait their turn.
 *
 * @example
 * ```ts
 * const worker = new ParanoidPirateWorker({
 *   endpoint: "tcp://localhost:5556",
 *   handler: async (request) => request, // echo
 * });
 * worker.on("reconnect", ({ delayMs }) => console.log(`W: reconnecting in ${delayMs} msec...`));
 * await worker.start();
 * ```
 */
export class ParanoidPirateWorker extends EventEmitter<ParanoidPirateWorkerEvents> {
  readonly #endpoint: string;
  readonly #handler: ParanoidPirateHandler;
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #reconnectInitialMs: number;
  readonly #reconnectMaxMs: number;
  readonly #closeTimeoutMs: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop = new ZLoop();
  #sock: ZSocket<"DEALER"> | undefined;
  /** Connection number: bumped on each connect, so late replies of an old one are dropped. */
  #conn = 0;
  #lastHeard = 0;
  /** True once the queue sent a well-formed message on the current connection. */
  #queueSeen = false;
  #nextDelay: number;
  #attempt = 0;
  readonly #jobs: Job[] = [];
  #serving: Promise<void> | undefined;
  #state: State = "new";
  #done: Promise<void> = Promise.resolve();
  #finish: ((err?: unknown) => void) | undefined;
  #stats = { requests: 0, replies: 0, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 };

  /**
   * @param options - see {@link ParanoidPirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateWorkerOptions) {
    super();
    const o = readOptions(options, { owner: "ParanoidPirateWorker", example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }' });
    this.#endpoint = o.requiredString("endpoint", "tcp://localhost:5556", "the queue's backend");
    parseEndpoints(this.#endpoint, false);
    this.#handler = o.requiredFunction("handler", "async (request: Buffer[]) => reply");
    this.#intervalMs = o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#liveness = o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals the queue may stay silent" });
    this.#reconnectInitialMs = o.number("reconnectInitialMs", PPP_RECONNECT_INITIAL_MS, { min: 0 });
    this.#reconnectMaxMs = o.number("reconnectMaxMs", Math.max(PPP_RECONNECT_MAX_MS, this.#reconnectInitialMs), { min: 0 });
    if (this.#reconnectMaxMs < this.#reconnectInitialMs) {
      o.fail("reconnectMaxMs", `(${this.#reconnectMaxMs}) must be >= reconnectInitialMs (${this.#reconnectInitialMs})`);
    }
    this.#closeTimeoutMs = o.number("closeTimeoutMs", this.#intervalMs * this.#liveness, { min: 0 });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#nextDelay = this.#reconnectInitialMs;
  }

  /** The counters since the worker started (a snapshot). */
  get stats(): ParanoidPirateWorkerStats {
    return { ...this.#stats };
  }

  /** True from {@link ParanoidPirateWorker.start} until the worker closes. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** True while a socket is connected (or connecting), false while waiting to reconnect. */
  get connected(): boolean {
    return this.#sock !== undefined;
  }

  /**
   * Settles when the worker has stopped and closed its socket: after
   * {@link ParanoidPirateWorker.close}, or once the process is interrupted
   * (`handleInterrupts()` of `@zkit/core`). Rejects only if its reactor
   * failed, with that error.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Connects, sends READY and starts serving and heartbeating; resolves once
   * READY is on its way (the queue may not be up yet: libzmq connects when
   * it is).
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `ParanoidPirateWorker.start: the worker is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    try {
      await this.#connect();
    } catch (err) {
      this.#state = "closed";
      throw err;
    }
    if (this.#state !== "starting") {
      this.#closeSocket();
      throw new ZkitError(ErrorCode.Closed, "ParanoidPirateWorker.start: closed while starting");
    }
    this.#state = "running";
    this.#loop.timer(this.#intervalMs, 0, this.#tick);
    this.#done = new Promise<void>((resolve, reject) => {
      this.#finish = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.#done.catch(() => {});
    this.#loop.start().then(
      () => this.#stop(),
      (err: unknown) => {
        log.error("worker stopped by an error: %s", (err as Error)?.message ?? String(err));
        void this.#stop(err);
      },
    );
  }

  /**
   * Stops taking requests and heartbeating, waits up to `closeTimeoutMs` for
   * the request in progress to be answered (its reply is sent), then closes
   * the socket. Idempotent; resolves once closed.
   */
  async close(): Promise<void> {
    if (this.#state === "new" || this.#state === "starting") {
      this.#state = "closed";
      return;
    }
    if (this.#state === "running") this.#loop.stop();
    await this.#done.catch(() => {});
  }

  /** Closes the worker (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Lets the request in progress finish (bounded), closes, settles `done`. */
  async #stop(err?: unknown): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#loop.destroy();
    this.#stats.dropped += this.#jobs.length;
    this.#jobs.length = 0;
    const serving = this.#serving;
    if (serving !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([serving, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutMs)))]);
      clearTimeout(timer);
    }
    this.#closeSocket();
    this.#state = "closed";
    const finish = this.#finish;
    this.#finish = undefined;
    finish?.(err);
  }

  // ---------------------------------------------------------- connection

  async #connect(): Promise<void> {
    const sock = await ZSocket.dealer(this.#endpoint);
    if (this.#state === "closing" || this.#state === "closed") {
      sock.close();
      return;
    }
    this.#sock = sock;
    this.#conn++;
    this.#lastHeard = now();
    this.#queueSeen = false;
    this.#loop.reader(sock, this.#onMessage);
    this.#send(encodeReady());
    log.debug("worker ready (connection %d)", this.#conn);
    this.#emit("ready");
  }

  #closeSocket(): void {
    const sock = this.#sock;
    if (sock === undefined) return;
    this.#sock = undefined;
    this.#loop.readerEnd(sock);
    sock.close();
  }

  /**
   * Drops the connection and connects a fresh socket after the back-off
   * delay (at once after a handler failure, where the queue is fine).
   */
  #reconnect(reason: "silent" | "handler-error"): void {
    const old = this.#sock;
    if (old === undefined || this.#state !== "running") return;
    this.#sock = undefined;
    this.#loop.readerEnd(old);
    old.set("linger", 0); // nothing queued for a queue we gave up on
    old.close();
    this.#stats.dropped += this.#jobs.length;
    this.#jobs.length = 0;
    let delayMs = 0;
    if (reason === "silent") {
      delayMs = this.#nextDelay;
      this.#nextDelay = Math.min(this.#nextDelay * 2, this.#reconnectMaxMs);
      this.#attempt++;
    }
    this.#stats.reconnects++;
    log.warn("reconnecting in %d ms (%s)", delayMs, reason === "silent" ? "heartbeat failure, can't reach the queue" : "the handler failed");
    this.#emit("reconnect", { delayMs, attempt: Math.max(this.#attempt, 1), reason });
    this.#loop.timer(delayMs, 1, async () => {
      if (this.#state !== "running") return;
      try {
        await this.#connect();
      } catch (err) {
        log.error("reconnect failed: %s", (err as Error)?.message ?? String(err));
        this.#reconnectLater();
      }
    });
  }

  /** A connect attempt itself failed (e.g. a bind endpoint in use): try again after the back-off. */
  #reconnectLater(): void {
    const delayMs = this.#nextDelay;
    this.#nextDelay = Math.min(this.#nextDelay * 2, this.#reconnectMaxMs);
    this.#loop.timer(delayMs, 1, async () => {
      if (this.#state !== "running") return;
      try {
        await this.#connect();
      } catch {
        this.#reconnectLater();
      }
    });
  }

  /** Heartbeats and the queue's liveness, the one place: every interval. */
  #tick = (): void => {
    if (this.#sock === undefined) return; // waiting to reconnect
    const silentMs = now() - this.#lastHeard;
    if (silentMs > this.#intervalMs * this.#liveness) {
      log.warn("heartbeat failure: the queue has been silent for %d ms", Math.round(silentMs));
      this.#emit("disconnected", { silentMs });
      this.#reconnect("silent");
      return;
    }
    this.#send(encodeHeartbeat());
  };

  #send(frames: Buffer[]): void {
    this.#trace?.({ direction: "out", socket: "queue", frames });
    void this.#sock!.send(frames);
  }

  // ------------------------------------------------------------ requests

  #onMessage = (msg: Buffer[], sock: ZSocket<"DEALER">): void => {
    if (sock !== this.#sock) return;
    this.#trace?.({ direction: "in", socket: "queue", frames: msg });
    // any message from the queue proves it alive
    this.#lastHeard = now();
    this.#nextDelay = this.#reconnectInitialMs;
    this.#attempt = 0;
    const m = decodeWorkerInput(msg);
    if (m instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("dropped a malformed message from the queue (%s)", m.message);
      return;
    }
    if (!this.#queueSeen) {
      this.#queueSeen = true;
      this.#emit("queue-seen", { connection: this.#conn });
    }
    if (m.kind === "heartbeat") return;
    this.#jobs.push({ conn: this.#conn, client: m.client, body: m.body });
    this.#serveNext();
  };

  #serveNext(): void {
    if (this.#serving !== undefined || this.#state !== "running") return;
    const job = this.#jobs.shift();
    if (job === undefined) return;
    this.#serving = this.#serve(job).finally(() => {
      this.#serving = undefined;
      this.#serveNext();
    });
  }

  async #serve(job: Job): Promise<void> {
    this.#stats.requests++;
    let reply: Buffer[];
    try {
      reply = toFrames(await this.#handler(job.body), "ParanoidPirateWorker handler result");
    } catch (err) {
      this.#stats.handlerErrors++;
      log.warn("the handler failed (%s): the request is dropped, starting over on a fresh connection", (err as Error)?.message ?? String(err));
      this.#emit("handler-error", err);
      // the queue holds us busy until we answer: only a new connection frees us
      if (job.conn === this.#conn) this.#reconnect("handler-error");
      return;
    }
    if (job.conn !== this.#conn || this.#sock === undefined) {
      this.#stats.dropped++;
      log.warn("dropped a reply: its connection to the queue was replaced meanwhile");
      return;
    }
    this.#send(encodeWorkerReply(job.client, reply));
    this.#stats.replies++;
  }

  #emit<K extends keyof ParanoidPirateWorkerEvents>(name: K, ...args: ParanoidPirateWorkerEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}
