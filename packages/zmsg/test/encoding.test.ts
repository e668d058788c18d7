// CZMQ's zmsg_encode format: the byte vector of shared/protocols.md, the
// 255-byte boundary, views instead of copies, and clean failures on
// truncated and random input.
import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ProtocolError, ZkitError } from "@zkit/core";
import { ZFrame, ZMsg, decodeFrames, encodeFrames } from "@zkit/zmsg";
import { prng } from "./helpers.js";

// protocols.md: zmsg_encode of ["hello"][""][300 x 'x']
const VECTOR = Buffer.concat([Buffer.from("0568656c6c6f" + "00" + "ff0000012c", "hex"), Buffer.alloc(300, "x")]);
const VECTOR_FRAMES = [Buffer.from("hello"), Buffer.alloc(0), Buffer.alloc(300, "x")];

describe("encode", () => {
  it("matches the protocols.md vector byte for byte", () => {
    expect(encodeFrames(VECTOR_FRAMES).equals(VECTOR)).toBe(true);
    expect(new ZMsg(["hello", "", "x".repeat(300)]).encode().equals(VECTOR)).toBe(true);
    expect(VECTOR.subarray(0, 12).toString("hex")).toBe("0568656c6c6f00ff0000012c");
  });

  it("uses one size byte up to 254 and 0xFF + 4 bytes big-endian from 255", () => {
    const at = (n: number): string =>
      encodeFrames([Buffer.alloc(n)])
        .subarray(0, 5)
        .toString("hex");
    expect(at(0)).toBe("00");
    expect(at(1).slice(0, 2)).toBe("01");
    expect(at(254).slice(0, 2)).toBe("fe");
    expect(at(255)).toBe("ff000000ff");
    expect(at(256)).toBe("ff00000100");
    expect(at(65536)).toBe("ff00010000");
    expect(encodeFrames([Buffer.alloc(254)]).length).toBe(255);
    expect(encodeFrames([Buffer.alloc(255)]).length).toBe(260);
  });

  it("encodes no frames as no bytes", () => {
    expect(encodeFrames([]).length).toBe(0);
    expect(new ZMsg().encode().length).toBe(0);
  });

  it("rejects frames that are not bytes", () => {
    expect(() => encodeFrames(["x" as never])).toThrow(InvalidArgumentError);
    expect(() => encodeFrames(["x" as never])).toThrow(/frame 0 must be a Buffer/);
    expect(() => encodeFrames("x" as never)).toThrow(/needs an array of Buffers/);
  });
});

describe("decode", () => {
  it("round-trips the vector and CZMQ's self-test sizes", () => {
    expect(decodeFrames(VECTOR)).toEqual(VECTOR_FRAMES);
    const sizes = [0, 1, 253, 254, 255, 256, 65535, 65536, 65537];
    const msg = new ZMsg(sizes.map((n, i) => Buffer.alloc(n, i)));
    const back = ZMsg.decode(msg.encode());
    expect(back.size).toBe(9);
    expect(back.frames.map((f) => f.length)).toEqual(sizes);
    expect(back.eq(msg)).toBe(true);
  });

  it("decodes from a ZFrame or a Uint8Array, and no bytes as no frames", () => {
    expect(ZMsg.decode(new ZFrame(VECTOR)).size).toBe(3);
    expect(ZMsg.decode(new Uint8Array(VECTOR)).frames[0]!.toString()).toBe("hello");
    expect(decodeFrames(Buffer.alloc(0))).toEqual([]);
  });

  it("returns views into the input, not copies", () => {
    const input = Buffer.from(VECTOR);
    const frames = decodeFrames(input);
    expect(frames[0]!.buffer).toBe(input.buffer);
    input[1] = 0x4a; // 'J'
    expect(frames[0]!.toString()).toBe("Jello");
  });

  it("accepts a long size header for a short frame, as CZMQ does", () => {
    expect(decodeFrames(Buffer.from("ff0000000268690161", "hex")).map(String)).toEqual(["hi", "a"]);
  });

  it("fails cleanly at every cut point of the vector, except at frame boundaries", () => {
    const ok: number[] = [];
    for (let cut = 0; cut < VECTOR.length; cut++) {
      let frames: Buffer[] | undefined;
      try {
        frames = decodeFrames(VECTOR.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        const e = err as ProtocolError;
        expect(e.code).toBe(ErrorCode.Protocol);
        expect(e.message).toMatch(/^zmsg decode: frame \d at offset \d+ /);
        expect(e.frame).toBe(cut < 6 ? 0 : 2);
        continue;
      }
      ok.push(cut);
      expect(frames).toEqual(VECTOR_FRAMES.slice(0, frames.length));
    }
    // cut 0: no frames; 6: ["hello"]; 7: ["hello"][""]
    expect(ok).toEqual([0, 6, 7]);
  });

  it("names the frame and what is missing", () => {
    expect(() => decodeFrames(Buffer.from([1, 0x61, 0xff, 0, 0]))).toThrow("zmsg decode: frame 1 at offset 2 has a long size header (0xFF + 4 bytes) but only 2 bytes follow the 0xFF");
    expect(() => decodeFrames(Buffer.from([0, 0, 9, 1]))).toThrow("zmsg decode: frame 2 at offset 2 declares 9 bytes but only 1 remain (truncated or not zmsg-encoded)");
    expect(() => ZMsg.decode("not bytes" as never)).toThrow(InvalidArgumentError);
  });

  it("never crashes on random bytes: frames that add up, or a ProtocolError (fuzz)", () => {
    const rnd = prng(0x5eed);
    let decoded = 0;
    let failed = 0;
    for (let round = 0; round < 5000; round++) {
      let input: Buffer;
      if (round % 2 === 0) {
        input = rnd.bytes(rnd.int(64));
      } else {
        // a valid encoding, then damaged: cut, a flipped byte, or bytes added
        const frames = Array.from({ length: 1 + rnd.int(4) }, () => rnd.bytes(rnd.int(3) === 0 ? 250 + rnd.int(20) : rnd.int(12)));
        input = encodeFrames(frames);
        const how = rnd.int(3);
        if (how === 0) input = input.subarray(0, rnd.int(input.length));
        else if (how === 1 && input.length > 0) input[rnd.int(input.length)] = rnd.int(256);
        else input = Buffer.concat([input, rnd.bytes(1 + rnd.int(6))]);
      }
      try {
        const frames = decodeFrames(input);
        let total = 0;
        for (const f of frames) total += (f.length < 255 ? 1 : 5) + f.length;
        // a non-canonical long header takes 5 bytes for a short frame
        expect(total).toBeLessThanOrEqual(input.length);
        expect(frames.reduce((n, f) => n + f.length, 0)).toBeLessThanOrEqual(input.length);
        decoded++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        expect(err).toBeInstanceOf(ZkitError);
        failed++;
      }
    }
    expect(decoded).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(100);
  });
});
