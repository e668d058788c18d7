/**
 * MajordomoWorker: a 7/MDP worker that serves one service with a handler,
 * heartbeats, reconnects with a fresh socket when the broker is lost or
 * says DISCONNECT, and closes gracefully.
 * @module
 */
import { EventEmitter } from "node:events";
import { ClosedError, InvalidArgumentError, ZSocket, getLogger, now, parseEndpoints, type FrameLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { checkOptions, connectEndpoint, functionOption, numberOption, requiredString } from "./options.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LIVENESS,
  decodeWorkerMessage,
  encodeDisconnect,
  encodeHeartbeat,
  encodeReady,
  encodeReply,
  isBody,
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
  /** Serves each request; requests come one at a time. */
  handler: MajordomoHandler;
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
   * the convention is yours). Without it, the worker replies with no body
   * frames at all, so that the client is not left waiting.
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
  /** READY was sent on a fresh connection. */
  ready: [
    info: {
      /** The service registered. */
      service: string;
      /** Which connection this is: 1 for the first, 2 after the first reconnection, ... */
      connection: number;
    },
  ];
  /** The connection was dropped; the worker reconnects. */
  disconnected: [
    info: {
      /** The broker went silent (`broker-lost`) or sent DISCONNECT. */
      reason: "broker-lost" | "disconnect";
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

const OPTION_NAMES = ["endpoint", "service", "handler", "heartbeatIntervalMs", "liveness", "reconnectMs", "onError", "trace"] as const;

interface Job {
  generation: number;
  client: Buffer;
  body: Buffer[];
}

/**
 * A Majordomo worker (7/MDP): registers a service with the broker and
 * answers its requests with a handler, one request at a time.
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
 * - {@link close} finishes the request in hand, sends its reply, then
 *   DISCONNECT, and closes.
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
  readonly #stats: WorkerStats = { requests: 0, replies: 0, handlerErrors: 0, repliesDropped: 0, connections: 0, reconnects: 0, malformed: 0 };

  #loop = new ZLoop();
  #socket: ZSocket<"DEALER"> | undefined;
  /** Bumped on every (re)connection: a reply for an older one is dropped. */
  #generation = 0;
  #lastHeard = 0;
  #lastConnect = -Infinity;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #jobs: Job[] = [];
  /** True while {@link MajordomoWorker.#work} runs (set and cleared synchronously around its loop). */
  #working = false;
  /** The last run of {@link MajordomoWorker.#work}, for close() to wait on. */
  #current: Promise<void> = Promise.resolve();
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link MajordomoWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, or an
   *   `mmi.*` service
   */
  constructor(options: MajordomoWorkerOptions) {
    super();
    const o = checkOptions(options, "MajordomoWorker", OPTION_NAMES);
    this.endpoint = connectEndpoint(requiredString(o.endpoint, "endpoint", "tcp://127.0.0.1:5555"));
    parseEndpoints(this.endpoint, false); // throws InvalidEndpointError now rather than at start()
    this.service = requiredString(o.service, "service", "echo");
    const problem = serviceNameProblem(this.service);
    if (problem !== undefined) throw new InvalidArgumentError(`option service: ${problem}`);
    if (isMmiService(this.service)) throw new InvalidArgumentError(`option service: "${this.service}" is reserved: mmi.* services are answered by the broker (8/MMI)`);
    const handler = functionOption<MajordomoHandler>(o.handler, "handler");
    if (handler === undefined) throw new InvalidArgumentError("option handler is required: pass an async (request: Buffer[]) => reply function");
    this.#handler = handler;
    this.#onError = functionOption(o.onError, "onError");
    this.#trace = functionOption<TraceFn>(o.trace, "trace");
    this.#heartbeatMs = numberOption(o.heartbeatIntervalMs, "heartbeatIntervalMs", DEFAULT_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#liveness = numberOption(o.liveness, "liveness", DEFAULT_LIVENESS, { min: 1, integer: true });
    this.#reconnectMs = numberOption(o.reconnectMs, "reconnectMs", DEFAULT_RECONNECT_MS, { min: 0 });
  }

  /** The worker's counters, live (read-only). */
  get stats(): Readonly<WorkerStats> {
    return this.#stats;
  }

  /** True while a request is being handled. */
  get busy(): boolean {
    return this.#working;
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
    const socket = await ZSocket.dealer(this.endpoint);
    if (this.#closing !== undefined) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#generation++;
    this.#lastHeard = now();
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
    switch (msg.kind) {
      case "request":
        this.#stats.requests++;
        if (this.#closing !== undefined) return; // said or saying DISCONNECT: the broker requeues it
        this.#jobs.push({ generation: this.#generation, client: msg.client, body: msg.body });
        if (!this.#working) this.#current = this.#work();
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

  /** Runs queued jobs one at a time. */
  async #work(): Promise<void> {
    this.#working = true;
    try {
      for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
        let reply: MajordomoReply;
        try {
          const result = this.#handler(job.body);
          reply = isThenable(result) ? await result : result;
          if (!isBody(reply)) throw new InvalidArgumentError("the handler must return a frame (Buffer, string, ...) or an array of frames");
        } catch (err) {
          reply = this.#failed(err, job.body);
        }
        if (job.generation !== this.#generation || this.#socket === undefined) {
          this.#stats.repliesDropped++;
          log.warn("worker %s: the connection of a request was dropped while it was handled; its reply is discarded", this.service);
          continue;
        }
        this.#stats.replies++;
        await this.#send(encodeReply(job.client, toBody(reply)));
      }
    } finally {
      this.#working = false;
    }
  }

  #failed(err: unknown, request: Buffer[]): MajordomoReply {
    this.#stats.handlerErrors++;
    log.warn("worker %s: the handler failed: %s", this.service, (err as Error)?.stack ?? String(err));
    this.emit("handler-error", { error: err, request });
    if (this.#onError !== undefined) {
      try {
        const reply = this.#onError(err, request);
        if (isBody(reply)) return reply;
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
    this.#jobs = this.#jobs.filter((j) => j.generation === this.#generation);
    this.#stats.reconnects++;
    this.emit("disconnected", { reason });
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
   * Closes the worker gracefully: finishes the request in hand and sends
   * its reply, then sends DISCONNECT (a request the broker sent meanwhile
   * goes back to its queue), and closes the socket. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    this.#jobs = [];
    await this.#starting?.catch(() => {});
    if (this.#working) await this.#current;
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
