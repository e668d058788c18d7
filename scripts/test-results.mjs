// Adds up the vitest JSON reports that every package's test run writes
// (.vitest-results/results.json, see vitest.shared.ts): what `pnpm test`
// (scripts/test.mjs) and .ci/run print as their last line, "N passed, N
// failed". One copy of the counting for both.
//
// A package with a test script and no report counts as one failure (its
// runner crashed, or it never ran because a task it depends on failed), and
// so does a report that says the run failed outside any test (an error in a
// hook or an unhandled rejection), unless `allowMissing` (a filtered run).
//
//   node scripts/test-results.mjs [--label L] [--counts] [--allow-missing] [--dirs a,b]
// (--dirs: only those workspace directories, e.g. docs or tools/release-check,
// whose tests are run by their own steps of .ci/run)
// prints one line per package on stderr, then "N passed, N failed" (with
// --counts: "passed failed skipped", for scripts) on stdout.
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every workspace directory that has a `test` script (or the given ones). */
export function testedPackages(root = ROOT, only = undefined) {
  const dirs = only ?? [...readdirSync(join(root, "packages")).map((d) => join("packages", d)), "examples", "bench"];
  const out = [];
  for (const dir of dirs) {
    const file = join(root, dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (only !== undefined || pkg.scripts?.test) out.push({ dir, name: pkg.name });
  }
  return out;
}

/** Deletes every package's report, so that a stale one is never counted. */
export function clearResults(root = ROOT) {
  for (const { dir } of testedPackages(root)) rmSync(join(root, dir, ".vitest-results"), { recursive: true, force: true });
}

/**
 * Sums the reports.
 * @returns `{ passed, failed, skipped, lines }`, `lines` one per package
 */
export function collectResults({ root = ROOT, label = "", allowMissing = false, only = undefined } = {}) {
  const tag = label ? `[${label}] ` : "";
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const lines = [];
  for (const { dir, name } of testedPackages(root, only)) {
    const file = join(root, dir, ".vitest-results", "results.json");
    if (!existsSync(file)) {
      if (allowMissing) continue;
      lines.push(`${tag}${name}: no test report (the runner crashed, or a task it needs failed)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(file, "utf8"));
    const pending = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    lines.push(`${tag}${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${pending ? `, ${pending} skipped` : ""}`);
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += pending;
    // Name each failed test and the first line of its error, so that a red CI
    // log says what broke without the runner's full output.
    for (const suite of r.testResults ?? []) {
      for (const t of suite.assertionResults ?? []) {
        if (t.status !== "failed") continue;
        const why = String(t.failureMessages?.[0] ?? "")
          .split("\n")[0]
          .slice(0, 300);
        lines.push(`${tag}  FAILED ${dir}/${suite.name?.split(`/${dir}/`).pop() ?? "?"} > ${t.fullName}: ${why}`);
      }
    }
    if (r.numFailedTests === 0 && !r.success) {
      lines.push(`${tag}${name}: the run reported errors outside the tests`);
      failed += 1;
    }
  }
  return { passed, failed, skipped, lines };
}

/** The summary line: "N passed, N failed" (and ", N skipped" when there are). */
export function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const labelAt = args.indexOf("--label");
  const dirsAt = args.indexOf("--dirs");
  const only = dirsAt >= 0 ? args[dirsAt + 1].split(",").filter((d) => d !== "") : undefined;
  const result = collectResults({ label: labelAt >= 0 ? args[labelAt + 1] : "", allowMissing: args.includes("--allow-missing"), only });
  for (const line of result.lines) console.error(line);
  console.log(args.includes("--counts") ? `${result.passed} ${result.failed} ${result.skipped}` : summaryLine(result));
}
