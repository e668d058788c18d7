/**
 * `pnpm bench [filter...] [--quick] [--rounds=N] [--warmup=N]`: runs every
 * benchmark case whose name contains one of the filters (all when none),
 * prints zkit beside raw zeromq.js as a table and writes
 * `results/latest.json` (`results/quick.json` for a `--quick` smoke run).
 * Targets are reported, not asserted: a miss is marked, the exit code stays 0.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { openSocketCount } from "@zkit/core";
import { allCases } from "./benchmarks/index.js";
import { type HarnessOptions, type MetricResult, runCase } from "./harness.js";
import { printTable } from "./report.js";

interface Args {
  filters: string[];
  quick: boolean;
  rounds: number | undefined;
  warmup: number | undefined;
}

const USAGE = "usage: pnpm bench [filter...] [--quick] [--rounds=N] [--warmup=N]";

function parseArgs(argv: string[]): Args {
  const args: Args = { filters: [], quick: false, rounds: undefined, warmup: undefined };
  for (const a of argv) {
    if (a === "--") continue;
    else if (a === "--quick") args.quick = true;
    else if (a.startsWith("--rounds=")) args.rounds = positiveInt(a, a.slice(9));
    else if (a.startsWith("--warmup=")) args.warmup = positiveInt(a, a.slice(9), true);
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else args.filters.push(a.toLowerCase());
  }
  return args;
}

function positiveInt(arg: string, s: string, zeroOk = false): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new Error(`bad value in ${arg}: expected an integer >= ${zeroOk ? 0 : 1}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cases = allCases.filter((c) => args.filters.length === 0 || args.filters.some((f) => c.name.toLowerCase().includes(f)));
  if (cases.length === 0) {
    console.error(`no benchmark matches ${args.filters.join(", ")}; there are: ${allCases.map((c) => c.name).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const opts: HarnessOptions = {
    quick: args.quick,
    rounds: args.rounds ?? (args.quick ? 1 : 7),
    warmup: args.warmup ?? 1,
    onProgress: (line) => console.error(line),
  };
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown cpu"}), Node ${process.version}, ${process.platform}/${process.arch}`;
  console.error(`zkit bench: ${cases.length} case(s), ${opts.warmup} warm-up + ${opts.rounds} round(s) per side${args.quick ? ", quick (workloads / 10)" : ""}; ${machine}`);

  const loadBefore = loadavg()[0]!;
  if (loadBefore > cpus().length / 2) {
    console.error(`note: load average ${loadBefore.toFixed(2)} on ${cpus().length} cores before the run; other processes make the figures noisy`);
  }
  const started = performance.now();
  const results: MetricResult[] = [];
  const failed: string[] = [];
  for (const c of cases) {
    console.error(`${c.name}: ${c.description}`);
    try {
      results.push(...(await runCase(c, opts)));
    } catch (err) {
      failed.push(c.name);
      console.error(`${c.name} FAILED:`, err);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0]!;

  console.log("");
  printTable(results, (line) => console.log(line));
  const misses = results.filter((r) => !r.met).length;
  console.log("");
  console.log(`${results.length} figure(s), ${misses} below target (MISS), ${failed.length} case(s) failed; ${seconds.toFixed(1)} s; ${machine}`);
  console.log(`zkit/raw is the median of the per-round ratios; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);

  const file = fileURLToPath(new URL(`../results/${args.quick ? "quick" : "latest"}.json`, import.meta.url));
  mkdirSync(fileURLToPath(new URL("../results/", import.meta.url)), { recursive: true });
  const date = new Date().toISOString();
  const report = {
    date,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    rounds: opts.rounds,
    warmup: opts.warmup,
    quick: args.quick,
    filters: args.filters,
    seconds: Number(seconds.toFixed(1)),
    /** 1-minute load average before and after: a busy machine makes noisy figures. */
    loadavg: { before: Number(loadBefore.toFixed(2)), after: Number(loadAfter.toFixed(2)) },
    failed,
    // each row also carries node and date, so rows can be collected across runs
    results: results.map((r) => ({ ...r, node: process.version, date })),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);

  if (openSocketCount() > 0) console.error(`warning: ${openSocketCount()} zkit socket(s) still open`);
  if (failed.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
