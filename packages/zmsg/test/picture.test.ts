// Pictures without sockets: CZMQ's text pictures (zsock_send/zsock_recv, one
// frame per character) and binary pictures (zsock_bsend/zsock_brecv, the
// protocols.md vector), their typed tuples, and their errors.
import { describe, expect, expectTypeOf, it } from "vitest";
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { ZFrame, ZMsg, decodeBinaryPicture, decodePicture, encodeBinaryPicture, encodePicture } from "@zkit/zmsg";
import { prng } from "./helpers.js";

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("text pictures: encoding", () => {
  it('sends "i1248sbz" as one frame per character, numbers as decimal ASCII', () => {
    const frames = encodePicture("i1248sbz", [-42, 255, 65535, 4294967295, 18446744073709551615n, "héllo", Buffer.from([0, 1])]);
    expect(frames.map((f) => f.toString("latin1"))).toEqual(["-42", "255", "65535", "4294967295", "18446744073709551615", "hÃ©llo", "\x00\x01", ""]);
    expect(frames[5]!.toString("utf8")).toBe("héllo");
  });

  it("takes a number for 8 too, and u as a plain unsigned integer", () => {
    expect(encodePicture("8u", [1234, 7]).map(String)).toEqual(["1234", "7"]);
  });

  it("sends f, c, U as their bytes and m as the message's frames, without copies", () => {
    const frame = new ZFrame("f");
    const chunk = Buffer.from("c");
    const uuid = Buffer.alloc(16, 0xab);
    const rest = new ZMsg(["m1", "m2"]);
    const frames = ZMsg.fromPicture("fcUm", frame, chunk, uuid, rest).frames;
    expect(frames.map(String)).toEqual(["f", "c", uuid.toString(), "m1", "m2"]);
    expect(frames[0]).toBe(frame.data);
    expect(frames[1]).toBe(chunk);
    expect(frames[3]).toBe(rest.frames[0]);
  });

  it("rejects bad pictures with a message that says what to use", () => {
    expect(errorOf(() => encodePicture("ix", [1, 2]))).toBeInstanceOf(InvalidArgumentError);
    expect(errorOf(() => encodePicture("ix", [1, 2])).message).toMatch(/bad picture "ix" at index 1: 'x' is not a picture character; use i u 1 2 4 8 s b c f U m z/);
    expect(errorOf(() => encodePicture("p", [1])).message).toMatch(/pointer/);
    expect(errorOf(() => encodePicture("S", ["x"])).message).toMatch(/binary-picture character/);
    expect(errorOf(() => encodePicture("ms", [new ZMsg(), "x"])).message).toMatch(/'m' .* must be the last character/);
    expect(errorOf(() => encodePicture(5 as never, [])).message).toMatch(/the picture must be a string/);
  });

  it("rejects a wrong number of arguments", () => {
    expect(errorOf(() => encodePicture("isz", [1])).message).toBe('picture "isz" takes 2 arguments, got 1');
    expect(errorOf(() => encodePicture("z", [1])).message).toBe('picture "z" takes 0 arguments, got 1');
  });

  it.each([
    ["i", "1", /argument 0 \('i'\): pass a signed 32-bit integer .* got a string "1"/],
    ["i", 1.5, /pass a signed 32-bit integer/],
    ["i", 2 ** 31, /pass a signed 32-bit integer/],
    ["1", 256, /pass an unsigned 8-bit integer \(0 to 255\), got number 256/],
    ["2", -1, /pass an unsigned 16-bit integer/],
    ["4", 2 ** 32, /pass an unsigned 32-bit integer/],
    ["4", 5n, /pass an unsigned 32-bit integer/],
    ["8", 2 ** 53, /pass an unsigned 64-bit integer \(a bigint/],
    ["8", 2n ** 64n, /pass an unsigned 64-bit integer/],
    ["8", -1n, /pass an unsigned 64-bit integer/],
    ["s", 5, /pass a string, got number 5/],
    ["b", "text", /pass a Buffer or Uint8Array/],
    ["U", Buffer.alloc(15), /pass a uuid as a 16-byte Buffer, got .* of 15 bytes/],
    ["f", "text", /pass a ZFrame, Buffer or Uint8Array/],
    ["m", ["a"], /pass a ZMsg, got an array/],
  ])("rejects %s with %o", (picture, value, message) => {
    const err = errorOf(() => encodePicture(picture, [value]));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(message);
  });
});

describe("text pictures: decoding", () => {
  it("round-trips every character, with typed results", () => {
    const uuid = Buffer.alloc(16, 7);
    const msg = ZMsg.fromPicture("iu1248sbcfUzm", -7, 9, 1, 2, 3, 2n ** 63n, "s", Buffer.from("b"), Buffer.from("c"), new ZFrame("f"), uuid, new ZMsg(["r1", "r2"]));
    const [i, u, one, two, four, eight, s, b, c, f, U, m] = msg.toPicture("iu1248sbcfUzm");
    expect([i, u, one, two, four, eight, s]).toEqual([-7, 9, 1, 2, 3, 2n ** 63n, "s"]);
    expect(b.toString() + c.toString() + f.toString()).toBe("bcf");
    expect(f).toBeInstanceOf(ZFrame);
    expect(U).toEqual(uuid);
    expect(m.frames.map(String)).toEqual(["r1", "r2"]);
    expect(msg.size).toBe(14); // toPicture does not change the message
    expectTypeOf(i).toEqualTypeOf<number>();
    expectTypeOf(eight).toEqualTypeOf<bigint>();
    expectTypeOf(s).toEqualTypeOf<string>();
    expectTypeOf(b).toEqualTypeOf<Buffer>();
    expectTypeOf(f).toEqualTypeOf<ZFrame>();
    expectTypeOf(m).toEqualTypeOf<ZMsg>();
  });

  it("types the arguments of a literal picture", () => {
    expectTypeOf(ZMsg.fromPicture<"is">).parameters.toEqualTypeOf<["is", number, string]>();
    expectTypeOf(ZMsg.fromPicture<"8z">).parameters.toEqualTypeOf<["8z", number | bigint]>();
    // @ts-expect-error a string where 'i' needs a number
    expect(() => ZMsg.fromPicture("i", "1")).toThrow(InvalidArgumentError);
  });

  it("gives m an empty message when no frames are left, and ignores extra frames", () => {
    const [s, m] = decodePicture("sm", [Buffer.from("only")]) as [string, ZMsg];
    expect(s).toBe("only");
    expect(m.size).toBe(0);
    expect(decodePicture("s", [Buffer.from("a"), Buffer.from("extra")])).toEqual(["a"]);
  });

  it("accepts CZMQ's 'u' frames, which carry a stray d (\"%ud\")", () => {
    expect(decodePicture("u", [Buffer.from("42d")])).toEqual([42]);
    expect(() => decodePicture("4", [Buffer.from("42d")])).toThrow(ProtocolError);
  });

  it("fails with a ProtocolError naming the frame when a frame is missing", () => {
    const err = errorOf(() => decodePicture("isz", [Buffer.from("1")])) as ProtocolError;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.frame).toBe(1);
    expect(err.message).toBe(`picture "isz" needs a frame for 's' at index 1, but the message has only 1 frame`);
  });

  it.each([
    ["i", "abc"],
    ["i", ""],
    ["i", "1.5"],
    ["i", "2147483648"],
    ["1", "256"],
    ["1", "-1"],
    ["2", "65536"],
    ["4", "4294967296"],
    ["8", "18446744073709551616"],
    ["8", "0x10"],
    ["4", " 7"],
  ])("rejects %s from the frame %o", (picture, text) => {
    const err = errorOf(() => decodePicture(`z${picture}`, [Buffer.alloc(0), Buffer.from(text)])) as ProtocolError;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.frame).toBe(1);
    expect(err.message).toMatch(new RegExp(`frame 1 \\('${picture}'\\): expected an? .* as decimal text, got "`));
  });

  it("rejects a z frame that is not empty, a U frame that is not 16 bytes, and a long number frame", () => {
    expect(() => decodePicture("z", [Buffer.from("x")])).toThrow(/expected an empty frame, got 1 bytes/);
    expect(() => decodePicture("U", [Buffer.alloc(15)])).toThrow(/a uuid frame must have 16 bytes, it has 15/);
    expect(() => decodePicture("8", [Buffer.alloc(100, "1")])).toThrow(/got 100 bytes/);
  });

  it("rejects a bad picture before looking at frames", () => {
    expect(() => decodePicture("iq", [])).toThrow(InvalidArgumentError);
  });
});

