// `pnpm test`: every package's tests through turbo (one package at a time:
// the tests use real processes and ports, and the machine may be small),
// then one line with the real totals, "N passed, N failed", summed from
// vitest's own JSON reports (scripts/test-results.mjs, as .ci/run does).
// Exits non-zero when any test failed, a package's runner crashed, or turbo
// itself failed (a build the cli tests need, for instance).
//
// Extra arguments go to turbo: `pnpm test --filter @zkit/mdp` runs one
// package (packages not run are then left out of the totals).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT, clearResults, collectResults, summaryLine } from "./test-results.mjs";

const extra = process.argv.slice(2);
const peers = spawnSync(process.execPath, [join(ROOT, "scripts", "ensure-test-peers.mjs")], { stdio: "inherit" });
if (peers.status !== 0) process.exitCode = 1;

clearResults();
const started = Date.now();
const turbo = createRequire(join(ROOT, "package.json")).resolve("turbo/bin/turbo");
const run = spawnSync(process.execPath, [turbo, "run", "test", "--concurrency=1", "--continue", ...extra], { cwd: ROOT, stdio: "inherit" });

const result = collectResults({ allowMissing: extra.length > 0 });
console.log("");
for (const line of result.lines) console.log(line);
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(run.status === 0 ? `turbo ran every test task in ${minutes} min` : `turbo exited with ${run.status ?? run.signal} after ${minutes} min`);
console.log(summaryLine(result));
if (run.status !== 0 || result.failed > 0) process.exitCode = 1;
