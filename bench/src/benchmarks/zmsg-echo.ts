/**
 * DEALER -> ROUTER echo over tcp://127.0.0.1 in one process: round trips per
 * second, p50/p99 round-trip latency in microseconds, and on Linux the main
 * thread's CPU time per round trip (client and server run in this one
 * thread), with 1 request in flight and with 100 in flight.
 *
 * Both sides run the same algorithm. The client keeps `inFlight` requests
 * outstanding on one DEALER: it sends the first `inFlight`, then for each
 * reply it records the latency and sends the next request. A request is
 * `[seq (uint32 LE)][16-byte body]`; the ROUTER receives `[identity][seq][body]`
 * and sends that back unchanged, which routes it to the client as
 * `[seq][body]`. Latency is `performance.now()` from just before the request's
 * send to just after its reply's receive.
 *
 * - raw: zeromq.js `Dealer`/`Router` with arrays of Buffers.
 * - zkit: `ZSocket` + `ZMsg`: the client builds a ZMsg per request
 *   (`new ZMsg().add(body).push(seq)`, `msg.send(dealer)`) and reads the
 *   reply with `ZMsg.recv(dealer)` and `pop()`; the server echoes with
 *   `ZMsg.recv(router)` and `msg.send(router)`.
 * @module
 */
import { performance } from "node:perf_hooks";
import { ZSocket } from "@zkit/core";
import { ZMsg } from "@zkit/zmsg";
import * as zmq from "zeromq";
import { mainThreadCpuUs, threadCpuAvailable } from "../cpu.js";
import { type BenchCase, type MetricSpec, type RunContext, type Sample, percentile } from "../harness.js";

const BODY = Buffer.alloc(16, 0x62);
const PROBE = 0xffffffff;

/** Round trips per run, by requests in flight. */
const ROUND_TRIPS: Record<number, { full: number; quick: number }> = {
  1: { full: 10_000, quick: 1_000 },
  100: { full: 50_000, quick: 5_000 },
};

/** One side's client operations: send request `seq`, receive a reply's seq. */
interface Client {
  request(seq: number): Promise<void>;
  reply(): Promise<number>;
}

function seqFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(seq, 0);
  return b;
}

/** The client workload, shared by both sides. */
async function workload(client: Client, n: number, inFlight: number): Promise<Sample> {
  // connected and echoing before the clock starts
  await client.request(PROBE);
  if ((await client.reply()) !== PROBE) throw new Error("echo: probe reply out of order");

  const started = new Float64Array(n);
  const latency = new Float64Array(n);
  const t0 = performance.now();
  const cpu0 = mainThreadCpuUs();
  let sent = 0;
  for (; sent < Math.min(inFlight, n); sent++) {
    started[sent] = performance.now();
    await client.request(sent);
  }
  for (let done = 0; done < n; done++) {
    const seq = await client.reply();
    latency[done] = performance.now() - started[seq]!;
    if (sent < n) {
      started[sent] = performance.now();
      await client.request(sent++);
    }
  }
  const ms = performance.now() - t0;
  const cpu = (mainThreadCpuUs() - cpu0) / n;
  latency.sort();
  return {
    throughput: (n / ms) * 1000,
    p50: percentile(latency, 50) * 1000,
    p99: percentile(latency, 99) * 1000,
    cpu,
  };
}

async function raw(ctx: RunContext, inFlight: number): Promise<Sample> {
  const sizes = ROUND_TRIPS[inFlight]!;
  const router = new zmq.Router({ linger: 0 });
  const dealer = new zmq.Dealer({ linger: 0 });
  let server: Promise<void> = Promise.resolve();
  try {
    await router.bind("tcp://127.0.0.1:*");
    dealer.connect(router.lastEndpoint!);
    server = (async () => {
      try {
        for (;;) {
          const msg = await router.receive();
          await router.send(msg);
        }
      } catch (err) {
        if (!router.closed) throw err;
      }
    })();
    const client: Client = {
      request: (seq) => dealer.send([seqFrame(seq), BODY]),
      reply: async () => {
        const [seq] = await dealer.receive();
        return seq!.readUInt32LE(0);
      },
    };
    return await workload(client, ctx.quick ? sizes.quick : sizes.full, inFlight);
  } finally {
    dealer.close();
    router.close();
    await server;
  }
}

async function zkit(ctx: RunContext, inFlight: number): Promise<Sample> {
  const sizes = ROUND_TRIPS[inFlight]!;
  const router = await ZSocket.router("@tcp://127.0.0.1:*", { linger: 0 });
  const dealer = await ZSocket.dealer(`>${router.endpoint}`, { linger: 0 });
  const server = (async () => {
    try {
      for (;;) {
        const msg = await ZMsg.recv(router);
        await msg.send(router);
      }
    } catch (err) {
      if (!router.closed) throw err;
    }
  })();
  try {
    const client: Client = {
      request: (seq) => new ZMsg().add(BODY).push(seqFrame(seq)).send(dealer),
      reply: async () => {
        const reply = await ZMsg.recv(dealer);
        return reply.pop()!.data.readUInt32LE(0);
      },
    };
    return await workload(client, ctx.quick ? sizes.quick : sizes.full, inFlight);
  } finally {
    dealer.close();
    router.close();
    await server;
  }
}

const metrics: MetricSpec[] = [
  { key: "throughput", unit: "rt/s", better: "higher" },
  { key: "p50", unit: "us", better: "lower" },
  { key: "p99", unit: "us", better: "lower" },
  ...(threadCpuAvailable ? [{ key: "cpu", unit: "us/rt", better: "lower" } as const] : []),
];

export const cases: BenchCase[] = [1, 100].map((inFlight) => ({
  name: `zmsg-echo/${inFlight}-in-flight`,
  description: `DEALER->ROUTER echo tcp, ${ROUND_TRIPS[inFlight]!.full} round trips, ${inFlight} in flight; zkit = ZSocket + ZMsg`,
  metrics,
  run: { raw: (ctx: RunContext) => raw(ctx, inFlight), zkit: (ctx: RunContext) => zkit(ctx, inFlight) },
}));
