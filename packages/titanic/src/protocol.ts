/**
 * 9/TSP, the Titanic Service Protocol (ZeroMQ Guide chapter 4,
 * "Disconnected Reliability"; rfc.zeromq.org/spec/9), carried in the body of
 * ordinary 7/MDP client requests. Pure functions: no sockets, no files, no
 * timers. Decoders return a typed value or a `ProtocolError` naming the bad
 * frame (of the MDP body); they never throw.
 *
 * ```
 * service           request body           reply body
 * titanic.request   [service][body...]     ["200"][uuid]
 * titanic.reply     [uuid]                 ["200"][body...] | ["300"] pending | ["400"] unknown
 * titanic.close     [uuid]                 ["200"] (also for an unknown uuid)
 * ```
 * A uuid is 32 hex characters, either case. A client sends a uuid back
 * exactly as the server handed it out (the Guide's C titanic writes upper
 * case and knows a request only by that exact string); a server looks it up
 * in either case. A status is 3 digits, optionally
 * followed by a space and text that clients ignore; `"500"` means "error,
 * retry later".
 * @module
 */
import { ProtocolError, atLeastOneFrame } from "@zkit/core";

/** The service that stores a request and answers its uuid. */
export const TITANIC_REQUEST = "titanic.request";
/** The service that answers the stored reply to a request, if there is one yet. */
export const TITANIC_REPLY = "titanic.reply";
/** The service that forgets a request and its reply. */
export const TITANIC_CLOSE = "titanic.close";
/** The three services a Titanic server registers with the broker. */
export const TITANIC_SERVICES = [TITANIC_REQUEST, TITANIC_REPLY, TITANIC_CLOSE] as const;
/** Service names starting with this belong to Titanic and are never forwarded. */
export const TITANIC_PREFIX = "titanic.";

/** Status: done (request stored, reply found, request closed). */
export const TSP_OK = "200";
/** Status of `titanic.reply`: the request is stored but not answered yet; poll again later. */
export const TSP_PENDING = "300";
/** Status of `titanic.reply`: no such request (never stored, or closed). zkit also answers it to malformed requests. */
export const TSP_UNKNOWN = "400";
/** Status: the server failed (e.g. it could not write to disk); retry later. */
export const TSP_ERROR = "500";

/** The length of a uuid on the wire: 32 hexadecimal characters. */
export const UUID_LENGTH = 32;
/** The longest target service name accepted, in bytes (as for 7/MDP in zkit). */
export const MAX_SERVICE_BYTES = 255;

/** A request for `titanic.request` as the server decodes it. */
export interface TitanicRequestBody {
  /** The service to forward the request to, e.g. `"echo"`. */
  readonly service: string;
  /** The request's body frames (possibly none). */
  readonly body: Buffer[];
}

/** A status frame, parsed: `"300 pending"` is `{ code: 300, text: "pending" }`. */
export interface TspStatus {
  /** The three digits as a number, e.g. `200`. */
  readonly code: number;
  /** The three digits as text, e.g. `"200"`. */
  readonly status: string;
  /** The text after the digits and the space (empty when there is none). */
  readonly text: string;
}

/**
 * What a client makes of the reply of `titanic.request`. `uuid` is the
 * frame exactly as the server sent it (one character per byte): send it back
 * unchanged.
 */
export type RequestAnswer = { readonly kind: "accepted"; readonly uuid: string } | { readonly kind: "failed"; readonly status: TspStatus };

/** What a client makes of the reply of `titanic.reply`. */
export type ReplyAnswer =
  | { readonly kind: "reply"; readonly body: Buffer[] }
  | { readonly kind: "pending" }
  | { readonly kind: "unknown"; readonly status: TspStatus }
  | { readonly kind: "failed"; readonly status: TspStatus };

/** What a client makes of the reply of `titanic.close`. */
export type CloseAnswer = { readonly kind: "closed" } | { readonly kind: "failed"; readonly status: TspStatus };

const HEX32 = /^[0-9a-fA-F]{32}$/;
const STATUS = /^([0-9]{3})(?: ([\x20-\x7e]*))?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

// ------------------------------------------------------------------ uuids

/** True when `value` is 32 hexadecimal characters (either case). */
export function isUuid(value: string | Buffer): boolean {
  if (value.length !== UUID_LENGTH) return false;
  return HEX32.test(typeof value === "string" ? value : value.toString("latin1"));
}

