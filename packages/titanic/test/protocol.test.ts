// 9/TSP byte by byte, as shared/protocols.md ("9/TSP Titanic") gives it:
// the bodies of titanic.request / titanic.reply / titanic.close and their
// replies, statuses ("3 digits, optionally a space and text"), uuids in
// either case; then Titanic's file format (header, CRC-32, zmsg payload)
// with every way a file can be damaged. Pure functions, no sockets.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import { encodeFrames } from "@zkit/zmsg";
import {
  RECORD_HEADER_BYTES,
  TITANIC_CLOSE,
  TITANIC_REPLY,
  TITANIC_REQUEST,
  TITANIC_SERVICES,
  TSP_ERROR,
  TSP_OK,
  TSP_PENDING,
  TSP_UNKNOWN,
  crc32,
  decodeCloseAnswer,
  decodeRecord,
  decodeReplyAnswer,
  decodeRequestAnswer,
  decodeRequestBody,
  decodeUuidBody,
  encodeAccepted,
  encodeClosed,
  encodeError,
  encodePending,
  encodeRecord,
  encodeReplyFound,
  encodeRequestBody,
  encodeStatus,
  encodeUnknown,
  encodeUuidBody,
  isUuid,
  normalizeUuid,
  parseStatus,
  targetServiceProblem,
  type TitanicRecord,
} from "../src/index.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const hex = (frames: readonly Buffer[]): string[] => frames.map((f) => f.toString("hex"));
const UPPER = "0123456789ABCDEF0123456789ABCDEF";
const LOWER = UPPER.toLowerCase();

function protocolError(value: unknown, frame: number | undefined, message: RegExp): void {
  expect(value).toBeInstanceOf(ProtocolError);
  expect((value as ProtocolError).frame).toBe(frame);
  expect((value as ProtocolError).message).toMatch(message);
}

describe("constants", () => {
  it("service names and statuses are the protocols.md ones", () => {
    expect([TITANIC_REQUEST, TITANIC_REPLY, TITANIC_CLOSE]).toEqual(["titanic.request", "titanic.reply", "titanic.close"]);
    expect(TITANIC_SERVICES).toEqual(["titanic.request", "titanic.reply", "titanic.close"]);
    expect([TSP_OK, TSP_PENDING, TSP_UNKNOWN, TSP_ERROR]).toEqual(["200", "300", "400", "500"]);
  });
});

describe("uuids", () => {
  it("32 hex characters in either case; normalized to lower case", () => {
    expect(isUuid(UPPER)).toBe(true);
    expect(isUuid(b(LOWER))).toBe(true);
    expect(normalizeUuid(b(UPPER))).toBe(LOWER);
    expect(normalizeUuid("0123456789abcdefABCDEF0123456789")).toBe("0123456789abcdefabcdef0123456789");
  });

  it("rejects 31 or 33 characters, non-hex, dashes, and bytes that only look like text", () => {
    for (const bad of [LOWER.slice(1), `${LOWER}0`, `${LOWER.slice(1)}g`, "01234567-89ab-cdef-0123-456789abcdef", ""]) {
      expect(isUuid(bad), bad).toBe(false);
      expect(normalizeUuid(bad)).toBeUndefined();
    }
    expect(isUuid(Buffer.from(`${LOWER.slice(0, 31)}\u00e9`, "utf8"))).toBe(false); // 33 bytes
    expect(isUuid(Buffer.alloc(32, 0))).toBe(false);
  });
});

describe("statuses", () => {
  it("encodes 3 digits, or 3 digits, a space and printable ASCII", () => {
    expect(encodeStatus("200").toString("hex")).toBe("323030");
    expect(encodeStatus("500", "disk full").toString("latin1")).toBe("500 disk full");
    expect(encodeStatus("400", "bad\nuuid \u00e9").toString("latin1")).toBe("400 bad?uuid ?");
    expect(encodeStatus("400", "").toString("latin1")).toBe("400");
  });

  it("parses 3 digits optionally followed by a space and text", () => {
    expect(parseStatus(b("200"))).toEqual({ code: 200, status: "200", text: "" });
    expect(parseStatus(b("300 still pending"))).toEqual({ code: 300, status: "300", text: "still pending" });
    expect(parseStatus(b("500 "))).toEqual({ code: 500, status: "500", text: "" });
    expect(parseStatus(b("404"))).toEqual({ code: 404, status: "404", text: "" });
  });

  it("refuses anything else, naming the frame", () => {
    for (const bad of ["", "20", "2000", "200OK", "OK", " 200", "200\tx", "2a0", "200 \u0001"]) {
      protocolError(parseStatus(b(bad)), 0, /status must be 3 digits/);
    }
    protocolError(parseStatus(undefined, 3), 3, /no status frame/);
  });
});

