/**
 * `pnpm soak bstar-partition [--trials=100] [--hb=250] [--timeout-ms=600] [--settle-ms=500] [--seed=N]`:
 * Binary Star on a partitioned network, 100 randomized trials. A pair and
 * a client run as processes in Linux network namespaces behind a router
 * namespace; each trial cuts links as its scenario says (the state link
 * while the client reaches only the active side or only the passive side,
 * everything, the client's link to the active side, flapping links, and
 * loss and delay where the kernel has tc netem), holds 1.5 to 3.5 s, heals,
 * and checks what the processes printed (packages/bstar/test/lab/partition.ts).
 *
 * Prints, per scenario and in all: dual-active trials (two active servers
 * while the client could reach only one side: must be 0), failover time
 * p50/p99 (the client reaching only the passive side; bound: the client's
 * timeout + max(settle, 2 x heartbeat)), requests lost (must be 0), split
 * brains resolved after heals, and the trials with any problem; writes
 * `results/soak/bstar-partition.json`. Needs root (it makes namespaces).
 * Exits 1 when a trial failed.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { namespacesWithPrefix, netnsSupport } from "@zkit/testkit";
import { PartitionLab, SCENARIOS, percentile, seeded, type Scenario, type TrialResult } from "../../../packages/bstar/test/lab/partition.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["trials", "hb", "timeout-ms", "settle-ms", "seed"]);
const TRIALS = option(flags, "trials", 100);
const HB = option(flags, "hb", 250);
const TIMEOUT_MS = option(flags, "timeout-ms", 600);
const SETTLE_MS = option(flags, "settle-ms", 2 * HB);
const SEED = option(flags, "seed", Date.now() % 1_000_000);
const PREFIX = `zkbs-${process.pid}-`;

const support = netnsSupport();
if (!support.ok) {
  console.error(`bstar-partition: cannot build the network: ${support.reason}`);
  process.exit(2);
}

const random = seeded(SEED);
const lab = await PartitionLab.start({ hb: HB, timeoutMs: TIMEOUT_MS, settleMs: SETTLE_MS, slackMs: 2000 });
const scenarios: Scenario[] = SCENARIOS.filter((s) => s !== "lossy-links" || lab.net.netem);
console.log(`bstar-partition: ${TRIALS} trials, heartbeat ${HB} ms, client timeout ${TIMEOUT_MS} ms, settle ${SETTLE_MS} ms, seed ${SEED}`);
if (!lab.net.netem) console.log(`  lossy-links left out: ${lab.net.netemError}`);

const results: TrialResult[] = [];
const started = Date.now();
try {
  for (let i = 0; i < TRIALS; i++) {
    const scenario = scenarios[Math.floor(random() * scenarios.length)]!;
    const holdMs = Math.round(1500 + random() * 2000);
    let r: TrialResult;
    try {
      r = await lab.trial(scenario, holdMs, random);
    } catch (err) {
      console.log(`  trial ${i + 1}: ${scenario}: the lab failed: ${(err as Error).message}`);
      throw err;
    }
    results.push(r);
    const detail = [r.failoverMs !== undefined ? `failover ${Math.round(r.failoverMs)} ms` : "", r.splitBrains ? `${r.splitBrains} split brain(s) resolved` : ""].filter(Boolean).join(", ");
    console.log(
      `  ${String(i + 1).padStart(3)} ${scenario.padEnd(29)} ${r.activeBefore.padEnd(7)} -> ${r.activeAfter.padEnd(7)} ${detail}${r.problems.length ? `  PROBLEM: ${r.problems.join("; ")}` : ""}`,
    );
  }
} finally {
  await lab.close();
}
const left = namespacesWithPrefix(PREFIX);

const failovers = results.flatMap((r) => (r.failoverMs === undefined ? [] : [r.failoverMs]));
const byScenario = Object.fromEntries(
  scenarios.map((s) => {
    const rs = results.filter((r) => r.scenario === s);
    return [
      s,
      { trials: rs.length, dualActive: rs.filter((r) => r.dualActive.length > 0).length, lost: rs.reduce((n, r) => n + r.lost, 0), failed: rs.filter((r) => r.problems.length > 0).length },
    ];
  }),
);
const summary = {
  trials: results.length,
  seed: SEED,
  heartbeatMs: HB,
  clientTimeoutMs: TIMEOUT_MS,
  settleDelayMs: SETTLE_MS,
  failoverBoundMs: lab.failoverBoundMs,
  netem: lab.net.netem,
  dualActiveTrials: results.filter((r) => r.dualActive.length > 0).length,
  requestsLost: results.reduce((n, r) => n + r.lost, 0),
  replies: results.reduce((n, r) => n + r.replies, 0),
  failoverP50Ms: percentile(failovers, 50),
  failoverP99Ms: percentile(failovers, 99),
  failoverMaxMs: failovers.length ? Math.max(...failovers) : NaN,
  failovers: failovers.length,
  recoveredP50Ms: percentile(results.map((r) => r.recoveredMs).filter(Number.isFinite), 50),
  recoveredP99Ms: percentile(results.map((r) => r.recoveredMs).filter(Number.isFinite), 99),
  splitBrainsResolved: results.reduce((n, r) => n + r.splitBrains, 0),
  failedTrials: results.filter((r) => r.problems.length > 0).length,
  namespacesLeft: left.length,
  seconds: (Date.now() - started) / 1000,
  byScenario,
};

console.log("");
console.log(`dual-active trials      ${summary.dualActiveTrials} (target 0)`);
console.log(`requests lost           ${summary.requestsLost} of ${summary.replies} answered (target 0)`);
console.log(
  `failover p50 / p99      ${Math.round(summary.failoverP50Ms)} / ${Math.round(summary.failoverP99Ms)} ms over ${failovers.length} failovers (bound ${lab.failoverBoundMs} ms: timeout + max(settle, 2 x heartbeat))`,
);
console.log(`recovery after heal     p50 ${Math.round(summary.recoveredP50Ms)} / p99 ${Math.round(summary.recoveredP99Ms)} ms`);
console.log(`split brains resolved   ${summary.splitBrainsResolved}`);
console.log(`failed trials           ${summary.failedTrials}`);
console.log(`namespaces left behind  ${left.length}`);
for (const [s, v] of Object.entries(byScenario)) console.log(`  ${s.padEnd(29)} ${v.trials} trials, ${v.dualActive} dual-active, ${v.lost} lost, ${v.failed} failed`);

const out = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}bstar-partition.json`, `${JSON.stringify({ summary, trials: results }, null, 2)}\n`);
console.log(`wrote results/soak/bstar-partition.json (${summary.seconds.toFixed(0)} s)`);
if (summary.failedTrials > 0 || summary.dualActiveTrials > 0 || summary.requestsLost > 0 || left.length > 0) process.exitCode = 1;
