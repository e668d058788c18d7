/**
 * `@zkit/reliability`: the layer every zkit pattern stands on, so that none
 * writes heartbeats, expiry, reconnects, lifecycles or retries again:
 *
 * - {@link Lifecycle}: `start()`, graceful `close()`, `closed`, `done`,
 *   `await using`, events that never let a listener break a server, and a
 *   diagnostics channel per kind of object ({@link CHANNELS}).
 * - {@link Heartbeat} (one peer, from a worker or client) and
 *   {@link PeerExpiry} (many peers, from a server, O(1) per message).
 * - {@link Backoff}: reconnect delays, exponential with jitter.
 * - {@link HandlerRunner}: `handler(request, ctx)` with `ctx.signal`,
 *   concurrency, deadlines, or jobs pulled with `for await`.
 * - {@link withRetries} and {@link RetriesExhaustedError}: the Lazy Pirate
 *   loop; {@link Reply}: what clients resolve with.
 * - {@link WorkerQueue}, {@link QueueServer} and {@link QueueWorker}: the
 *   Pirate queues' LRU state, their server and their worker, written once
 *   for Simple and Paranoid Pirate.
 *
 * @packageDocumentation
 */
export { Lifecycle, stateError, type EventMap, type LifecycleEvents, type LifecycleOptions, type LifecycleState } from "./lifecycle.js";
export { CHANNELS, diagnosticsChannel, publish, type DiagnosticsChannelName, type DiagnosticsMessage } from "./diagnostics.js";
export { Heartbeat, type HeartbeatOptions } from "./heartbeat.js";
export { PeerExpiry, type ExpiryHandle } from "./expiry.js";
export { Backoff, type BackoffOptions } from "./backoff.js";
export { HandlerRunner, type Handler, type HandlerContext, type HandlerRunnerOptions, type Job, type SubmitOptions } from "./runner.js";
export { RetriesExhaustedError, withRetries, type RetryEvent, type RetryOptions } from "./retry.js";
export { Reply } from "./reply.js";
export { peerId } from "./peer.js";
export { PeerConnection, type ConnectionEvent, type PeerConnectionOptions } from "./connection.js";
export { WorkerQueue, type QueuedWork, type QueuedWorker, type WorkerQueueOptions } from "./worker-queue.js";
export {
  QueueServer,
  QUEUE_MAX_DELIVERIES,
  QUEUE_MAX_FRAME_BYTES,
  type QueueBackendMessage,
  type QueueCodec,
  type QueueHeartbeat,
  type QueueServerEvents,
  type QueueServerOptions,
  type QueueServerSpec,
  type QueueServerStats,
  type QueueWorkerGoneReason,
} from "./queue-server.js";
export {
  QueueWorker,
  type QueueHandler,
  type QueueJob,
  type QueueWorkerEvents,
  type QueueWorkerInput,
  type QueueWorkerOptions,
  type QueueWorkerSettings,
  type QueueWorkerSpec,
  type QueueWorkerStats,
} from "./queue-worker.js";
