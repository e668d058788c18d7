/**
 * SimplePirateQueue: the Simple Pirate queue (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a ROUTER frontend for REQ clients, a ROUTER
 * backend for REQ workers, and a least-recently-used list of ready workers.
 * It reads the frontend only while a worker is ready.
 * @module
 */
import { EventEmitter } from "node:events";
import {
  ErrorCode,
  LogBurst,
  ProtocolError,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  ZkitError,
  getLogger,
  isRouterNotification,
  parseEndpoints,
  readOptions,
  type TraceFn,
} from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { decodeBackend, decodeClientRequest, encodeClientReply, encodeWorkerRequest, type ClientRequest } from "./protocol.js";

const log = getLogger("spp");
const forgedLog = new LogBurst(log, "forged replies dropped (see stats.forged)");

/** Default of {@link SimplePirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const SPP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link SimplePirateQueueOptions.maxDeliveries}. */
export const SPP_MAX_DELIVERIES = 3;

/** A request the queue accepted, with how many workers it was given to. */
interface HeldRequest extends ClientRequest {
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
   * sender) before receiving it.
   * @defaultValue 16777216 (16 MiB, {@link SPP_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * How many workers one request may be given to: a request whose worker's
   * connection ends before it answers goes to the next worker, up to this
   * many in all, then it is dropped (counted in `stats.lostRequests`).
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

/** What `worker-ready` reports. */
export interface WorkerReadyEvent {
  /** The worker's routing id at the backend. */
  readonly identity: Buffer;
}

/** What `worker-lost` reports. */
export interface WorkerLostEvent {
  /** The worker's routing id at the backend. */
  readonly identity: Buffer;
}

/** The events of a {@link SimplePirateQueue}. */
export interface SimplePirateQueueEvents {
  /** A worker sent READY: it joins the ready list. */
  "worker-ready": [event: WorkerReadyEvent];
  /**
   * A worker is gone: its connection ended, or a request could not be
   * handed to it. It is forgotten, and the request it held (if any) goes to
   * the next ready worker.
   */
  "worker-lost": [event: WorkerLostEvent];
}

/** The counters of a {@link SimplePirateQueue}, since it started. */
export interface SimplePirateQueueStats {
  /** Well-formed requests read from the frontend. */
  readonly requests: number;
  /** Replies passed back to clients. */
  readonly replies: number;
  /** Malformed messages dropped (either socket). */
  readonly malformed: number;
  /** Workers gone: their connection ended, or a request could not be sent to them. */
  readonly workersLost: number;
  /** Requests given to another worker because the first was gone. */
  readonly redispatched: number;
  /** Replies dropped because they answer no request the queue gave that worker: never forwarded. */
  readonly forged: number;
  /** Requests dropped after `maxDeliveries` workers were lost holding them. */
  readonly lostRequests: number;
}

type State = "new" | "starting" | "running" | "closed";

/**
 * A Simple Pirate queue. Clients are REQ sockets (plain Lazy Pirate
 * clients); workers are REQ sockets that send READY once and then answer
 * requests ({@link SimplePirateWorker}, or the Guide's spworker in any
 * language).
 *
 * - Requests go to the worker that has been ready the longest (LRU).
 * - The frontend is read only while a worker is ready; requests wait in the
 *   frontend socket (its high-water mark applies) when none is.
 * - A request sent to a worker that has disconnected since it became ready
 *   is not lost: the queue notices (the backend ROUTER reports unroutable
 *   messages), forgets the worker and gives the request to the next one.
 * - A worker whose connection ends (its process died) is forgotten at once;
 *   a request it held goes to the next worker (up to `maxDeliveries`). A
 *   worker that hangs with its connection open is not detected (Simple
 *   Pirate has no heartbeats: that is what Paranoid Pirate, `@zkit/ppp`,
 *   adds); the client's Lazy Pirate retry recovers its request.
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - A malformed message is dropped, counted in `stats.malformed` and
 *   logged as a warning on `zkit:spp`.
 *
 * @example
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://*:5555", backend: "tcp://*:5556" });
 * queue.on("worker-ready", ({ identity }) => console.log(`worker ${identity.toString("hex")} ready`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class SimplePirateQueue extends EventEmitter<SimplePirateQueueEvents> {
  readonly #frontendSpec: string;
  readonly #backendSpec: string;
  readonly #maxFrameBytes: number;
  readonly #maxDeliveries: number;
  readonly #trace: TraceFn | undefined;
  readonly #loop = new ZLoop();
  #frontend: ZSocket<"ROUTER"> | undefined;
  #backend: ZSocket<"ROUTER"> | undefined;
  /** Ready workers, least recently used first (a Map keeps insertion order). */
  readonly #ready = new Map<string, Buffer>();
  /** Busy workers and the request each holds. */
  readonly #busy = new Map<string, HeldRequest>();
  /** Accepted requests whose worker was gone, waiting for the next ready worker. */
  readonly #held: HeldRequest[] = [];
  #reading = false;
  #state: State = "new";
  #done: Promise<void> = Promise.resolve();
  #stats = { requests: 0, replies: 0, malformed: 0, workersLost: 0, redispatched: 0, forged: 0, lostRequests: 0 };

  /**
   * @param options - see {@link SimplePirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateQueueOptions) {
    super();
    const o = readOptions(options, { owner: "SimplePirateQueue", example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }' });
    this.#frontendSpec = o.requiredString("frontend", "tcp://*:5555", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#frontendSpec, true);
    this.#backendSpec = o.requiredString("backend", "tcp://*:5556", "a CZMQ endpoint list to bind");
    parseEndpoints(this.#backendSpec, true);
    this.#maxFrameBytes = o.number("maxFrameBytes", SPP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    this.#maxDeliveries = o.number("maxDeliveries", SPP_MAX_DELIVERIES, { min: 1, integer: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
  }

  /** The frontend's real endpoint (the last one bound), once started. */
  get frontendEndpoint(): string {
    return this.#frontend?.endpoint ?? "";
  }

  /** The backend's real endpoint (the last one bound), once started. */
  get backendEndpoint(): string {
    return this.#backend?.endpoint ?? "";
  }

  /** Workers ready for a request right now. */
  get readyWorkers(): number {
    return this.#ready.size;
  }

  /** The counters since the queue started (a snapshot). */
  get stats(): SimplePirateQueueStats {
    return { ...this.#stats };
  }

  /** True from {@link SimplePirateQueue.start} until the queue stops. */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Settles when the queue has stopped and closed its sockets: after
   * {@link SimplePirateQueue.close}, or once the process is interrupted
   * (`handleInterrupts()` of `@zkit/core`). Rejects only if its reactor
   * failed, with that error.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Binds both sockets and starts serving; resolves once bound.
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close;
   *   `ZKIT_ADDRESS_IN_USE` and other bind errors (nothing stays open then)
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `SimplePirateQueue.start: the queue is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    try {
      this.#frontend = await ZSocket.router(this.#frontendSpec, { maxMessageSize });
      // mandatory + no send timeout: a request to a worker that is gone fails
      // at once (instead of vanishing), so it can go to another worker;
      // routerNotify: a worker whose connection ends is known at once
      this.#backend = await ZSocket.router(this.#backendSpec, { mandatory: true, sendTimeout: 0, routerNotify: ROUTER_NOTIFY_DISCONNECT, maxMessageSize });
    } catch (err) {
      this.#frontend?.close();
      this.#state = "closed";
      throw err;
    }
    if (this.#state !== "starting") {
      this.#closeSockets();
      throw new ZkitError(ErrorCode.Closed, "SimplePirateQueue.start: closed while starting");
    }
    this.#state = "running";
    this.#loop.reader(this.#backend, this.#onBackend);
    this.#done = this.#loop.start().then(
      () => this.#stopped(),
      (err: unknown) => {
        log.error("queue stopped by an error: %s", (err as Error)?.message ?? String(err));
        this.#stopped();
        throw err;
      },
    );
    this.#done.catch(() => {});
    log.info("queue started: frontend %s, backend %s", this.frontendEndpoint, this.backendEndpoint);
  }

  /**
   * Stops reading, lets the messages already sent leave (the sockets'
   * linger), closes both sockets. Idempotent; resolves once stopped.
   */
  async close(): Promise<void> {
    if (this.#state === "new" || this.#state === "starting") {
      this.#state = "closed";
      return;
    }
    if (this.#state === "running") this.#loop.stop();
    await this.#done.catch(() => {});
  }

  /** Closes the queue (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stopped(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#loop.destroy();
    this.#ready.clear();
    this.#busy.clear();
    if (this.#held.length) log.warn("closed with %d request(s) held for a worker", this.#held.length);
    this.#held.length = 0;
    this.#closeSockets();
    log.info("queue stopped");
  }

  #closeSockets(): void {
    this.#frontend?.close();
    this.#backend?.close();
  }

  #onBackend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "backend", frames: msg });
    if (isRouterNotification(msg)) {
      this.#workerGone(msg[0]!, "its connection ended");
      return;
    }
    const m = decodeBackend(msg);
    if (m instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("backend: dropped a malformed message (%s)", m.message);
      return;
    }
    const key = m.worker.toString("latin1");
    const held = this.#busy.get(key);
    if (m.kind === "reply") {
      if (held === undefined || !held.client.equals(m.client)) {
        // only the answer to the request this worker was given goes out
        this.#stats.forged++;
        forgedLog.record("backend: dropped a reply from worker %s for client %s: it was never given that client's request", m.worker.toString("hex"), m.client.toString("hex"));
        return;
      }
      this.#busy.delete(key);
      const out = encodeClientReply(m.client, m.body);
      this.#trace?.({ direction: "out", socket: "frontend", frames: out });
      void this.#frontend!.send(out);
      this.#stats.replies++;
    } else {
      log.debug("worker %s ready", m.worker.toString("hex"));
      this.#emit("worker-ready", { identity: m.worker });
      if (held !== undefined) {
        // READY while holding a request: it starts over; the request goes on
        this.#busy.delete(key);
        this.#giveBack(held);
      }
    }
    this.#workerReady(m.worker);
  };

  /** A worker is gone: off the ready list, and its request (if any) to the next worker. */
  #workerGone(worker: Buffer, why: string): void {
    const key = worker.toString("latin1");
    const wasReady = this.#ready.delete(key);
    const held = this.#busy.get(key);
    this.#busy.delete(key);
    if (!wasReady && held === undefined) return;
    this.#stats.workersLost++;
    log.warn("worker %s is gone (%s)%s", worker.toString("hex"), why, held !== undefined ? ": its request goes to the next worker" : "");
    this.#emit("worker-lost", { identity: worker });
    if (held !== undefined) this.#giveBack(held);
    this.#updateReading();
  }

  /**
   * A request whose worker is gone goes to the next worker, first in line:
   * the gone worker cannot answer it any more. At-least-once, as with the
   * client's own retry; dropped after `maxDeliveries` workers.
   */
  #giveBack(r: HeldRequest): void {
    if (r.deliveries >= this.#maxDeliveries) {
      this.#stats.lostRequests++;
      log.warn("a request from client %s was given to %d workers and none answered: dropped", r.client.toString("hex"), r.deliveries);
      return;
    }
    this.#stats.redispatched++;
    const next = this.#ready.entries().next();
    if (next.done) {
      this.#held.unshift(r);
    } else {
      this.#ready.delete(next.value[0]);
      this.#send(next.value[1], r);
    }
    this.#updateReading();
  }

  #onFrontend = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "frontend", frames: msg });
    const r = decodeClientRequest(msg);
    if (r instanceof ProtocolError) {
      this.#stats.malformed++;
      log.warn("frontend: dropped a malformed message (%s)", r.message);
      return;
    }
    this.#stats.requests++;
    this.#dispatch({ client: r.client, body: r.body, deliveries: 0 });
  };

  /** A worker can take a request: a held one first, else it joins the LRU list. */
  #workerReady(worker: Buffer): void {
    const held = this.#held.shift();
    if (held !== undefined) this.#send(worker, held);
    else this.#ready.set(worker.toString("latin1"), worker);
    this.#updateReading();
  }

  /** Gives `r` to the least recently used ready worker, or holds it. */
  #dispatch(r: HeldRequest): void {
    const next = this.#ready.entries().next();
    if (next.done) {
      this.#held.push(r);
    } else {
      this.#ready.delete(next.value[0]);
      this.#send(next.value[1], r);
    }
    this.#updateReading();
  }

  #send(worker: Buffer, r: HeldRequest): void {
    const key = worker.toString("latin1");
    this.#busy.set(key, r);
    r.deliveries++;
    const out = encodeWorkerRequest(worker, r.client, r.body);
    this.#trace?.({ direction: "out", socket: "backend", frames: out });
    this.#backend!.send(out).catch((err: unknown) => {
      if (this.#state !== "running" || this.#busy.get(key) !== r) return;
      // unroutable (the worker disconnected) or its pipe is full: either way
      // it will not answer; the request (which never left) goes on
      r.deliveries--;
      this.#workerGone(worker, (err as Error)?.message ?? String(err));
    });
  }

  /** Reads the frontend only while a worker is ready and nothing is held. */
  #updateReading(): void {
    const want = this.#ready.size > 0 && this.#held.length === 0 && this.#state === "running";
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.#loop.reader(this.#frontend!, this.#onFrontend);
    else this.#loop.readerEnd(this.#frontend!);
  }

  #emit<K extends keyof SimplePirateQueueEvents>(name: K, ...args: SimplePirateQueueEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}
