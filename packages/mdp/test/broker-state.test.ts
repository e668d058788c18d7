// The broker's rules without sockets: BrokerState fed with messages,
// connection notices and a hand-driven clock, its sends and events recorded.
// Dispatch order (LRU), expiry of busy workers, a purge that does not stop at
// the first live worker, workers and clients whose connection ends, requests
// given back when their worker leaves, forged replies, queues bounded by
// bytes, expiry only of requests nobody can serve, DISCONNECT for every valid
// but unexpected command, MMI; then pipelining (workerPrefetch > 1): credit,
// least-loaded choice, reply matching, expiry and DISCONNECT with several
// requests in hand. The same rules are exercised over real sockets in
// broker.test.ts and prefetch.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { setLogSink } from "@zkit/core";
import { BrokerState, type BrokerConfig, type MajordomoBrokerEvents } from "../src/broker-state.js";

const EMPTY = Buffer.alloc(0);
const b = (s: string): Buffer => Buffer.from(s);
const id = (n: number): Buffer => Buffer.from([0, 0, 0, 0, n]);
const hex = (n: number): string => id(n).toString("hex");

const CONFIG: BrokerConfig = {
  heartbeatIntervalMs: 100,
  liveness: 3,
  unservedExpiryMs: 1000,
  requestExpiryMs: Infinity,
  maxQueueBytes: Infinity,
  maxQueuePerService: 5,
  queueOverflow: "drop-oldest",
  maxFrameBytes: 1024,
  maxServices: 3,
  workerPrefetch: 1,
  maxDeliveries: 3,
};

/**
 * Worker silence as the broker watches it (ZLoop tickets there), by hand:
 * each watch has a deadline, touched on every message; `expire()` fires
 * those past it, as the tickets would.
 */
function fakeWatches(expiryMs: number, clock: () => number) {
  const watches = new Set<{ deadline: number; onExpire: () => void }>();
  return {
    watch: (onExpire: () => void) => {
      const w = { deadline: clock() + expiryMs, onExpire };
      watches.add(w);
      return { touch: () => void (w.deadline = clock() + expiryMs), stop: () => void watches.delete(w) };
    },
    expire: () => {
      for (const w of [...watches]) {
        if (w.deadline > clock()) continue;
        watches.delete(w);
        w.onExpire();
      }
    },
    get size() {
      return watches.size;
    },
  };
}

function harness(config: Partial<BrokerConfig> = {}) {
  let t = 0;
  const sent: { frames: Buffer[]; to: string }[] = [];
  const events: [string, unknown][] = [];
  const merged = { ...CONFIG, ...config };
  const watches = fakeWatches(merged.heartbeatIntervalMs * merged.liveness, () => t);
  const state = new BrokerState(merged, {
    send: (frames, to) => void sent.push({ frames, to }),
    now: () => t,
    emit: (event, ...args) => {
      events.push([event, args[0]]);
      return true;
    },
    listening: () => true,
    watch: watches.watch,
  });
  const take = () => sent.splice(0).map(({ frames, to }) => ({ to, frames: frames.map((f) => (f.length === 1 && f[0]! < 10 ? `0x0${f[0]}` : f.toString("latin1"))) }));
  return {
    state,
    watches,
    /** Fires the expiry of every worker silent past its deadline. */
    expire: () => watches.expire(),
    take,
    events,
    eventNames: () => events.map(([e]) => e),
    advance: (ms: number) => void (t += ms),
    ready: (w: number, service = "echo") => state.onMessage([id(w), EMPTY, b("MDPW01"), Buffer.from([1]), b(service)]),
    request: (c: number, body: string, service = "echo") => state.onMessage([id(100 + c), EMPTY, b("MDPC01"), b(service), b(body)]),
    reply: (w: number, c: number, body: string) => state.onMessage([id(w), EMPTY, b("MDPW01"), Buffer.from([3]), id(100 + c), EMPTY, b(body)]),
    heartbeat: (w: number) => state.onMessage([id(w), EMPTY, b("MDPW01"), Buffer.from([4])]),
    disconnect: (w: number) => state.onMessage([id(w), EMPTY, b("MDPW01"), Buffer.from([5])]),
    /** The connection of worker `n` (or client `n - 100`) ended. */
    gone: (n: number) => state.peerGone(id(n)),
  };
}

const W = (n: number): string => id(n).toString("latin1");
const C = (n: number): string => id(100 + n).toString("latin1");
const toWorker = (w: number, c: number, body: string) => ({ to: "worker", frames: [W(w), "", "MDPW01", "0x02", C(c), "", body] });
const toClient = (c: number, body: string, service = "echo") => ({ to: "client", frames: [C(c), "", "MDPC01", service, body] });
const disconnectTo = (w: number) => ({ to: "worker", frames: [W(w), "", "MDPW01", "0x05"] });

