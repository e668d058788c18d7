/**
 * SimplePirateWorker: a Simple Pirate worker (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a REQ socket that tells the queue it is ready,
 * then answers each request with a handler.
 * @module
 */
import { EventEmitter } from "node:events";
import { ErrorCode, ProtocolError, ZSocket, ZkitError, getLogger, parseEndpoints, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { decodeWorkerRequest, encodeReady, encodeWorkerReply } from "./protocol.js";

const log = getLogger("spp");

/**
 * Answers one request: gets the request's frames, returns the reply (one
 * frame or an array of frames; strings are sent as UTF-8), or a promise of
 * it. If it throws or rejects, the request gets no answer (the client's
 * Lazy Pirate retry sends it again, possibly to another worker).
 */
export type SimplePirateHandler = (request: Buffer[]) => MessageLike | Promise<MessageLike>;

/** Options of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerOptions {
  /**
   * The queue's backend, as a CZMQ endpoint list; no prefix connects, e.g.
   * `"tcp://localhost:5556"` (the Guide's).
   */
  endpoint: string;
  /** Answers each request; see {@link SimplePirateHandler}. */
  handler: SimplePirateHandler;
  /**
   * How long {@link SimplePirateWorker.close} waits for the request in
   * progress to be answered before closing anyway, in ms.
   * @defaultValue 2500 (a Lazy Pirate client's reference timeout: by then its
   *   client has resent the request)
   */
  closeTimeoutMs?: number;
  /**
   * Called with every message the worker receives or sends (`socket:
   * "queue"`), for tracing (`zkit spp worker -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** The events of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerEvents {
  /** READY was sent on a new socket: the worker waits for requests. */
  ready: [];
  /**
   * The handler threw or rejected, or returned something that is not a
   * message. The request is dropped and the worker starts over on a fresh
   * socket (a REQ socket cannot skip a reply).
   */
  "handler-error": [error: unknown];
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
}

/** Default of {@link SimplePirateWorkerOptions.closeTimeoutMs}. */
export const SPP_CLOSE_TIMEOUT_MS = 2500;

type State = "new" | "starting" | "running" | "closed";

/**
 * A Simple Pirate worker: connects a REQ socket to the queue's backend,
 * sends READY (`[0x01]`), then for each request `[client][""][body...]`
 * calls the handler with the body and sends back `[client][""][reply...]`.
 * One request at a time (REQ is lockstep). Multi-frame bodies and replies
 * pass through.
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
export class SimplePirateWorker extends EventEmitter<SimplePirateWorkerEvents> {
  readonly #endpoint: string;
  readonly #handler: SimplePirateHandler;
  readonly #closeTimeoutMs: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop = new ZLoop();
  #sock: ZSocket<"REQ"> | undefined;
  #state: State = "new";
  #done: Promise<void> = Promise.resolve();
  #finish: ((err?: unknown) => void) | undefined;
  #stats = { requests: 0, replies: 0, malformed: 0, handlerErrors: 0, reconnects: 0 };

  /**
   * @param options - see {@link SimplePirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateWorkerOptions) {
    super();
    const o = readOptions(options, { owner: "SimplePirateWorker", example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }' });
    this.#endpoint = o.requiredString("endpoint", "tcp://localhost:5556", "the queue's backend");
    parseEndpoints(this.#endpoint, false);
    this.#handler = o.requiredFunction("handler", "async (request: Buffer[]) => reply");
    this.#closeTimeoutMs = o.number("closeTimeoutMs", SPP_CLOSE_TIMEOUT_MS, { min: 0 });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
  }

  /** The counters since the worker started (a snapshot). */
  get stats(): SimplePirateWorkerStats {
    return { ...this.#stats };
  }

  /** True from {@link SimplePirateWorker.start} until the worker stops. */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Settles when the worker has stopped and closed its socket: after
   * {@link SimplePirateWorker.close}, or once the process is interrupted
   * (`handleInterrupts()` of `@zkit/core`). Rejects only if its reactor
   * failed, with that error.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Connects, sends READY and starts serving; resolves once READY is on its
   * way (the queue may not be up yet: libzmq connects when it is).
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `SimplePirateWorker.start: the worker is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    try {
      await this.#connect();
    } catch (err) {
      this.#state = "closed";
      throw err;
    }
    if (this.#state !== "starting") {
      this.#sock?.close();
      throw new ZkitError(ErrorCode.Closed, "SimplePirateWorker.start: closed while starting");
    }
    this.#state = "running";
    this.#done = new Promise<void>((resolve, reject) => {
      this.#finish = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.#done.catch(() => {});
    this.#loop.start().then(
      () => this.#stopped(),
      (err: unknown) => {
        log.error("worker stopped by an error: %s", (err as Error)?.message ?? String(err));
        this.#stopped(err);
      },
    );
  }

  /**
   * Stops taking requests, waits up to `closeTimeoutMs` for the request in
   * progress to be answered, then closes the socket. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state === "new" || this.#state === "starting") {
      this.#state = "closed";
      return;
    }
    if (this.#state === "running") this.#loop.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#closeTimeoutMs);
    });
    await Promise.race([this.#done.catch(() => {}), timeout]);
    clearTimeout(timer);
    this.#stopped();
  }

  /** Closes the worker (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the socket and settles `done`; the first call wins. */
  #stopped(err?: unknown): void {
    this.#state = "closed";
    this.#loop.destroy();
    this.#sock?.close();
    this.#sock = undefined;
    const finish = this.#finish;
    this.#finish = undefined;
    finish?.(err);
  }

  async #connect(): Promise<void> {
    const sock = await ZSocket.req(this.#endpoint);
    if (this.#state === "closed") {
      sock.close();
      return;
    }
    this.#sock = sock;
    this.#loop.reader(sock, this.#onRequest);
    const ready = encodeReady();
    this.#trace?.({ direction: "out", socket: "queue", frames: ready });
    await sock.send(ready);
    log.debug("worker ready");
    this.#emit("ready");
  }

  /** Replaces the socket: the only way out for a REQ socket that cannot reply. */
  async #reconnect(): Promise<void> {
    const old = this.#sock;
    if (old) {
      this.#loop.readerEnd(old);
      old.set("linger", 0);
      old.close();
    }
    this.#sock = undefined;
    if (this.#state !== "running") return;
    this.#stats.reconnects++;
    await this.#connect();
  }

  #onRequest = async (msg: Buffer[], sock: ZSocket<"REQ">): Promise<void> => {
    this.#trace?.({ direction: "in", socket: "queue", frames: msg });
    const r = decodeWorkerRequest(msg);
    if (r instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("dropped a malformed request (%s); starting over on a fresh socket", r.message);
      await this.#reconnect();
      return;
    }
    this.#stats.requests++;
    let reply: Buffer[];
    try {
      reply = toFrames(await this.#handler(r.body), "SimplePirateWorker handler result");
    } catch (err) {
      this.#stats.handlerErrors++;
      log.warn("the handler failed (%s); the request is dropped, starting over on a fresh socket", (err as Error)?.message ?? String(err));
      this.#emit("handler-error", err);
      if (sock === this.#sock) await this.#reconnect();
      return;
    }
    if (sock !== this.#sock || sock.closed) return;
    const out = encodeWorkerReply(r.client, reply);
    this.#trace?.({ direction: "out", socket: "queue", frames: out });
    await sock.send(out);
    this.#stats.replies++;
  };

  #emit<K extends keyof SimplePirateWorkerEvents>(name: K, ...args: SimplePirateWorkerEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}
