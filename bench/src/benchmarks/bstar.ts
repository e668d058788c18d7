/**
 * @zkit/bstar: failover time against the heartbeat, with the client's round
 * trip beside it, over tcp://127.0.0.1 in one process. One case per
 * heartbeat (100, 250, 1000 ms); the client's timeout is one heartbeat and
 * its settle delay two, the Guide's proportions (1000/2000 at 1000 ms).
 *
 * - `rtt` (us, p50 of sequential requests): zkit = `BinaryStarClient` to an
 *   echo `BinaryStar` pair; raw = a zeromq.js REQ to a zeromq.js ROUTER
 *   echo. What the pair and the client add to a plain round trip.
 * - `failover` (ms, from the active server's end to the first reply from
 *   the other server: a reply already on its way when the first one ended
 *   does not count): zkit = the active primary of a `BinaryStar` pair is closed while
 *   the client sends back to back, and the backup takes over on the
 *   client's resend; raw = the same Lazy Pirate strategy written on
 *   zeromq.js against two plain ROUTER echoes (time out, switch, settle,
 *   resend), with no Binary Star at all: the floor a failover can cost with
 *   that timeout and settle delay. zkit/raw near 1 means the pair's peer
 *   expiry (2 heartbeats) hides inside the client's timeout and settle
 *   delay. Its limit, the promise: the client's timeout + 2 x heartbeat,
 *   plus 250 ms for the machine.
 * @module
 */
import { performance } from "node:perf_hooks";
import { BinaryStar, BinaryStarClient } from "@zkit/bstar";
import * as zmq from "zeromq";
import { type BenchCase, type RunContext, type Sample, percentile } from "../harness.js";

const ANY = "tcp://127.0.0.1:*";
const RTT_REQUESTS = { full: 2000, quick: 200 };

interface Settings {
  hb: number;
  timeoutMs: number;
  settleMs: number;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`bstar bench: ${what} not within ${ms} ms`);
    await wait(2);
  }
}

// ------------------------------------------------------------------ zkit

async function zkit(s: Settings, ctx: RunContext): Promise<Sample> {
  // each server signs its replies, so the failover ends at the backup's first one
  const echo =
    (name: string) =>
    (request: Buffer[]): Buffer[] => [Buffer.from(name), ...request];
  const primary = new BinaryStar({ role: "primary", local: ANY, voter: ANY, handler: echo("primary"), heartbeatIntervalMs: s.hb, closeOnInterrupt: false });
  const backup = new BinaryStar({ role: "backup", local: ANY, voter: ANY, handler: echo("backup"), heartbeatIntervalMs: s.hb, closeOnInterrupt: false });
  let client: BinaryStarClient | undefined;
  try {
    await primary.start();
    await backup.start();
    backup.connectPeer(primary.stateEndpoint);
    primary.connectPeer(backup.stateEndpoint);
    await until(() => primary.active && backup.starState === "passive", 10 * s.hb + 5000, "the pair to settle");
    client = new BinaryStarClient({
      servers: [primary.voterEndpoint, backup.voterEndpoint],
      timeoutMs: s.timeoutMs,
      settleDelayMs: s.settleMs,
      retries: Infinity,
      closeOnInterrupt: false,
    });
    await client.request("probe");
    const n = ctx.quick ? RTT_REQUESTS.quick : RTT_REQUESTS.full;
    const rtt = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await client.request("x");
      rtt[i] = (performance.now() - t0) * 1000;
    }
    // failover: requests back to back; the active primary goes in the middle
    const c = client;
    let stop = false;
    let firstAfter = 0;
    let killedAt = Infinity;
    const sender = (async () => {
      while (!stop) {
        const reply = await c.request("y");
        if (firstAfter === 0 && performance.now() > killedAt && reply.text() === "backup") firstAfter = performance.now();
      }
    })();
    await wait(2 * s.hb);
    killedAt = performance.now();
    await primary.close();
    await until(() => firstAfter > 0, 20 * s.hb + 10_000, "a reply after the failover");
    stop = true;
    await sender;
    if (!backup.active) throw new Error("bstar bench: the backup did not take over");
    return { rtt: percentile(rtt.sort(), 50), failover: firstAfter - killedAt };
  } finally {
    await client?.close();
    await primary.close();
    await backup.close();
  }
}

