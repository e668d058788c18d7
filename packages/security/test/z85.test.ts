// Z85 (32/Z85): the RFC's test vector, its length rules, bad input, and the
// same bytes encoded by pyzmq's zmq.utils.z85 (an encoder zkit did not write).
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, ZkitError } from "@zkit/core";
import { requirePyzmq } from "@zkit/testkit";
import { Z85_ALPHABET, isZ85Key, z85Decode, z85Encode } from "../src/index.js";
import { python } from "./helpers.js";

describe("Z85, pure", () => {
  it("encodes and decodes the test vector of 32/Z85", () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe("HelloWorld");
    expect(z85Decode("HelloWorld")).toEqual(bytes);
  });

  it("has 85 distinct characters, none of them a quote, backslash or space", () => {
    expect(new Set(Z85_ALPHABET).size).toBe(85);
    expect(Z85_ALPHABET).not.toMatch(/["'\\ ,;`|~_]/);
  });

  it("round-trips the extremes and random data, 5 characters for every 4 bytes", () => {
    expect(z85Encode(Buffer.alloc(4))).toBe("00000");
    expect(z85Encode(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBe("%nSc0");
    expect(z85Encode(Buffer.alloc(0))).toBe("");
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(4 * (i + 1));
      const text = z85Encode(data);
      expect(text).toHaveLength(5 * (i + 1));
      expect(z85Decode(text)).toEqual(data);
    }
  });

  it("refuses input whose length breaks the rules, with a typed error that says what to do", () => {
    const bad = (fn: () => unknown): ZkitError => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ZkitError);
        expect((err as ZkitError).code).toBe(ErrorCode.InvalidArgument);
        return err as ZkitError;
      }
      throw new Error("did not throw");
    };
    expect(bad(() => z85Encode(Buffer.alloc(31))).message).toMatch(/multiple of 4|groups of 4 bytes.*31 bytes; pad to 32/);
    expect(bad(() => z85Decode("Hell")).message).toMatch(/got 4 \(a CURVE key is 40\)/);
    expect(bad(() => z85Decode("HelloWorl")).message).toMatch(/groups of 5 characters, got 9/);
    expect(bad(() => z85Decode("Hello Worl")).message).toMatch(/character " " at position 5/);
    expect(bad(() => z85Decode("Hell\u00e9")).message).toMatch(/position 4/);
    expect(bad(() => z85Decode("%%%%%")).message).toMatch(/more than 4 bytes/);
    expect(bad(() => z85Encode("abcd" as unknown as Buffer)).message).toMatch(/Buffer or Uint8Array/);
    expect(bad(() => z85Decode(Buffer.from("HelloWorld") as unknown as string)).message).toMatch(/must be a string/);
  });

  it("isZ85Key: 40 characters that decode to 32 bytes", () => {
    expect(isZ85Key(z85Encode(randomBytes(32)))).toBe(true);
    expect(isZ85Key("HelloWorld")).toBe(false);
    expect(isZ85Key(`${"%".repeat(5)}${"0".repeat(35)}`)).toBe(false);
    expect(isZ85Key(42)).toBe(false);
  });
});

describe("Z85 against pyzmq's zmq.utils.z85", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("encodes and decodes exactly what pyzmq does, both ways", () => {
    const samples = Array.from({ length: 20 }, (_, i) => randomBytes(i === 0 ? 32 : 4 * (1 + (i % 12))));
    const hex = samples.map((s) => s.toString("hex")).join(",");
    const out = python("import sys; from zmq.utils import z85\n" + "for h in sys.argv[1].split(','):\n" + "    e = z85.encode(bytes.fromhex(h)).decode()\n" + "    print(e)\n", [hex]);
    const theirs = out.trim().split("\n");
    expect(theirs).toEqual(samples.map((s) => z85Encode(s)));
    const back = python("import sys; from zmq.utils import z85\nfor t in sys.argv[1].split(','): print(z85.decode(t.encode()).hex())", [theirs.join(",")]);
    expect(back.trim().split("\n")).toEqual(samples.map((s) => s.toString("hex")));
    // keys made by libzmq inside pyzmq decode here to 32 bytes and encode back the same
    const keys = python("import zmq\nfor _ in range(5):\n    p, s = zmq.curve_keypair(); print(p.decode()); print(s.decode())").trim().split("\n");
    for (const k of keys) expect(z85Encode(z85Decode(k))).toBe(k);
  });
});
