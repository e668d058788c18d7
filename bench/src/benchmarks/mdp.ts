/**
 * Majordomo through a broker, beside a raw zeromq.js DEALER/ROUTER echo, with
 * every server in its own process as in production:
 *
 * - zkit: a `MajordomoBroker` process and a process with 2 echo
 *   `MajordomoWorker`s; this process is the client: `MajordomoClient` at 1
 *   in flight, `MajordomoAsyncClient` at 100 and 1000 (one DEALER per
 *   request in flight, `multiplex: "off"`, see the package README: plain
 *   7/MDP on the wire, as every row measured it before the envelope
 *   extension). A request is `[16 bytes]` to service `echo`, the reply the
 *   same body.
 * - `mdp/<n>-in-flight-multiplexed`: the same with the async client's
 *   default, `multiplex: "auto"`, which against this broker carries every
 *   request on ONE DEALER with a correlation frame (zkit's envelope
 *   extension). Its ratio beside the socket-per-request row of the same run
 *   says what multiplexing costs or gains.
 * - raw: a process running a zeromq.js ROUTER that sends every message
 *   back; this process keeps the same number of requests in flight on one
 *   zeromq.js DEALER (`[seq][16 bytes]`, matched by seq).
 *
 * Round trips per second, p50/p99 latency in microseconds, and `serverCpu`:
 * the CPU time per round trip of the broker process (raw: of the echo
 * process, or of the bare broker in `mdp/vs-bare-*`), from that process's
 * own `process.cpuUsage()`, every thread included.
 * `mdp/<n>-in-flight` run 7/MDP as the Guide does (the broker's default
 * `workerPrefetch` 1: a worker holds one request at a time, so throughput is
 * capped at about 2 workers / one broker-worker round trip, whatever the
 * code): no ratio target. `mdp/<n>-in-flight-prefetch-<N>` let the broker
 * send each worker up to N requests (workers still handle one at a time);
 * the broker adds a hop, so the target (issue 5) is throughput at 100 in
 * flight >= 0.5 of raw.
 *
 * `mdp/vs-bare-100-in-flight[-prefetch-N]`: the same Majordomo round trips
 * through the least a broker can be on bare zeromq.js (mdp-children.ts: a
 * ROUTER, LRU or least-loaded with the same prefetch, no heartbeats, expiry,
 * MMI or checks) with bare zeromq.js workers and 100 DEALERs as the client:
 * what zkit's broker, worker and async client cost over hand-written code
 * doing the same hops (target >= 0.9).
 *
 * `mdp/memory`: the broker process's resident memory over 1,000,000
 * requests (100 in flight, 4 workers; quick: 50,000): its growth from the
 * end of the first tenth of the run to the end must stay under 16 MB. Raw:
 * the echo process under the same load. It takes minutes: run it alone with
 * `pnpm bench mdp/memory --rounds=1 --warmup=0`.
 * @module
 */
import { performance } from "node:perf_hooks";
import { MajordomoAsyncClient, MajordomoClient, type MultiplexMode } from "@zkit/mdp";
import * as zmq from "zeromq";
import { type BenchCase, type MetricSpec, type RunContext, type Sample, percentile } from "../harness.js";
import { startChild, type BenchChild } from "./mdp-children.js";

const BODY = Buffer.alloc(16, 0x62);

/** Round trips per run, by requests in flight. */
const ROUND_TRIPS: Record<number, { full: number; quick: number }> = {
  1: { full: 5_000, quick: 500 },
  100: { full: 50_000, quick: 5_000 },
  1000: { full: 50_000, quick: 5_000 },
};

const MEMORY_REQUESTS = { full: 1_000_000, quick: 50_000 };

/** One request: resolves when its reply is in. */
export type Call = () => Promise<void>;

/**
 * The client workload, shared by both sides: `inFlight` loops each send a
 * request and await its reply, `n` in all; latency per request. `onProgress`
 * is called with the number done every 1% of the run.
 */
