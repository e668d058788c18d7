// CloneServer seen from raw sockets, frame by frame: a DEALER asks for a
// snapshot and gets one KVSYNC per key of its subtree then KTHXBAI, in the
// RFC's form and in the Guide's; an idle server publishes HUGZ; updates
// take strictly increasing sequences; ephemeral keys are deleted and the
// delete published; malformed messages are dropped and counted; options are
// checked; a taken port fails the start and leaves nothing open.
//
//   raw DEALER --ICANHAZ?--> ROUTER (P)      raw SUB <--KVPUB/HUGZ-- PUB (P+1)
//              <--KVSYNC...KTHXBAI--                 client --KVSET--> SUB (P+2)
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ZSocket, ZkitError, openSocketCount, shutdown } from "@zkit/core";
import { KVMsg, encodeSequence } from "@zkit/kvmsg";
import { closeTracked, waitFor, within } from "@zkit/testkit";
import { CloneServer, type CloneDialect, type CloneServerEvents } from "@zkit/clone";
import { HUGZ_MS, WAIT, endpoint, startServer, syncedClient } from "./helpers.js";

const b = (s: string): Buffer => Buffer.from(s);
const E = Buffer.alloc(0);

afterEach(async () => {
  await closeTracked();
  shutdown();
});

/** A raw snapshot request: every message up to and including KTHXBAI. */
async function rawSnapshot(port: number, subtree: string): Promise<Buffer[][]> {
  const dealer = await ZSocket.dealer(`>${endpoint(port)}`, { linger: 0 });
  await dealer.send([b("ICANHAZ?"), b(subtree)]);
  const got: Buffer[][] = [];
  for (;;) {
    const msg = await within(dealer.receive(), WAIT, "a snapshot message");
    got.push(msg);
    if (msg[0]!.toString() === "KTHXBAI") break;
  }
  dealer.close();
  return got;
}

for (const dialect of ["rfc", "guide"] as const satisfies CloneDialect[]) {
  describe(`snapshots and HUGZ, ${dialect} form`, () => {
    it("KVSYNC per key of the subtree, then KTHXBAI with the sequence of the snapshot", async () => {
      const server = await startServer({ dialect });
      const writer = await syncedClient([server.port]);
      await writer.set("/client/a", "1");
      await writer.set("/server/b", "2");
      await writer.set("/client/c", "3", { ttlSeconds: 3600 });
      await waitFor(() => server.sequence === 3, WAIT, "three updates at the server");
      const t0 = Date.now();
      const snap = await rawSnapshot(server.port, "/client/");
      expect(snap).toHaveLength(3);
      const [a, c, end] = snap;
      expect(a!.slice(0, 2)).toEqual([b("/client/a"), encodeSequence(1)]);
      expect(a![4]).toEqual(b("1"));
      expect(c!.slice(0, 2)).toEqual([b("/client/c"), encodeSequence(3)]);
      if (dialect === "rfc") {
        expect([a![2], a![3], c![2], c![3]]).toEqual([E, E, E, E]);
        expect(end).toEqual([b("KTHXBAI"), encodeSequence(3), E, E, b("/client/")]);
      } else {
        expect(a![2]!.length).toBe(16); // the uuid the client gave it
        expect(a![3]).toEqual(E);
        // ttl as the absolute deadline in epoch ms (the Guide's C server does this)
        const ttl = Number(/^ttl=(\d+)\n$/.exec(c![3]!.toString())![1]);
        expect(ttl).toBeGreaterThanOrEqual(t0 + 3600_000 - 60_000);
        expect(ttl).toBeLessThanOrEqual(Date.now() + 3600_000);
        expect(end).toEqual([b("KTHXBAI"), encodeSequence(3), E, E, E]);
      }
      expect(await rawSnapshot(server.port, "")).toHaveLength(4);
      expect(await rawSnapshot(server.port, "/nothing/")).toEqual([[b("KTHXBAI"), encodeSequence(3), E, E, dialect === "rfc" ? b("/nothing/") : E]]);
    });

    it("an idle server publishes HUGZ (sequence 0 in the RFC's form, the current one in the Guide's)", async () => {
      const server = await startServer({ dialect });
      const writer = await syncedClient([server.port]);
      await writer.set("/k", "v");
      await waitFor(() => server.sequence === 1, WAIT, "the update at the server");
      const sub = await ZSocket.sub(`>tcp://127.0.0.1:${server.port + 1}`, "HUGZ");
      const hugz = await within(sub.receive(), WAIT, "HUGZ");
      expect(hugz).toEqual([b("HUGZ"), encodeSequence(dialect === "rfc" ? 0 : 1), E, E, E]);
      sub.close();
    });
  });
}