describe("titanic.request", () => {
  it("client body: [service][body...]", () => {
    expect(encodeRequestBody("echo", [b("Hello"), b("")]).map(String)).toEqual(["echo", "Hello", ""]);
    // an empty body is one empty frame: the Guide's C titanic forwards the rest of the
    // request over 7/MDP, whose REQUEST needs at least one body frame
    expect(encodeRequestBody("echo", []).map(String)).toEqual(["echo", ""]);
  });

  it("server decodes [service][body...], an empty body included", () => {
    expect(decodeRequestBody([b("echo"), b("a"), b("b")])).toEqual({ service: "echo", body: [b("a"), b("b")] });
    expect(decodeRequestBody([b("echo")])).toEqual({ service: "echo", body: [] });
    expect(decodeRequestBody([Buffer.from("\u00e9cho"), b("x")])).toEqual({ service: "\u00e9cho", body: [b("x")] });
  });

  it("server refuses a missing, empty, oversized, non-UTF-8, mmi.* or titanic.* service, and too many bytes", () => {
    protocolError(decodeRequestBody([]), 0, /no service frame/);
    protocolError(decodeRequestBody([b("")]), 0, /service name is empty/);
    protocolError(decodeRequestBody([Buffer.alloc(256, 0x61)]), 0, /256 bytes long, more than 255/);
    protocolError(decodeRequestBody([Buffer.from([0xff, 0xfe])]), 0, /not valid UTF-8/);
    protocolError(decodeRequestBody([b("mmi.service"), b("echo")]), 0, /mmi\.\* service/);
    protocolError(decodeRequestBody([b("titanic.request"), b("echo")]), 0, /does not forward to itself/);
    protocolError(decodeRequestBody([b("echo"), Buffer.alloc(10), Buffer.alloc(10)], 20), 2, /larger than the limit of 20 bytes/);
    expect(decodeRequestBody([b("echo"), Buffer.alloc(10), Buffer.alloc(6)], 20)).not.toBeInstanceOf(ProtocolError);
    expect(targetServiceProblem("echo")).toBeUndefined();
    expect(targetServiceProblem("titanic")).toBeUndefined(); // only the titanic. prefix is reserved
  });

  it('server answers ["200"][uuid]', () => {
    expect(encodeAccepted(LOWER).map(String)).toEqual(["200", LOWER]);
  });

  it("client decodes 200 + uuid (either case, kept as sent), and other statuses as failures", () => {
    expect(decodeRequestAnswer([b("200"), b(UPPER)])).toEqual({ kind: "accepted", uuid: UPPER });
    const mixed = "0123456789abcdefABCDEF0123456789";
    expect(decodeRequestAnswer([b("200"), b(mixed)])).toEqual({ kind: "accepted", uuid: mixed });
    expect(decodeRequestAnswer([b("200 OK"), b(LOWER)])).toEqual({ kind: "accepted", uuid: LOWER });
    expect(decodeRequestAnswer([b("500")])).toEqual({ kind: "failed", status: { code: 500, status: "500", text: "" } });
    expect(decodeRequestAnswer([b("400 bad service")])).toEqual({ kind: "failed", status: { code: 400, status: "400", text: "bad service" } });
  });

  it("client refuses a missing status, 200 without a uuid, a bad uuid, extra frames", () => {
    protocolError(decodeRequestAnswer([]), 0, /no status frame/);
    protocolError(decodeRequestAnswer([b("OK")]), 0, /3 digits/);
    protocolError(decodeRequestAnswer([b("200")]), 1, /200 without a uuid/);
    protocolError(decodeRequestAnswer([b("200"), b("not-a-uuid")]), 1, /32 hex characters, got "not-a-uuid"/);
    protocolError(decodeRequestAnswer([b("200"), b(LOWER), b("x")]), 2, /1 frame\(s\) after the uuid/);
  });
});