/**
 * The canonical (lower-case) form of a uuid frame or string, or undefined
 * when it is not 32 hexadecimal characters. zkit's Titanic server looks
 * requests up by it, so its own uuids are found in either case. A client
 * never sends it: it sends back the uuid exactly as it was handed out.
 */
export function normalizeUuid(value: string | Buffer): string | undefined {
  if (!isUuid(value)) return undefined;
  return (typeof value === "string" ? value : value.toString("latin1")).toLowerCase();
}

// --------------------------------------------------------------- statuses

/**
 * A status frame: the three digits, then `" " + text` when `text` is given.
 * @param status - three digits, e.g. {@link TSP_ERROR}
 * @param text - printable ASCII for people; clients ignore it
 */
export function encodeStatus(status: string, text?: string): Buffer {
  return Buffer.from(text === undefined || text === "" ? status : `${status} ${asciiText(text)}`, "latin1");
}

/** Parses a status frame: 3 digits, optionally a space and printable ASCII text. */
export function parseStatus(frame: Buffer | undefined, index = 0): TspStatus | ProtocolError {
  if (frame === undefined) return new ProtocolError("9/TSP reply: no status frame", index);
  const m = STATUS.exec(frame.toString("latin1"));
  if (m === null) {
    return new ProtocolError(`9/TSP reply: the status must be 3 digits, optionally followed by a space and text; got ${show(frame)}`, index);
  }
  return { code: Number(m[1]), status: m[1]!, text: m[2] ?? "" };
}

// ------------------------------------------------- client side: encoders

/** The body of a `titanic.request`: `[service][body...]`, at least one body frame (an empty one for an empty body). */
export function encodeRequestBody(service: string, body: readonly Buffer[]): Buffer[] {
  return [Buffer.from(service, "utf8"), ...atLeastOneFrame(body)];
}

/** The body of a `titanic.reply` or `titanic.close`: `[uuid]`. */
export function encodeUuidBody(uuid: string): Buffer[] {
  return [Buffer.from(uuid, "latin1")];
}

// ------------------------------------------------- client side: decoders

/**
 * Decodes the reply body of `titanic.request`: `["200"][uuid]`, or another
 * status. The uuid is returned exactly as it came (its case kept), for the
 * client to send back unchanged.
 */
export function decodeRequestAnswer(frames: readonly Buffer[]): RequestAnswer | ProtocolError {
  const status = parseStatus(frames[0]);
  if (status instanceof ProtocolError) return status;
  if (status.status !== TSP_OK) return { kind: "failed", status };
  const uuid = frames[1];
  if (uuid === undefined) return new ProtocolError("titanic.request reply: 200 without a uuid frame", 1);
  if (!isUuid(uuid)) return new ProtocolError(`titanic.request reply: the uuid must be 32 hex characters, got ${show(uuid)}`, 1);
  if (frames.length > 2) return new ProtocolError(`titanic.request reply: ${frames.length - 2} frame(s) after the uuid`, 2);
  return { kind: "accepted", uuid: uuid.toString("latin1") };
}

/**
 * Decodes the reply body of `titanic.reply`: `["200"][body...]` (the body
 * may be empty), `["300"]`, `["400"]`, or another status (`"500"`: retry).
 */
export function decodeReplyAnswer(frames: readonly Buffer[]): ReplyAnswer | ProtocolError {
  const status = parseStatus(frames[0]);
  if (status instanceof ProtocolError) return status;
  switch (status.status) {
    case TSP_OK:
      return { kind: "reply", body: frames.slice(1) };
    case TSP_PENDING:
      if (frames.length > 1) return new ProtocolError(`titanic.reply reply: ${frames.length - 1} frame(s) after 300`, 1);
      return { kind: "pending" };
    case TSP_UNKNOWN:
      return { kind: "unknown", status };
    default:
      return { kind: "failed", status };
  }
}

/** Decodes the reply body of `titanic.close`: `["200"]`, or another status. */
export function decodeCloseAnswer(frames: readonly Buffer[]): CloseAnswer | ProtocolError {
  const status = parseStatus(frames[0]);
  if (status instanceof ProtocolError) return status;
  if (status.status !== TSP_OK) return { kind: "failed", status };
  if (frames.length > 1) return new ProtocolError(`titanic.close reply: ${frames.length - 1} frame(s) after 200`, 1);
  return { kind: "closed" };
}

