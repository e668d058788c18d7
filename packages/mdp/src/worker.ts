/**
 * MajordomoWorker: a 7/MDP worker that serves one service with a handler,
 * heartbeats, reconnects with a fresh socket when the broker is lost or
 * says DISCONNECT, and closes gracefully.
 * @module
 */
import { EventEmitter } from "node:events";
import { ClosedError, InvalidArgumentError, ZSocket, getLogger, isMessageLike, now, readOptions, type FrameLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { Deque } from "./deque.js";
import { readEndpoint } from "./request.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LIVENESS,
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
export const DEFAULT_RECONNECT_MS = 2500;

/** What a worker's handler returns: the reply body, one frame or several. */
export type MajordomoReply = FrameLike | readonly FrameLike[];

/**
 * Serves one request: gets the request body frames, returns (or resolves
 * to) the reply body.
 */
export type MajordomoHandler = (request: Buffer[]) => Promise<MajordomoReply> | MajordomoReply;

/** Options of {@link MajordomoWorker}. */
export interface MajordomoWorkerOptions {
  /** The broker: `"tcp://host:5555"` (connects), a CZMQ endpoint list. */
  endpoint: string;
  /** The service this worker serves; not `mmi.*`, at most 255 bytes. */
  service: string;
  /** Serves each request; up to `concurrency` at once (one at a time by default). */
  handler: MajordomoHandler;
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
   * How long to wait before reconnecting to a lost broker, in ms. After a
   * DISCONNECT the worker reconnects at once, but never more often than
   * once every `reconnectMs`.
   * @defaultValue 2500
   */
  reconnectMs?: number;
  /**
   * Builds the reply when the handler throws (7/MDP has no error reply, so
   * the convention is yours). Without it, the worker replies with an empty
   * body (one empty frame, as 7/MDP wants), so that the client is not left
   * waiting.
   */
  onError?: (err: unknown, request: Buffer[]) => MajordomoReply;
  /** Called with every message the worker receives or sends. */
  trace?: TraceFn;
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

/** The events of a {@link MajordomoWorker}. */
export interface MajordomoWorkerEvents {
  /** A fresh socket is about to connect (the first connection and every reconnection). */
  connecting: [
    info: {
      /** The broker endpoint(s). */
      endpoint: string;
      /** Which connection this is: 1 for the first, 2 after the first reconnection, ... */
      connection: number;
    },
  ];
  /**
   * READY was sent on a fresh connection (handed to libzmq, which delivers
   * it once the broker is there): the broker may not be up yet, see
   * `broker-seen`.
   */
  ready: [
    info: {
      /** The service registered. */
      service: string;
      /** Which connection this is: 1 for the first, 2 after the first reconnection, ... */
      connection: number;
    },
  ];
  /**
   * The first well-formed 7/MDP message from the broker on this connection:
   * the broker is there and has the worker's READY.
   */
  "broker-seen": [
    info: {
      /** Which connection this is. */
      connection: number;
      /** The command that came first: `heartbeat`, `request` or `disconnect`. */
      first: "heartbeat" | "request" | "disconnect";
    },
  ];
  /** The connection was dropped; the worker reconnects. */
  disconnected: [
    info: {
      /** The broker went silent (`broker-lost`) or sent DISCONNECT. */
      reason: "broker-lost" | "disconnect";
      /** True when the broker had answered on this connection; false when it never did (none listening, or not a 7/MDP broker). */
      brokerSeen: boolean;
      /** How long the broker had been silent, in ms. */
      silentMs: number;
      /** The wait before the next connection, in ms. */
      reconnectInMs: number;
    },
  ];
  /** The handler threw; `onError`'s reply (or an empty one) was sent. */
  "handler-error": [
    info: {
      /** What the handler threw. */
      error: unknown;
      /** The request body it was given. */
      request: Buffer[];
    },
  ];
  /** A malformed message from the broker was dropped. */
  malformed: [
    info: {
      /** What is wrong with it. */
      reason: string;
      /** The index of the bad frame, when one can be named. */
      frame: number | undefined;
    },
  ];
  /** The worker closed. */
  close: [];
}

const OPTION_NAMES = ["endpoint", "service", "handler", "concurrency", "heartbeatIntervalMs", "liveness", "reconnectMs", "onError", "trace"] as const;

/** Default of {@link MajordomoWorkerOptions.concurrency}. */
export const DEFAULT_CONCURRENCY = 1;

interface Job {
  generation: number;
  client: Buffer;
  body: Buffer[];
}

/**
 * A Majordomo worker (7/MDP): registers a service with the broker and
 * answers its requests with a handler, one request at a time (or up to
 * `concurrency` at once).
 *
 * - {@link start} connects a DEALER, sends READY and resolves; the worker
 *   then serves in the background.
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
 * - {@link close} finishes the requests being handled, sends their
 *   replies, then DISCONNECT (the broker requeues the requests that were
 *   still waiting), and closes.
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
 * ```
 */
export class MajordomoWorker extends EventEmitter<MajordomoWorkerEvents> {
  /** The service this worker serves. */
  readonly service: string;
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;

  readonly #handler: MajordomoHandler;
  readonly #onError: ((err: unknown, request: Buffer[]) => MajordomoReply) | undefined;
  readonly #trace: TraceFn | undefined;
  readonly #heartbeatMs: number;
  readonly #liveness: number;
  readonly #reconnectMs: number;
  readonly #concurrency: number;
  readonly #stats: WorkerStats = { requests: 0, replies: 0, handlerErrors: 0, repliesDropped: 0, connections: 0, reconnects: 0, malformed: 0 };

  #loop = new ZLoop();
  #socket: ZSocket<"DEALER"> | undefined;
  /** Bumped on every (re)connection: a reply for an older one is dropped. */
  #generation = 0;
  #lastHeard = 0;
  /** True once the broker sent a well-formed message on the current connection. */
  #brokerSeen = false;
  #lastConnect = -Infinity;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** Requests received, waiting for a handler. */
  #jobs = new Deque<Job>();
  /** Handlers running now. */
  #active = 0;
  /** True while `#pump` starts jobs (a synchronous handler finishing inside it does not recurse). */
  #pumping = false;
  /** Called when the last running handler finishes (close() waits on it). */
  #onIdle: (() => void) | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link MajordomoWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, or an
   *   `mmi.*` service
   */
  constructor(options: MajordomoWorkerOptions) {
    super();
    const o = readOptions(options, { owner: "MajordomoWorker", known: OPTION_NAMES });
    this.endpoint = readEndpoint(o);
    this.service = o.requiredString("service", "echo");
    const problem = serviceNameProblem(this.service);
    if (problem !== undefined) o.fail("service", `must be a valid service name: ${problem}`);
    if (isMmiService(this.service)) o.fail("service", `"${this.service}" is reserved: mmi.* services are answered by the broker (8/MMI)`);
    this.#handler = o.requiredFunction<MajordomoHandler>("handler", "async (request: Buffer[]) => reply");
    this.#onError = o.function("onError", "(err, request: Buffer[]) => reply");
    this.#trace = o.function<TraceFn>("trace");
    this.#heartbeatMs = o.number("heartbeatIntervalMs", DEFAULT_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#liveness = o.number("liveness", DEFAULT_LIVENESS, { min: 1, integer: true });
    this.#reconnectMs = o.number("reconnectMs", DEFAULT_RECONNECT_MS, { min: 0 });
    this.#concurrency = o.number("concurrency", DEFAULT_CONCURRENCY, { min: 1, integer: true });
  }

  /** The worker's counters, live (read-only). */
  get stats(): Readonly<WorkerStats> {
    return this.#stats;
  }

  /** True while a request is being handled. */
  get busy(): boolean {
    return this.#active > 0;
  }

  /**
   * Requests received and not answered yet: being handled, or waiting for
   * a handler (at most the broker's `workerPrefetch`).
   */
  get inHand(): number {
    return this.#active + this.#jobs.length;
  }

  /** How many requests the handler may work on at once (the `concurrency` option). */
  get concurrency(): number {
    return this.#concurrency;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Connects to the broker and sends READY; the worker then serves in the
   * background until {@link close} (or an interrupt after
   * `handleInterrupts()`, which closes it). Idempotent.
   *
   * @returns resolves once READY is sent (handed to libzmq)
   * @throws `ClosedError` (rejects) after {@link close}; when the socket
   *   cannot be created or connected, that error (the worker is then closed)
   */
  start(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError("MajordomoWorker.start: the worker is closed"));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#loop.timer(this.#heartbeatMs, 0, () => this.#tick());
    this.#loop.start().then(
      () => {
        if (this.#closing === undefined) {
          log.info("worker %s: interrupted, closing", this.service);
          void this.close();
        }
      },
      (err: unknown) => {
        log.error("worker %s: loop failed: %s", this.service, (err as Error)?.stack ?? String(err));
        void this.close();
      },
    );
    try {
      await this.#connect();
    } catch (err) {
      this.#closing ??= this.#close();
      throw err;
    }
  }

  async #connect(): Promise<void> {
    if (this.#closing !== undefined) return;
    this.#lastConnect = now();
    this.emit("connecting", { endpoint: this.endpoint, connection: this.#stats.connections + 1 });
    const socket = await ZSocket.dealer(this.endpoint);
    if (this.#closing !== undefined) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#generation++;
    this.#lastHeard = now();
    this.#brokerSeen = false;
    this.#loop.reader(socket, (frames) => this.#onMessage(frames));
    this.#loop.readerSetTolerant(socket);
    this.#stats.connections++;
    await this.#send(encodeReady(this.service));
    log.info("worker %s: READY sent to %s", this.service, this.endpoint);
    this.emit("ready", { service: this.service, connection: this.#stats.connections });
  }

  #send(frames: Buffer[]): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined || socket.closed) return Promise.resolve();
    this.#trace?.({ direction: "out", socket: "broker", frames });
    return socket.send(frames).catch((err: unknown) => log.debug("worker %s: send failed: %s", this.service, (err as Error).message));
  }

  /** The heartbeat timer: broker liveness, then our HEARTBEAT. */
  #tick(): void {
    if (this.#socket === undefined || this.#closing !== undefined) return;
    if (now() - this.#lastHeard > this.#heartbeatMs * this.#liveness) {
      log.warn("worker %s: no message from the broker for %d ms, reconnecting in %d ms", this.service, Math.round(now() - this.#lastHeard), this.#reconnectMs);
      this.#drop("broker-lost", this.#reconnectMs);
      return;
    }
    void this.#send(encodeHeartbeat());
  }

  #onMessage(frames: Buffer[]): void {
    this.#trace?.({ direction: "in", socket: "broker", frames });
    this.#lastHeard = now();
    const msg = decodeWorkerMessage(frames);
    if (!this.#brokerSeen && msg.kind !== "invalid") {
      this.#brokerSeen = true;
      log.info("worker %s: the broker at %s answered", this.service, this.endpoint);
      this.emit("broker-seen", { connection: this.#stats.connections, first: msg.kind });
    }
    switch (msg.kind) {
      case "request":
        this.#stats.requests++;
        if (this.#closing !== undefined) return; // said or saying DISCONNECT: the broker requeues it
        this.#jobs.push({ generation: this.#generation, client: msg.client, body: msg.body });
        this.#pump();
        return;
      case "heartbeat":
        return;
      case "disconnect": {
        log.info("worker %s: DISCONNECT from the broker, reconnecting", this.service);
        const wait = Math.max(0, this.#lastConnect + this.#reconnectMs - now());
        this.#drop("disconnect", wait);
        return;
      }
      case "invalid":
        this.#stats.malformed++;
        log.warn("worker %s: dropped a malformed message from the broker: %s", this.service, msg.error.message);
        this.emit("malformed", { reason: msg.error.message, frame: msg.error.frame });
        return;
    }
  }

  /** Starts waiting jobs while fewer than `concurrency` handlers run. */
  #pump(): void {
    if (this.#pumping) return; // a synchronous handler finished inside the loop below: it goes on
    this.#pumping = true;
    try {
      while (this.#active < this.#concurrency && this.#jobs.length > 0) {
        this.#active++;
        this.#run(this.#jobs.shift()!);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Runs the handler on one job; its reply is sent when it is done (at once for a synchronous handler). */
  #run(job: Job): void {
    let result: Promise<MajordomoReply> | MajordomoReply;
    try {
      result = this.#handler(job.body);
    } catch (err) {
      this.#done(job, this.#failed(err, job.body));
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (reply) => this.#done(job, reply),
        (err: unknown) => this.#done(job, this.#failed(err, job.body)),
      );
    } else {
      this.#done(job, result);
    }
  }

  /** A handler finished: sends its reply (unless its connection is gone) and starts the next job. */
  #done(job: Job, result: unknown): void {
    let reply = result as MajordomoReply;
    if (!isMessageLike(reply)) reply = this.#failed(new InvalidArgumentError("the handler must return a frame (Buffer, string, ...) or an array of frames"), job.body);
    this.#active--;
    if (job.generation !== this.#generation || this.#socket === undefined) {
      this.#stats.repliesDropped++;
      log.warn("worker %s: the connection of a request was dropped while it was handled; its reply is discarded", this.service);
    } else {
      this.#stats.replies++;
      // not awaited: the socket's send queue keeps replies in order, and what
      // a worker can have to send is bounded by what the broker sent it
      void this.#send(encodeReply(job.client, toBody(reply)));
    }
    if (this.#active === 0 && this.#onIdle !== undefined) {
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle();
    }
    if (this.#closing === undefined) this.#pump();
  }

  #failed(err: unknown, request: Buffer[]): MajordomoReply {
    this.#stats.handlerErrors++;
    log.warn("worker %s: the handler failed: %s", this.service, (err as Error)?.stack ?? String(err));
    this.emit("handler-error", { error: err, request });
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

  /** Drops the connection and reconnects after `delayMs`. */
  #drop(reason: "broker-lost" | "disconnect", delayMs: number): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    this.#generation++;
    socket.close();
    this.#jobs.clear(); // every waiting job belongs to the dropped connection
    this.#stats.reconnects++;
    this.emit("disconnected", { reason, brokerSeen: this.#brokerSeen, silentMs: Math.round(now() - this.#lastHeard), reconnectInMs: delayMs });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().catch((err: unknown) => {
        log.error("worker %s: reconnect failed: %s", this.service, (err as Error)?.message ?? String(err));
        if (this.#closing === undefined) this.#retryConnect();
      });
    }, delayMs);
  }

  #retryConnect(): void {
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().catch(() => {
        if (this.#closing === undefined) this.#retryConnect();
      });
    }, Math.max(this.#reconnectMs, 100));
  }

  /**
   * Closes the worker gracefully: finishes the requests being handled and
   * sends their replies, then sends DISCONNECT (requests that were waiting
   * for a handler, or that the broker sent meanwhile, go back to its queue),
   * and closes the socket. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    this.#jobs.clear();
    await this.#starting?.catch(() => {});
    if (this.#active > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    const socket = this.#socket;
    if (socket !== undefined && !socket.closed) {
      await this.#send(encodeDisconnect());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([socket.flush(), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    this.#socket = undefined;
    socket?.close();
    this.#loop.destroy();
    log.info("worker %s: closed", this.service);
    this.emit("close");
  }

  /** Closes the worker (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function isThenable(value: unknown): value is PromiseLike<MajordomoReply> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