describe("dispatch", () => {
  it("a request waits for a worker, then goes to it; the reply goes to the client", () => {
    const h = harness();
    h.request(1, "hello");
    expect(h.take()).toEqual([]);
    expect(h.state.stats.queued).toBe(1);
    h.ready(1);
    expect(h.take()).toEqual([toWorker(1, 1, "hello")]);
    expect(h.state.stats).toMatchObject({ queued: 0, inFlight: 1, workers: 1, services: 1 });
    h.reply(1, 1, "world");
    expect(h.take()).toEqual([toClient(1, "world")]);
    expect(h.state.stats).toMatchObject({ requests: 1, replies: 1, inFlight: 0 });
    expect(h.eventNames()).toEqual(["request", "worker-ready", "reply"]);
  });

  it("idle workers take requests least recently used first", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.ready(3);
    h.request(1, "a");
    h.request(2, "b");
    expect(h.take()).toEqual([toWorker(1, 1, "a"), toWorker(2, 2, "b")]);
    h.reply(2, 2, "B"); // worker 2 is idle again, after worker 3
    h.take();
    h.request(3, "c");
    h.request(4, "d");
    h.request(5, "e");
    expect(h.take()).toEqual([toWorker(3, 3, "c"), toWorker(2, 4, "d")]);
    expect(h.state.stats.queued).toBe(1); // e waits: every worker is busy
    h.reply(1, 1, "A");
    expect(h.take()).toEqual([toClient(1, "A"), toWorker(1, 5, "e")]);
  });

  it("services are separate, created on demand and forgotten when empty", () => {
    const h = harness();
    h.ready(1, "echo");
    h.ready(2, "time");
    h.request(1, "x", "time");
    expect(h.take()).toEqual([toWorker(2, 1, "x")]);
    expect(h.state.snapshot().serviceList).toEqual([
      { name: "echo", workers: 1, waiting: 1, queued: 0, queuedBytes: 0, inFlight: 0, workerList: [{ worker: hex(1), inHand: 0 }] },
      { name: "time", workers: 1, waiting: 0, queued: 0, queuedBytes: 0, inFlight: 1, workerList: [{ worker: hex(2), inHand: 1 }] },
    ]);
    h.disconnect(1);
    expect(h.state.stats.services).toBe(1); // echo had no worker and no request left
  });
});

describe("unexpected commands get DISCONNECT", () => {
  it("READY from a known worker: DISCONNECT, and the worker is forgotten", () => {
    const h = harness();
    h.ready(1);
    h.ready(1);
    expect(h.take()).toEqual([disconnectTo(1)]);
    expect(h.state.stats).toMatchObject({ workers: 0, disconnectsSent: 1 });
    expect(h.events.at(-1)).toEqual(["worker-gone", { service: "echo", worker: id(1).toString("hex"), reason: "protocol", inHand: 0 }]);
  });

  it("HEARTBEAT and REPLY from an unknown worker", () => {
    const h = harness();
    h.heartbeat(7);
    h.reply(8, 1, "x");
    expect(h.take()).toEqual([disconnectTo(7), disconnectTo(8)]);
    expect(h.state.stats).toMatchObject({ disconnectsSent: 2, replies: 0, malformed: 0 });
  });

  it("DISCONNECT from an unknown worker is ignored", () => {
    const h = harness();
    h.disconnect(9);
    expect(h.take()).toEqual([]);
  });

  it("READY for mmi.* is refused", () => {
    const h = harness();
    h.ready(1, "mmi.service");
    h.ready(2, "mmi.mine");
    expect(h.take()).toEqual([disconnectTo(1), disconnectTo(2)]);
    expect(h.state.stats).toMatchObject({ workersRefused: 2, workers: 0 });
    h.request(1, "echo", "mmi.service");
    expect(h.take()).toEqual([toClient(1, "404", "mmi.service")]);
  });
});

