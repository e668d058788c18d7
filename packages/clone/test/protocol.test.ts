// 12/CHP frames byte for byte, in both dialects (the RFC's and the Guide's
// C programs'), and every malformed case a decoder must refuse without
// throwing. Then CloneStore, the server's state without sockets: strictly
// increasing sequences, deletes, ephemeral keys expiring in deadline order,
// stale deadlines ignored, consistent snapshots of subtrees.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import { KVMsg, encodeSequence } from "@zkit/kvmsg";
import { CloneStore, decodeIcanhaz, decodeKvset, decodeSnapshotReply, decodeUpdate, encodeHugz, encodeIcanhaz, encodeKthxbai, encodeKvsync, inSubtree, ttlSeconds } from "@zkit/clone";

const b = (s: string): Buffer => Buffer.from(s);
const E = Buffer.alloc(0);
const ID = Buffer.from([0, 0, 0, 0, 7]);
const seq = encodeSequence;

describe("12/CHP frames", () => {
  it('ICANHAZ is ["ICANHAZ?"][subtree], and the ROUTER side decodes it', () => {
    expect(encodeIcanhaz("/client/")).toEqual([b("ICANHAZ?"), b("/client/")]);
    expect(encodeIcanhaz("")).toEqual([b("ICANHAZ?"), E]);
    expect(decodeIcanhaz([ID, b("ICANHAZ?"), b("/a/")])).toEqual({ client: ID, subtree: "/a/", form: undefined });
    // zkit's extension: a third frame asks for a form
    expect(encodeIcanhaz("/a/", "guide")).toEqual([b("ICANHAZ?"), b("/a/"), b("guide")]);
    expect(decodeIcanhaz([ID, b("ICANHAZ?"), b("/a/"), b("guide")])).toEqual({ client: ID, subtree: "/a/", form: "guide" });
    expect(decodeIcanhaz([ID, b("ICANHAZ?"), b("/a/"), b("rfc")])).toEqual({ client: ID, subtree: "/a/", form: "rfc" });
    expect((decodeIcanhaz([ID, b("ICANHAZ?"), b("/a/"), b("xml")]) as ProtocolError).frame).toBe(3);
  });

  it("refuses a malformed ICANHAZ with a ProtocolError", () => {
    for (const frames of [[], [ID], [ID, b("ICANHAZ?")], [ID, b("ICANHAZ"), E], [ID, b("ICANHAZ?"), E, E], [ID, b("ICANHAZ?"), E, b("guide"), E]]) {
      expect(decodeIcanhaz(frames)).toBeInstanceOf(ProtocolError);
    }
    expect((decodeIcanhaz([ID, b("GIMME"), E]) as ProtocolError).frame).toBe(1);
  });

  const msg = new KVMsg({ key: "/k", sequence: 5, uuid: Buffer.alloc(16, 0xab), properties: { ttl: "30", x: "1" }, body: "v" });

  it("KVSYNC, RFC form: uuid and properties frames empty", () => {
    expect(encodeKvsync(ID, msg, "rfc", 1_700_000_000_000)).toEqual([ID, b("/k"), seq(5), E, E, b("v")]);
  });

  it("KVSYNC, Guide form: uuid and properties kept, ttl as the absolute deadline in epoch ms", () => {
    expect(encodeKvsync(ID, msg, "guide", 1_700_000_000_123.4)).toEqual([ID, b("/k"), seq(5), Buffer.alloc(16, 0xab), b("ttl=1700000000123\nx=1\n"), b("v")]);
    expect(encodeKvsync(ID, msg, "guide")).toEqual([ID, b("/k"), seq(5), Buffer.alloc(16, 0xab), b("ttl=30\nx=1\n"), b("v")]);
    expect(msg.getProp("ttl")).toBe("30"); // the stored message is left alone
  });

  it("KTHXBAI: the RFC's last frame is the subtree, the Guide's is empty", () => {
    expect(encodeKthxbai(ID, 9, "/a/", "rfc")).toEqual([ID, b("KTHXBAI"), seq(9), E, E, b("/a/")]);
    expect(encodeKthxbai(ID, 9, "/a/", "guide")).toEqual([ID, b("KTHXBAI"), seq(9), E, E, E]);
  });

  it("HUGZ: the RFC's sequence is 0, the Guide's the current one", () => {
    expect(encodeHugz(42, "rfc")).toEqual([b("HUGZ"), seq(0), E, E, E]);
    expect(encodeHugz(42, "guide")).toEqual([b("HUGZ"), seq(42), E, E, E]);
  });

  it("a client reads both forms of KVSYNC, KTHXBAI and HUGZ", () => {
    for (const d of ["rfc", "guide"] as const) {
      const sync = decodeSnapshotReply(encodeKvsync(ID, msg, d, 1).slice(1));
      expect(sync).toMatchObject({ kind: "kvsync" });
      expect((sync as { msg: KVMsg }).msg.text).toBe("v");
      expect(decodeSnapshotReply(encodeKthxbai(ID, 9, "/a/", d).slice(1))).toEqual({ kind: "kthxbai", sequence: 9, subtree: d === "rfc" ? "/a/" : "" });
      expect(decodeUpdate(encodeHugz(42, d))).toEqual({ kind: "hugz", sequence: d === "rfc" ? 0 : 42 });
    }
    const pub = decodeUpdate(msg.encode());
    expect(pub).toMatchObject({ kind: "kvpub" });
    expect((pub as { msg: KVMsg }).msg.equals(msg)).toBe(true);
  });

  it("malformed snapshot replies and updates are ProtocolErrors naming the frame", () => {
    const bad = [b("/k"), Buffer.alloc(4), E, E, b("v")];
    expect((decodeSnapshotReply(bad) as ProtocolError).frame).toBe(1);
    expect((decodeUpdate(bad) as ProtocolError).frame).toBe(1);
    expect(decodeUpdate([b("HUGZ")])).toBeInstanceOf(ProtocolError);
    expect(decodeSnapshotReply([])).toBeInstanceOf(ProtocolError);
  });

  it("a KVSET must be a kvmsg whose key is not a command", () => {
    expect(decodeKvset(msg.encode())).toBeInstanceOf(KVMsg);
    for (const key of ["", "HUGZ", "KTHXBAI"]) expect(decodeKvset(new KVMsg({ key, body: "x" }).encode())).toBeInstanceOf(ProtocolError);
    expect(decodeKvset([b("/k"), seq(0), Buffer.alloc(3), E, b("v")])).toBeInstanceOf(ProtocolError);
  });

  it("ttl: a number of seconds > 0, else none (as the Guide's atoi); capped at ten years", () => {
    const t = (v: string | undefined): number | undefined => ttlSeconds(new KVMsg({ key: "k", properties: v === undefined ? {} : { ttl: v } }));
    expect(t("30")).toBe(30);
    expect(t("0.5")).toBe(0.5);
    expect(t("0")).toBeUndefined();
    expect(t("-3")).toBeUndefined();
    expect(t("soon")).toBeUndefined();
    expect(t(undefined)).toBeUndefined();
    expect(t("1e12")).toBe(10 * 365 * 24 * 3600);
  });

  it('subtrees are key prefixes; "" holds every key', () => {
    expect(inSubtree("/client/1", "/client/")).toBe(true);
    expect(inSubtree("/server/1", "/client/")).toBe(false);
    expect(inSubtree("anything", "")).toBe(true);
  });
});

