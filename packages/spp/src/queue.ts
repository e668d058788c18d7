/**
 * SimplePirateQueue: the Simple Pirate queue (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a ROUTER frontend for REQ clients, a ROUTER
 * backend for REQ workers, and a least-recently-used list of ready workers.
 * It reads the frontend only while a worker is ready. It is the reliability
 * layer's `QueueServer` (the same as Paranoid Pirate's) with Simple
 * Pirate's frames and no heartbeat.
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
import { decodeBackend, decodeClientRequest, encodeClientReply, encodeWorkerRequest } from "./protocol.js";

const log = getLogger("spp");

/** Default of {@link SimplePirateQueueOptions.maxFrameBytes}: 16 MiB. */
export const SPP_MAX_FRAME_BYTES = QUEUE_MAX_FRAME_BYTES;
/** Default of {@link SimplePirateQueueOptions.maxDeliveries}. */
export const SPP_MAX_DELIVERIES = QUEUE_MAX_DELIVERIES;

/**
 * Options of a {@link SimplePirateQueue}: `frontend`, `backend`,
 * `maxFrameBytes` (default {@link SPP_MAX_FRAME_BYTES}), `maxDeliveries`
 * (default {@link SPP_MAX_DELIVERIES}), `trace`; see `QueueServerOptions` of
 * `@zkit/reliability`.
 */
export type SimplePirateQueueOptions = QueueServerOptions;

/**
 * Why a worker left (`worker-gone`): its connection ended
 * (`"disconnected"`), or a request could not be delivered to it
 * (`"unreachable"`). Simple Pirate has no heartbeat, so no worker leaves
 * for being silent.
 */
export type WorkerGoneReason = Exclude<QueueWorkerGoneReason, "silent">;

/** The events of a {@link SimplePirateQueue}: the standard events of a queue (`QueueServerEvents` of `@zkit/reliability`), workers and clients by routing id in hex. */
export type SimplePirateQueueEvents = QueueServerEvents<WorkerGoneReason>;

/** The counters of a {@link SimplePirateQueue}, since it started (`QueueServerStats` of `@zkit/reliability`); `workersExpired` counts workers disconnected or unreachable. */
export type SimplePirateQueueStats = QueueServerStats;

/**
 * A Simple Pirate queue. Clients are REQ sockets (plain Lazy Pirate
 * clients); workers are REQ sockets that send READY once and then answer
 * requests ({@link SimplePirateWorker}, or the Guide's spworker in any
 * language).
 *
 * - Requests go to the worker that has been ready the longest (LRU).
 * - The frontend is read only while a worker is ready; requests wait in the
 *   frontend socket (its high-water mark applies) when none is.
 * - A worker whose connection ends (its process died) leaves at once; a
 *   request sent to a worker that is gone fails at once (the backend
 *   ROUTER is `mandatory`) and is not lost.
 * - A request whose worker leaves before answering goes to the next
 *   worker, up to `maxDeliveries` workers. A worker that hangs with its
 *   connection open is not detected (Simple Pirate has no heartbeats: that
 *   is what Paranoid Pirate, `@zkit/ppp`, adds); the client's Lazy Pirate
 *   retry recovers its request.
 * - A reply goes to a client only if it answers the request the queue gave
 *   that worker: anything else is dropped as forged.
 * - Both sockets refuse frames over `maxFrameBytes` before receiving them.
 * - Malformed or out-of-order messages (a reply before READY, a second
 *   READY) are dropped, counted and logged as warnings on `zkit:spp`; the
 *   queue never stops for them.
 *
 * @example
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://*:5555", backend: "tcp://*:5556" });
 * queue.on("worker-ready", ({ worker }) => console.log(`worker ${worker} ready`));
 * await queue.start();
 * await queue.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class SimplePirateQueue extends QueueServer<WorkerGoneReason> {
  /**
   * @param options - see {@link SimplePirateQueueOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateQueueOptions) {
    super(options, {
      owner: "SimplePirateQueue",
      channel: "zkit:spp:queue",
      log,
      example: '{ frontend: "tcp://*:5555", backend: "tcp://*:5556" }',
      codec: { decodeBackend, decodeClientRequest, encodeClientReply, encodeWorkerRequest },
    });
  }
}