describe("heartbeats and worker expiry", () => {
  it("heartbeat() sends HEARTBEAT to every worker, busy ones too", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.request(1, "x");
    h.take();
    h.state.heartbeat();
    expect(h.take()).toEqual([
      { to: "worker", frames: [W(1), "", "MDPW01", "0x04"] },
      { to: "worker", frames: [W(2), "", "MDPW01", "0x04"] },
    ]);
  });

  it("a worker silent for liveness x interval expires; any command refreshes it", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.advance(250);
    h.heartbeat(2);
    h.advance(60); // worker 1: 310 ms silent, worker 2: 60 ms
    h.expire();
    expect(h.state.stats).toMatchObject({ workers: 1, workersExpired: 1 });
    expect(h.events.filter(([e]) => e === "worker-gone")).toEqual([["worker-gone", { service: "echo", worker: id(1).toString("hex"), reason: "expired", inHand: 0 }]]);
    h.advance(239); // worker 2 heard at 250: alive until 550
    h.expire();
    expect(h.state.stats.workers).toBe(1);
    h.advance(2);
    h.expire();
    expect(h.state.stats.workers).toBe(0);
  });

  it("expiry is per worker: dead ones behind a live one expire too (the Guide's purge stopped at the first live worker)", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.ready(3);
    h.advance(200);
    h.heartbeat(1); // the first in line lives; the Guide's purge stopped here
    h.advance(150);
    h.expire();
    expect(h.state.snapshot().serviceList).toEqual([{ name: "echo", workers: 1, waiting: 1, queued: 0, queuedBytes: 0, inFlight: 0, workerList: [{ worker: hex(1), inHand: 0 }] }]);
    h.request(1, "x");
    expect(h.take()).toEqual([toWorker(1, 1, "x")]);
  });

  it("a busy worker expires too; its request goes back to the queue for the next worker, and its late reply is never forwarded", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "x");
    h.take();
    h.advance(301);
    h.expire();
    expect(h.state.stats).toMatchObject({ workers: 0, requeued: 1, lost: 0, inFlight: 0, queued: 1 });
    expect(h.events).toContainEqual(["request-requeued", { service: "echo", client: hex(101), worker: hex(1), reason: "expired" }]);
    h.reply(1, 1, "late"); // the expired worker comes back: unknown now
    expect(h.take()).toEqual([disconnectTo(1)]);
    h.ready(2);
    expect(h.take()).toEqual([toWorker(2, 1, "x")]);
    h.reply(2, 1, "X");
    expect(h.take()).toEqual([toClient(1, "X")]);
    expect(h.state.stats).toMatchObject({ replies: 1, forged: 0 });
  });

  it("a worker's silence is watched from READY until it leaves, whatever the reason", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.ready(3);
    expect(h.watches.size).toBe(3);
    h.disconnect(1);
    h.gone(2);
    h.advance(301);
    h.expire();
    expect(h.watches.size).toBe(0);
    expect(h.state.stats).toMatchObject({ workers: 0, workersDisconnected: 1, workersLost: 1, workersExpired: 1 });
  });

  it("a worker that sends DISCONNECT holding a request gives it back to the head of the queue", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "first");
    h.request(2, "second");
    h.take();
    h.disconnect(1);
    expect(h.state.stats).toMatchObject({ requeued: 1, queued: 2, lost: 0, workersDisconnected: 1 });
    h.ready(2);
    expect(h.take()).toEqual([toWorker(2, 1, "first")]);
  });
});