export async function workload(call: Call, n: number, inFlight: number, onProgress?: (done: number) => void, server?: BenchChild): Promise<Sample> {
  // connected and answering before the clock starts: every lane once (the
  // async client opens its sockets), twice
  for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: inFlight }, call));
  const cpu0 = server === undefined ? NaN : await server.cpuUs();
  const latency = new Float64Array(n);
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.floor(n / 100));
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const started = performance.now();
      await call();
      latency[i] = performance.now() - started;
      if (++done % step === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  const ms = performance.now() - t0;
  const cpu1 = server === undefined ? NaN : await server.cpuUs();
  latency.sort();
  return { throughput: (n / ms) * 1000, p50: percentile(latency, 50) * 1000, p99: percentile(latency, 99) * 1000, serverCpu: (cpu1 - cpu0) / n };
}

/** A raw zeromq.js DEALER with requests matched to replies by a sequence frame. */
export function rawCaller(dealer: zmq.Dealer): { call: Call; stop: () => Promise<void> } {
  const waiting = new Map<number, () => void>();
  let seq = 0;
  let sending: Promise<void> = Promise.resolve();
  const reader = (async () => {
    try {
      for (;;) {
        const [id] = await dealer.receive();
        const n = id!.readUInt32LE(0);
        waiting.get(n)?.();
        waiting.delete(n);
      }
    } catch {
      // closed
    }
  })();
  return {
    call: () =>
      new Promise<void>((resolve) => {
        const n = seq++ >>> 0;
        const frame = Buffer.allocUnsafe(4);
        frame.writeUInt32LE(n, 0);
        waiting.set(n, resolve);
        // zeromq.js allows one send at a time: chain them
        sending = sending.then(() => dealer.send([frame, BODY]));
      }),
    stop: async () => {
      dealer.close();
      await reader;
    },
  };
}

async function raw(ctx: RunContext, inFlight: number): Promise<Sample> {
  const sizes = ROUND_TRIPS[inFlight]!;
  const server = await startChild("raw-echo");
  const dealer = new zmq.Dealer({ linger: 0, receiveHighWaterMark: 0 });
  dealer.connect(server.ready);
  const caller = rawCaller(dealer);
  try {
    return await workload(caller.call, ctx.quick ? sizes.quick : sizes.full, inFlight, undefined, server);
  } finally {
    await caller.stop();
    await server.stop();
  }
}

/** How the zkit side runs: the broker's `workerPrefetch`, the workers' `concurrency`. */
interface Setup {
  prefetch: number;
  concurrency: number;
}

/** 7/MDP as the Guide runs it: one request per worker at a time. */
const DEFAULT_SETUP: Setup = { prefetch: 1, concurrency: 1 };

/** A broker process and a process with `workers` echo workers. */
async function brokerAndWorkers(workers: number, setup: Setup = DEFAULT_SETUP): Promise<{ broker: BenchChild; stop: () => Promise<void> }> {
  const broker = await startChild("broker", [String(setup.prefetch)]);
  const pool = await startChild("workers", [broker.ready, String(workers), String(setup.concurrency)]);
  return {
    broker,
    stop: async () => {
      await pool.stop();
      await broker.stop();
    },
  };
}

function zkit(ctx: RunContext, inFlight: number, setup: Setup = DEFAULT_SETUP): Promise<Sample> {
  const sizes = ROUND_TRIPS[inFlight]!;
  return zkitRun(ctx.quick ? sizes.quick : sizes.full, inFlight, setup);
}

async function zkitRun(n: number, inFlight: number, setup: Setup = DEFAULT_SETUP, multiplex: MultiplexMode = "off"): Promise<Sample> {
  const servers = await brokerAndWorkers(2, setup);
  const client =
    inFlight === 1
      ? new MajordomoClient({ endpoint: servers.broker.ready, timeoutMs: 30_000 })
      : new MajordomoAsyncClient({ endpoint: servers.broker.ready, timeoutMs: 60_000, maxSockets: inFlight, maxInFlight: inFlight, multiplex });
  try {
    const sample = await workload(() => client.request("echo", BODY).then(() => undefined), n, inFlight, undefined, servers.broker);
    if (client instanceof MajordomoAsyncClient && multiplex !== "off" && client.mode !== "multiplexed") throw new Error(`the async client did not multiplex (mode ${client.mode})`);
    return sample;
  } finally {
    await client.close();
    await servers.stop();
  }
}

/**
 * Throughput against the raw echo: the broker adds a hop, so the target
 * (issue 5) is half of raw, at 100 in flight with prefetch. The default
 * setup has no ratio target: 7/MDP's one request per worker at a time caps
 * it at about 2 workers / one broker-worker round trip, whatever the code
 * (`mdp/vs-bare-100-in-flight` checks zkit against bare zeromq.js doing the
 * same). Latencies are reported only.
 */