// ------------------------------------------------- server side: decoders

/**
 * Why `service` cannot be the target of a Titanic request, or undefined when
 * it can: a non-empty UTF-8 name of at most {@link MAX_SERVICE_BYTES} bytes,
 * neither `mmi.*` (the broker answers those itself) nor `titanic.*`.
 */
export function targetServiceProblem(service: string | Buffer): string | undefined {
  const bytes = typeof service === "string" ? Buffer.from(service, "utf8") : service;
  if (bytes.length === 0) return "the service name is empty";
  if (bytes.length > MAX_SERVICE_BYTES) return `the service name is ${bytes.length} bytes long, more than ${MAX_SERVICE_BYTES}`;
  let name: string;
  try {
    name = typeof service === "string" ? service : utf8.decode(bytes);
  } catch {
    return "the service name is not valid UTF-8";
  }
  if (name.startsWith("mmi.")) return `"${name}" is an mmi.* service, which the broker answers itself`;
  if (name.startsWith(TITANIC_PREFIX)) return `"${name}" is a titanic.* service; Titanic does not forward to itself`;
  return undefined;
}

/**
 * Decodes the body of a `titanic.request`: `[service][body...]`.
 * @param maxBytes - the most bytes the whole body may hold (frames summed)
 */
export function decodeRequestBody(frames: readonly Buffer[], maxBytes = Infinity): TitanicRequestBody | ProtocolError {
  const service = frames[0];
  if (service === undefined) return new ProtocolError("titanic.request: no service frame", 0);
  const problem = targetServiceProblem(service);
  if (problem !== undefined) return new ProtocolError(`titanic.request: ${problem}`, 0);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    total += frames[i]!.length;
    if (total > maxBytes) return new ProtocolError(`titanic.request: the request is larger than the limit of ${maxBytes} bytes`, i);
  }
  return { service: utf8.decode(service), body: frames.slice(1) };
}

/**
 * Decodes the body of a `titanic.reply` or `titanic.close`: exactly one
 * frame, a uuid. Returns the uuid in lower case.
 * @param what - the service, for the error message
 */
export function decodeUuidBody(frames: readonly Buffer[], what: string): string | ProtocolError {
  const frame = frames[0];
  if (frame === undefined) return new ProtocolError(`${what}: no uuid frame`, 0);
  const uuid = normalizeUuid(frame);
  if (uuid === undefined) return new ProtocolError(`${what}: the uuid must be 32 hex characters, got ${show(frame)}`, 0);
  if (frames.length > 1) return new ProtocolError(`${what}: ${frames.length - 1} frame(s) after the uuid`, 1);
  return uuid;
}

// ------------------------------------------------- server side: encoders

/** The reply of `titanic.request` once the request is stored: `["200"][uuid]`. */
export function encodeAccepted(uuid: string): Buffer[] {
  return [Buffer.from(TSP_OK), Buffer.from(uuid, "latin1")];
}

/** The reply of `titanic.reply` with the stored reply: `["200"][body...]`. */
export function encodeReplyFound(body: readonly Buffer[]): Buffer[] {
  return [Buffer.from(TSP_OK), ...body];
}

/** The reply of `titanic.reply` while the request waits: `["300"]`. */
export function encodePending(): Buffer[] {
  return [Buffer.from(TSP_PENDING)];
}

/** `["400"]`, or `["400 text"]`: unknown request, or a malformed one. */
export function encodeUnknown(text?: string): Buffer[] {
  return [encodeStatus(TSP_UNKNOWN, text)];
}

/** `["500"]`, or `["500 text"]`: the server failed; retry later. */
export function encodeError(text?: string): Buffer[] {
  return [encodeStatus(TSP_ERROR, text)];
}

/** The reply of `titanic.close`: `["200"]`. */
export function encodeClosed(): Buffer[] {
  return [Buffer.from(TSP_OK)];
}

// ------------------------------------------------------------------ helpers

/** Status text as printable ASCII, at most 200 characters. */
function asciiText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

/** A frame for error messages: quoted printable text, or hex. */
function show(frame: Buffer): string {
  const short = frame.subarray(0, 40);
  const printable = short.every((b) => b >= 0x20 && b <= 0x7e);
  const text = printable ? JSON.stringify(short.toString("latin1")) : `0x${short.toString("hex")}`;
  return frame.length > short.length ? `${text}... (${frame.length} bytes)` : text;
}