describe("request queues", () => {
  it("a request for a service with no worker expires after unservedExpiryMs", () => {
    const h = harness();
    h.request(1, "a", "nobody");
    h.advance(600);
    h.request(2, "b", "nobody");
    h.advance(500);
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 1, queued: 1 });
    expect(h.events).toContainEqual(["request-expired", { service: "nobody", client: id(101).toString("hex") }]);
    h.advance(501); // b came at 600: expired past 1600
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 2, queued: 0, services: 0, clients: 0 });
  });

  it("a request whose service has workers never expires by default, however long they stay busy", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "busy");
    for (let c = 2; c <= 4; c++) h.request(c, `r${c}`);
    h.take();
    h.advance(3_600_000);
    h.heartbeat(1); // the worker heartbeats: it stays
    h.expire();
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 0, queued: 3 });
    h.reply(1, 1, "done");
    expect(h.take()).toEqual([toClient(1, "done"), toWorker(1, 2, "r2")]);
  });

  it("when a service loses its last worker, its queued requests get unservedExpiryMs from then to find another", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "in hand");
    h.request(2, "queued");
    h.take();
    h.advance(5000); // long queued, but the service had a worker all along
    h.disconnect(1); // "in hand" goes back to the queue too
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 0, queued: 2 });
    h.advance(999);
    h.state.expireRequests();
    expect(h.state.stats.expired).toBe(0);
    h.advance(2);
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 2, queued: 0, services: 0 });
  });

  it("with requestExpiryMs set, a request waiting longer expires even while its service has workers", () => {
    const h = harness({ requestExpiryMs: 1000 });
    h.ready(1);
    h.request(1, "busy");
    h.request(2, "waits");
    h.take();
    h.advance(1001);
    h.heartbeat(1);
    h.state.expireRequests();
    expect(h.state.stats).toMatchObject({ expired: 1, queued: 0 });
  });

  it("an expired request is never dispatched, even when a worker comes before the sweep", () => {
    const h = harness({ requestExpiryMs: 1000 });
    h.request(1, "old");
    h.advance(1001);
    h.request(2, "new");
    h.ready(1);
    expect(h.take()).toEqual([toWorker(1, 2, "new")]);
    expect(h.state.stats.expired).toBe(1);
  });

  it("a full queue drops its oldest request (drop-oldest), counted", () => {
    const h = harness();
    for (let i = 1; i <= 7; i++) h.request(i, `r${i}`);
    expect(h.state.stats).toMatchObject({ queued: 5, dropped: 2 });
    h.ready(1);
    expect(h.take()).toEqual([toWorker(1, 3, "r3")]);
    expect(h.events.filter(([e]) => e === "request-dropped").map(([, info]) => (info as { client: string }).client)).toEqual([id(101).toString("hex"), id(102).toString("hex")]);
  });

  it("or the arriving one (drop-newest)", () => {
    const h = harness({ queueOverflow: "drop-newest" });
    for (let i = 1; i <= 7; i++) h.request(i, `r${i}`);
    expect(h.state.stats).toMatchObject({ queued: 5, dropped: 2 });
    h.ready(1);
    expect(h.take()).toEqual([toWorker(1, 1, "r1")]);
  });

  it("past maxServices, requests for new services are dropped; a worker's READY evicts the service longest without a worker", () => {
    const h = harness();
    h.request(1, "x", "s1");
    h.request(2, "x", "s2");
    h.request(3, "x", "s3");
    h.request(4, "x", "s4");
    expect(h.state.stats).toMatchObject({ services: 3, dropped: 1 });
    expect(h.events).toContainEqual(["request-dropped", { service: "s4", client: id(104).toString("hex"), reason: "too-many-services" }]);
    h.ready(1, "s5"); // s1 has waited longest without a worker: it goes, with its request
    expect(h.take()).toEqual([]);
    expect(h.state.stats).toMatchObject({ services: 3, workers: 1, workersRefused: 0, servicesEvicted: 1, dropped: 2 });
    expect(h.events).toContainEqual(["request-dropped", { service: "s1", client: hex(101), reason: "service-evicted" }]);
    h.request(5, "y", "s5");
    expect(h.take()).toEqual([toWorker(1, 5, "y")]);
    h.ready(2, "s2"); // an existing service is fine
    expect(h.take()).toEqual([toWorker(2, 2, "x")]);
  });

  it("READY is refused only when every service has a worker", () => {
    const h = harness();
    h.ready(1, "s1");
    h.ready(2, "s2");
    h.ready(3, "s3");
    h.ready(4, "s4");
    expect(h.take()).toEqual([disconnectTo(4)]);
    expect(h.state.stats).toMatchObject({ workers: 3, workersRefused: 1, servicesEvicted: 0 });
  });

  it("11,000 requests for distinct unknown services fill the table, and a real worker still registers at once", () => {
    const h = harness({ maxServices: 10_000 });
    for (let i = 0; i < 11_000; i++) h.state.onMessage([id(200), EMPTY, b("MDPC01"), b(`nobody-${i}`), b("x")]);
    expect(h.state.stats).toMatchObject({ services: 10_000, dropped: 1000 });
    h.ready(1, "echo");
    expect(h.take()).toEqual([]);
    expect(h.state.stats).toMatchObject({ workers: 1, workersRefused: 0, servicesEvicted: 1 });
    h.request(1, "hello");
    expect(h.take()).toEqual([toWorker(1, 1, "hello")]);
  });

  it("maxQueueBytes bounds the memory of all queues; by default (drop-newest) the arriving request is refused, never an accepted one", () => {
    const h = harness({ maxQueueBytes: 10_000, maxQueuePerService: Infinity, queueOverflow: "drop-newest" });
    const body = "x".repeat(1000);
    let accepted = 0;
    for (let c = 1; c <= 20; c++) {
      h.request(c, body, c % 2 ? "a" : "b");
      accepted = h.state.stats.queued;
    }
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(10);
    expect(h.state.stats.queuedBytes).toBeLessThanOrEqual(10_000);
    expect(h.state.stats.dropped).toBe(20 - accepted);
    expect(h.events.filter(([e]) => e === "request-dropped").every(([, i]) => (i as { reason: string }).reason === "queue-full")).toBe(true);
    // the first ones, accepted, are served
    h.ready(1, "a");
    expect(h.take()).toEqual([toWorker(1, 1, body)].map((m) => ({ ...m, frames: [W(1), "", "MDPW01", "0x02", C(1), "", body] })));
    expect(h.state.stats.queuedBytes).toBeLessThan(10_000);
  });
});

