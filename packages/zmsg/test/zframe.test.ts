// ZFrame: construction without copies, CZMQ's comparisons, hex, reset, dup
// and the zframe_print format.
import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError } from "@zkit/core";
import { ZFrame } from "@zkit/zmsg";

describe("ZFrame construction", () => {
  it("keeps a Buffer as it is, without copying", () => {
    const buf = Buffer.from("abc");
    const frame = new ZFrame(buf);
    expect(frame.data).toBe(buf);
    buf[0] = 0x7a;
    expect(frame.toString()).toBe("zbc");
  });

  it("views a Uint8Array's memory and encodes strings as UTF-8", () => {
    const bytes = new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 4);
    const frame = new ZFrame(bytes);
    expect([...frame.data]).toEqual([1, 2, 3]);
    bytes[0] = 9;
    expect(frame.data[0]).toBe(9);
    expect(new ZFrame("héllo").size).toBe(6);
    expect(new ZFrame(new Uint8Array([5, 6]).buffer).data).toEqual(Buffer.from([5, 6]));
  });

  it("shares a ZFrame's Buffer, and is empty with no argument", () => {
    const a = new ZFrame("x");
    expect(new ZFrame(a).data).toBe(a.data);
    const empty = new ZFrame();
    expect(empty.size).toBe(0);
    expect(empty.isEmpty).toBe(true);
    expect(a.isEmpty).toBe(false);
  });

  it("rejects what is not a frame with an InvalidArgumentError saying what to pass", () => {
    for (const bad of [42, null, { a: 1 }, [1, 2], true]) {
      let err: unknown;
      try {
        new ZFrame(bad as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe(ErrorCode.InvalidArgument);
      expect((err as Error).message).toMatch(/must be a Buffer, Uint8Array, ArrayBuffer, string or ZFrame/);
    }
  });
});

describe("ZFrame comparisons and copies", () => {
  it("streq compares the exact UTF-8 bytes", () => {
    const frame = new ZFrame("héllo");
    expect(frame.streq("héllo")).toBe(true);
    expect(frame.streq("hello")).toBe(false);
    expect(frame.streq("héllo!")).toBe(false);
    expect(new ZFrame(Buffer.from([0xff])).streq("\ufffd")).toBe(false);
    expect(new ZFrame().streq("")).toBe(true);
  });

  it("eq compares size and bytes, and is false for undefined", () => {
    const frame = new ZFrame("abc");
    expect(frame.eq(new ZFrame("abc"))).toBe(true);
    expect(frame.eq(Buffer.from("abc"))).toBe(true);
    expect(frame.eq("abc")).toBe(true);
    expect(frame.eq("abd")).toBe(false);
    expect(frame.eq("ab")).toBe(false);
    expect(frame.eq(undefined)).toBe(false);
    expect(frame.eq(null)).toBe(false);
  });

  it("dup copies the bytes", () => {
    const frame = new ZFrame(Buffer.from("abc"));
    const copy = frame.dup();
    expect(copy.eq(frame)).toBe(true);
    expect(copy.data).not.toBe(frame.data);
    frame.data[0] = 0x41;
    expect(copy.toString()).toBe("abc");
  });

  it("strhex is uppercase and fromHex reads either case back", () => {
    const frame = new ZFrame(Buffer.from([0x00, 0x0a, 0xff, 0x10]));
    expect(frame.strhex()).toBe("000AFF10");
    expect(ZFrame.fromHex("000aff10").eq(frame)).toBe(true);
    expect(ZFrame.fromHex("").size).toBe(0);
    expect(() => ZFrame.fromHex("abc")).toThrow(InvalidArgumentError);
    expect(() => ZFrame.fromHex("zz")).toThrow(/even number of hex digits/);
  });

  it("reset replaces the content", () => {
    const frame = new ZFrame("old");
    const next = Buffer.from("new content");
    frame.reset(next);
    expect(frame.data).toBe(next);
    expect(frame.size).toBe(11);
    expect(() => frame.reset(7 as never)).toThrow(InvalidArgumentError);
  });
});

describe("ZFrame.dump (zframe_print format)", () => {
  it("prints text as [NNN] text", () => {
    expect(new ZFrame("Hello").dump()).toBe("[005] Hello");
    expect(new ZFrame().dump()).toBe("[000] ");
    expect(new ZFrame("a\tb\nc\x7f").dump()).toBe("[006] a\tb\nc\x7f"); // 9..127 is text
    expect(new ZFrame("x").dump("D: ")).toBe("D: [001] x");
  });

  it("prints binary (a byte below 9 or above 127) as uppercase hex", () => {
    expect(new ZFrame(Buffer.from([0x00, 0x41, 0xff])).dump()).toBe("[003] 0041FF");
    expect(new ZFrame(Buffer.from([0x08])).dump()).toBe("[001] 08");
    expect(new ZFrame(Buffer.from([0x80])).dump()).toBe("[001] 80");
    expect(new ZFrame("é").dump()).toBe("[002] C3A9");
  });

  it("cuts text at 70 characters and hex at 35 bytes, with ...", () => {
    expect(new ZFrame("a".repeat(70)).dump()).toBe(`[070] ${"a".repeat(70)}`);
    expect(new ZFrame("a".repeat(71)).dump()).toBe(`[071] ${"a".repeat(70)}...`);
    expect(new ZFrame(Buffer.alloc(35, 1)).dump()).toBe(`[035] ${"01".repeat(35)}`);
    expect(new ZFrame(Buffer.alloc(36, 1)).dump()).toBe(`[036] ${"01".repeat(35)}...`);
    expect(new ZFrame("b".repeat(1234)).dump()).toBe(`[1234] ${"b".repeat(70)}...`);
  });
});
