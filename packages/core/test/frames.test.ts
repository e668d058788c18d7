// toFrame/toFrames: what every package sends goes through one conversion,
// with one message for what is not a frame.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, isFrameLike, isMessageLike, toFrame, toFrames } from "@zkit/core";

const b = (s: string): Buffer => Buffer.from(s);

describe("toFrame", () => {
  it("keeps a Buffer, views a Uint8Array or ArrayBuffer without copying, encodes a string as UTF-8", () => {
    const buf = b("x");
    expect(toFrame(buf)).toBe(buf);
    expect(toFrame("é")).toEqual(Buffer.from([0xc3, 0xa9]));
    const backing = new Uint8Array([1, 2, 3, 4]);
    const view = toFrame(backing.subarray(1, 3));
    expect(view).toEqual(Buffer.from([2, 3]));
    backing[1] = 9;
    expect(view[0]).toBe(9); // same bytes, no copy
    const ab = new Uint8Array([7, 8]).buffer;
    expect(toFrame(ab)).toEqual(Buffer.from([7, 8]));
  });

  it.each([
    [42, "42"],
    [null, "null"],
    [undefined, "undefined"],
    [{}, "object"],
    [[b("a")], "an array"],
  ])("rejects %j, saying what a frame may be", (bad, shown) => {
    expect(() => toFrame(bad as never)).toThrow(InvalidArgumentError);
    expect(() => toFrame(bad as never)).toThrow(`a frame must be a Buffer, Uint8Array, ArrayBuffer or string, got ${shown}`);
    expect(() => toFrame(bad as never, "Thing.send(frame)")).toThrow(`Thing.send(frame): a frame must be a Buffer, Uint8Array, ArrayBuffer or string, got ${shown}`);
  });
});

describe("toFrames", () => {
  it("makes one frame a message of one, and converts each frame of an array", () => {
    expect(toFrames("one")).toEqual([b("one")]);
    expect(toFrames(["a", b("b"), new Uint8Array([99])])).toEqual([b("a"), b("b"), b("c")]);
  });

  it("rejects an empty array unless allowEmpty", () => {
    expect(() => toFrames([], "Thing handler result")).toThrow('Thing handler result: a message needs at least one frame; pass e.g. "hello" or [frame1, frame2]');
    expect(() => toFrames([])).toThrow(/^a message needs at least one frame/);
    expect(toFrames([], "x", { allowEmpty: true })).toEqual([]);
  });

  it("names the index of a bad frame", () => {
    expect(() => toFrames(["a", 5] as never, "Thing.request(body)")).toThrow("Thing.request(body): frame 1 must be a Buffer, Uint8Array, ArrayBuffer or string, got 5");
    expect(() => toFrames(5 as never)).toThrow(/^a frame must be a Buffer/);
  });
});

describe("isFrameLike and isMessageLike", () => {
  it("tells frames and messages from anything else", () => {
    for (const good of ["", b(""), new Uint8Array(1), new ArrayBuffer(1)]) {
      expect(isFrameLike(good)).toBe(true);
      expect(isMessageLike(good)).toBe(true);
      expect(isMessageLike([good, good])).toBe(true);
    }
    expect(isMessageLike([])).toBe(true);
    for (const bad of [1, null, undefined, {}, [[b("a")]], ["a", 1]]) {
      expect(isMessageLike(bad)).toBe(false);
    }
    expect(isFrameLike(["a"])).toBe(false);
  });
});
