/**
 * `@zkit/security`: CURVE and ZAP for zkit, CZMQ's security classes for
 * Node.js. Certificates ({@link ZCert}) and certificate stores
 * ({@link ZCertStore}) in the files CZMQ and pyzmq write, a ZAP handler
 * ({@link ZAuth}), Z85 ({@link z85Encode}), the `security` option every zkit
 * pattern takes ({@link SecurityOptions}, {@link securitySocketOptions}) and
 * typed handshake failures ({@link HandshakeError}, {@link HandshakeGuard}).
 *
 * @packageDocumentation
 */
export { Z85_ALPHABET, isZ85Key, z85Decode, z85Encode } from "./z85.js";
export { CURVE_KEY_BYTES, CURVE_KEY_TEXT, curveKeyText, curvePublicKey, type CurveKey } from "./keys.js";
export { CertificateError, SecurityErrorCode } from "./errors.js";
export { PUBLIC_FILE_MODE, SECRET_FILE_MODE, SECRET_SUFFIX, ZCert, type CertMetadata } from "./zcert.js";
export { ZCERTSTORE_MAX_FILE_BYTES, ZCERTSTORE_RESCAN_INTERVAL_MS, ZCertStore, type ZCertStoreEvents, type ZCertStoreOptions, type ZCertStoreStats } from "./zcertstore.js";
export {
  ZAUTH_AUTHORIZE_TIMEOUT_MS,
  ZAuth,
  parsePasswords,
  type CurveAuthorizer,
  type ZAuthDecision,
  type ZAuthEvents,
  type ZAuthOptions,
  type ZAuthReason,
  type ZAuthState,
  type ZAuthStats,
} from "./zauth.js";
export {
  ZAP_ENDPOINT,
  ZAP_VERSION,
  ZapStatus,
  decodeZapRequest,
  encodeZapMetadata,
  encodeZapReply,
  type ZapBadRequest,
  type ZapDecoded,
  type ZapMechanism,
  type ZapRequest,
  type ZapStatusCode,
} from "./zap-protocol.js";
export {
  securitySocketOptions,
  type CurveSecurity,
  type PlainClientSecurity,
  type PlainServerSecurity,
  type SecurityOptions,
  type SecuritySocketOptions,
  type SecuritySocketOptionsOptions,
} from "./security-options.js";
export { HANDSHAKE_FAILURES, HandshakeError, HandshakeGuard, type HandshakeGuardOptions } from "./handshake.js";