describe("binary pictures", () => {
  const VECTOR = "01" + "0002" + "00000003" + "0000000000000004" + "02" + "6162" + "00000002" + "6364";

  it('encodes the protocols.md vector: "1248sS" (1,2,3,4,"ab","cd")', () => {
    const frames = encodeBinaryPicture("1248sS", [1, 2, 3, 4, "ab", "cd"]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.toString("hex")).toBe(VECTOR);
    expect(ZMsg.fromBinaryPicture("1248sS", 1, 2, 3, 4n, "ab", "cd").frames[0]!.toString("hex")).toBe(VECTOR);
  });

  it("decodes the vector, 8 as a bigint", () => {
    const values = ZMsg.fromBuffers([Buffer.from(VECTOR, "hex")]).toBinaryPicture("1248sS");
    expect(values).toEqual([1, 2, 3, 4n, "ab", "cd"]);
    expectTypeOf(values).toEqualTypeOf<[number, number, number, bigint, string, string]>();
  });

  it("writes big-endian at the edges of each range, and UTF-8 string lengths in bytes", () => {
    const [data] = encodeBinaryPicture("1248s", [255, 65535, 4294967295, 2n ** 64n - 1n, "é"]);
    expect(data!.toString("hex")).toBe("ff" + "ffff" + "ffffffff" + "ffffffffffffffff" + "02c3a9");
    expect(decodeBinaryPicture("1248s", [data!])).toEqual([255, 65535, 4294967295, 2n ** 64n - 1n, "é"]);
  });

  it("carries chunks and uuids in the data frame, as views on decode", () => {
    const uuid = Buffer.alloc(16, 0x11);
    const [data] = encodeBinaryPicture("cuc", [Buffer.from("xyz"), uuid, Buffer.alloc(0)]);
    expect(data!.toString("hex")).toBe(`0000000378797a${"11".repeat(16)}00000000`);
    const [chunk, u, empty] = decodeBinaryPicture("cuc", [data!]) as [Buffer, Buffer, Buffer];
    expect(chunk.toString()).toBe("xyz");
    expect(chunk.buffer).toBe(data!.buffer);
    expect(u).toEqual(uuid);
    expect(empty.length).toBe(0);
  });

  it("sends f frames after the data frame, then the m frames, as zsock_bsend does", () => {
    const frames = encodeBinaryPicture("1ffm", [7, new ZFrame("f1"), "f2", new ZMsg(["m1", "m2"])]);
    expect(frames.map((f) => f.toString("hex"))).toEqual([
      "07",
      Buffer.from("f1").toString("hex"),
      Buffer.from("f2").toString("hex"),
      Buffer.from("m1").toString("hex"),
      Buffer.from("m2").toString("hex"),
    ]);
    const [n, f1, f2, m] = ZMsg.fromBuffers(frames).toBinaryPicture("1ffm");
    expect(n).toBe(7);
    expect(f1.toString() + f2.toString()).toBe("f1f2");
    expect(m.frames.map(String)).toEqual(["m1", "m2"]);
    expectTypeOf(f1).toEqualTypeOf<ZFrame>();
  });

  it("ignores bytes after the picture's end, as CZMQ does", () => {
    expect(decodeBinaryPicture("1", [Buffer.from([5, 6, 7])])).toEqual([5]);
  });

  it("fails with a ProtocolError at every cut of a data frame", () => {
    const [data] = encodeBinaryPicture("1248sScu", [1, 2, 3, 4, "ab", "cd", Buffer.from("chunk"), Buffer.alloc(16)]);
    for (let cut = 0; cut < data!.length; cut++) {
      const err = errorOf(() => decodeBinaryPicture("1248sScu", [data!.subarray(0, cut)])) as ProtocolError;
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err.frame).toBe(0);
      expect(err.message).toMatch(new RegExp(`the data frame has ${cut} bytes, too short for '.' \\(.+\\) at offset \\d+: needs \\d+, \\d+ left`));
    }
    expect(decodeBinaryPicture("1248sScu", [data!])).toHaveLength(8);
  });

  it("fails with a ProtocolError when a frame is missing", () => {
    expect(errorOf(() => decodeBinaryPicture("1", [])).message).toBe('binary picture "1": the message has no frames');
    const err = errorOf(() => decodeBinaryPicture("1ff", [Buffer.from([1]), Buffer.from("f")])) as ProtocolError;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.frame).toBe(2);
    expect(err.message).toMatch(/'f' at index 2 needs frame 2, but the message has only 2 frames/);
  });

  it("rejects bad pictures and arguments with a message that says what to pass", () => {
    expect(errorOf(() => encodeBinaryPicture("i", [1])).message).toMatch(/'i' is a text-picture character; a binary picture sends unsigned integers with 1 2 4 8/);
    expect(errorOf(() => encodeBinaryPicture("b", [Buffer.alloc(1)])).message).toMatch(/a binary picture sends bytes with 'c'/);
    expect(errorOf(() => encodeBinaryPicture("mf", [new ZMsg(), "x"])).message).toMatch(/must be the last character/);
    expect(errorOf(() => encodeBinaryPicture("12", [1])).message).toBe('binary picture "12" takes 2 arguments, got 1');
    expect(errorOf(() => encodeBinaryPicture("s", ["x".repeat(256)])).message).toMatch(/at most 255 UTF-8 bytes, this one has 256; use 'S'/);
    expect(errorOf(() => encodeBinaryPicture("2", [70000])).message).toMatch(/pass an unsigned 16-bit integer \(0 to 65535\), got number 70000/);
    expect(errorOf(() => encodeBinaryPicture("c", ["str"])).message).toMatch(/pass a chunk as a Buffer or Uint8Array/);
    expect(errorOf(() => encodeBinaryPicture("u", [Buffer.alloc(4)])).message).toMatch(/16-byte Buffer, got .* of 4 bytes/);
    expect(errorOf(() => encodeBinaryPicture("f", [3])).message).toMatch(/must be a Buffer, Uint8Array, ArrayBuffer, string or ZFrame/);
    expect(errorOf(() => encodeBinaryPicture("i", [1]))).toBeInstanceOf(InvalidArgumentError);
    expect(errorOf(() => decodeBinaryPicture("z", [Buffer.alloc(1)]))).toBeInstanceOf(InvalidArgumentError);
  });

  it("never crashes on random or damaged data frames (fuzz)", () => {
    const rnd = prng(0xb1a5);
    const picture = "1s2S4c8uf";
    let ok = 0;
    let failed = 0;
    for (let round = 0; round < 3000; round++) {
      let frames: Buffer[];
      if (round % 2 === 0) {
        frames = Array.from({ length: 1 + rnd.int(2) }, () => rnd.bytes(rnd.int(48)));
      } else {
        const args = [
          rnd.int(256),
          rnd.bytes(rnd.int(5)).toString("hex"),
          rnd.int(65536),
          "S".repeat(rnd.int(9)),
          rnd.int(2 ** 32),
          rnd.bytes(rnd.int(9)),
          BigInt(rnd.int(2 ** 32)) << 20n,
          rnd.bytes(16),
          rnd.bytes(3),
        ];
        frames = encodeBinaryPicture(picture, args);
        const data = frames[0]!;
        const how = rnd.int(3);
        if (how === 0) frames[0] = data.subarray(0, rnd.int(data.length + 1));
        else if (how === 1) data[rnd.int(data.length)] = rnd.int(256);
      }
      try {
        expect(decodeBinaryPicture(picture, frames)).toHaveLength(9);
        ok++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        failed++;
      }
    }
    expect(ok).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(100);
  });
});
