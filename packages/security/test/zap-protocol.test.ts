// ZAP 1.0 (27/ZAP) frames, byte for byte: requests as libzmq sends them to a
// ROUTER handler, every malformed case with its answer, replies and metadata.
import { describe, expect, it } from "vitest";
import { ZapStatus, decodeZapRequest, encodeZapMetadata, encodeZapReply } from "../src/index.js";

const b = (s: string): Buffer => Buffer.from(s);
const EMPTY = Buffer.alloc(0);
const ID = Buffer.from([0, 0x6b, 0x8b, 0x45, 0x67]); // a ROUTER routing id, as libzmq makes them
const KEY = Buffer.alloc(32, 7);

function request(...body: Buffer[]): Buffer[] {
  return [ID, EMPTY, ...body];
}

describe("decodeZapRequest", () => {
  it("decodes NULL, PLAIN and CURVE requests as libzmq 4.3 sends them", () => {
    const nul = decodeZapRequest(request(b("1.0"), b("1"), b("global"), b("127.0.0.1"), EMPTY, b("NULL")));
    expect(nul).toMatchObject({ ok: true, request: { domain: "global", address: "127.0.0.1", mechanism: "NULL" } });
    const plain = decodeZapRequest(request(b("1.0"), b("0001"), b("test"), b("192.168.55.1"), b("BOB"), b("PLAIN"), b("admin"), b("secret")));
    expect(plain).toMatchObject({ ok: true, request: { mechanism: "PLAIN", username: "admin", password: "secret" } });
    if (plain.ok) {
      expect(plain.request.envelope).toEqual([ID]);
      expect(plain.request.requestId).toEqual(b("0001"));
      expect(plain.request.identity).toEqual(b("BOB"));
    }
    const curve = decodeZapRequest(request(b("1.0"), b("1"), EMPTY, b("::1"), EMPTY, b("CURVE"), KEY));
    expect(curve.ok && curve.request.publicKey).toEqual(KEY);
    // a request through intermediaries: every routing frame is kept for the reply
    const routed = decodeZapRequest([b("hop1"), ID, EMPTY, b("1.0"), b("1"), EMPTY, b("10.0.0.1"), EMPTY, b("NULL")]);
    expect(routed.ok && routed.request.envelope).toEqual([b("hop1"), ID]);
  });

  it("answers what it can of a malformed request, and says why", () => {
    const cases: [Buffer[], string, string | undefined, RegExp][] = [
      [[ID, b("1.0")], "malformed", undefined, /no routing envelope/],
      [[EMPTY, b("1.0"), b("1")], "malformed", undefined, /no routing envelope/],
      [request(b("1.0")), "malformed", undefined, /no request id/],
      [request(b("2.0"), b("7"), EMPTY, b("1.2.3.4"), EMPTY, b("NULL")), "bad-version", "400", /version "2.0" is not supported/],
      [request(b("1.0"), b("7"), EMPTY), "malformed", "500", /3 frames after the delimiter/],
      [request(b("1.0"), b("7"), EMPTY, b("1.2.3.4"), EMPTY, b("GSSAPI"), b("x")), "unsupported-mechanism", "400", /GSSAPI/],
      [request(b("1.0"), b("7"), EMPTY, b("1.2.3.4"), EMPTY, b("PLAIN"), b("admin")), "malformed", "500", /PLAIN takes 2 credential frame\(s\), got 1/],
      [request(b("1.0"), b("7"), EMPTY, b("1.2.3.4"), EMPTY, b("NULL"), b("x")), "malformed", "500", /NULL takes 0/],
      [request(b("1.0"), b("7"), EMPTY, b("1.2.3.4"), EMPTY, b("CURVE"), Buffer.alloc(31)), "malformed", "500", /32 bytes, got 31/],
    ];
    for (const [frames, kind, status, problem] of cases) {
      const d = decodeZapRequest(frames);
      expect(d.ok, problem.source).toBe(false);
      if (d.ok) continue;
      expect(d.bad.kind).toBe(kind);
      expect(d.bad.problem).toMatch(problem);
      if (status === undefined) expect(d.bad.reply).toBeUndefined();
      else {
        // the reply echoes the envelope and request id: [id][""]["1.0"]["7"][status][text][""][""]
        expect(d.bad.reply!.slice(0, 5)).toEqual([ID, EMPTY, b("1.0"), b("7"), b(status)]);
        expect(d.bad.reply![6]).toEqual(EMPTY);
        expect(d.bad.reply![7]).toEqual(EMPTY);
        expect(d.bad.reply).toHaveLength(8);
      }
    }
  });
});

describe("encodeZapReply and encodeZapMetadata", () => {
  it("encodes the reply frames of 27/ZAP; user id and metadata only with 200", () => {
    const meta = encodeZapMetadata({ name: "joe" });
    expect(encodeZapReply([ID], b("0001"), ZapStatus.Ok, "OK", "joe", meta)).toEqual([ID, EMPTY, b("1.0"), b("0001"), b("200"), b("OK"), b("joe"), meta]);
    expect(encodeZapReply([ID], b("0001"), ZapStatus.AuthenticationFailure, "no", "joe", meta)).toEqual([ID, EMPTY, b("1.0"), b("0001"), b("400"), b("no"), EMPTY, EMPTY]);
    expect(encodeZapReply([ID], b("1"), ZapStatus.InternalError, "x".repeat(300))[5]).toHaveLength(255);
  });

  it("writes ZMTP metadata (name length, name, 4-byte value length, value) and leaves out names ZMTP or libzmq forbid", () => {
    expect(encodeZapMetadata({ name: "joe", "x.y": "" })).toEqual(Buffer.concat([b("\u0004name"), Buffer.from([0, 0, 0, 3]), b("joe"), b("\u0003x.y"), Buffer.from([0, 0, 0, 0])]));
    expect(encodeZapMetadata({ "bad name": "x", "User-Id": "root", Identity: "x", "a/b": "x" })).toEqual(EMPTY);
  });
});
