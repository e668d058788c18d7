// The README's install route before the first release, for real: packs
// @zkit/cli and every @zkit package it needs with `pnpm pack` (workspace:
// versions become real ones), installs the tarballs with npm into an empty
// project in a temp dir, and there:
//   1. runs a small Majordomo broker + worker + client program on the
//      installed packages (plain node, no tsx, no source condition);
//   2. runs the installed `zkit` bin: --version, then `zkit mdp broker`,
//      `zkit mdp worker` and `zkit mdp request` talking to each other, and
//      Ctrl-C (SIGINT to each process group) exiting 0.
// Prints what it did and "tarball install: ok", or what failed (exit 1).
//
//   node scripts/try-tarballs.mjs [--no-build] [--keep]
// --no-build: use the dist/ there is (`pnpm build` ran); --keep: leave the
// temp dirs for a look. Needs pnpm (or npx) and npm, and the registry for
// zeromq, the one dependency that is not ours.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./test-results.mjs";

const args = process.argv.slice(2);
const PACKAGES = workspaceClosure("cli");
const DEADLINE_MS = 60_000;
const version = JSON.parse(readFileSync(join(ROOT, "packages/cli/package.json"), "utf8")).version;
// under `pnpm run`, npm_execpath is pnpm itself: a script for node, or a native executable
const execpath = process.env.npm_execpath;
const pnpm = execpath?.includes("pnpm") ? (/\.[cm]?js$/.test(execpath) ? [process.execPath, execpath] : [execpath]) : ["pnpm"];
const packDir = mkdtempSync(join(tmpdir(), "zkit-tarballs-"));
const appDir = mkdtempSync(join(tmpdir(), "zkit-app-"));
const children = new Set();

/**
 * The directories under packages/ of `start` and of every @zkit package it
 * depends on, directly or not: what an install of it needs packed (read from
 * the package.json files, so a new dependency is never forgotten).
 */
function workspaceClosure(start) {
  const byName = new Map();
  for (const dir of readdirSync(join(ROOT, "packages"))) {
    try {
      byName.set(JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8")).name, dir);
    } catch {
      // not a package
    }
  }
  const seen = new Set();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));
    for (const name of Object.keys(pkg.dependencies ?? {})) if (byName.has(name)) visit(byName.get(name));
  };
  visit(start);
  return [...seen];
}

function sh(command, argv, cwd) {
  return execFileSync(command, argv, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Starts `command` in its own process group; `line(re)` waits for a line of its stdout. */
function start(command, argv, cwd) {
  const child = spawn(command, argv, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => (children.delete(child), resolve({ code, signal }))));
  return {
    out: () => out,
    exited,
    interrupt: () => process.kill(-child.pid, "SIGINT"),
    line: (re) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + DEADLINE_MS;
        const check = () => {
          const m = re.exec(out);
          if (m) resolve(m);
          else if (Date.now() > deadline) reject(new Error(`no ${re} from ${argv.join(" ")} within ${DEADLINE_MS} ms:\n${out}`));
          else setTimeout(check, 20);
        };
        check();
      }),
  };
}

async function main() {
  if (!args.includes("--no-build")) {
    console.log("building @zkit/cli and what it needs (turbo build, cached when nothing changed)");
    sh(process.execPath, [join(ROOT, "node_modules/turbo/bin/turbo"), "run", "build", "--filter=@zkit/cli..."], ROOT);
  }
  for (const p of PACKAGES) sh(pnpm[0], [...pnpm.slice(1), "pack", "--pack-destination", packDir], join(ROOT, "packages", p));
  const tarballs = readdirSync(packDir)
    .filter((f) => f.endsWith(".tgz"))
    .map((f) => join(packDir, f));
  console.log(`packed ${tarballs.length} tarballs: ${readdirSync(packDir).join(" ")}`);

  writeFileSync(join(appDir, "package.json"), JSON.stringify({ name: "zkit-tarball-try", private: true, type: "module" }, null, 2));
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], appDir);
  console.log(`installed them with npm into an empty project (${appDir})`);

  writeFileSync(
    join(appDir, "try.js"),
    [
      'import { MajordomoBroker, MajordomoClient, MajordomoWorker } from "@zkit/mdp";',
      'import { zmqVersion } from "@zkit/core";',
      "const broker = new MajordomoBroker();",
      'const endpoint = await broker.bind("tcp://127.0.0.1:*");',
      "await broker.start();",
      'const worker = new MajordomoWorker({ endpoint, service: "echo", handler: (request) => request });',
      "await worker.start();",
      "const client = new MajordomoClient({ endpoint });",
      'const [reply] = await client.request("echo", "Hello from the tarballs");',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this line is the program's source
      'console.log(`${reply} (libzmq ${zmqVersion().join(".")})`);',
      "await client.close();",
      "await worker.close();",
      "await broker.close();",
      "",
    ].join("\n"),
  );
  const program = sh(process.execPath, ["try.js"], appDir).trim();
  if (!program.startsWith("Hello from the tarballs")) throw new Error(`try.js printed ${JSON.stringify(program)}`);
  console.log(`broker + worker + client on the installed packages: ${program}`);

  const bin = join(appDir, "node_modules/.bin/zkit");
  const shown = sh(bin, ["--version"], appDir).trim();
  if (shown !== version) throw new Error(`zkit --version printed ${JSON.stringify(shown)}, not ${version}`);
  console.log(`zkit --version: ${shown}`);

  const broker = start(bin, ["mdp", "broker", "--bind", "tcp://127.0.0.1:*"], appDir);
  const endpoint = (await broker.line(/^listening on (\S+)$/m))[1];
  const worker = start(bin, ["mdp", "worker", "--connect", endpoint], appDir);
  await worker.line(/^broker at \S+ answered: serving echo$/m);
  const request = start(bin, ["mdp", "request", "--connect", endpoint, "hello through the zkit bin"], appDir);
  const requestExit = await request.exited;
  if (requestExit.code !== 0 || request.out().trim() !== "hello through the zkit bin") throw new Error(`zkit mdp request: ${JSON.stringify(requestExit)}\n${request.out()}`);
  for (const [name, p] of [
    ["worker", worker],
    ["broker", broker],
  ]) {
    p.interrupt();
    const exit = await p.exited;
    if (exit.code !== 0) throw new Error(`zkit mdp ${name} exited ${JSON.stringify(exit)} on Ctrl-C:\n${p.out()}`);
  }
  console.log("zkit mdp broker, worker and request from the installed bin: the reply came back; Ctrl-C exited 0");
}

let failed = false;
try {
  await main();
  console.log("tarball install: ok");
} catch (err) {
  failed = true;
  const e = err;
  console.error(`tarball install failed: ${e.stderr ? `${e.message}\n${e.stderr}` : (e.stack ?? String(e))}`);
} finally {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  if (!args.includes("--keep")) {
    rmSync(packDir, { recursive: true, force: true });
    rmSync(appDir, { recursive: true, force: true });
  }
}
process.exitCode = failed ? 1 : 0;
