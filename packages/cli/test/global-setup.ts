// Before the cli tests: makes sure the published `zkit` bin exists and is
// current, i.e. that packages/cli/dist/main.js and the dist/ of every
// @zkit package it imports were built from the sources there now. The tests
// run that bin with plain `node`, as `npm i -g @zkit/cli` would, so it must
// be real JavaScript resolved through package.json "exports" without the
// @zkit/source condition.
//
// `pnpm test` builds them first (turbo: @zkit/cli#test depends on build);
// this covers `npx vitest run` in packages/cli on a fresh clone. A package is
// rebuilt (tsc -p tsconfig.build.json, as `pnpm build` does) when its dist/
// is missing or older than any of its sources, in dependency order.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const packages = fileURLToPath(new URL("../../", import.meta.url));
const root = join(packages, "..");

interface Pkg {
  name: string;
  dir: string;
  deps: string[];
}

function readPkg(dir: string): Pkg {
  const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; dependencies?: Record<string, string> };
  return { name: json.name, dir, deps: Object.keys(json.dependencies ?? {}).filter((d) => d.startsWith("@zkit/")) };
}

/** Every file under `dir` (recursively), or none when it does not exist. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

function stale(pkg: Pkg): boolean {
  const outputs = files(join(pkg.dir, "dist")).filter((f) => f.endsWith(".js"));
  if (outputs.length === 0) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = [...files(join(pkg.dir, "src")), join(pkg.dir, "package.json"), join(pkg.dir, "tsconfig.build.json"), join(root, "tsconfig.base.json")];
  return inputs.some((f) => existsSync(f) && statSync(f).mtimeMs > built);
}

/** @zkit/cli and the @zkit packages it needs, dependencies first. */
function buildOrder(): Pkg[] {
  const byName = new Map<string, Pkg>();
  for (const d of readdirSync(packages)) {
    if (existsSync(join(packages, d, "package.json"))) {
      const p = readPkg(join(packages, d));
      byName.set(p.name, p);
    }
  }
  const order: Pkg[] = [];
  const visit = (name: string): void => {
    const p = byName.get(name);
    if (p === undefined || order.includes(p)) return;
    for (const dep of p.deps) visit(dep);
    order.push(p);
  };
  visit("@zkit/cli");
  return order;
}

export default function setup(): void {
  const tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
  for (const pkg of buildOrder()) {
    if (!stale(pkg)) continue;
    const started = Date.now();
    try {
      execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: pkg.dir, stdio: "pipe" });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`building ${pkg.name} for the zkit bin tests failed:\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`);
    }
    console.log(`built ${pkg.name} (${Date.now() - started} ms) for the zkit bin tests`);
  }
}
