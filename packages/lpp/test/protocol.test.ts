// Lazy Pirate's reference request, byte by byte (shared/protocols.md: "the
// request is a sequence number, the reply echoes it"), and the match helpers.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import { LPP_RETRIES, LPP_TIMEOUT_MS, decodeSequence, echoMatch, encodeSequence, sameFrames } from "@zkit/lpp";

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

describe("reference figures", () => {
  it("are the Guide's: 2500 ms per attempt, 3 retries", () => {
    expect(LPP_TIMEOUT_MS).toBe(2500);
    expect(LPP_RETRIES).toBe(3);
  });
});

describe("encodeSequence", () => {
  it("is one frame of decimal ASCII", () => {
    expect(encodeSequence(1)).toEqual([b(0x31)]);
    expect(encodeSequence(42)).toEqual([b(0x34, 0x32)]);
    expect(encodeSequence(0)).toEqual([b(0x30)]);
    expect(encodeSequence(1234567)).toEqual([Buffer.from("1234567")]);
  });
});

describe("decodeSequence", () => {
  it("reads one frame of digits", () => {
    expect(decodeSequence([b(0x31)])).toBe(1);
    expect(decodeSequence([b(0x34, 0x32)])).toBe(42);
    expect(decodeSequence([b(0x30)])).toBe(0);
    expect(decodeSequence(encodeSequence(9007199254740991))).toBe(9007199254740991);
  });

  const bad: [string, Buffer[], number | undefined][] = [
    ["an empty message", [], undefined],
    ["two frames", [b(0x31), b(0x31)], 1],
    ["an empty frame", [b()], 0],
    ["a leading zero", [Buffer.from("01")], 0],
    ["a sign", [Buffer.from("-1")], 0],
    ["a plus sign", [Buffer.from("+1")], 0],
    ["a space", [Buffer.from("1 ")], 0],
    ["letters", [Buffer.from("abc")], 0],
    ["a fraction", [Buffer.from("1.5")], 0],
    ["binary", [b(0x00, 0xff)], 0],
    ["too many digits", [Buffer.from("12345678901234567")], 0],
    ["beyond the safe integers", [Buffer.from("9007199254740993")], 0],
  ];
  for (const [what, frames, frame] of bad) {
    it(`returns a ProtocolError for ${what}, naming frame ${String(frame)}`, () => {
      const r = decodeSequence(frames);
      expect(r).toBeInstanceOf(ProtocolError);
      expect((r as ProtocolError).code).toBe("ZKIT_PROTOCOL");
      expect((r as ProtocolError).frame).toBe(frame);
    });
  }
});

describe("sameFrames and echoMatch", () => {
  it("compare frame counts and bytes", () => {
    expect(sameFrames([b(1), b(2)], [b(1), b(2)])).toBe(true);
    expect(sameFrames([], [])).toBe(true);
    expect(sameFrames([b(1)], [b(1), b()])).toBe(false);
    expect(sameFrames([b(1, 2)], [b(1, 3)])).toBe(false);
    expect(echoMatch([Buffer.from("7")], [Buffer.from("7")])).toBe(true);
    expect(echoMatch([Buffer.from("7")], [Buffer.from("8")])).toBe(false);
  });
});