const throughputMetrics = (target: boolean): MetricSpec[] => [
  { key: "throughput", unit: "rt/s", better: "higher", target: target ? { op: ">=", ratio: 0.5 } : null },
  { key: "p50", unit: "us", better: "lower", target: null },
  { key: "p99", unit: "us", better: "lower", target: null },
  SERVER_CPU,
];

/**
 * CPU time per round trip of the process in the middle, from its own
 * `process.cpuUsage()` (every thread, libzmq's I/O thread included): the
 * broker on the zkit side, the echo server on the raw side (the bare
 * broker in `mdp/vs-bare-*`). Reported only: the raw echo does less work
 * than any broker, so the ratio says how much a broker costs, not whether
 * zkit is slow; compare the zkit figure with the Guide's C broker
 * (`../shared/anchors/mdp-vs-c.sh`).
 */
const SERVER_CPU: MetricSpec = { key: "serverCpu", unit: "us/rt", better: "lower", target: null };

/**
 * Drives `server` (a broker with workers, or the raw echo) with `n` requests
 * at 100 in flight and samples its RSS every 1% of the run.
 */
async function memoryRun(server: BenchChild, call: Call, n: number): Promise<Sample> {
  const samples: number[] = [];
  const sample = await workload(call, n, 100, () => samples.push(server.rss()));
  samples.push(server.rss());
  const MB = 1024 * 1024;
  const base = samples[Math.floor(samples.length / 10)] ?? samples[0]!;
  return {
    growth: (samples[samples.length - 1]! - base) / MB,
    peak: Math.max(...samples) / MB,
    throughput: sample.throughput!,
  };
}

const memory: BenchCase = {
  name: "mdp/memory",
  description: `broker process RSS over ${MEMORY_REQUESTS.full.toLocaleString("en-US")} requests, 100 in flight, 4 workers (raw: the echo process); long: run alone`,
  metrics: [
    { key: "growth", unit: "MB", better: "lower", target: null, limit: { op: "<=", value: 16 } },
    { key: "peak", unit: "MB", better: "lower", target: null },
    { key: "throughput", unit: "rt/s", better: "higher", target: null },
  ],
  run: {
    raw: async (ctx) => {
      const server = await startChild("raw-echo");
      const dealer = new zmq.Dealer({ linger: 0, receiveHighWaterMark: 0 });
      dealer.connect(server.ready);
      const caller = rawCaller(dealer);
      try {
        return await memoryRun(server, caller.call, ctx.quick ? MEMORY_REQUESTS.quick : MEMORY_REQUESTS.full);
      } finally {
        await caller.stop();
        await server.stop();
      }
    },
    zkit: async (ctx) => {
      const servers = await brokerAndWorkers(4);
      const client = new MajordomoAsyncClient({ endpoint: servers.broker.ready, timeoutMs: 60_000, maxSockets: 100, multiplex: "off" });
      try {
        return await memoryRun(servers.broker, () => client.request("echo", BODY).then(() => undefined), ctx.quick ? MEMORY_REQUESTS.quick : MEMORY_REQUESTS.full);
      } finally {
        await client.close();
        await servers.stop();
      }
    },
  },
};

/** 100 bare DEALERs, one request in flight on each, against the bare broker. */
async function bareClient(endpoint: string, sockets: number): Promise<{ call: Call; stop: () => void }> {
  const EMPTY = Buffer.alloc(0);
  const header = Buffer.from("MDPC01");
  const service = Buffer.from("echo");
  const free: zmq.Dealer[] = [];
  const all: zmq.Dealer[] = [];
  for (let i = 0; i < sockets; i++) {
    const d = new zmq.Dealer({ linger: 0 });
    d.connect(endpoint);
    free.push(d);
    all.push(d);
  }
  return {
    // the workload never has more calls in flight than sockets
    call: async () => {
      const d = free.pop()!;
      await d.send([EMPTY, header, service, BODY]);
      await d.receive();
      free.push(d);
    },
    stop: () => {
      for (const d of all) d.close();
    },
  };
}

const VS_BARE = { full: 50_000, quick: 5_000 };

