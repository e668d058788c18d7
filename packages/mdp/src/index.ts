/**
 * `@zkit/mdp`: Majordomo (7/MDP, MDP/0.1, and 8/MMI; ZeroMQ Guide chapter 4)
 * as a library. {@link MajordomoBroker} is a service-oriented broker for
 * production; {@link MajordomoClient} (one request at a time, Lazy Pirate
 * retries), {@link MajordomoAsyncClient} (many requests in flight) and
 * {@link MajordomoWorker} (a handler per service) talk to it, or to the
 * Guide's C and Python brokers, unchanged on the wire.
 *
 * @packageDocumentation
 */
export {
  MajordomoBroker,
  MDP_MAX_DELIVERIES,
  MDP_MAX_FRAME_BYTES,
  MDP_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_PER_SERVICE,
  DEFAULT_MAX_SERVICES,
  DEFAULT_QUEUE_OVERFLOW,
  MDP_REQUEST_EXPIRY_MS,
  MDP_UNSERVED_EXPIRY_MS,
  MDP_WORKER_PREFETCH,
  type MajordomoBrokerOptions,
} from "./broker.js";
export type {
  BrokerSnapshot,
  BrokerStats,
  DropReason,
  DroppedInfo,
  ForgedInfo,
  LostInfo,
  MajordomoBrokerEvents,
  MalformedInfo,
  ReplyInfo,
  RequeuedInfo,
  WorkerGoneInfo,
  QueueOverflowPolicy,
  RequestInfo,
  ServiceSnapshot,
  WorkerGoneReason,
  WorkerInfo,
} from "./broker-state.js";
export { MajordomoClient, type MajordomoClientEvents, type MajordomoClientOptions, type MajordomoClientStats } from "./client.js";
export { Reply, RetriesExhaustedError, type RetryEvent } from "@zkit/reliability";
export {
  MajordomoAsyncClient,
  MDP_MAX_SOCKETS,
  MDP_MULTIPLEX,
  MDP_MAX_IN_FLIGHT,
  MDP_DISCOVERY_TIMEOUT_MS,
  type AsyncClientMode,
  type MultiplexMode,
  type MajordomoAsyncClientEvents,
  type MajordomoAsyncClientOptions,
  type MajordomoAsyncClientStats,
} from "./async-client.js";
export { MDP_RETRIES, MDP_TIMEOUT_MS, type MajordomoRequestOptions } from "./request.js";
export {
  MajordomoWorker,
  MDP_CLOSE_TIMEOUT_MS,
  MDP_CONCURRENCY,
  MDP_RECONNECT_MS,
  type MajordomoHandler,
  type MajordomoJob,
  type MajordomoReply,
  type MajordomoWorkerEvents,
  type MajordomoWorkerOptions,
  type WorkerStats,
} from "./worker.js";
export {
  MDPC01,
  MDPW01,
  MdpCommand,
  MDP_COMMAND_NAMES,
  MMI_PREFIX,
  MMI_SERVICE,
  MMI_STATS,
  MMI_ENVELOPE,
  MIN_CORRELATION_BYTES,
  MAX_CORRELATION_BYTES,
  MMI_OK,
  MMI_NOT_FOUND,
  MMI_NOT_IMPLEMENTED,
  MAX_SERVICE_BYTES,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_LIVENESS,
  decodeBrokerMessage,
  decodeClientReply,
  decodeEnvelopedClientReply,
  decodeWorkerMessage,
  encodeClientReply,
  encodeEnvelopeAddress,
  encodeEnvelopedClientReply,
  encodeEnvelopedRequest,
  encodeDisconnect,
  encodeHeartbeat,
  encodeReady,
  encodeReply,
  encodeRequest,
  encodeWorkerRequest,
  isMmiService,
  serviceNameProblem,
  toBody,
  toFrame,
  type BrokerInbound,
  type ClientInbound,
  type DecodeLimits,
  type EnvelopedClientInbound,
  type Invalid,
  type MdpCommandByte,
  type WorkerInbound,
} from "./protocol.js";
