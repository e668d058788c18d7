// The Binary Star wire format byte by byte (shared/protocols.md): state
// messages as the Guide's C and Python bstarsrv send them, every malformed
// case, the envelope split of a voter message, and zkit's opt-in answer to
// a rejected vote.
import { describe, expect, it } from "vitest";
import { REJECTED_HEADER, STATE_CODES, decodeRejected, decodeState, encodeRejected, encodeState, splitEnvelope, stateName } from "../src/index.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("state messages", () => {
  it("each state is one frame: its number in decimal ASCII, 1 to 4", () => {
    expect(encodeState("primary")).toEqual([Buffer.from([0x31])]);
    expect(encodeState("backup")).toEqual([Buffer.from([0x32])]);
    expect(encodeState("active")).toEqual([Buffer.from([0x33])]);
    expect(encodeState("passive")).toEqual([Buffer.from([0x34])]);
    expect(STATE_CODES).toEqual({ primary: 1, backup: 2, active: 3, passive: 4 });
    for (const code of [1, 2, 3, 4]) expect(stateName(code)).toBeDefined();
    expect(stateName(5)).toBeUndefined();
  });

  it("decodes what it encodes, and a C string's trailing NUL", () => {
    for (const s of ["primary", "backup", "active", "passive"] as const) expect(decodeState(encodeState(s))).toEqual({ ok: true, state: s });
    expect(decodeState([Buffer.from([0x33, 0x00])])).toEqual({ ok: true, state: "active" });
  });

  it("anything else is malformed, with a reason and the bad frame, and never throws", () => {
    const cases: [Buffer[], RegExp, number | undefined][] = [
      [[], /one frame, got 0/, undefined],
      [[b("3"), b("3")], /one frame, got 2/, 1],
      [[b("")], /an empty frame/, 0],
      [[b("0")], /"0"/, 0],
      [[b("5")], /"5"/, 0],
      [[b("33")], /"33"/, 0],
      [[b(" 3")], /" 3"/, 0],
      [[b("3\n")], /0x330a/, 0],
      [[Buffer.from([0x03])], /0x03/, 0],
      [[Buffer.alloc(100, 0x33)], /100 bytes/, 0],
      [[b("ACTIVE")], /"ACTIVE"/, 0],
    ];
    for (const [frames, reason, frame] of cases) {
      const d = decodeState(frames);
      expect(d.ok, JSON.stringify(frames.map(String))).toBe(false);
      if (!d.ok) {
        expect(d.reason).toMatch(reason);
        expect(d.frame).toBe(frame);
      }
    }
  });
});

describe("voter envelopes", () => {
  const id = Buffer.from([0x00, 0x80, 0x00, 0x00, 0x29]);

  it("a REQ client's request: [id][''][body...] splits after the delimiter", () => {
    const { envelope, body } = splitEnvelope([id, b(""), b("1"), b("2")]);
    expect(envelope).toEqual([id, b("")]);
    expect(body).toEqual([b("1"), b("2")]);
  });

  it("through a proxy: every routing frame up to the first empty frame is envelope", () => {
    const proxy = b("proxy-id");
    const { envelope, body } = splitEnvelope([id, proxy, b(""), b("x"), b(""), b("y")]);
    expect(envelope).toEqual([id, proxy, b("")]);
    expect(body).toEqual([b("x"), b(""), b("y")]);
  });

  it("a DEALER client with no delimiter: the routing id alone; an empty body stays empty", () => {
    expect(splitEnvelope([id, b("x")])).toEqual({ envelope: [id], body: [b("x")] });
    expect(splitEnvelope([id, b("")])).toEqual({ envelope: [id, b("")], body: [] });
  });
});

describe("answers to rejected votes (zkit's opt-in extension)", () => {
  it("is the envelope, then ['BSTAR-REJECTED'][state], and reads back as the state", () => {
    const envelope = [b("id"), b("")];
    const frames = encodeRejected(envelope, "passive");
    expect(frames).toEqual([b("id"), b(""), b(REJECTED_HEADER), b("4")]);
    expect(decodeRejected(frames.slice(2))).toBe("passive");
  });

  it("any other reply is not a rejection", () => {
    expect(decodeRejected([b("1")])).toBeUndefined();
    expect(decodeRejected([b(REJECTED_HEADER)])).toBeUndefined();
    expect(decodeRejected([b(REJECTED_HEADER), b("9")])).toBeUndefined();
    expect(decodeRejected([b(REJECTED_HEADER), b("4"), b("x")])).toBeUndefined();
    expect(decodeRejected([b("BSTAR-REJECTE"), b("4")])).toBeUndefined();
  });
});
