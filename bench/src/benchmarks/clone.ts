/**
 * Clone (12/CHP), in one process over tcp://127.0.0.1:
 *
 * - `clone/updates-3-subscribers`: one client sends N updates (kvmsg, 32-byte
 *   values, random keys among 1000) through a `CloneServer` to 3
 *   `CloneClient`s (the sender is one of them); updates per second from the
 *   first send until all 3 clients hold the server's last sequence. Raw: the
 *   same five-frame messages PUSHed to a relay that stamps a sequence and
 *   republishes them on a PUB to 3 SUBs (zeromq.js, no pattern), until all 3
 *   got N.
 * - `clone/snapshot-100k`: a new client joins a server holding 100,000 keys;
 *   milliseconds until it is synced (ICANHAZ, 100,000 KVSYNC, KTHXBAI, the
 *   map built). Raw: a DEALER asks a ROUTER, which streams the same 100,000
 *   five-frame messages and an end marker back (a snapshot is a
 *   ROUTER-to-DEALER stream: over PUB/SUB it would be dropped at the
 *   high-water mark). The store is filled before the clock starts, each round.
 * @module
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { CloneClient, CloneServer } from "@zkit/clone";
import { KVMsg } from "@zkit/kvmsg";
import type { BenchCase, RunContext, Sample } from "../harness.js";
import { chainedSender } from "../raw-send-queue.js";

const UPDATES = 20_000;
const QUICK_UPDATES = 2_000;
const SNAPSHOT_KEYS = 100_000;
const QUICK_SNAPSHOT_KEYS = 10_000;
const SUBSCRIBERS = 3;
const CLIENT = { serverTtlMs: 60_000, snapshotTimeoutMs: 60_000, subscribeSettleMs: 200, receiveHighWaterMark: 100_000 } as const;

async function until(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function updateFrames(i: number, value: Buffer): Buffer[] {
  const m = new KVMsg({ key: `/bench/${i % 1000}`, body: value });
  m.setUuid();
  return m.encode();
}

async function zkitUpdates(ctx: RunContext): Promise<Sample> {
  const n = ctx.quick ? QUICK_UPDATES : UPDATES;
  // the Guide's form: its HUGZ carry the sequence, so a client that lost the
  // last updates at the publisher's high-water mark finds out without a
  // further update (with the RFC's HUGZ it would wait for one)
  const server = new CloneServer({ port: 0, host: "127.0.0.1", dialect: "guide", hugzIntervalMs: 100 });
  await server.start();
  const clients = Array.from({ length: SUBSCRIBERS }, () => new CloneClient({ ...CLIENT, servers: [`tcp://127.0.0.1:${server.port}`] }));
  try {
    await Promise.all(clients.map((c) => c.waitSynced({ timeoutMs: 60_000 })));
    const value = randomBytes(32);
    const start = server.sequence;
    const t0 = performance.now();
    const sends: Promise<string>[] = [];
    for (let i = 0; i < n; i++) sends.push(clients[0]!.set(`/bench/${i % 1000}`, value, { timeoutMs: 300_000 }));
    await Promise.all(sends);
    await until(() => server.sequence >= start + n && clients.every((c) => c.sequence >= start + n), "every client at the last sequence");
    const ms = performance.now() - t0;
    const resyncs = clients.reduce((s, c) => s + c.stats.snapshots - 1, 0);
    if (resyncs > 0) console.log(`  (zkit: ${resyncs} resync(s) after a gap)`);
    return { throughput: (n / ms) * 1000 };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
}

async function rawUpdates(ctx: RunContext): Promise<Sample> {
  const n = ctx.quick ? QUICK_UPDATES : UPDATES;
  const collector = new zmq.Pull({ linger: 0 });
  const publisher = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  const push = new zmq.Push({ linger: 0 });
  const subs = Array.from({ length: SUBSCRIBERS }, () => new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000 }));
  try {
    await collector.bind("tcp://127.0.0.1:*");
    await publisher.bind("tcp://127.0.0.1:*");
    push.connect(collector.lastEndpoint!);
    for (const s of subs) {
      s.connect(publisher.lastEndpoint!);
      s.subscribe();
    }
    // the relay: stamps a sequence on each update and publishes it
    let sequence = 0;
    const relay = (async () => {
      for await (const frames of collector) {
        const seq = Buffer.allocUnsafe(8);
        seq.writeBigInt64BE(BigInt(++sequence));
        frames[1] = seq;
        await publisher.send(frames);
      }
    })().catch(() => {});
    // subscriptions in place: probes until every SUB got one
    const got = subs.map(() => 0);
    const readers = subs.map(async (s, i) => {
      for await (const msg of s) {
        if (msg[0]!.toString() !== "probe") got[i]!++;
        else if (got[i] === 0) got[i] = -1;
      }
    });
    for (const r of readers) r.catch(() => {});
    while (got.some((g) => g === 0)) {
      await publisher.send([Buffer.from("probe"), Buffer.alloc(8), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < got.length; i++) got[i] = 0;
    const value = randomBytes(32);
    const t0 = performance.now();
    // every update handed over at once, as the zkit side does (raw needs a promise chain for that)
    const send = chainedSender(push);
    await Promise.all(Array.from({ length: n }, (_, i) => send(updateFrames(i, value))));
    await until(() => got.every((g) => g >= n), "every SUB to get every update");
    const ms = performance.now() - t0;
    void relay;
    return { throughput: (n / ms) * 1000 };
  } finally {
    for (const s of subs) s.close();
    push.close();
    publisher.close();
    collector.close();
  }
}

/** A server holding `keys` keys, filled through a client as any update would be (outside the clock). */
async function filledServer(keys: number): Promise<CloneServer> {
  const server = new CloneServer({ port: 0, host: "127.0.0.1" });
  await server.start();
  const writer = new CloneClient({ ...CLIENT, servers: [`tcp://127.0.0.1:${server.port}`], subtree: "/snap/" });
  try {
    const sets: Promise<string>[] = [];
    for (let i = 0; i < keys; i++) sets.push(writer.set(`/snap/${i}`, randomBytes(32), { timeoutMs: 300_000 }));
    await Promise.all(sets);
    await until(() => server.size >= keys, `${keys} keys at the server`);
  } finally {
    await writer.close();
  }
  return server;
}

