/**
 * CURVE's cost on Majordomo's throughput, beside CURVE's cost on raw
 * zeromq.js, all in the same run (`pnpm bench mdp-curve`): the workload of
 * mdp.ts at 100 requests in flight, the broker with `workerPrefetch` 32
 * (where MDP is fastest, so the cost shows most), every server in its own
 * process.
 *
 * The harness compares two sides per case; here the "zkit" column is the
 * side with CURVE:
 *
 * - `mdp-curve/raw-echo-100-in-flight`: a raw zeromq.js DEALER -> ROUTER echo
 *   process with CURVE ("zkit" column) and without ("raw"): what CURVE costs
 *   libzmq itself. No target.
 * - `mdp-curve/mdp-100-in-flight-prefetch-32`: MajordomoAsyncClient ->
 *   MajordomoBroker process -> 2 MajordomoWorkers process, with the
 *   `security` option ("zkit") and without ("raw"): what CURVE costs MDP.
 *   No target.
 * - `mdp-curve/vs-raw-100-in-flight-prefetch-32`: MDP with CURVE against the
 *   raw echo with CURVE: the usual zkit/raw comparison, both encrypted
 *   (target >= 0.5, as mdp.ts without CURVE).
 *
 * The servers have no ZAP handler (libzmq then admits every CURVE key): ZAP
 * is asked once per connection, during its handshake, and the clients
 * connect before the clock starts, so it would not change the figures.
 * @module
 */
import * as zmq from "zeromq";
import { MajordomoAsyncClient } from "@zkit/mdp";
import type { BenchCase, MetricSpec, RunContext, Sample } from "../harness.js";
import { rawCaller, workload } from "./mdp.js";
import { startChild, type BenchCurve } from "./mdp-children.js";

const BODY = Buffer.alloc(16, 0x62);
const IN_FLIGHT = 100;
const PREFETCH = 32;
const ROUND_TRIPS = { full: 50_000, quick: 5_000 };

/** Fresh keys for one run: the servers' pair and one client pair. */
function keys(): BenchCurve {
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  return { server, client: { ...client, serverKey: server.publicKey } };
}

const n = (ctx: RunContext): number => (ctx.quick ? ROUND_TRIPS.quick : ROUND_TRIPS.full);

/** The raw echo process, with CURVE when `curve` is set, driven by one raw DEALER. */
async function rawEcho(ctx: RunContext, curve: BenchCurve | undefined): Promise<Sample> {
  const server = await startChild("raw-echo", [], curve);
  const dealer = new zmq.Dealer({
    linger: 0,
    receiveHighWaterMark: 0,
    ...(curve !== undefined ? { curveSecretKey: curve.client.secretKey, curvePublicKey: curve.client.publicKey, curveServerKey: curve.client.serverKey } : {}),
  });
  dealer.connect(server.ready);
  const caller = rawCaller(dealer);
  try {
    return await workload(caller.call, n(ctx), IN_FLIGHT);
  } finally {
    await caller.stop();
    await server.stop();
  }
}

/** A broker process (prefetch 32) and a process with 2 workers, with CURVE when `curve` is set, driven by a MajordomoAsyncClient. */
async function mdp(ctx: RunContext, curve: BenchCurve | undefined): Promise<Sample> {
  const broker = await startChild("broker", [String(PREFETCH)], curve);
  const pool = await startChild("workers", [broker.ready, "2", "1"], curve);
  const client = new MajordomoAsyncClient({
    endpoint: broker.ready,
    timeoutMs: 60_000,
    maxSockets: IN_FLIGHT,
    ...(curve !== undefined ? { security: { curve: curve.client } } : {}),
  });
  try {
    return await workload(() => client.request("echo", BODY).then(() => undefined), n(ctx), IN_FLIGHT);
  } finally {
    await client.close();
    await pool.stop();
    await broker.stop();
  }
}

const metrics = (target: boolean): MetricSpec[] => [
  { key: "throughput", unit: "rt/s", better: "higher", target: target ? { op: ">=", ratio: 0.5 } : null },
  { key: "p50", unit: "us", better: "lower", target: null },
  { key: "p99", unit: "us", better: "lower", target: null },
];

const rounds = `${ROUND_TRIPS.full.toLocaleString("en-US")} round trips, ${IN_FLIGHT} in flight`;

export const cases: BenchCase[] = [
  {
    name: `mdp-curve/raw-echo-${IN_FLIGHT}-in-flight`,
    description: `${rounds}: raw zeromq.js DEALER -> ROUTER echo process; "zkit" column = with CURVE, "raw" = without (CURVE's cost on libzmq)`,
    metrics: metrics(false),
    run: { zkit: (ctx) => rawEcho(ctx, keys()), raw: (ctx) => rawEcho(ctx, undefined) },
  },
  {
    name: `mdp-curve/mdp-${IN_FLIGHT}-in-flight-prefetch-${PREFETCH}`,
    description: `${rounds}: MajordomoAsyncClient -> broker (prefetch ${PREFETCH}) -> 2 workers, each a process; "zkit" column = with the security option (CURVE), "raw" = without (CURVE's cost on MDP)`,
    metrics: metrics(false),
    run: { zkit: (ctx) => mdp(ctx, keys()), raw: (ctx) => mdp(ctx, undefined) },
  },
  {
    name: `mdp-curve/vs-raw-${IN_FLIGHT}-in-flight-prefetch-${PREFETCH}`,
    description: `${rounds}, both over CURVE: MDP (broker prefetch ${PREFETCH}, 2 workers) vs the raw DEALER -> ROUTER echo`,
    metrics: metrics(true),
    run: { zkit: (ctx) => mdp(ctx, keys()), raw: (ctx) => rawEcho(ctx, keys()) },
  },
];
