/**
 * The bench harness: a benchmark case runs raw zeromq.js and zkit on the same
 * workload in the same process, interleaved round by round after a warm-up,
 * and reports the median of each metric for both.
 * @module
 */
import { performance } from "node:perf_hooks";

/** Which side of a comparison runs: zkit's layer or raw zeromq.js. */
type Impl = "zkit" | "raw";

/** Whether a bigger or a smaller figure is better (throughput vs latency). */
type Better = "higher" | "lower";

/** One figure a case reports, e.g. round trips per second or p99 latency. */
export interface MetricSpec {
  /** Key in the {@link Sample} a run returns. */
  key: string;
  /** Unit shown in the table and written to JSON, e.g. `msg/s`, `us`. */
  unit: string;
  better: Better;
  /**
   * The target on zkit/raw when it is not the default of {@link targetFor}
   * (a broker adds a hop: `{ op: ">=", ratio: 0.5 }`); `null` for a figure
   * with no ratio target (one judged by `limit` alone, or only reported).
   */
  target?: Target | null;
  /** An absolute bound on zkit's own figure, e.g. `{ op: "<=", value: 5 }` for a p99 lag in ms. */
  limit?: Limit;
}

/** An absolute bound on zkit's figure of one metric. */
interface Limit {
  op: ">=" | "<=";
  value: number;
}

/** What one run of one side returns: a value for each metric key. */
export type Sample = Record<string, number>;

/** Passed to every run. */
export interface RunContext {
  /** A short smoke run: smaller workloads. */
  quick: boolean;
}

/** One benchmark case: the same workload written twice, once per side. */
export interface BenchCase {
  /** `benchmark/variant`, e.g. `push-pull/awaited`; the filter matches it. */
  name: string;
  /** One line: what the case measures. */
  description: string;
  metrics: MetricSpec[];
  /** Runs the workload once on each side and returns its figures. */
  run: Record<Impl, (ctx: RunContext) => Promise<Sample>>;
}

/**
 * zkit's target against raw zeromq.js: at least 0.9 of raw's throughput, and
 * for latencies at most raw / 0.9.
 */
const TARGET_FRACTION = 0.9;

/** The target on the zkit/raw ratio of one metric. */
interface Target {
  op: ">=" | "<=";
  ratio: number;
}

function targetFor(better: Better): Target {
  return better === "higher" ? { op: ">=", ratio: TARGET_FRACTION } : { op: "<=", ratio: 1 / TARGET_FRACTION };
}

function meets(ratio: number, target: Target): boolean {
  return target.op === ">=" ? ratio >= target.ratio : ratio <= target.ratio;
}

/** True when `value` is within the absolute bound `limit`. */
function within(value: number, limit: Limit): boolean {
  return limit.op === ">=" ? value >= limit.value : value <= limit.value;
}

/** One row of the results: one metric of one case. */
export interface MetricResult {
  name: string;
  metric: string;
  unit: string;
  better: Better;
  /** Median over the rounds. */
  zkit: number;
  raw: number;
  /** zkit / raw: the median over rounds of each round's ratio (see {@link runCase}). */
  ratio: number;
  /** The target on `ratio`, or null when the metric has none. */
  target: Target | null;
  /** The absolute bound on `zkit`, when the metric has one. */
  limit?: Limit;
  /** True when `ratio` meets `target` and `zkit` meets `limit` (each when set). */
  met: boolean;
  rounds: number;
  /** Every round's figure, in run order (warm-up excluded). */
  samples: { zkit: number[]; raw: number[] };
}

export interface HarnessOptions extends RunContext {
  /** Measured rounds per side (after `warmup` unmeasured rounds). */
  rounds: number;
  warmup: number;
  /** Called with progress lines. */
  onProgress?: (line: string) => void;
}

/**
 * Runs one case: `warmup` rounds of each side, then `rounds` rounds of each,
 * alternating which side goes first so that neither always gets the warmer
 * (or the more fragmented) heap. Returns one result per metric: the
 * median of each side, and the median of the per-round ratios zkit/raw.
 */
export async function runCase(c: BenchCase, opts: HarnessOptions): Promise<MetricResult[]> {
  const ctx: RunContext = { quick: opts.quick };
  for (let i = 0; i < opts.warmup; i++) {
    await c.run.raw(ctx);
    await c.run.zkit(ctx);
  }
  const samples: Record<Impl, Sample[]> = { zkit: [], raw: [] };
  for (let i = 0; i < opts.rounds; i++) {
    const order: Impl[] = i % 2 === 0 ? ["raw", "zkit"] : ["zkit", "raw"];
    for (const impl of order) {
      const t0 = performance.now();
      const sample = await c.run[impl](ctx);
      samples[impl].push(sample);
      opts.onProgress?.(`  ${c.name} round ${i + 1}/${opts.rounds} ${impl.padEnd(4)} ${describe(c, sample)} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    }
  }
  return c.metrics.map((m) => {
    const z = samples.zkit.map((s) => value(s, m.key, c.name));
    const r = samples.raw.map((s) => value(s, m.key, c.name));
    const zkit = median(z);
    const raw = median(r);
    // The ratio is the median of each round's own zkit/raw: the two runs of
    // a round are back to back, so a slow patch of the machine (a noisy VM
    // neighbour) hits both and cancels out, where a ratio of medians would not.
    const ratio = median(z.map((zi, i) => zi / r[i]!));
    const target = m.target === undefined ? targetFor(m.better) : m.target;
    const met = (target === null || meets(ratio, target)) && (m.limit === undefined || within(zkit, m.limit));
    return {
      name: c.name,
      metric: m.key,
      unit: m.unit,
      better: m.better,
      zkit,
      raw,
      ratio,
      target,
      ...(m.limit !== undefined ? { limit: m.limit } : {}),
      met,
      rounds: opts.rounds,
      samples: { zkit: z, raw: r },
    };
  });
}

function value(s: Sample, key: string, name: string): number {
  const v = s[key];
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${name}: run returned no finite value for ${key}`);
  return v;
}

function describe(c: BenchCase, s: Sample): string {
  return c.metrics.map((m) => `${m.key}=${formatNumber(s[m.key] ?? NaN, m.unit)}`).join(" ");
}

/** The median of `xs` (mean of the two middle values for an even count). */
function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The `p`-th percentile (0..100) of `sorted`, which must be sorted ascending;
 * nearest-rank method.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * A figure for humans: rates with thousands separators, latencies with one
 * decimal, CPU time per operation with two.
 */
export function formatNumber(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit.startsWith("us/")) return v.toFixed(2);
  if (unit === "us" || unit === "ms") return v.toFixed(1);
  return Math.round(v).toLocaleString("en-US");
}
