// zmsg_save / zmsg_load on Node streams: the bytes CZMQ 4.2.1 writes (a
// file made by CZMQ itself, see fixtures/README.md), real files in a temp
// dir, and every malformed input.
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { ZMsg } from "@zkit/zmsg";
import { tempDir } from "@zkit/testkit";

const CZMQ_FILE = fileURLToPath(new URL("./fixtures/czmq-4.2.1-zmsg_save.bin", import.meta.url));
const CZMQ_MESSAGE = (): ZMsg => new ZMsg(["hello", Buffer.alloc(300, "x"), Buffer.from([0x00, 0x01, 0xff])]);

const removers: (() => void)[] = [];
afterEach(() => {
  for (const remove of removers.splice(0)) remove();
});

/** Everything written to a PassThrough by `write`. */
async function collect(write: (stream: PassThrough) => Promise<void>): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  await write(stream);
  stream.end();
  await finished(stream);
  return Buffer.concat(chunks);
}

describe("the zmsg_save format", () => {
  it("loads a message saved by CZMQ 4.2.1, and saves the same bytes", async () => {
    const loaded = await ZMsg.load(createReadStream(CZMQ_FILE));
    expect(loaded.eq(CZMQ_MESSAGE())).toBe(true);
    const saved = await collect((s) => CZMQ_MESSAGE().save(s));
    expect(saved.equals(readFileSync(CZMQ_FILE))).toBe(true);
    // each frame: an 8-byte little-endian size, then the bytes
    expect(saved.subarray(0, 13).toString("hex")).toBe(`0500000000000000${Buffer.from("hello").toString("hex")}`);
    expect(saved.subarray(13, 21).toString("hex")).toBe("2c01000000000000");
  });

  it("round-trips through a real file, empty frames included (which CZMQ 4.2 cannot save)", async () => {
    const t = tempDir("zkit-zmsg-save-");
    removers.push(t.remove);
    const path = join(t.dir, "message.bin");
    const msg = new ZMsg(["", "body", Buffer.alloc(70_000, 7), ""]);
    const file = createWriteStream(path);
    await msg.save(file);
    file.end();
    await finished(file);
    expect(msg.size).toBe(4); // saving leaves the message as it was
    const back = await ZMsg.load(createReadStream(path));
    expect(back.eq(msg)).toBe(true);
  });

  it("loads from bytes and from any iterable of chunks, split anywhere", async () => {
    const bytes = readFileSync(CZMQ_FILE);
    expect((await ZMsg.load(bytes)).eq(CZMQ_MESSAGE())).toBe(true);
    const oneByteChunks = Readable.from([...bytes].map((b) => Buffer.from([b])));
    expect((await ZMsg.load(oneByteChunks)).eq(CZMQ_MESSAGE())).toBe(true);
    expect((await ZMsg.load([bytes.subarray(0, 10), bytes.subarray(10)])).eq(CZMQ_MESSAGE())).toBe(true);
  });

  it("an empty stream is an empty message; two saves in one stream load as one message, as in CZMQ", async () => {
    expect((await ZMsg.load(Readable.from([]))).size).toBe(0);
    const both = await collect(async (s) => {
      await new ZMsg(["a"]).save(s);
      await new ZMsg(["b", "c"]).save(s);
    });
    expect((await ZMsg.load(both)).frames.map(String)).toEqual(["a", "b", "c"]);
  });

  it.each([
    ["a size cut short", Buffer.from("0500000000", "hex"), /frame 0 at offset 0 has a 5-byte size/],
    ["a frame cut short", Buffer.from("0500000000000000" + "6865", "hex"), /frame 0 at offset 0 declares 5 bytes but only 2 remain/],
    ["a size beyond any file", Buffer.from("ffffffffffffffff00", "hex"), /declares 18446744073709551615 bytes but only 1 remain/],
    ["text, not a saved message", Buffer.from("hello world, this is not a message"), /frame 0 at offset 0 declares \d+ bytes/],
  ])("refuses %s with a ProtocolError naming the frame", async (_name, bytes, message) => {
    const err = await ZMsg.load(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).message).toMatch(message);
    expect((err as ProtocolError).frame).toBe(0);
  });

  it("names the second frame when it is the one cut short", async () => {
    const bytes = Buffer.concat([readFileSync(CZMQ_FILE).subarray(0, 13), Buffer.from("2c010000", "hex")]);
    const err = (await ZMsg.load(bytes).catch((e: unknown) => e)) as ProtocolError;
    expect(err.frame).toBe(1);
    expect(err.message).toMatch(/frame 1 at offset 13 has a 4-byte size/);
  });

  it("refuses what is not a stream or bytes with a typed error", async () => {
    await expect(ZMsg.load(42 as never)).rejects.toThrow(InvalidArgumentError);
    await expect(ZMsg.load(Readable.from(["text"]))).rejects.toThrow(/open it without an encoding/);
    await expect(CZMQ_MESSAGE().save({} as never)).rejects.toThrow(/ZMsg.save needs a writable stream/);
  });

  it("passes the stream's own error on", async () => {
    const broken = new PassThrough();
    broken.on("error", () => {}); // the test looks at what save() says
    broken.destroy(new Error("disk on fire"));
    await expect(CZMQ_MESSAGE().save(broken)).rejects.toMatchObject({ code: "ERR_STREAM_DESTROYED" });
    const failing = new Readable({
      read() {
        this.destroy(new Error("read failed"));
      },
    });
    await expect(ZMsg.load(failing)).rejects.toThrow("read failed");
  });
});