async function zkitSnapshot(ctx: RunContext): Promise<Sample> {
  const keys = ctx.quick ? QUICK_SNAPSHOT_KEYS : SNAPSHOT_KEYS;
  const server = await filledServer(keys);
  // subscribeSettleMs 0: the clock measures the snapshot, not the wait for a first HUGZ
  const client = new CloneClient({ ...CLIENT, subscribeSettleMs: 0, servers: [`tcp://127.0.0.1:${server.port}`] });
  try {
    const t0 = performance.now();
    await client.waitSynced({ timeoutMs: 300_000 });
    const ms = performance.now() - t0;
    if (client.size !== keys) throw new Error(`snapshot held ${client.size} keys, not ${keys}`);
    return { ms };
  } finally {
    await client.close();
    await server.close();
  }
}

async function rawSnapshot(ctx: RunContext): Promise<Sample> {
  const keys = ctx.quick ? QUICK_SNAPSHOT_KEYS : SNAPSHOT_KEYS;
  const router = new zmq.Router({ linger: 0, mandatory: true });
  const dealer = new zmq.Dealer({ linger: 0 });
  const messages = Array.from({ length: keys }, (_, i) => {
    const m = new KVMsg({ key: `/snap/${i}`, sequence: i + 1, body: randomBytes(32) });
    return m.encode();
  });
  try {
    await router.bind("tcp://127.0.0.1:*");
    dealer.connect(router.lastEndpoint!);
    const serve = (async () => {
      const [id] = await router.receive();
      for (const m of messages) await router.send([id!, m[0]!, m[1]!, Buffer.alloc(0), Buffer.alloc(0), m[4]!]);
      await router.send([id!, Buffer.from("KTHXBAI"), Buffer.alloc(8), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
    })();
    const t0 = performance.now();
    await dealer.send([Buffer.from("ICANHAZ?"), Buffer.alloc(0)]);
    const map = new Map<string, Buffer>();
    for (;;) {
      const [key, , , , body] = await dealer.receive();
      if (key!.toString() === "KTHXBAI") break;
      map.set(key!.toString(), body!);
    }
    const ms = performance.now() - t0;
    await serve;
    return { ms };
  } finally {
    dealer.close();
    router.close();
  }
}

export const cases: BenchCase[] = [
  {
    name: "clone/updates-3-subscribers",
    description: `${UPDATES} updates (kvmsg, 32 B) through a Clone server to ${SUBSCRIBERS} clients (raw: PUSH -> sequencing relay -> PUB -> ${SUBSCRIBERS} SUB)`,
    metrics: [{ key: "throughput", unit: "upd/s", better: "higher", target: { op: ">=", ratio: 0.1 } }],
    run: { raw: rawUpdates, zkit: zkitUpdates },
  },
  {
    name: "clone/snapshot-100k",
    description: `a new client syncs a ${SNAPSHOT_KEYS}-key store (raw: ROUTER streams the same ${SNAPSHOT_KEYS} messages to a DEALER)`,
    metrics: [{ key: "ms", unit: "ms", better: "lower", target: { op: "<=", ratio: 10 } }],
    run: { raw: rawSnapshot, zkit: zkitSnapshot },
  },
];
