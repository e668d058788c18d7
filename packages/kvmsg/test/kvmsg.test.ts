// KVMsg: the 12/CHP frames byte for byte (both the five-frame kvmsg and the
// three-frame kvsimple form), every malformed case a decoder must refuse
// without throwing, the Guide's API (properties, ttl, store, dup), then the
// frames over real sockets and a pyzmq peer written from the RFC.
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, ProtocolError, ZSocket, shutdown } from "@zkit/core";
import { closeTracked, requirePyzmq, startPython, stopAll, within } from "@zkit/testkit";
import { KVMsg, decodeSequence, encodeSequence } from "@zkit/kvmsg";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const WAIT = 30_000;

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

describe("the 12/CHP frames", () => {
  it("encodes the five frames byte for byte", () => {
    const m = new KVMsg({
      key: "/a/b",
      sequence: 258,
      uuid: hex("000102030405060708090a0b0c0d0e0f"),
      properties: [
        ["ttl", "30"],
        ["x", "y=z"],
      ],
      body: "hi",
    });
    expect(m.encode()).toEqual([Buffer.from("/a/b"), hex("00 00 00 00 00 00 01 02"), hex("000102030405060708090a0b0c0d0e0f"), Buffer.from("ttl=30\nx=y=z\n"), Buffer.from("hi")]);
  });

  it("a message with no uuid and no properties has empty frames 2 and 3; a delete has an empty body", () => {
    expect(new KVMsg({ key: "k", sequence: 1 }).encode()).toEqual([Buffer.from("k"), hex("0000000000000001"), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it("encodes and decodes the kvsimple form [key][sequence][body]", () => {
    const m = new KVMsg({ key: "042", sequence: 0x0102030405, body: Buffer.from([0, 255]) });
    m.setProp("ignored", "1").setUuid(); // not carried by kvsimple
    const f = m.encodeSimple();
    expect(f).toEqual([Buffer.from("042"), hex("0000000102030405"), Buffer.from([0, 255])]);
    const d = KVMsg.decodeSimple(f);
    expect(d).toBeInstanceOf(KVMsg);
    expect((d as KVMsg).sequence).toBe(0x0102030405);
    expect((d as KVMsg).body).toEqual(Buffer.from([0, 255]));
    expect((d as KVMsg).uuid.length).toBe(0);
    expect((d as KVMsg).properties.size).toBe(0);
  });

  it("decodes what it encodes, field for field", () => {
    const m = new KVMsg({ key: "/ünï/ключ", sequence: Number.MAX_SAFE_INTEGER, properties: { ttl: "1.5", owner: "me" }, body: Buffer.alloc(1000, 7) });
    m.setUuid();
    const d = KVMsg.decode(m.encode());
    expect(d).toBeInstanceOf(KVMsg);
    expect((d as KVMsg).equals(m)).toBe(true);
    expect((d as KVMsg).ttl).toBe(1.5);
    expect([...(d as KVMsg).properties]).toEqual([
      ["ttl", "1.5"],
      ["owner", "me"],
    ]);
  });

  it("reads a properties frame whose last line has no newline (lenient on receive)", () => {
    const d = KVMsg.decode([Buffer.from("k"), encodeSequence(1), Buffer.alloc(0), Buffer.from("a=1\nb=2"), Buffer.from("v")]);
    expect([...(d as KVMsg).properties]).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("sequences: 8 bytes big-endian, 0 to 2^53 - 1", () => {
    expect(encodeSequence(0)).toEqual(hex("0000000000000000"));
    expect(encodeSequence(2 ** 40 + 7)).toEqual(hex("0000010000000007"));
    expect(decodeSequence(hex("001fffffffffffff"))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeSequence(hex("0020000000000000"))).toBeInstanceOf(ProtocolError);
    expect(decodeSequence(hex("ffffffffffffffff"))).toBeInstanceOf(ProtocolError); // -1
  });

  const good = (): Buffer[] => new KVMsg({ key: "k", sequence: 1, body: "v" }).encode();
  const malformed: [string, Buffer[], number | undefined][] = [
    ["no frames", [], undefined],
    ["four frames", good().slice(0, 4), undefined],
    ["six frames", [...good(), Buffer.from("x")], undefined],
    ["a 7-byte sequence", [Buffer.from("k"), Buffer.alloc(7), Buffer.alloc(0), Buffer.alloc(0), Buffer.from("v")], 1],
    ["an empty sequence", [Buffer.from("k"), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), Buffer.from("v")], 1],
    ["a negative sequence", [Buffer.from("k"), hex("8000000000000000"), Buffer.alloc(0), Buffer.alloc(0), Buffer.from("v")], 1],
    ["a 15-byte uuid", [Buffer.from("k"), encodeSequence(1), Buffer.alloc(15), Buffer.alloc(0), Buffer.from("v")], 2],
    ["a 17-byte uuid", [Buffer.from("k"), encodeSequence(1), Buffer.alloc(17), Buffer.alloc(0), Buffer.from("v")], 2],
    ["a property line without =", [Buffer.from("k"), encodeSequence(1), Buffer.alloc(0), Buffer.from("ttl\n"), Buffer.from("v")], 3],
    ["a property with an empty name", [Buffer.from("k"), encodeSequence(1), Buffer.alloc(0), Buffer.from("=3\n"), Buffer.from("v")], 3],
    ["an empty property line", [Buffer.from("k"), encodeSequence(1), Buffer.alloc(0), Buffer.from("a=1\n\nb=2\n"), Buffer.from("v")], 3],
  ];
  for (const [name, frames, frame] of malformed) {
    it(`refuses ${name} with a ProtocolError naming frame ${String(frame)}, without throwing`, () => {
      const d = KVMsg.decode(frames);
      expect(d).toBeInstanceOf(ProtocolError);
      expect((d as ProtocolError).frame).toBe(frame);
    });
  }

  it("kvsimple refuses anything but three frames and a bad sequence", () => {
    expect(KVMsg.decodeSimple(good())).toBeInstanceOf(ProtocolError);
    expect(KVMsg.decodeSimple([Buffer.from("k"), Buffer.alloc(3), Buffer.from("v")])).toBeInstanceOf(ProtocolError);
    expect(KVMsg.decodeSimple("nope" as unknown as Buffer[])).toBeInstanceOf(ProtocolError);
  });
});

describe("the Guide's kvmsg API", () => {
  it("properties keep their order and replace in place; ttl reads and writes the ttl property", () => {
    const m = new KVMsg({ key: "k", body: "v" });
    m.setProp("a", "1").setProp("ttl", 5).setProp("a", "2");
    expect(m.encodeProperties().toString()).toBe("a=2\nttl=5\n");
    expect(m.ttl).toBe(5);
    m.ttl = 0.25;
    expect(m.getProp("ttl")).toBe("0.25");
    m.ttl = undefined;
    expect(m.getProp("ttl")).toBeUndefined();
    expect(m.ttl).toBeUndefined();
    m.setProp("ttl", "soon");
    expect(m.ttl).toBeUndefined(); // not a number: no ttl
    expect(m.deleteProp("a")).toBe(true);
    expect(m.encodeProperties().toString()).toBe("ttl=soon\n");
  });

  it("refuses what the wire cannot carry, with InvalidArgumentError saying what to pass", () => {
    const m = new KVMsg();
    expect(() => m.setProp("a=b", "1")).toThrow(InvalidArgumentError);
    expect(() => m.setProp("a\nb", "1")).toThrow(/without "=" or a newline/);
    expect(() => m.setProp("", "1")).toThrow(InvalidArgumentError);
    expect(() => m.setProp("a", "1\n2")).toThrow(/without a newline/);
    expect(() => (m.uuid = Buffer.alloc(5))).toThrow(/16 bytes/);
    expect(() => (m.sequence = -1)).toThrow(/whole number/);
    expect(() => (m.sequence = 1.5)).toThrow(InvalidArgumentError);
    expect(() => (m.sequence = 2 ** 53)).toThrow(InvalidArgumentError);
    expect(() => (m.ttl = -1)).toThrow(/seconds/);
    expect(() => new KVMsg({ key: 5 as unknown as string })).toThrow(/key must be a string/);
    expect(() => new KVMsg({ body: 5 as unknown as string })).toThrow(/body must be a Buffer or a string/);
  });

  it("setUuid makes a fresh 16-byte uuid each time", () => {
    const m = new KVMsg();
    const a = Buffer.from(m.setUuid());
    const b = m.setUuid();
    expect(a.length).toBe(16);
    expect(a.equals(b)).toBe(false);
    expect(m.uuidHex).toMatch(/^[0-9a-f]{32}$/);
  });

  it("store sets on a body and deletes on an empty one (the Guide's kvmsg_store)", () => {
    const map = new Map<string, KVMsg>();
    const set = new KVMsg({ key: "k", sequence: 1, body: "v" });
    expect(set.store(map)).toBe(true);
    expect(map.get("k")).toBe(set);
    expect(new KVMsg({ key: "k", sequence: 2 }).store(map)).toBe(false);
    expect(map.has("k")).toBe(false);
  });

  it("dup copies every field and changing the copy leaves the original alone", () => {
    const m = new KVMsg({ key: "k", sequence: 3, properties: { a: "1" }, body: "v" });
    m.setUuid();
    const c = m.dup();
    expect(c.equals(m)).toBe(true);
    c.setProp("a", "2");
    c.sequence = 4;
    expect(m.getProp("a")).toBe("1");
    expect(m.sequence).toBe(3);
    expect(c.equals(m)).toBe(false);
  });

  it("dump prints one line with the sequence, key, size, properties and body", () => {
    const m = new KVMsg({ key: "/k", sequence: 7, properties: { ttl: "3" }, body: "hello" });
    expect(m.dump()).toBe('[seq:7][key:/k][size:5] ttl=3 "hello"');
    expect(new KVMsg({ key: "b", body: Buffer.from([0, 1]) }).dump()).toBe("[seq:0][key:b][size:2] 0001");
  });
});

describe("over real sockets", () => {
  it("send and recv carry every field over tcp (PUB/SUB), kvmsg and kvsimple", async () => {
    const pub = await ZSocket.pub("@tcp://127.0.0.1:*");
    const sub = await ZSocket.sub(`>${pub.endpoint}`, "");
    const m = new KVMsg({ key: "/x", sequence: 9, properties: { ttl: "2" }, body: "val" });
    m.setUuid();
    // a SUB joins late: send until one arrives (the first ones may be dropped)
    const first = within(KVMsg.recv(sub), WAIT, "a kvmsg over PUB/SUB");
    const timer = setInterval(() => void m.send(pub), 20);
    const got = await first.finally(() => clearInterval(timer));
    expect(got.equals(m)).toBe(true);
    pub.close();
    sub.close();
  });

  it("recv throws a ProtocolError for a malformed message and the next one is read fine", async () => {
    const a = await ZSocket.pair("@tcp://127.0.0.1:*");
    const b = await ZSocket.pair(`>${a.endpoint}`);
    await a.send([Buffer.from("k"), Buffer.from("short")]);
    await new KVMsg({ key: "ok", sequence: 1, body: "v" }).sendSimple(a);
    await expect(within(KVMsg.recv(b), WAIT, "a malformed message")).rejects.toBeInstanceOf(ProtocolError);
    const ok = await within(KVMsg.recvSimple(b), WAIT, "a kvsimple message");
    expect(ok.key).toBe("ok");
    expect(ok.text).toBe("v");
    a.close();
    b.close();
  });
});

describe("with a pyzmq peer written from 12/CHP", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("decodes what Python encodes, and Python decodes what we encode, field for field", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*");
    const py = startPython(here("peers/kvmsg_peer.py"), [router.endpoint, "2"]);
    const [id, ...frames] = await within(router.receive(), WAIT, () => `the Python kvmsg\n${py.describe()}`);
    const m = KVMsg.decode(frames);
    expect(m).toBeInstanceOf(KVMsg);
    const got = m as KVMsg;
    expect(got.key).toBe("/py/one");
    expect(got.sequence).toBe(2 ** 40 + 7);
    expect(got.uuid).toEqual(hex("000102030405060708090a0b0c0d0e0f"));
    expect([...got.properties]).toEqual([
      ["ttl", "30"],
      ["owner", "py"],
    ]);
    expect(got.ttl).toBe(30);
    expect(got.text).toBe("from python");

    // ours to Python: a message with uuid and properties, then a delete with neither
    const ours = new KVMsg({ key: "/ts/ünï", sequence: 41, properties: { a: "b=c" }, body: Buffer.from([0, 1, 2, 255]) });
    ours.setUuid();
    await router.send([id!, ...ours.encode()]);
    const back = KVMsg.decode((await within(router.receive(), WAIT, "Python's answer")).slice(1)) as KVMsg;
    expect(back.key).toBe("/ts/ünï");
    expect(back.sequence).toBe(42);
    expect(back.uuid).toEqual(ours.uuid);
    expect([...back.properties]).toEqual([
      ["a", "b=c"],
      ["seen", "py"],
    ]);
    expect(back.body).toEqual(ours.body);

    await router.send([id!, ...new KVMsg({ key: "/gone", sequence: 50 }).encode()]);
    const del = KVMsg.decode((await within(router.receive(), WAIT, "Python's second answer")).slice(1)) as KVMsg;
    expect(del.size).toBe(0);
    expect(del.uuid.length).toBe(0);
    expect([...del.properties]).toEqual([["seen", "py"]]);
    await py.waitFor(/^done$/m, WAIT);
    expect(py.stdout()).toContain(`got key=/ts/ünï seq=41 uuid=${ours.uuidHex} props=a=b=c body=000102ff`);
    expect(py.stdout()).toContain("got key=/gone seq=50 uuid= props= body=");
    router.close();
  });
});
