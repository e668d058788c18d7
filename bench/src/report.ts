/**
 * The results table: one row per metric of each case, zkit beside raw
 * zeromq.js, the ratio zkit/raw and the target; rows that miss it are marked.
 * @module
 */
import { type MetricResult, formatNumber } from "./harness.js";

const HEAD = ["benchmark", "metric", "zkit", "raw", "zkit/raw", "target", ""] as const;
/** Columns aligned right (numbers). */
const RIGHT = new Set([2, 3, 4]);

/** The target column: the ratio target, the absolute limit on zkit's figure, or both. */
function targetText(r: MetricResult): string {
  const parts: string[] = [];
  if (r.target !== null) parts.push(`${r.target.op} ${r.target.ratio.toFixed(2)}`);
  if (r.limit !== undefined) parts.push(`zkit ${r.limit.op} ${formatNumber(r.limit.value, r.unit)} ${r.unit}`);
  return parts.join(", ") || "-";
}

/** Prints `results` as an aligned text table, one line per call of `out`. */
export function printTable(results: readonly MetricResult[], out: (line: string) => void): void {
  const rows: string[][] = results.map((r) => [
    r.name,
    `${r.metric} (${r.unit})`,
    formatNumber(r.zkit, r.unit),
    formatNumber(r.raw, r.unit),
    r.ratio.toFixed(2),
    targetText(r),
    r.met ? "ok" : "MISS",
  ]);
  const all = [[...HEAD], ...rows];
  const widths = HEAD.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row
      .map((cell, i) => (RIGHT.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  out(line(all[0]!));
  out(
    widths
      .map((w) => "-".repeat(w))
      .join("  ")
      .trimEnd(),
  );
  for (const row of rows) out(line(row));
}
