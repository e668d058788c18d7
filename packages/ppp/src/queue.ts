/**
 * ParanoidPirateQueue: the 6/PPP queue (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): an LRU queue of DEALER workers that heartbeats every
 * worker and expires the silent ones, idle or busy. It is the reliability
 * layer's `QueueServer` (the same as Simple Pirate's) with 6/PPP's frames,
 * heartbeats and expiry on ZLoop tickets.
 * @module
 */
import { getLogger } from "@zkit/core";
import {
  QUEUE_MAX_DELIVERIES,
  QUEUE_MAX_FRAME_BYTES,
  QueueServer,
  type QueueServerEvents,
  type QueueServerOptions,
  type QueueServerStats,
  type QueueWorkerGoneReason,
} from "@zkit/reliability";
import { PPP_HEARTBEAT_INTERVAL_MS, PPP_LIVENESS, decodeBackend, decodeClientRequest, encodeClientReply, encodeQueueHeartbeat, encodeWorkerRequest } from "./protocol.js";

const log = getLogger("ppp");

/** Default of {@link ParanoidPirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const PPP_MAX_FRAME_BYTES = QUEUE_MAX_FRAME_BYTES;
/** Default of {@link ParanoidPirateQueueOptions.maxDeliveries}. */
export const PPP_MAX_DELIVERIES = QUEUE_MAX_DELIVERIES;

/**
 * Options of a {@link ParanoidPirateQueue}: those of every queue
 * (`frontend`, `backend`, `maxFrameBytes`, `maxDeliveries`, `trace`; see
 * `QueueServerOptions` of `@zkit/reliability`) and the heartbeat's.
 */
export interface ParanoidPirateQueueOptions extends QueueServerOptions {
  /**
   * How often the queue sends HEARTBEAT to every worker, in ms; workers
   * must use the same interval.
   * @defaultValue 1000 ({@link PPP_HEARTBEAT_INTERVAL_MS})
   */
  heartbeatIntervalMs?: number;
  /**
   * A worker silent for `liveness` heartbeat intervals is expired.
   * @defaultValue 3 ({@link PPP_LIVENESS})
   */
  liveness?: number;
}

/** Why a worker left (`worker-gone`): silent, disconnected or unreachable. */
export type WorkerGoneReason = QueueWorkerGoneReason;

/** The events of a {@link ParanoidPirateQueue}: the standard events of a queue (`QueueServerEvents` of `@zkit/reliability`), workers and clients by routing id in hex. */
export type ParanoidPirateQueueEvents = QueueServerEvents<WorkerGoneReason>;

/** The counters of a {@link ParanoidPirateQueue}, since it started (`QueueServerStats` of `@zkit/reliability`). */
export type ParanoidPirateQueueStats = QueueServerStats;

/**
 * A Paranoid Pirate queue (6/PPP). Clients are plain REQ sockets (Lazy
 * Pirate clients); workers are DEALER sockets that speak 6/PPP
 * ({@link ParanoidPirateWorker}, or the Guide's ppworker in any language).
 *
 * - A worker's first message must be READY; then it gets requests, least
 *   recently used first, one at a time.
 * - The frontend is read only while a worker is ready.
 * - Every `heartbeatIntervalMs` the queue sends HEARTBEAT to every worker,
 *   idle or busy. Any message from a worker refreshes its expiry; a worker
 *   silent for `liveness` intervals is expired whether idle or busy (the
 *   Guide's queue purges only up to the first live worker and never
 *   expires busy ones).
 * - A worker whose connection ends (its process died) leaves at once, not
 *   after `liveness` intervals; a request sent to a worker that is gone
 *   fails at once (the backend ROUTER is `mandatory`) and is not lost.
 * - A request whose worker leaves before answering (disconnected, silent,
 *   unreachable) goes to the next worker, up to `maxDeliveries` workers.
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - Both sockets refuse frames over `maxFrameBytes` before receiving them.
 * - Malformed or out-of-order messages are dropped, counted and logged as
 *   warnings on `zkit:ppp`; the queue never stops for them.
 *
 * @example
 * ```ts
 * const queue = new ParanoidPirateQueue({ frontend: "tcp://*:5555", backend: "tcp://*:5556" });
 * queue.on("worker-gone", ({ worker, reason }) => console.log(`lost ${worker} (${reason})`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class ParanoidPirateQueue extends QueueServer<WorkerGoneReason, ParanoidPirateQueueOptions> {
  /**
   * @param options - see {@link ParanoidPirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateQueueOptions) {
    super(options, {
      owner: "ParanoidPirateQueue",
      channel: "zkit:ppp:queue",
      log,
      example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }',
      codec: { decodeBackend, decodeClientRequest, encodeClientReply, encodeWorkerRequest },
      heartbeat: (o) => ({
        intervalMs: o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true }),
        liveness: o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals a worker may stay silent" }),
        frames: encodeQueueHeartbeat,
      }),
    });
  }

  /** The heartbeat interval in ms. */
  get heartbeatIntervalMs(): number {
    return this.heartbeat!.intervalMs;
  }

  /** The liveness in heartbeat intervals. */
  get liveness(): number {
    return this.heartbeat!.liveness;
  }
}