describe("snapshots to a slow client", () => {
  it("a client that reads its snapshot slowly gets all of it while another client is connected (a mandatory ROUTER fails a send to a full peer at once then)", async () => {
    const server = await startServer();
    const writer = await syncedClient([server.port]);
    // 3,000 keys of 10 KB: 30 MB, far more than the queues and TCP buffers hold
    const body = Buffer.alloc(10_000, 0x63);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => writer.set(`/big/${i}`, body, { timeoutMs: 60_000 })));
    await waitFor(() => server.size >= 3000, WAIT, "3,000 keys at the server");
    // the writer's snapshot socket stays connected: the other peer with room
    const slow = await ZSocket.dealer(`>${endpoint(server.port)}`, { linger: 0, receiveHighWaterMark: 100 });
    try {
      await slow.send([Buffer.from("ICANHAZ?"), Buffer.from("")]);
      let kvsyncs = 0;
      const read = (async () => {
        for (;;) {
          const msg = await slow.receive();
          if (msg[0]!.toString() === "KTHXBAI") return;
          kvsyncs++;
          // slower than the server sends: a pause every 20 messages
          if (kvsyncs % 20 === 0) await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await within(read, 120_000, () => `the whole snapshot (${kvsyncs} KVSYNCs read, ${server.stats.snapshotsDropped} snapshot(s) dropped)`);
      expect(kvsyncs).toBeGreaterThanOrEqual(3000);
      expect(server.stats.snapshotsDropped).toBe(0);
    } finally {
      slow.close();
    }
  }, 180_000);
});

describe("updates", () => {
  it("every update takes the next sequence and is published with the client's uuid and properties", async () => {
    const server = await startServer();
    const updates: CloneServerEvents["update"][0][] = [];
    server.on("update", (u) => updates.push(u));
    const sub = await ZSocket.sub(`>tcp://127.0.0.1:${server.port + 1}`, "/k");
    const writer = await syncedClient([server.port]);
    // the raw SUB's subscription must be in place: wait for its first message
    const first = within(sub.receive(), WAIT, "a first KVPUB");
    let n = 0;
    await waitFor(
      async () => {
        await writer.set(`/k/warmup`, String(++n));
        return sub.readable;
      },
      WAIT,
      "the raw subscriber to get updates",
      50,
    );
    await first;
    while (sub.readable) await sub.receive();
    const before = server.sequence;
    const uuids: string[] = [];
    for (let i = 0; i < 20; i++) uuids.push(await writer.set(`/k/${i % 3}`, i % 5 === 4 ? "" : `v${i}`, i === 7 ? { ttlSeconds: 60 } : {}));
    const got: KVMsg[] = [];
    while (got.length < 20) {
      const m = KVMsg.decode(await within(sub.receive(), WAIT, `KVPUB ${got.length + 1}`)) as KVMsg;
      if (m.key !== "/k/warmup") got.push(m);
    }
    // warmups still in flight came first, from the same client: ours are consecutive
    expect(got[0]!.sequence).toBeGreaterThan(before);
    expect(got.map((m) => m.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => got[0]!.sequence + i));
    expect(got.map((m) => m.uuidHex)).toEqual(uuids);
    expect(got[7]!.getProp("ttl")).toBe("60"); // published as sent: relative
    expect(got[4]!.size).toBe(0); // a delete
    expect(updates.slice(-20).map((u) => u.sequence)).toEqual(got.map((m) => m.sequence));
    expect(updates.slice(-20)[4]).toMatchObject({ deleted: true });
    sub.close();
  });

  it("an ephemeral key is deleted when its ttl expires, and the delete is published with the next sequence", async () => {
    const server = await startServer({ ttlCheckIntervalMs: 20 });
    const expired: CloneServerEvents["expired"][0][] = [];
    server.on("expired", (e) => expired.push(e));
    const client = await syncedClient([server.port]);
    await client.set("/ttl", "soon gone", { ttlSeconds: 0.3 });
    await client.set("/stays", "here");
    await waitFor(() => client.get("/ttl") !== undefined, WAIT, "the ephemeral key at the client");
    await waitFor(() => server.get("/ttl") === undefined, WAIT, "the ephemeral key to expire");
    expect(expired).toEqual([{ key: "/ttl", sequence: 3 }]);
    await waitFor(() => client.get("/ttl") === undefined, WAIT, "the delete at the client");
    expect(client.sequence).toBe(3);
    expect(client.get("/stays")?.toString()).toBe("here");
    expect(server.stats.expired).toBe(1);
  });

  it("drops malformed messages on both sockets, counts them and keeps serving", async () => {
    const server = await startServer();
    const malformed: CloneServerEvents["malformed"][0][] = [];
    server.on("malformed", (m) => malformed.push(m));
    const dealer = await ZSocket.dealer(`>${endpoint(server.port)}`, { linger: 0 });
    await dealer.send([b("GIMME"), E]);
    await dealer.send([b("ICANHAZ?")]);
    const pub = await ZSocket.xpub(`>tcp://127.0.0.1:${server.port + 2}`, { linger: 0 });
    await within(pub.receive(), WAIT, "the collector's subscription");
    await pub.send([b("/k"), b("not a sequence"), E, E, b("v")]);
    await pub.send([b("HUGZ"), encodeSequence(0), E, E, E]);
    await pub.send([b("/k")]);
    await waitFor(() => server.stats.malformed === 5, WAIT, "five malformed messages counted");
    expect(malformed.filter((m) => m.socket === "snapshot")).toHaveLength(2);
    expect(malformed.find((m) => m.socket === "collector" && m.frame === 1)).toBeDefined();
    // and it still serves
    await pub.send(new KVMsg({ key: "/ok", body: "fine" }).encode());
    await waitFor(() => server.get("/ok")?.toString() === "fine", WAIT, "a good update after the bad ones");
    expect((await rawSnapshot(server.port, "")).length).toBe(2);
    dealer.close();
    pub.close();
  });
});

describe("options and ports", () => {
  it("refuses bad options with InvalidArgumentError naming the option", () => {
    expect(() => new CloneServer({ port: -1 })).toThrow(/port/);
    expect(() => new CloneServer({ port: 65534 })).toThrow(/P \+ 2/);
    expect(() => new CloneServer({ dialect: "c" as CloneDialect })).toThrow(/dialect must be "rfc" or "guide"/);
    expect(() => new CloneServer({ hugzIntervalMs: 0 })).toThrow(/hugzIntervalMs/);
    expect(() => new CloneServer({ host: "" })).toThrow(/host/);
    expect(() => new CloneServer({ prot: 5 } as never)).toThrow(InvalidArgumentError);
  });

  it("port 0 picks three free ports in a row; a taken port fails the start and leaves nothing open", async () => {
    const a = await startServer();
    expect(a.port).toBeGreaterThanOrEqual(20_000);
    expect(a.snapshotEndpoint).toBe(`tcp://127.0.0.1:${a.port}`);
    expect(a.publisherEndpoint).toBe(`tcp://127.0.0.1:${a.port + 1}`);
    expect(a.collectorEndpoint).toBe(`tcp://127.0.0.1:${a.port + 2}`);
    const open = openSocketCount();
    const b2 = new CloneServer({ port: a.port - 1, host: "127.0.0.1" }); // P + 1 and P + 2 are taken
    await expect(b2.start()).rejects.toSatisfy((e: unknown) => e instanceof ZkitError && e.code === ErrorCode.AddressInUse);
    await expect(b2.done).rejects.toBeInstanceOf(ZkitError);
    expect(openSocketCount()).toBe(open);
  });

  it("close is graceful and idempotent, and done resolves", async () => {
    const s = await startServer();
    await Promise.all([s.close(), s.close()]);
    await expect(s.done).resolves.toBeUndefined();
    expect(s.state).toBe("closed");
  });
});

export { HUGZ_MS };
