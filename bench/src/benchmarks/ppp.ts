/**
 * @zkit/ppp: round trips per second through a Paranoid Pirate queue with 2
 * echo workers and 100 requests in flight, beside a raw zeromq.js
 * DEALER -> ROUTER echo with 100 in flight, over tcp://127.0.0.1 in one
 * process; and, on Linux, the main thread's CPU time per round trip.
 *
 * Both sides drive the same client: one raw zeromq.js DEALER that keeps 100
 * requests outstanding, each `[""][seq (uint32 LE)][16-byte body]` (the
 * empty frame is the envelope a REQ client would add), and sends the next
 * one as each reply `[""][seq][body]` comes back.
 *
 * - raw: a zeromq.js ROUTER echoes each message as it came.
 * - zkit: `ParanoidPirateQueue` (frontend and backend ROUTERs, LRU dispatch,
 *   heartbeats on) and 2 `ParanoidPirateWorker`s with an echo handler. Each
 *   request takes two hops and four sockets instead of one hop and two, and
 *   6/PPP gives a worker one request at a time, so at most 2 of the 100 are
 *   being worked on while the rest wait in the frontend socket: the ratio
 *   measures the pattern, not only zkit's overhead, and has a target of its
 *   own (below).
 * @module
 */
import { performance } from "node:perf_hooks";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "@zkit/ppp";
import * as zmq from "zeromq";
import { mainThreadCpuUs, threadCpuAvailable } from "../cpu.js";
import type { BenchCase, MetricSpec, RunContext, Sample } from "../harness.js";

const IN_FLIGHT = 100;
const WORKERS = 2;
const ROUND_TRIPS = { full: 50_000, quick: 5_000 };
const BODY = Buffer.alloc(16, 0x62);
const EMPTY = Buffer.alloc(0);
const PROBE = 0xffffffff;

function seqFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(seq, 0);
  return b;
}

/** The client workload, the same on both sides: `n` round trips, `IN_FLIGHT` outstanding. */
async function workload(endpoint: string, n: number): Promise<Sample> {
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  try {
    const request = (seq: number): Promise<void> => dealer.send([EMPTY, seqFrame(seq), BODY]);
    const reply = async (): Promise<number> => {
      const [, seq] = await dealer.receive();
      return seq!.readUInt32LE(0);
    };
    // connected and echoing before the clock starts
    await request(PROBE);
    if ((await reply()) !== PROBE) throw new Error("ppp bench: probe reply out of order");

    const t0 = performance.now();
    const cpu0 = mainThreadCpuUs();
    let sent = 0;
    for (; sent < Math.min(IN_FLIGHT, n); sent++) await request(sent);
    for (let done = 0; done < n; done++) {
      await reply();
      if (sent < n) await request(sent++);
    }
    const ms = performance.now() - t0;
    return { throughput: (n / ms) * 1000, cpu: (mainThreadCpuUs() - cpu0) / n };
  } finally {
    dealer.close();
  }
}

async function raw(ctx: RunContext): Promise<Sample> {
  const router = new zmq.Router({ linger: 0 });
  let server: Promise<void> = Promise.resolve();
  try {
    await router.bind("tcp://127.0.0.1:*");
    server = (async () => {
      try {
        for (;;) await router.send(await router.receive());
      } catch (err) {
        if (!router.closed) throw err;
      }
    })();
    return await workload(router.lastEndpoint!, ctx.quick ? ROUND_TRIPS.quick : ROUND_TRIPS.full);
  } finally {
    router.close();
    await server;
  }
}

async function zkit(ctx: RunContext): Promise<Sample> {
  const queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
  const workers: ParanoidPirateWorker[] = [];
  try {
    await queue.start();
    for (let i = 0; i < WORKERS; i++) {
      const w = new ParanoidPirateWorker({ endpoint: queue.backendEndpoint, handler: (request) => request });
      workers.push(w);
      await w.start();
    }
    const deadline = performance.now() + 10_000;
    while (queue.readyWorkers < WORKERS) {
      if (performance.now() > deadline) throw new Error("ppp bench: workers not ready after 10 s");
      await new Promise((r) => setTimeout(r, 1));
    }
    return await workload(queue.frontendEndpoint, ctx.quick ? ROUND_TRIPS.quick : ROUND_TRIPS.full);
  } finally {
    for (const w of workers) await w.close();
    await queue.close();
  }
}

const metrics: MetricSpec[] = [
  // 6/PPP gives each worker one request at a time, so with 2 workers the
  // pattern's own ceiling is about twice the 1-in-flight echo rate (9k/s
  // here, shared/DESIGN.md), some 0.15 of raw's 100-in-flight rate; the
  // target leaves room for the second hop's cost.
  { key: "throughput", unit: "rt/s", better: "higher", target: { op: ">=", ratio: 0.1 } },
  ...(threadCpuAvailable ? [{ key: "cpu", unit: "us/rt", better: "lower", target: null } as const] : []),
];

export const cases: BenchCase[] = [
  {
    name: "ppp/queue-2-workers-100-in-flight",
    description: `6/PPP queue + ${WORKERS} echo workers, ${ROUND_TRIPS.full} round trips, ${IN_FLIGHT} in flight, tcp; raw = DEALER->ROUTER echo`,
    metrics,
    run: { raw, zkit },
  },
];
