/**
 * `@zkit/spp`: the Simple Pirate pattern of the ZeroMQ Guide (chapter 4,
 * "Basic Reliable Queuing") as a library. {@link SimplePirateQueue} is the
 * LRU queue (ROUTER frontend for Lazy Pirate clients, ROUTER backend for
 * workers); {@link SimplePirateWorker} is a REQ worker that sends READY and
 * answers requests with a handler or a `for await` loop. Both stand on
 * `@zkit/reliability` (the same worker queue as Paranoid Pirate's, without
 * heartbeats). Wire-compatible with the Guide's spqueue and spworker.
 *
 * @packageDocumentation
 */
export {
  SimplePirateQueue,
  SPP_MAX_DELIVERIES,
  SPP_MAX_FRAME_BYTES,
  type SimplePirateQueueEvents,
  type SimplePirateQueueOptions,
  type SimplePirateQueueStats,
  type WorkerGoneReason,
} from "./queue.js";
export {
  SimplePirateWorker,
  SPP_CLOSE_TIMEOUT_MS,
  type SimplePirateHandler,
  type SimplePirateJob,
  type SimplePirateWorkerEvents,
  type SimplePirateWorkerOptions,
  type SimplePirateWorkerStats,
} from "./worker.js";
export {
  SPP_READY,
  decodeBackend,
  decodeClientRequest,
  decodeWorkerRequest,
  encodeClientReply,
  encodeReady,
  encodeWorkerReply,
  encodeWorkerRequest,
  type BackendMessage,
  type ClientRequest,
} from "./protocol.js";