describe("MMI", () => {
  it("mmi.service: 200 when a worker serves the service, else 404", () => {
    const h = harness();
    h.ready(1, "echo");
    h.request(1, "echo", "mmi.service");
    h.request(2, "nothing", "mmi.service");
    h.state.onMessage([id(103), EMPTY, b("MDPC01"), b("mmi.service")]); // no body at all (3 frames, tolerated)
    expect(h.take()).toEqual([toClient(1, "200", "mmi.service"), toClient(2, "404", "mmi.service"), toClient(3, "404", "mmi.service")]);
    expect(h.state.stats).toMatchObject({ mmiRequests: 3, requests: 0 });
  });

  it("a service with queued requests but no worker is 404", () => {
    const h = harness();
    h.request(1, "x", "later");
    h.request(2, "later", "mmi.service");
    expect(h.take()).toEqual([toClient(2, "404", "mmi.service")]);
  });

  it("the reply carries only the status, whatever body came (the Guide overwrote the last frame)", () => {
    const h = harness();
    h.state.onMessage([id(101), EMPTY, b("MDPC01"), b("mmi.service"), b("echo"), b("extra")]);
    expect(h.take()).toEqual([toClient(1, "404", "mmi.service")]);
  });

  it("mmi.stats: 200 and the counters as JSON; other mmi.* 501", () => {
    const h = harness();
    h.ready(1, "echo");
    h.request(1, "", "mmi.stats");
    h.request(2, "", "mmi.nope");
    const [stats, nope] = h.take();
    expect(stats!.frames.slice(0, 5)).toEqual([C(1), "", "MDPC01", "mmi.stats", "200"]);
    const json = JSON.parse(stats!.frames[5]!) as Record<string, unknown>;
    expect(json).toMatchObject({ workers: 1, services: 1, mmiRequests: 1 });
    expect(nope).toEqual(toClient(2, "501", "mmi.nope"));
  });
});