// ------------------------------------------------------------------ raw

/** A zeromq.js ROUTER that echoes every message until closed, `name` first (REQ: `[id][""][name][body]`). */
async function rawEcho(name: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind(ANY);
  const tag = Buffer.from(name);
  const loop = (async () => {
    try {
      for (;;) {
        const [id, empty, ...body] = await router.receive();
        await router.send([id!, empty!, tag, ...body]);
      }
    } catch (err) {
      if (!router.closed) throw err;
    }
  })();
  return {
    endpoint: router.lastEndpoint!,
    close: async () => {
      router.close();
      await loop;
    },
  };
}

/** The Lazy Pirate client over two servers, on zeromq.js: timeout, close, switch, settle, resend. */
class RawFailoverClient {
  #sock: zmq.Request | undefined;
  #current = 0;
  constructor(
    readonly servers: string[],
    readonly s: Settings,
  ) {}

  async request(body: string): Promise<Buffer[]> {
    for (;;) {
      if (this.#sock === undefined) {
        this.#sock = new zmq.Request({ linger: 0, receiveTimeout: this.s.timeoutMs });
        this.#sock.connect(this.servers[this.#current]!);
      }
      const sock = this.#sock;
      try {
        await sock.send(body);
        return await sock.receive();
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
        sock.close();
        this.#sock = undefined;
        this.#current = 1 - this.#current;
        await wait(this.s.settleMs);
      }
    }
  }

  close(): void {
    this.#sock?.close();
  }
}

async function raw(s: Settings, ctx: RunContext): Promise<Sample> {
  const a = await rawEcho("a");
  const b = await rawEcho("b");
  const client = new RawFailoverClient([a.endpoint, b.endpoint], s);
  try {
    await client.request("probe");
    const n = ctx.quick ? RTT_REQUESTS.quick : RTT_REQUESTS.full;
    const rtt = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await client.request("x");
      rtt[i] = (performance.now() - t0) * 1000;
    }
    let stop = false;
    let firstAfter = 0;
    let killedAt = Infinity;
    const sender = (async () => {
      while (!stop) {
        const reply = await client.request("y");
        if (firstAfter === 0 && performance.now() > killedAt && reply[0]!.toString() === "b") firstAfter = performance.now();
      }
    })();
    await wait(2 * s.hb);
    killedAt = performance.now();
    await a.close();
    await until(() => firstAfter > 0, 20 * s.hb + 10_000, "a reply after the failover (raw)");
    stop = true;
    await sender;
    return { rtt: percentile(rtt.sort(), 50), failover: firstAfter - killedAt };
  } finally {
    client.close();
    await a.close();
    await b.close();
  }
}

function failoverCase(hb: number): BenchCase {
  const s: Settings = { hb, timeoutMs: hb, settleMs: 2 * hb };
  return {
    name: `bstar/failover-hb-${hb}`,
    description: `Binary Star pair, heartbeat ${hb} ms, client timeout ${s.timeoutMs} ms, settle ${s.settleMs} ms: round trip and failover; raw = REQ->ROUTER echo and the same client strategy on two plain echoes`,
    metrics: [
      { key: "rtt", unit: "us", better: "lower", target: { op: "<=", ratio: 3 } },
      { key: "failover", unit: "ms", better: "lower", target: null, limit: { op: "<=", value: s.timeoutMs + 2 * hb + 250 } },
    ],
    run: { raw: (ctx) => raw(s, ctx), zkit: (ctx) => zkit(s, ctx) },
  };
}

export const cases: BenchCase[] = [100, 250, 1000].map(failoverCase);
