/**
 * `@zkit/ppp`: the Paranoid Pirate pattern of the ZeroMQ Guide (chapter 4,
 * "Robust Reliable Queuing"; 6/PPP) as a library. {@link ParanoidPirateQueue}
 * is the heartbeating LRU queue that expires dead workers, idle or busy;
 * {@link ParanoidPirateWorker} is a DEALER worker that heartbeats, answers
 * requests with a handler and reconnects with exponential back-off.
 * Wire-compatible with the Guide's ppqueue and ppworker; clients are plain
 * Lazy Pirate clients (`@zkit/lpp`).
 *
 * @packageDocumentation
 */
export {
  ParanoidPirateQueue,
  PPP_MAX_DELIVERIES,
  PPP_MAX_FRAME_BYTES,
  type ParanoidPirateQueueEvents,
  type ParanoidPirateQueueOptions,
  type ParanoidPirateQueueStats,
  type WorkerGoneReason,
} from "./queue.js";
export {
  ParanoidPirateWorker,
  type ParanoidPirateHandler,
  type ParanoidPirateJob,
  type ParanoidPirateWorkerEvents,
  type ParanoidPirateWorkerOptions,
  type ParanoidPirateWorkerStats,
} from "./worker.js";
export {
  PPP_HEARTBEAT,
  PPP_HEARTBEAT_INTERVAL_MS,
  PPP_LIVENESS,
  PPP_READY,
  PPP_RECONNECT_INITIAL_MS,
  PPP_RECONNECT_MAX_MS,
  decodeBackend,
  decodeClientRequest,
  decodeWorkerInput,
  encodeClientReply,
  encodeHeartbeat,
  encodeQueueHeartbeat,
  encodeReady,
  encodeWorkerReply,
  encodeWorkerRequest,
  type BackendMessage,
  type ClientRequest,
  type WorkerInput,
} from "./protocol.js";