describe("malformed input", () => {
  it("is dropped and counted with its reason, and disturbs nothing", () => {
    const h = harness();
    h.ready(1);
    const bad: Buffer[][] = [
      [],
      [id(101)],
      [id(101), b("x")],
      [id(101), EMPTY, b("XXX")],
      [id(101), EMPTY, b("MDPC01")],
      [id(1), EMPTY, b("MDPW01"), Buffer.from([9])],
      [id(1), EMPTY, b("MDPW01")],
      [id(101), EMPTY, b("MDPC01"), b("echo"), Buffer.alloc(1025)],
    ];
    for (const frames of bad) h.state.onMessage(frames);
    expect(h.state.stats.malformed).toBe(bad.length);
    expect(h.take()).toEqual([]);
    expect(h.events.filter(([e]) => e === "malformed").map(([, info]) => (info as { frame: number }).frame)).toEqual([0, 1, 1, 2, 3, 3, 3, 4]);
    h.request(1, "still fine");
    expect(h.take()).toEqual([toWorker(1, 1, "still fine")]);
  });

  const events: (keyof MajordomoBrokerEvents)[] = ["request", "reply"];
  it("hot events are only built when listened to", () => {
    const sent: Buffer[][] = [];
    const emitted: string[] = [];
    const state = new BrokerState(CONFIG, {
      watch: fakeWatches(300, () => 0).watch,
      send: (f) => void sent.push(f),
      now: () => 0,
      emit: (e, ..._args) => {
        emitted.push(e);
        return true;
      },
      listening: (e) => !events.includes(e),
    });
    state.onMessage([id(1), EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")]);
    state.onMessage([id(101), EMPTY, b("MDPC01"), b("echo"), b("x")]);
    state.onMessage([id(1), EMPTY, b("MDPW01"), Buffer.from([3]), id(101), EMPTY, b("x")]);
    expect(emitted).toEqual(["worker-ready"]);
    expect(sent.length).toBe(2);
  });
});

describe("closing", () => {
  it("disconnectAll sends DISCONNECT to every worker and counts held requests lost (the only way a held request is lost)", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.request(1, "x");
    h.take();
    h.state.disconnectAll();
    expect(h.take()).toEqual([disconnectTo(1), disconnectTo(2)]);
    expect(h.state.stats).toMatchObject({ workers: 0, lost: 1 });
  });
});

describe("pipelining (workerPrefetch > 1)", () => {
  afterEach(() => setLogSink(undefined));

  /** How many requests each worker holds, from the snapshot. */
  const held = (h: ReturnType<typeof harness>): Record<string, number> => Object.fromEntries(h.state.snapshot().serviceList.flatMap((s) => s.workerList.map((w) => [w.worker, w.inHand])));

  it("a worker gets up to workerPrefetch requests before it replies; each reply gives one credit back", () => {
    const h = harness({ workerPrefetch: 3 });
    h.ready(1);
    for (let c = 1; c <= 5; c++) h.request(c, `r${c}`);
    expect(h.take()).toEqual([toWorker(1, 1, "r1"), toWorker(1, 2, "r2"), toWorker(1, 3, "r3")]);
    expect(h.state.stats).toMatchObject({ inFlight: 3, queued: 2 });
    expect(h.state.snapshot().serviceList).toEqual([
      { name: "echo", workers: 1, waiting: 0, queued: 2, queuedBytes: expect.any(Number), inFlight: 3, workerList: [{ worker: hex(1), inHand: 3 }] },
    ]);
    h.reply(1, 1, "R1");
    expect(h.take()).toEqual([toClient(1, "R1"), toWorker(1, 4, "r4")]);
    expect(h.events.filter(([e]) => e === "reply")).toEqual([["reply", { service: "echo", client: hex(101), worker: hex(1), inHand: 2 }]]);
    h.reply(1, 2, "R2");
    h.reply(1, 3, "R3");
    expect(h.take()).toEqual([toClient(2, "R2"), toWorker(1, 5, "r5"), toClient(3, "R3")]);
    expect(h.state.stats).toMatchObject({ inFlight: 2, queued: 0 });
    expect(held(h)).toEqual({ [hex(1)]: 2 });
    h.reply(1, 4, "R4");
    h.reply(1, 5, "R5");
    expect(h.state.snapshot().serviceList[0]).toMatchObject({ waiting: 1, inFlight: 0 });
    expect(h.state.snapshot().workerPrefetch).toBe(3);
  });

  it("requests go to the least loaded worker with credit, least recently used among equals", () => {
    const h = harness({ workerPrefetch: 4 });
    h.ready(1);
    h.ready(2);
    h.ready(3);
    for (let c = 1; c <= 6; c++) h.request(c, `r${c}`);
    // all idle: 1, 2, 3 in LRU order; then all at one: 1, 2, 3 again
    expect(h.take().map((m) => m.frames[0])).toEqual([W(1), W(2), W(3), W(1), W(2), W(3)]);
    h.reply(3, 3, "R3"); // worker 3 holds one now, the others two
    h.take();
    h.request(7, "r7");
    expect(h.take()).toEqual([toWorker(3, 7, "r7")]);
    h.reply(2, 2, "R2"); // 2 holds one
    h.reply(1, 1, "R1"); // 1 holds one, became so after 2
    h.take();
    h.request(8, "r8");
    h.request(9, "r9");
    h.request(10, "r10");
    // 2 and 1 hold one each, 2 for longer: 2, then 1; then all three hold two: 3 (longest at two), 2, 1
    expect(h.take().map((m) => m.frames[0])).toEqual([W(2), W(1), W(3)]);
    expect(held(h)).toEqual({ [hex(1)]: 2, [hex(2)]: 2, [hex(3)]: 3 });
  });

  it("workers without credit get nothing; the queue waits for the first reply", () => {
    const h = harness({ workerPrefetch: 2 });
    h.ready(1);
    h.ready(2);
    for (let c = 1; c <= 5; c++) h.request(c, `r${c}`);
    expect(h.take().length).toBe(4);
    expect(h.state.stats).toMatchObject({ inFlight: 4, queued: 1 });
    expect(h.state.snapshot().serviceList[0]).toMatchObject({ waiting: 0, inFlight: 4, queued: 1 });
    h.heartbeat(1);
    h.heartbeat(2);
    expect(h.take()).toEqual([]); // heartbeats give no credit
    h.reply(2, 2, "R2");
    expect(h.take()).toEqual([toClient(2, "R2"), toWorker(2, 5, "r5")]);
  });

  it("a reply matches the first request in hand for its client, in whatever order a concurrent worker answers", () => {
    const h = harness({ workerPrefetch: 4 });
    h.ready(1);
    h.request(1, "a1");
    h.request(2, "b");
    h.request(1, "a2"); // one client, two requests (a DEALER client may do that)
    h.request(3, "c");
    h.take();
    h.reply(1, 3, "C"); // out of order
    h.reply(1, 1, "A1");
    expect(h.take()).toEqual([toClient(3, "C"), toClient(1, "A1")]);
    expect(h.state.stats).toMatchObject({ inFlight: 2, forged: 0 });
    // what is left in hand is b and a2, in that order: DISCONNECT gives them back so
    h.disconnect(1);
    h.ready(2);
    expect(h.take()).toEqual([toWorker(2, 2, "b"), toWorker(2, 1, "a2")]);
  });

  it("a worker that expires holding k requests: k requeued in order, k events; a new worker serves them", () => {
    const h = harness({ workerPrefetch: 4 });
    h.ready(1);
    for (let c = 1; c <= 3; c++) h.request(c, `r${c}`);
    h.take();
    h.advance(301);
    h.expire();
    expect(h.state.stats).toMatchObject({ requeued: 3, lost: 0, inFlight: 0, queued: 3, workers: 0, workersExpired: 1 });
    expect(
      h.events
        .filter(([e]) => e === "request-requeued")
        .map(([, i]) => (i as { client: string }).client)
        .sort(),
    ).toEqual([hex(101), hex(102), hex(103)]);
    expect(h.events.filter(([e]) => e === "worker-gone")).toEqual([["worker-gone", { service: "echo", worker: hex(1), reason: "expired", inHand: 3 }]]);
    h.ready(2);
    expect(h.take()).toEqual([1, 2, 3].map((c) => toWorker(2, c, `r${c}`)));
  });

  it("a second READY from a worker holding k requests: DISCONNECT, and the k go to the next worker", () => {
    const h = harness({ workerPrefetch: 4 });
    h.ready(1);
    h.request(1, "a");
    h.request(2, "b");
    h.take();
    h.ready(1);
    expect(h.take()).toEqual([disconnectTo(1)]);
    expect(h.state.stats).toMatchObject({ requeued: 2, lost: 0, inFlight: 0, workers: 0, queued: 2 });
  });

  it("a worker that sends DISCONNECT holding k requests gives all k back to the head of the queue, in order", () => {
    const h = harness({ workerPrefetch: 3 });
    h.ready(1);
    for (let c = 1; c <= 5; c++) h.request(c, `r${c}`);
    h.take();
    h.reply(1, 1, "R1"); // r4 goes out: it holds r2, r3, r4; r5 waits
    h.take();
    h.disconnect(1);
    expect(h.state.stats).toMatchObject({ requeued: 3, queued: 4, inFlight: 0, lost: 0, workersDisconnected: 1 });
    expect(h.events.filter(([e]) => e === "request-requeued").map(([, info]) => (info as { client: string }).client)).toEqual([hex(102), hex(103), hex(104)]);
    expect(h.events.filter(([e]) => e === "worker-gone").at(-1)).toEqual(["worker-gone", { service: "echo", worker: hex(1), reason: "disconnected", inHand: 3 }]);
    h.ready(2); // takes what its credit allows, oldest first
    expect(h.take()).toEqual([toWorker(2, 2, "r2"), toWorker(2, 3, "r3"), toWorker(2, 4, "r4")]);
    h.ready(3);
    expect(h.take()).toEqual([toWorker(3, 5, "r5")]);
  });

  it("closing counts every request in hand as lost", () => {
    const h = harness({ workerPrefetch: 4 });
    h.ready(1);
    h.ready(2);
    for (let c = 1; c <= 5; c++) h.request(c, `r${c}`);
    h.take();
    h.state.disconnectAll();
    expect(h.take()).toEqual([disconnectTo(1), disconnectTo(2)]);
    expect(h.state.stats).toMatchObject({ workers: 0, lost: 5, inFlight: 0 });
  });

  it("services keep their own credit; a request that expired while workers were full never takes a credit", () => {
    const h = harness({ workerPrefetch: 2, requestExpiryMs: 1000 });
    h.ready(1, "echo");
    h.ready(2, "time");
    h.request(1, "t1", "time");
    h.request(2, "x");
    h.request(3, "t2", "time");
    h.request(4, "y");
    h.request(5, "z"); // echo's worker is full: z waits
    expect(h.take().map((m) => m.frames[0])).toEqual([W(2), W(1), W(2), W(1)]);
    h.request(6, "stale", "time"); // time's worker is full too
    h.advance(1001);
    h.request(7, "fresh", "time");
    h.state.onMessage([id(2), EMPTY, b("MDPW01"), Buffer.from([3]), id(101), EMPTY, b("T1")]);
    expect(h.take()).toEqual([toClient(1, "T1", "time"), { to: "worker", frames: [W(2), "", "MDPW01", "0x02", C(7), "", "fresh"] }]);
    expect(h.state.stats.expired).toBe(1); // stale, found by the dispatch
    h.state.expireRequests();
    expect(h.state.stats.expired).toBe(2); // z, in echo's queue, found by the sweep
    expect(h.state.snapshot().serviceList.map((s) => [s.name, s.inFlight, s.queued])).toEqual([
      ["echo", 2, 0],
      ["time", 2, 0],
    ]);
  });
});

describe("workers and clients that go (connection ended, or unreachable)", () => {
  it("a worker whose connection ended leaves the books at once: the next request goes to the idle live one, not to it", () => {
    const h = harness();
    h.ready(1); // A
    h.ready(2); // B
    h.gone(1); // A is SIGKILLed while idle
    h.request(1, "hello");
    expect(h.take()).toEqual([toWorker(2, 1, "hello")]);
    expect(h.state.stats).toMatchObject({ workers: 1, workersLost: 1, requeued: 0 });
    expect(h.events).toContainEqual(["worker-gone", { service: "echo", worker: hex(1), reason: "connection-lost", inHand: 0 }]);
  });

  it("a worker that dies holding a request: the request goes to another worker at once, and only its reply reaches the client", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.request(1, "x");
    expect(h.take()).toEqual([toWorker(1, 1, "x")]);
    h.gone(1);
    expect(h.take()).toEqual([toWorker(2, 1, "x")]);
    expect(h.state.stats).toMatchObject({ requeued: 1, inFlight: 1, workersLost: 1 });
    h.reply(2, 1, "X");
    expect(h.take()).toEqual([toClient(1, "X")]);
  });

  it("a request sent to a worker that could not be reached (mandatory send failed) goes to the next worker", () => {
    const h = harness();
    h.ready(1);
    h.ready(2);
    h.request(1, "x");
    h.take();
    h.state.sendFailed(id(1), "worker", true);
    expect(h.take()).toEqual([toWorker(2, 1, "x")]);
    h.state.sendFailed(id(1), "worker", true); // already gone: nothing more
    expect(h.state.stats).toMatchObject({ workers: 1, workersLost: 1, requeued: 1 });
  });

  it("a request that outlives maxDeliveries workers is dropped instead of killing the next one too", () => {
    const h = harness({ maxDeliveries: 2 });
    h.ready(1);
    h.request(1, "poison");
    h.take();
    h.gone(1);
    h.ready(2);
    expect(h.take()).toEqual([toWorker(2, 1, "poison")]);
    h.gone(2);
    h.ready(3);
    expect(h.take()).toEqual([]);
    expect(h.state.stats).toMatchObject({ dropped: 1, requeued: 1, queued: 0, inFlight: 0, clients: 0 });
    expect(h.events).toContainEqual(["request-dropped", { service: "echo", client: hex(101), reason: "max-deliveries" }]);
  });

  it("a client whose connection ended: its queued requests are dropped when they come up, and the reply to one in hand is not sent", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "in hand");
    h.request(1, "queued 1");
    h.request(2, "other client");
    h.request(1, "queued 2");
    h.take();
    expect(h.state.stats.clients).toBe(2);
    h.gone(101); // client 1 gave up (a Lazy Pirate retry closes the socket)
    expect(h.state.stats.clients).toBe(1);
    h.reply(1, 1, "nobody reads this");
    // no reply to client 1; its queued requests are skipped; client 2's goes out
    expect(h.take()).toEqual([toWorker(1, 2, "other client")]);
    expect(h.state.stats).toMatchObject({ abandoned: 2, replies: 0, queued: 1, forged: 0 });
    h.reply(1, 2, "yes");
    expect(h.take()).toEqual([toClient(2, "yes")]); // "queued 2" is skipped on the way
    expect(h.state.stats).toMatchObject({ abandoned: 3, queued: 0, clients: 0, inFlight: 0 });
  });

  it("a client that comes back with the same routing id starts afresh", () => {
    const h = harness();
    h.request(1, "old");
    h.gone(101);
    h.request(1, "new");
    h.ready(1);
    expect(h.take()).toEqual([toWorker(1, 1, "new")]);
    expect(h.state.stats).toMatchObject({ abandoned: 1 });
  });

  it("a reply whose client cannot be reached is counted, and that client forgotten", () => {
    const h = harness();
    h.ready(1);
    h.request(1, "a");
    h.request(1, "b");
    h.take();
    h.reply(1, 1, "A");
    h.take();
    h.state.sendFailed(id(101), "client", true);
    h.state.sendFailed(id(102), "client", false); // a full connection: counted, not forgotten
    expect(h.state.stats).toMatchObject({ repliesUndeliverable: 2, replies: 1 });
    h.take();
    h.reply(1, 1, "B"); // b was in hand for a client now gone
    expect(h.take()).toEqual([]);
    expect(h.state.stats).toMatchObject({ abandoned: 1, clients: 0 });
  });
});

