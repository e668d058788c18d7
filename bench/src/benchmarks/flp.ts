/**
 * Freelance (10/FLP, `@zkit/flclient`): a `FreelanceClient` in this process
 * and echo `FreelanceServer`s in a child process, beside a raw zeromq.js
 * DEALER -> ROUTER echo (a child process too) in the same run:
 *
 * - `flp/1-in-flight-1-server` and `flp/1-in-flight-3-servers`: round trips
 *   one at a time (the Guide's flclient3, which reports about 60 us a
 *   request with one server and 80 us with three on its machine);
 * - `flp/100-in-flight-3-servers`: throughput with 100 requests in flight
 *   over three servers.
 *
 * A request is `[16 bytes]`, the reply the same body. zkit's client adds
 * a control frame (the request number) and, on the server, a ROUTER, a
 * ZLoop and a HandlerRunner on each side of the same single hop; the three
 * servers share one process (one thread, like the raw echo). Round trips per
 * second, and p50/p99 latency in microseconds.
 *
 * Run directly, this file is the child: `flp.ts servers <n>` prints
 * `ready <endpoint>,...` and serves until SIGTERM.
 * @module
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FreelanceClient } from "@zkit/flclient";
import * as zmq from "zeromq";
import { type BenchCase, type MetricSpec, type RunContext, type Sample, percentile } from "../harness.js";
import { startChild, type BenchChild } from "./mdp-children.js";

const BODY = Buffer.alloc(16, 0x62);

/** Round trips per run, by requests in flight. */
const ROUND_TRIPS: Record<number, { full: number; quick: number }> = {
  1: { full: 5_000, quick: 500 },
  100: { full: 50_000, quick: 5_000 },
};

/** One request: resolves when its reply is in. */
type Call = () => Promise<void>;

/** `inFlight` loops each sending a request and awaiting its reply, `n` in all; latency per request. */
async function workload(call: Call, n: number, inFlight: number): Promise<Sample> {
  // connected and answering before the clock starts
  for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: inFlight }, call));
  const latency = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const started = performance.now();
      await call();
      latency[i] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  const ms = performance.now() - t0;
  latency.sort();
  return { throughput: (n / ms) * 1000, p50: percentile(latency, 50) * 1000, p99: percentile(latency, 99) * 1000 };
}

/** A raw zeromq.js DEALER with requests matched to replies by a sequence frame. */
function rawCaller(dealer: zmq.Dealer): { call: Call; stop: () => Promise<void> } {
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
    return await workload(caller.call, ctx.quick ? sizes.quick : sizes.full, inFlight);
  } finally {
    await caller.stop();
    await server.stop();
  }
}

async function zkit(ctx: RunContext, inFlight: number, servers: number): Promise<Sample> {
  const sizes = ROUND_TRIPS[inFlight]!;
  const child = await startServers(servers);
  // the defaults but for the timeouts: nothing must time out on a loaded machine
  const client = new FreelanceClient({ endpoints: child.ready, timeoutMs: 60_000, attemptTimeoutMs: 30_000 });
  try {
    await client.start();
    const deadline = performance.now() + 30_000;
    while (client.stats.liveServers < servers) {
      if (performance.now() > deadline) throw new Error(`flp bench: ${client.stats.liveServers} of ${servers} servers alive after 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const sample = await workload(() => client.request(BODY).then(() => undefined), ctx.quick ? sizes.quick : sizes.full, inFlight);
    if (client.stats.retries > 0) throw new Error(`flp bench: ${client.stats.retries} requests were resent; the figures would not be round trips`);
    return sample;
  } finally {
    await client.close();
    await child.stop();
  }
}

const SELF = fileURLToPath(import.meta.url);

/** A child process with `n` echo FreelanceServers; its `ready` is their endpoints, comma-separated. */
function startServers(n: number): Promise<BenchChild> {
  const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", SELF, "servers", String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise<BenchChild>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`flp servers did not start within 60 s: ${out}`));
    }, 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      const m = /^ready (\S+)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        ready: m[1]!,
        pid: child.pid!,
        rss: () => NaN,
        cpuUs: () => Promise.resolve(NaN), // not measured for these servers
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/** The child: `n` echo servers until SIGTERM. */
async function serve(n: number): Promise<void> {
  const { handleInterrupts, interruptSignal } = await import("@zkit/core");
  const { FreelanceServer } = await import("@zkit/flclient");
  handleInterrupts();
  const servers = Array.from({ length: n }, () => new FreelanceServer({ bind: "tcp://127.0.0.1:*", handler: (request) => request }));
  await Promise.all(servers.map((s) => s.start()));
  console.log(`ready ${servers.map((s) => s.endpoint).join(",")}`);
  await new Promise<void>((resolve) => interruptSignal().addEventListener("abort", () => resolve(), { once: true }));
  await Promise.all(servers.map((s) => s.close()));
}

if (process.argv[1] === SELF && process.argv[2] === "servers") await serve(Number(process.argv[3] ?? 3));

/**
 * Throughput and latency, beside the raw echo over the same single hop.
 * The target: at least half of raw's throughput (a ZLoop, a control frame
 * and a handler runner on each side of the hop, measured here).
 */
const metrics: MetricSpec[] = [
  { key: "throughput", unit: "rt/s", better: "higher", target: { op: ">=", ratio: 0.5 } },
  { key: "p50", unit: "us", better: "lower", target: null },
  { key: "p99", unit: "us", better: "lower", target: null },
];

const describeRun = (inFlight: number, servers: number): string =>
  `${ROUND_TRIPS[inFlight]!.full.toLocaleString("en-US")} round trips, ${inFlight} in flight: FreelanceClient -> ${servers} FreelanceServer${servers === 1 ? "" : "s"} (one process); raw = DEALER -> ROUTER echo process`;

export const cases: BenchCase[] = [
  [1, 1],
  [1, 3],
  [100, 3],
].map(([inFlight, servers]) => ({
  name: `flp/${inFlight}-in-flight-${servers}-server${servers === 1 ? "" : "s"}`,
  description: describeRun(inFlight!, servers!),
  metrics,
  run: { raw: (ctx: RunContext) => raw(ctx, inFlight!), zkit: (ctx: RunContext) => zkit(ctx, inFlight!, servers!) },
}));