describe("CloneStore", () => {
  const set = (key: string, body: string, ttl?: number): KVMsg => {
    const m = new KVMsg({ key, body, sequence: 999 });
    m.setUuid();
    if (ttl !== undefined) m.ttl = ttl;
    return m;
  };

  it("gives every update the next sequence, whatever the client sent, and keeps uuid and properties", () => {
    const s = new CloneStore();
    const a = s.apply(set("/a", "1"));
    const b2 = s.apply(set("/b", "2", 10));
    expect([a.sequence, b2.sequence, s.sequence]).toEqual([1, 2, 2]);
    expect(b2.getProp("ttl")).toBe("10"); // published as it came: relative
    expect(b2.uuid.length).toBe(16);
    expect(s.size).toBe(2);
  });

  it("an empty body deletes the key, and still takes a sequence", () => {
    const s = new CloneStore();
    s.apply(set("/a", "1"));
    const del = s.apply(set("/a", ""));
    expect(del.sequence).toBe(2);
    expect(s.size).toBe(0);
    expect(s.get("/a")).toBeUndefined();
  });

  it("ephemeral keys expire at their absolute deadline, in deadline order, each delete with the next sequence", () => {
    const s = new CloneStore();
    const t0 = 1_000_000;
    s.apply(set("/late", "x", 3), t0);
    s.apply(set("/early", "x", 1), t0);
    s.apply(set("/stays", "x"), t0);
    expect(s.get("/late")!.expiresAt).toBe(t0 + 3000);
    expect(s.expire(t0 + 999)).toEqual([]);
    const first = s.expire(t0 + 1000);
    expect(first.map((m) => [m.key, m.sequence, m.size])).toEqual([["/early", 4, 0]]);
    const second = s.expire(t0 + 10_000);
    expect(second.map((m) => [m.key, m.sequence])).toEqual([["/late", 5]]);
    expect([...s.entries()].map((e) => e.msg.key)).toEqual(["/stays"]);
    expect(s.pendingDeadlines).toBe(0);
  });

  it("a key set again (without a ttl, or deleted) does not expire on its old deadline", () => {
    const s = new CloneStore();
    s.apply(set("/a", "1", 1), 0);
    s.apply(set("/a", "2"), 0);
    s.apply(set("/b", "1", 1), 0);
    s.apply(set("/b", ""), 0);
    s.apply(set("/c", "1", 1), 0);
    s.apply(set("/c", "2", 5), 0);
    expect(s.expire(2000)).toEqual([]);
    expect(s.get("/a")!.msg.text).toBe("2");
    expect(s.expire(5000).map((m) => m.key)).toEqual(["/c"]);
  });

  it("many deadlines come out in order (the heap)", () => {
    const s = new CloneStore();
    const ttls = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) + 1);
    for (const [i, t] of ttls.entries()) s.apply(set(`/k${i}`, "x", t / 10), 0);
    const out = s.expire(1_000_000);
    expect(out).toHaveLength(500);
    const order = out.map((m) => ttls[Number(m.key.slice(2))]!);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(out.map((m) => m.sequence)).toEqual(Array.from({ length: 500 }, (_, i) => 501 + i));
  });

  it("a snapshot is the subtree's entries with the sequence of that moment", () => {
    const s = new CloneStore();
    s.apply(set("/client/1", "a"));
    s.apply(set("/server/1", "b"));
    s.apply(set("/client/2", "c"));
    const snap = s.snapshot("/client/");
    expect(snap.sequence).toBe(3);
    expect(snap.entries.map((e) => e.msg.key)).toEqual(["/client/1", "/client/2"]);
    s.apply(set("/client/3", "d"));
    expect(snap.entries).toHaveLength(2); // later changes do not leak into it
    expect(s.snapshot("").entries).toHaveLength(4);
  });
});
