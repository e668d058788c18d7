/**
 * `@zkit/titanic`: Titanic, the ZeroMQ Guide's disconnected reliability
 * pattern (chapter 4; 9/TSP over 7/MDP Majordomo) as a library.
 * {@link Titanic} is the server: it registers `titanic.request`,
 * `titanic.reply` and `titanic.close` with a Majordomo broker, stores every
 * request durably before acknowledging it, and forwards stored requests to
 * their services whenever a worker serves them. {@link TitanicClient} sends
 * a request through it and collects the reply. The wire format is in
 * `protocol`; the file format in `record`.
 *
 * @packageDocumentation
 */
export {
  Titanic,
  TITANIC_DIR,
  TITANIC_DISPATCH_CONCURRENCY,
  TITANIC_DISPATCH_INTERVAL_MS,
  TITANIC_DISPATCH_TIMEOUT_MS,
  TITANIC_DURABILITY,
  TITANIC_MAX_REQUEST_BYTES,
  TITANIC_MMI_TIMEOUT_MS,
  TITANIC_REQUEST_CONCURRENCY,
  type TitanicEvents,
  type TitanicOptions,
  type TitanicStats,
} from "./titanic.js";
export {
  TitanicClient,
  TitanicError,
  TITANIC_ERROR_CODE,
  TITANIC_POLL_INTERVAL_MS,
  type TitanicCallOptions,
  type TitanicClientEvents,
  type TitanicClientOptions,
  type TitanicClientStats,
  type TitanicRequestOptions,
} from "./client.js";
export {
  TitanicStore,
  CORRUPT_DIR,
  type CorruptFile,
  type ReadResult,
  type StoreContents,
  type StoredRequestInfo,
  type TitanicDurability,
  type TitanicStoreOptions,
} from "./store.js";
export { RECORD_HEADER_BYTES, RECORD_MAGIC, RECORD_VERSION, crc32, decodeRecord, encodeRecord, type RecordKind, type TitanicRecord } from "./record.js";
export {
  TITANIC_CLOSE,
  TITANIC_PREFIX,
  TITANIC_REPLY,
  TITANIC_REQUEST,
  TITANIC_SERVICES,
  TSP_ERROR,
  TSP_OK,
  TSP_PENDING,
  TSP_UNKNOWN,
  UUID_LENGTH,
  MAX_SERVICE_BYTES,
  decodeCloseAnswer,
  decodeReplyAnswer,
  decodeRequestAnswer,
  decodeRequestBody,
  decodeUuidBody,
  encodeAccepted,
  encodeClosed,
  encodeError,
  encodePending,
  encodeReplyFound,
  encodeRequestBody,
  encodeStatus,
  encodeUnknown,
  encodeUuidBody,
  isUuid,
  normalizeUuid,
  parseStatus,
  targetServiceProblem,
  type CloseAnswer,
  type ReplyAnswer,
  type RequestAnswer,
  type TitanicRequestBody,
  type TspStatus,
} from "./protocol.js";