describe("forged replies", () => {
  it("a REPLY naming a client the worker was never given is dropped, counted, and never forwarded", () => {
    const warnings: string[] = [];
    setLogSink((level, _ns, message) => void (level === "warn" && warnings.push(message)));
    try {
      const h = harness();
      h.ready(1);
      h.ready(2);
      h.request(1, "for worker 1");
      h.take();
      // worker 2 learned client 1's address somehow and answers for it
      h.reply(2, 1, "forged");
      h.reply(2, 9, "made up");
      expect(h.take()).toEqual([]);
      expect(h.state.stats).toMatchObject({ forged: 2, replies: 0, inFlight: 1 });
      expect(h.events.filter(([e]) => e === "reply-forged")).toEqual([
        ["reply-forged", { service: "echo", worker: hex(2), client: hex(101) }],
        ["reply-forged", { service: "echo", worker: hex(2), client: hex(109) }],
      ]);
      expect(warnings.some((w) => w.includes(hex(101)) && w.includes("never given"))).toBe(true);
      // the real answer still goes through
      h.reply(1, 1, "real");
      expect(h.take()).toEqual([toClient(1, "real")]);
    } finally {
      setLogSink(undefined);
    }
  });

  it("a forged REPLY gives the worker no credit", () => {
    const h = harness({ workerPrefetch: 2 });
    h.ready(1);
    h.request(1, "a");
    h.request(2, "b");
    h.request(3, "c");
    h.take();
    h.reply(1, 9, "stray");
    expect(h.take()).toEqual([]); // no dispatch: still no credit
    expect(h.state.stats).toMatchObject({ forged: 1, replies: 0, inFlight: 2, queued: 1 });
  });
});
