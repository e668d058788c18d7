/**
 * `@zkit/clone`: the Clone pattern of the ZeroMQ Guide (chapter 5,
 * "Reliable Pub-Sub (Clone Pattern)"; 12/CHP) as a library: a replicated
 * key-value store. {@link CloneServer} holds the map and publishes every
 * change with a strictly increasing sequence, serves snapshots of subtrees,
 * expires ephemeral keys and sends HUGZ when idle; {@link CloneClient}
 * keeps a copy (snapshot, then live updates with no gap), sends updates,
 * moves to the other server when one goes silent, and resyncs when updates
 * were lost. Two servers make a Binary Star pair (the `bstar` option, on
 * `@zkit/bstar`): the passive follows the active and holds the client
 * updates it has not seen published ({@link PendingList}), and publishes
 * them when it takes over. The messages are `KVMsg` of `@zkit/kvmsg`.
 *
 * @packageDocumentation
 */
export {
  CloneServer,
  CLONE_DIALECT,
  CLONE_HUGZ_INTERVAL_MS,
  CLONE_MAX_FRAME_BYTES,
  CLONE_RANDOM_PORT_ATTEMPTS,
  CLONE_RANDOM_PORT_FIRST,
  CLONE_RANDOM_PORT_LAST,
  CLONE_SNAPSHOT_SEND_TIMEOUT_MS,
  CLONE_TTL_CHECK_INTERVAL_MS,
  CLONE_PEER_TTL_MS,
  CLONE_SEEN_MEMORY_MS,
  type ClonePairOptions,
  type CloneServerEvents,
  type CloneServerOptions,
  type CloneServerStats,
} from "./server.js";
export {
  CloneClient,
  CLONE_MAX_SERVERS,
  CLONE_RESYNC_INITIAL_MS,
  CLONE_RESYNC_MAX_MS,
  CLONE_SERVER_TTL_MS,
  CLONE_SET_TIMEOUT_MS,
  CLONE_SNAPSHOT_TIMEOUT_MS,
  CLONE_SUBSCRIBE_SETTLE_MS,
  type CloneChange,
  type CloneClientEvents,
  type CloneClientOptions,
  type CloneClientStats,
  type CloneResyncReason,
  type CloneSetOptions,
} from "./client.js";
export { PendingList, type PendingUpdate } from "./pending.js";
export { CloneStore, type StoreEntry, type StoreSnapshot } from "./store.js";
export {
  CLONE_PORT,
  HUGZ,
  ICANHAZ,
  KTHXBAI,
  decodeIcanhaz,
  decodeKvset,
  decodeSnapshotReply,
  decodeUpdate,
  encodeHugz,
  encodeIcanhaz,
  encodeKthxbai,
  encodeKvsync,
  inSubtree,
  ttlSeconds,
  type CloneDialect,
  type SnapshotReply,
  type SnapshotRequest,
  type Update,
} from "./protocol.js";
