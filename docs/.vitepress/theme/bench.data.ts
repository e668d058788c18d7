// Build-time data for <BenchCharts>: every committed benchmark run,
// bench/results/*.json as `pnpm bench` writes it. Smoke runs (`--quick`,
// workloads / 10) are left out: their figures are not comparable.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

export interface BenchRow {
  name: string;
  metric: string;
  unit: string;
  better: "higher" | "lower";
  zkit: number;
  raw: number;
  ratio: number;
  target: { op: ">=" | "<="; ratio: number } | null;
  limit?: { op: ">=" | "<="; value: number };
  met: boolean;
  rounds: number;
}

export interface BenchRun {
  file: string;
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  rounds: number;
  warmup: number;
  seconds: number;
  loadavg: { before: number; after: number };
  failed: string[];
  results: BenchRow[];
}

declare const data: BenchRun[];
export { data };

export default {
  watch: ["../../../bench/results/*.json"],
  load(files: string[]): BenchRun[] {
    return files
      .map((file) => ({ file: basename(file), ...(JSON.parse(readFileSync(file, "utf8")) as Omit<BenchRun, "file"> & { quick?: boolean }) }))
      .filter((run) => run.quick !== true && Array.isArray(run.results))
      .sort((a, b) => b.date.localeCompare(a.date))
      .map(({ file, date, node, platform, cpus, cpuModel, rounds, warmup, seconds, loadavg, failed, results }) => ({
        file,
        date,
        node,
        platform,
        cpus,
        cpuModel,
        rounds,
        warmup,
        seconds,
        loadavg,
        failed,
        results: results.map(({ name, metric, unit, better, zkit, raw, ratio, target, limit, met, rounds: r }) => ({
          name,
          metric,
          unit,
          better,
          zkit,
          raw,
          ratio,
          target,
          met,
          rounds: r,
          ...(limit ? { limit } : {}),
        })),
      }));
  },
};
