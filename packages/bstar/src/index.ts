/**
 * `@zkit/bstar`: Binary Star, the ZeroMQ Guide's high-availability pair
 * (chapter 4), as a library.
 *
 * - {@link BinaryStar}: one server of the pair, a reactor others embed: it
 *   publishes its state to its peer, runs the state machine, and calls the
 *   application's handler for client requests only while it is active.
 * - {@link BinaryStarMachine}: the state machine alone, no sockets: the
 *   Guide's table, its PRIMARY race fixed, split brain resolved by a rule.
 * - {@link BinaryStarClient}: the Lazy Pirate client over the pair.
 * - The wire format: {@link encodeState}, {@link decodeState} and zkit's
 *   opt-in answer to rejected votes ({@link encodeRejected}).
 *
 * @packageDocumentation
 */
export {
  BinaryStar,
  BSTAR_CLOSE_GRACE_MS,
  BSTAR_CONCURRENCY,
  BSTAR_HANDLER_TIMEOUT_MS,
  BSTAR_MAX_FRAME_BYTES,
  type BinaryStarEvents,
  type BinaryStarOptions,
  type BinaryStarStats,
  type SplitBrainInfo,
  type StateChangeInfo,
  type VoteRejectedInfo,
  type VoterContext,
  type VoterHandler,
} from "./bstar.js";
export {
  BinaryStarClient,
  BSTAR_RETRIES,
  type BinaryStarClientEvents,
  type BinaryStarClientOptions,
  type BinaryStarClientStats,
  type BinaryStarRequestOptions,
  type FailoverInfo,
} from "./client.js";
export {
  BinaryStarMachine,
  type MachineConfig,
  type PeerStateOutcome,
  type RejectReason,
  type SplitBrain,
  type SplitBrainDecision,
  type Transition,
  type TransitionReason,
  type VoteOutcome,
} from "./machine.js";
/** What {@link BinaryStarClient} resolves with, and throws when no server answers (from `@zkit/reliability`). */
export { Reply, RetriesExhaustedError } from "@zkit/reliability";
export {
  BSTAR_HEARTBEAT_INTERVAL_MS,
  BSTAR_TIMEOUT_MS,
  BSTAR_SETTLE_DELAY_MS,
  PEER_EXPIRY_HEARTBEATS,
  REJECTED_HEADER,
  STATE_CODES,
  decodeRejected,
  decodeState,
  encodeRejected,
  encodeState,
  splitEnvelope,
  stateName,
  type BinaryStarRole,
  type BinaryStarState,
  type DecodedState,
} from "./protocol.js";