describe("titanic.reply and titanic.close", () => {
  it("client body: [uuid], byte for byte as given (no case change)", () => {
    expect(hex(encodeUuidBody(LOWER))).toEqual([Buffer.from(LOWER).toString("hex")]);
    expect(hex(encodeUuidBody(UPPER))).toEqual([Buffer.from(UPPER).toString("hex")]);
  });

  it("server decodes exactly one uuid frame, either case, to lower case", () => {
    expect(decodeUuidBody([b(UPPER)], TITANIC_REPLY)).toBe(LOWER);
    expect(decodeUuidBody([b(LOWER)], TITANIC_CLOSE)).toBe(LOWER);
  });

  it("server refuses no frame, a bad uuid, extra frames", () => {
    protocolError(decodeUuidBody([], TITANIC_REPLY), 0, /^titanic\.reply: no uuid frame/);
    protocolError(decodeUuidBody([b("1234")], TITANIC_CLOSE), 0, /^titanic\.close: the uuid must be 32 hex characters, got "1234"/);
    protocolError(decodeUuidBody([Buffer.from([0, 1, 2])], TITANIC_REPLY), 0, /got 0x000102/);
    protocolError(decodeUuidBody([b(LOWER), b("")], TITANIC_REPLY), 1, /1 frame\(s\) after the uuid/);
  });

  it("server answers 200 + body, 300, 400, 500, and 200 for close", () => {
    expect(encodeReplyFound([b("Hello"), b("")]).map(String)).toEqual(["200", "Hello", ""]);
    expect(encodeReplyFound([]).map(String)).toEqual(["200"]);
    expect(encodePending().map(String)).toEqual(["300"]);
    expect(encodeUnknown().map(String)).toEqual(["400"]);
    expect(encodeUnknown("no uuid frame").map(String)).toEqual(["400 no uuid frame"]);
    expect(encodeError().map(String)).toEqual(["500"]);
    expect(encodeClosed().map(String)).toEqual(["200"]);
  });

  it("client decodes every titanic.reply answer", () => {
    expect(decodeReplyAnswer([b("200"), b("Hello"), b("world")])).toEqual({ kind: "reply", body: [b("Hello"), b("world")] });
    expect(decodeReplyAnswer([b("200")])).toEqual({ kind: "reply", body: [] });
    expect(decodeReplyAnswer([b("300")])).toEqual({ kind: "pending" });
    expect(decodeReplyAnswer([b("300 wait")])).toEqual({ kind: "pending" });
    expect(decodeReplyAnswer([b("400")])).toMatchObject({ kind: "unknown", status: { code: 400 } });
    expect(decodeReplyAnswer([b("500 disk")])).toMatchObject({ kind: "failed", status: { code: 500, text: "disk" } });
    expect(decodeReplyAnswer([b("501")])).toMatchObject({ kind: "failed", status: { code: 501 } });
    protocolError(decodeReplyAnswer([]), 0, /no status frame/);
    protocolError(decodeReplyAnswer([b("pending")]), 0, /3 digits/);
    protocolError(decodeReplyAnswer([b("300"), b("x")]), 1, /after 300/);
  });

  it("client decodes every titanic.close answer", () => {
    expect(decodeCloseAnswer([b("200")])).toEqual({ kind: "closed" });
    expect(decodeCloseAnswer([b("500")])).toMatchObject({ kind: "failed", status: { code: 500 } });
    protocolError(decodeCloseAnswer([]), 0, /no status frame/);
    protocolError(decodeCloseAnswer([b("200"), b("x")]), 1, /after 200/);
  });
});

