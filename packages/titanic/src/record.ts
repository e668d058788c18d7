/**
 * The format of Titanic's files: one stored request or reply per file, a
 * fixed header with a CRC-32 of the payload, then the message's frames in
 * CZMQ's `zmsg_encode` format. Pure functions: a truncated, extended or
 * damaged file decodes to a `ProtocolError` that says what is wrong; decoding
 * never throws.
 *
 * ```
 * offset size
 *  0      4   magic "ZKTN"
 *  4      1   version, 1
 *  5      1   kind: 0x01 request ([service][body...]), 0x02 reply ([body...])
 *  6     16   the request's uuid, as bytes
 * 22      8   sequence number (uint64, big-endian): the order of requests
 * 30      8   when the request or reply was stored (ms since the epoch, uint64)
 * 38      4   payload length in bytes (uint32)
 * 42      4   CRC-32 (IEEE) of the payload (uint32)
 * 46      n   payload: the frames, zmsg-encoded
 * ```
 * @module
 */
import { ProtocolError } from "@zkit/core";
import { decodeFrames, encodeFrames } from "@zkit/zmsg";
import { normalizeUuid } from "./protocol.js";

/** The first four bytes of every Titanic file. */
export const RECORD_MAGIC = "ZKTN";
/** The record format version this package writes and reads. */
export const RECORD_VERSION = 1;
/** The size of the fixed header, in bytes. */
export const RECORD_HEADER_BYTES = 46;

/** What a record holds: a stored request or a stored reply. */
export type RecordKind = "request" | "reply";

/** One stored request or reply. */
export interface TitanicRecord {
  /** A request (frames `[service][body...]`) or a reply (frames `[body...]`). */
  readonly kind: RecordKind;
  /** The request's uuid, lower-case hex. */
  readonly uuid: string;
  /** The request's sequence number: requests are forwarded in this order. */
  readonly seq: number;
  /** When it was stored, in ms since the epoch. */
  readonly storedAtMs: number;
  /** The frames. */
  readonly frames: Buffer[];
}

const MAGIC = Buffer.from(RECORD_MAGIC, "latin1");
const KIND_BYTE: Record<RecordKind, number> = { request: 0x01, reply: 0x02 };

/**
 * Encodes a record into the bytes of its file.
 * @throws `InvalidArgumentError` (from zmsg) for a frame too large for the format
 */
export function encodeRecord(record: TitanicRecord): Buffer {
  const payload = encodeFrames(record.frames);
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[4] = RECORD_VERSION;
  header[5] = KIND_BYTE[record.kind];
  header.write(record.uuid, 6, 16, "hex");
  header.writeBigUInt64BE(BigInt(record.seq), 22);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(record.storedAtMs))), 30);
  header.writeUInt32BE(payload.length, 38);
  header.writeUInt32BE(crc32(payload), 42);
  return Buffer.concat([header, payload]);
}

/**
 * Decodes the bytes of a Titanic file. With `expect`, the record must also be
 * of that kind and for that uuid (a file renamed by hand is caught).
 *
 * @returns the record, or a `ProtocolError` saying what is wrong (truncated,
 *   bad magic, bad checksum, ...); never throws
 */
export function decodeRecord(bytes: Uint8Array, expect?: { kind?: RecordKind; uuid?: string }): TitanicRecord | ProtocolError {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < RECORD_HEADER_BYTES) {
    return new ProtocolError(`titanic record: truncated: ${data.length} bytes, shorter than the ${RECORD_HEADER_BYTES}-byte header`);
  }
  if (!data.subarray(0, 4).equals(MAGIC)) return new ProtocolError(`titanic record: bad magic 0x${data.subarray(0, 4).toString("hex")}, not a Titanic file`);
  if (data[4] !== RECORD_VERSION) return new ProtocolError(`titanic record: version ${data[4]}, this zkit reads version ${RECORD_VERSION}`);
  const kind: RecordKind | undefined = data[5] === 0x01 ? "request" : data[5] === 0x02 ? "reply" : undefined;
  if (kind === undefined) return new ProtocolError(`titanic record: unknown kind byte 0x${data[5]!.toString(16).padStart(2, "0")}`);
  const uuid = data.subarray(6, 22).toString("hex");
  const seq = data.readBigUInt64BE(22);
  const storedAt = data.readBigUInt64BE(30);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || storedAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    return new ProtocolError("titanic record: sequence number or time out of range");
  }
  const length = data.readUInt32BE(38);
  const have = data.length - RECORD_HEADER_BYTES;
  if (have < length) return new ProtocolError(`titanic record: truncated: the payload has ${have} of its ${length} bytes`);
  if (have > length) return new ProtocolError(`titanic record: ${have - length} unexpected byte(s) after the ${length}-byte payload`);
  const payload = data.subarray(RECORD_HEADER_BYTES);
  const sum = crc32(payload);
  if (sum !== data.readUInt32BE(42)) {
    return new ProtocolError(`titanic record: checksum mismatch (stored 0x${data.readUInt32BE(42).toString(16)}, computed 0x${sum.toString(16)}): the file is damaged`);
  }
  let frames: Buffer[];
  try {
    frames = decodeFrames(payload);
  } catch (err) {
    return new ProtocolError(`titanic record: the payload is not zmsg-encoded: ${(err as Error).message}`);
  }
  if (kind === "request" && frames.length === 0) return new ProtocolError("titanic record: a stored request without a service frame");
  if (expect?.kind !== undefined && expect.kind !== kind) return new ProtocolError(`titanic record: a ${kind} where a ${expect.kind} was expected`);
  if (expect?.uuid !== undefined && normalizeUuid(expect.uuid) !== uuid) {
    return new ProtocolError(`titanic record: it holds uuid ${uuid}, not ${expect.uuid} as its name says`);
  }
  return { kind, uuid, seq: Number(seq), storedAtMs: Number(storedAt), frames };
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zlib and PNG): `crc32("123456789")` is `0xcbf43926`. */
export function crc32(data: Uint8Array): number {
  const t = (table ??= makeTable());
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
