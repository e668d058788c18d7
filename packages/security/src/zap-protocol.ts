/**
 * ZAP 1.0 (27/ZAP) messages as a ROUTER handler sees them: decoding a
 * request into a typed value or a verdict on why it is malformed, and
 * encoding a reply. Pure functions, no sockets; never throws on input.
 * @module
 */

/** The endpoint every ZAP handler binds (27/ZAP). */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** The ZAP version this handler speaks. */
export const ZAP_VERSION = "1.0";

/** ZAP status codes (27/ZAP). */
export const ZapStatus = {
  /** Success. */
  Ok: "200",
  /** A temporary error: the client may try again. */
  TemporaryError: "300",
  /** Authentication failure: the credentials were refused. */
  AuthenticationFailure: "400",
  /** Internal error: the handler could not decide (or the request was malformed). */
  InternalError: "500",
} as const;

/** One of {@link ZapStatus}'s values. */
export type ZapStatusCode = (typeof ZapStatus)[keyof typeof ZapStatus];

/** The security mechanisms ZAP authenticates. */
export type ZapMechanism = "NULL" | "PLAIN" | "CURVE";

/** A well-formed ZAP request. */
export interface ZapRequest {
  /** The routing frames before the empty delimiter (the ROUTER's identity of the asking session). */
  readonly envelope: readonly Buffer[];
  /** Echoed in the reply, unchanged. */
  readonly requestId: Buffer;
  /** The server socket's `zapDomain` (may be empty). */
  readonly domain: string;
  /** The client's IP address, as libzmq gives it (`127.0.0.1`, `::1`). */
  readonly address: string;
  /** The server socket's routing id, if it has one (27/ZAP's "identity"). */
  readonly identity: Buffer;
  /** The mechanism. */
  readonly mechanism: ZapMechanism;
  /** PLAIN: the user name. */
  readonly username?: string;
  /** PLAIN: the password. */
  readonly password?: string;
  /** CURVE: the client's long-term public key, 32 bytes. */
  readonly publicKey?: Buffer;
}

/** A request that cannot be served as it is, and how to answer it. */
export interface ZapBadRequest {
  /** What is wrong: a bad version, a mechanism ZAP does not know, or another breach of 27/ZAP. */
  readonly kind: "bad-version" | "unsupported-mechanism" | "malformed";
  /** Why, in a few words (logged, counted, put in the reply's status text). */
  readonly problem: string;
  /**
   * How to answer: the reply to send (status 400 or 500), or `undefined`
   * when the message has no envelope or request id to answer to (dropped).
   */
  readonly reply: Buffer[] | undefined;
  /** The mechanism it named, when it named one. */
  readonly mechanism?: string;
  /** The address it named, when it named one. */
  readonly address?: string;
}

/** What {@link decodeZapRequest} returns. */
export type ZapDecoded = { ok: true; request: ZapRequest } | { ok: false; bad: ZapBadRequest };

const CREDENTIALS: Readonly<Record<ZapMechanism, number>> = { NULL: 0, PLAIN: 2, CURVE: 1 };

/**
 * Decodes a ZAP request received on a ROUTER: `[routing id...][""]["1.0"]
 * [request id][domain][address][identity][mechanism][credentials...]`.
 *
 * - No empty delimiter, or no request id: nothing can be answered; the
 *   verdict has no reply (the caller drops and counts it).
 * - Another version: 400, as pyzmq's handler answers.
 * - A mechanism other than NULL, PLAIN or CURVE: 400 (we cannot vouch for it).
 * - Too few frames, the wrong number of credentials, a CURVE key that is not
 *   32 bytes: 500 (a malformed request is the server's internal error, not
 *   the client's fault).
 *
 * @param frames - the message as the ROUTER received it
 */