/** zkit's broker, workers and async client vs the same hops on bare zeromq.js, with `setup`. */
const vsBare = (name: string, setup: Setup): BenchCase => ({
  name,
  description:
    `${VS_BARE.full.toLocaleString("en-US")} round trips, 100 in flight, 2 workers${setup.prefetch > 1 ? `, broker prefetch ${setup.prefetch}` : ""}:` +
    " zkit's broker, workers and async client vs the same hops on bare zeromq.js",
  metrics: [
    { key: "throughput", unit: "rt/s", better: "higher" },
    { key: "p50", unit: "us", better: "lower", target: null },
    { key: "p99", unit: "us", better: "lower", target: null },
    SERVER_CPU,
  ],
  run: {
    raw: async (ctx) => {
      const broker = await startChild("raw-broker", [String(setup.prefetch)]);
      const workers = await startChild("raw-workers", [broker.ready, "2"]);
      const client = await bareClient(broker.ready, 100);
      try {
        return await workload(client.call, ctx.quick ? VS_BARE.quick : VS_BARE.full, 100, undefined, broker);
      } finally {
        client.stop();
        await workers.stop();
        await broker.stop();
      }
    },
    zkit: (ctx) => zkitRun(ctx.quick ? VS_BARE.quick : VS_BARE.full, 100, setup),
  },
});

/** The prefetch of the `-prefetch` cases: how many requests the broker sends a worker before its reply. */
const PREFETCH = [32, 64];

const describeRun = (inFlight: number, setup: Setup): string =>
  `${ROUND_TRIPS[inFlight]!.full.toLocaleString("en-US")} round trips, ${inFlight} in flight: client -> MajordomoBroker process` +
  `${setup.prefetch > 1 ? ` (workerPrefetch ${setup.prefetch})` : ""} -> 2 MajordomoWorkers process` +
  ` (${inFlight === 1 ? "MajordomoClient" : "MajordomoAsyncClient"}); raw = DEALER -> ROUTER echo process`;

export const cases: BenchCase[] = [
  // 7/MDP as the Guide runs it (workerPrefetch 1): no ratio target, see throughputMetrics
  ...[1, 100, 1000].map((inFlight) => ({
    name: `mdp/${inFlight}-in-flight`,
    description: describeRun(inFlight, DEFAULT_SETUP),
    metrics: throughputMetrics(false),
    run: { raw: (ctx: RunContext) => raw(ctx, inFlight), zkit: (ctx: RunContext) => zkit(ctx, inFlight) },
  })),
  // pipelining: the broker sends each worker up to N requests; workers handle one at a time
  ...[100, 1000].flatMap((inFlight) =>
    PREFETCH.map((prefetch) => {
      const setup: Setup = { prefetch, concurrency: 1 };
      return {
        name: `mdp/${inFlight}-in-flight-prefetch-${prefetch}`,
        description: describeRun(inFlight, setup),
        metrics: throughputMetrics(inFlight === 100),
        run: { raw: (ctx: RunContext) => raw(ctx, inFlight), zkit: (ctx: RunContext) => zkit(ctx, inFlight, setup) },
      };
    }),
  ),
  // the async client's envelope extension: one DEALER for every request, beside the same run's socket-per-request row
  ...[100, 1000].map((inFlight) => ({
    name: `mdp/${inFlight}-in-flight-multiplexed`,
    description: `${ROUND_TRIPS[inFlight]!.full.toLocaleString("en-US")} round trips, ${inFlight} in flight: MajordomoAsyncClient multiplexed on ONE DEALER (zkit's envelope extension) -> MajordomoBroker process -> 2 MajordomoWorkers process; raw = DEALER -> ROUTER echo process`,
    metrics: throughputMetrics(false),
    run: {
      raw: (ctx: RunContext) => raw(ctx, inFlight),
      zkit: (ctx: RunContext) => zkitRun(ctx.quick ? ROUND_TRIPS[inFlight]!.quick : ROUND_TRIPS[inFlight]!.full, inFlight, DEFAULT_SETUP, "auto"),
    },
  })),
  vsBare("mdp/vs-bare-100-in-flight", DEFAULT_SETUP),
  vsBare(`mdp/vs-bare-100-in-flight-prefetch-${PREFETCH[0]}`, { prefetch: PREFETCH[0]!, concurrency: 1 }),
  memory,
];
