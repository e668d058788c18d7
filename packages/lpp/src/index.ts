/**
 * `@zkit/lpp`: the Lazy Pirate pattern of the ZeroMQ Guide (chapter 4,
 * "Client-Side Reliability") as a library. {@link LazyPirateClient} sends
 * requests over a REQ socket with a timeout per attempt and a fresh socket
 * for every retry, and gives up with a typed {@link RetriesExhaustedError}.
 * Wire-compatible with the Guide's lpserver and any REP server.
 *
 * @packageDocumentation
 */
export {
  LazyPirateClient,
  type LazyPirateClientEvents,
  type LazyPirateClientOptions,
  type LazyPirateClientStats,
  type LazyPirateRequestOptions,
  type RetryEvent,
  type UnmatchedEvent,
} from "./client.js";
export { RetriesExhaustedError, Reply } from "@zkit/reliability";
export { LPP_RETRIES, LPP_TIMEOUT_MS, decodeSequence, echoMatch, encodeSequence, sameFrames, type MatchFn } from "./protocol.js";