export function decodeZapRequest(frames: readonly Buffer[]): ZapDecoded {
  const delimiter = frames.findIndex((f) => f.length === 0);
  if (delimiter < 1) return bad("no routing envelope (an empty delimiter after the routing id)", undefined);
  const envelope = frames.slice(0, delimiter);
  const body = frames.slice(delimiter + 1);
  if (body.length < 2) return bad(`only ${body.length} frame(s) after the delimiter, no request id`, undefined);
  const [version, requestId] = body as [Buffer, Buffer];
  const answer = (status: ZapStatusCode, text: string): Buffer[] => encodeZapReply(envelope, requestId, status, text);
  if (version.toString("latin1") !== ZAP_VERSION) {
    const problem = `ZAP version ${JSON.stringify(version.toString("latin1").slice(0, 10))} is not supported; 1.0 is`;
    return bad(problem, answer(ZapStatus.AuthenticationFailure, "Invalid version"), undefined, undefined, "bad-version");
  }
  if (body.length < 6) return bad(`${body.length} frames after the delimiter; a request has at least 6`, answer(ZapStatus.InternalError, "Malformed request"));
  const domain = body[2]!.toString("utf8");
  const address = body[3]!.toString("utf8");
  const identity = body[4]!;
  const mechanism = body[5]!.toString("latin1");
  const credentials = body.slice(6);
  if (mechanism !== "NULL" && mechanism !== "PLAIN" && mechanism !== "CURVE") {
    return bad(
      `mechanism ${JSON.stringify(mechanism.slice(0, 20))} is not supported`,
      answer(ZapStatus.AuthenticationFailure, "Unsupported mechanism"),
      mechanism,
      address,
      "unsupported-mechanism",
    );
  }
  if (credentials.length !== CREDENTIALS[mechanism]) {
    return bad(`${mechanism} takes ${CREDENTIALS[mechanism]} credential frame(s), got ${credentials.length}`, answer(ZapStatus.InternalError, "Malformed request"), mechanism, address);
  }
  if (mechanism === "CURVE" && credentials[0]!.length !== 32) {
    return bad(`a CURVE key is 32 bytes, got ${credentials[0]!.length}`, answer(ZapStatus.InternalError, "Malformed request"), mechanism, address);
  }
  const request: ZapRequest = {
    envelope,
    requestId,
    domain,
    address,
    identity,
    mechanism,
    ...(mechanism === "PLAIN" ? { username: credentials[0]!.toString("utf8"), password: credentials[1]!.toString("utf8") } : {}),
    ...(mechanism === "CURVE" ? { publicKey: credentials[0]! } : {}),
  };
  return { ok: true, request };
}

function bad(problem: string, reply: Buffer[] | undefined, mechanism?: string, address?: string, kind: ZapBadRequest["kind"] = "malformed"): ZapDecoded {
  return { ok: false, bad: { kind, problem, reply, ...(mechanism === undefined ? {} : { mechanism }), ...(address === undefined ? {} : { address }) } };
}

/**
 * Encodes a ZAP reply for a ROUTER: `[routing id...][""]["1.0"][request
 * id][status][text][user id][metadata]`.
 *
 * @param envelope - the routing frames of the request
 * @param requestId - the request's id, echoed
 * @param status - see {@link ZapStatus}
 * @param text - the status text (at most 255 bytes are sent)
 * @param userId - the user id, for status 200 only (27/ZAP: empty otherwise)
 * @param metadata - ZMTP metadata (see {@link encodeZapMetadata}), for status 200 only
 */
export function encodeZapReply(envelope: readonly Buffer[], requestId: Buffer, status: ZapStatusCode, text: string, userId = "", metadata: Buffer = Buffer.alloc(0)): Buffer[] {
  const ok = status === ZapStatus.Ok;
  return [...envelope, Buffer.alloc(0), Buffer.from(ZAP_VERSION), requestId, Buffer.from(status), truncate(text), ok ? truncate(userId) : Buffer.alloc(0), ok ? metadata : Buffer.alloc(0)];
}

function truncate(text: string): Buffer {
  const b = Buffer.from(text, "utf8");
  return b.length > 255 ? b.subarray(0, 255) : b;
}

const METADATA_NAME = /^[A-Za-z0-9\-_.+]{1,255}$/;

/**
 * Encodes properties in the ZMTP 3.0 metadata format ZAP replies carry
 * (`name-length name value-length(4 octets) value` each). Names outside
 * ZMTP's alphabet (letters, digits, `-_.+`) are left out, as are libzmq's
 * own names (`Socket-Type`, `Identity`, `Routing-Id`, `User-Id`), which a
 * handler may not set.
 *
 * @param properties - names to values
 */
export function encodeZapMetadata(properties: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(properties)) {
    if (!METADATA_NAME.test(name) || RESERVED.has(name.toLowerCase())) continue;
    const v = Buffer.from(value, "utf8");
    const head = Buffer.alloc(1 + name.length + 4);
    head.writeUInt8(name.length, 0);
    head.write(name, 1, "latin1");
    head.writeUInt32BE(v.length, 1 + name.length);
    parts.push(head, v);
  }
  return Buffer.concat(parts);
}

const RESERVED = new Set(["socket-type", "identity", "routing-id", "user-id", "peer-address", "resource"]);