describe("file format", () => {
  const request: TitanicRecord = { kind: "request", uuid: LOWER, seq: 7, storedAtMs: 1_700_000_000_123, frames: [b("echo"), b("Hello"), b("")] };

  it("CRC-32 is the IEEE one", () => {
    expect(crc32(b("123456789"))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it("header, then the frames zmsg-encoded", () => {
    const bytes = encodeRecord(request);
    const payload = encodeFrames([b("echo"), b("Hello"), b("")]);
    expect(payload.toString("hex")).toBe("046563686f0548656c6c6f00");
    expect(bytes.length).toBe(RECORD_HEADER_BYTES + payload.length);
    expect(bytes.subarray(0, 4).toString("latin1")).toBe("ZKTN");
    expect(bytes[4]).toBe(1); // version
    expect(bytes[5]).toBe(1); // request
    expect(bytes.subarray(6, 22).toString("hex")).toBe(LOWER);
    expect(bytes.readBigUInt64BE(22)).toBe(7n);
    expect(bytes.readBigUInt64BE(30)).toBe(1_700_000_000_123n);
    expect(bytes.readUInt32BE(38)).toBe(payload.length);
    expect(bytes.readUInt32BE(42)).toBe(crc32(payload));
    expect(bytes.subarray(RECORD_HEADER_BYTES).equals(payload)).toBe(true);
    expect(decodeRecord(bytes, { kind: "request", uuid: UPPER })).toEqual(request);
  });

  it("a reply (kind 2) may have no frames", () => {
    const reply: TitanicRecord = { kind: "reply", uuid: LOWER, seq: 1, storedAtMs: 5, frames: [] };
    const bytes = encodeRecord(reply);
    expect(bytes[5]).toBe(2);
    expect(bytes.length).toBe(RECORD_HEADER_BYTES);
    expect(decodeRecord(bytes)).toEqual(reply);
  });

  it("large frames use zmsg's long size header", () => {
    const big = Buffer.alloc(300, 0x78);
    const bytes = encodeRecord({ ...request, frames: [b("echo"), big] });
    expect(bytes.subarray(RECORD_HEADER_BYTES + 5, RECORD_HEADER_BYTES + 10).toString("hex")).toBe("ff0000012c");
    expect((decodeRecord(bytes) as TitanicRecord).frames[1]!.equals(big)).toBe(true);
  });

  it("every truncation is detected, at any length", () => {
    const bytes = encodeRecord(request);
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeRecord(bytes.subarray(0, n));
      expect(r, `truncated to ${n} bytes`).toBeInstanceOf(ProtocolError);
      expect((r as ProtocolError).message).toMatch(/truncated/);
    }
  });

  it("every flipped payload byte fails the checksum", () => {
    const bytes = encodeRecord(request);
    for (let i = RECORD_HEADER_BYTES; i < bytes.length; i++) {
      const damaged = Buffer.from(bytes);
      damaged[i]! ^= 0x01;
      const r = decodeRecord(damaged);
      expect(r, `byte ${i}`).toBeInstanceOf(ProtocolError);
      expect((r as ProtocolError).message).toMatch(/checksum mismatch/);
    }
  });

  it("reports bad magic, version, kind, extra bytes, a wrong kind or uuid, and a payload that is not zmsg", () => {
    const bytes = encodeRecord(request);
    const with_ = (offset: number, value: number): Buffer => {
      const d = Buffer.from(bytes);
      d[offset] = value;
      return d;
    };
    expect((decodeRecord(with_(0, 0x41)) as ProtocolError).message).toMatch(/bad magic/);
    expect((decodeRecord(with_(4, 2)) as ProtocolError).message).toMatch(/version 2/);
    expect((decodeRecord(with_(5, 9)) as ProtocolError).message).toMatch(/unknown kind byte 0x09/);
    expect((decodeRecord(Buffer.concat([bytes, Buffer.from([0])])) as ProtocolError).message).toMatch(/1 unexpected byte\(s\) after/);
    expect((decodeRecord(bytes, { kind: "reply" }) as ProtocolError).message).toMatch(/a request where a reply was expected/);
    expect((decodeRecord(bytes, { uuid: "f".repeat(32) }) as ProtocolError).message).toMatch(/not f{32} as its name says/);
    const seq = Buffer.from(bytes);
    seq.writeBigUInt64BE(2n ** 60n, 22);
    expect((decodeRecord(seq) as ProtocolError).message).toMatch(/out of range/);

    // a valid checksum over bytes that are not zmsg-encoded
    const junk = Buffer.from([0x09, 0x61]);
    const header = Buffer.from(bytes.subarray(0, RECORD_HEADER_BYTES));
    header.writeUInt32BE(junk.length, 38);
    header.writeUInt32BE(crc32(junk), 42);
    expect((decodeRecord(Buffer.concat([header, junk])) as ProtocolError).message).toMatch(/not zmsg-encoded/);
    // a request with no frames at all
    header.writeUInt32BE(0, 38);
    header.writeUInt32BE(0, 42);
    expect((decodeRecord(header) as ProtocolError).message).toMatch(/without a service frame/);
  });
});
