/**
 * `@zkit/flclient`: the Freelance pattern of the ZeroMQ Guide (chapter 4,
 * "Brokerless Reliability", 10/FLP) as a library: clients talk to several
 * servers directly, with no broker, and survive any of them dying.
 *
 * - {@link FreelanceClient} (model 3, the Guide's `flcliapi`): one ROUTER to
 *   every server, PINGs, server liveness, each request to the best live
 *   server and on to another when it does not answer, any number in flight.
 * - {@link FreelanceServer}: a 10/FLP server (ROUTER named by its endpoint,
 *   PING/PONG, the control frame echoed) running `handler(request, ctx)`.
 * - {@link FailoverClient} (model 1: REQ, one server after the other) and
 *   {@link ShotgunClient} (model 2: DEALER, every server at once, first
 *   reply wins).
 * - The protocol's frames as pure functions (`encodePing`, `decodeClientMessage`, ...).
 *
 * @packageDocumentation
 */
export { FreelanceClient, FLP_ATTEMPT_TIMEOUT_MS, FLP_DEMOTION_MS, type FreelanceClientOptions, type FreelanceRequestOptions } from "./client.js";
export type {
  DemotedInfo,
  FreelanceClientEvents,
  FreelanceClientStats,
  FreelanceRetryEvent,
  MalformedInfo,
  RetryReason,
  ServerInfo,
  ServerLostInfo,
  ServerLostReason,
  ServerSnapshot,
} from "./client-state.js";
export {
  FreelanceServer,
  FLP_CLOSE_GRACE_MS,
  FLP_CONCURRENCY,
  FLP_MAX_FRAME_BYTES,
  type FreelanceServerEvents,
  type FreelanceServerOptions,
  type FreelanceServerStats,
  type ServerHandlerErrorInfo,
  type ServerMalformedInfo,
} from "./server.js";
export {
  FailoverClient,
  FAILOVER_TIMEOUT_MS,
  type FailoverClientEvents,
  type FailoverClientOptions,
  type FailoverClientStats,
  type FailoverRequestOptions,
  type FailoverRetryEvent,
} from "./failover-client.js";
export {
  ShotgunClient,
  SHOTGUN_TIMEOUT_MS,
  type ShotgunClientEvents,
  type ShotgunClientOptions,
  type ShotgunClientStats,
  type ShotgunMalformedInfo,
  type ShotgunRequestOptions,
} from "./shotgun-client.js";
export {
  FLP_PING_INTERVAL_MS,
  FLP_SERVER_TTL_MS,
  FLP_TIMEOUT_MS,
  PING,
  PONG,
  decodeClientMessage,
  decodeControl,
  decodeServerMessage,
  encodeControl,
  encodePing,
  encodePong,
  encodeReply,
  encodeRequest,
  hasWildcardPort,
  printable,
  publicEndpoint,
  type ClientInbound,
  type Invalid,
  type ServerInbound,
} from "./protocol.js";
