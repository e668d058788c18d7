// Test helpers for @zkit/core: deadlines instead of sleeps, child processes
// that run TypeScript fixtures from source, temp dirs for ipc.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Resolves `p`, or rejects after `ms` with a message naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Polls `cond` until it is true or the deadline passes. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** A running fixture process with its output so far. */
export interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `test/fixtures/<name>.ts` in a new Node process, from source. */
export function runFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Fixture {
  const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", join(here, "fixtures", `${name}.ts`), ...args], {
    cwd: join(here, ".."),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** A fresh temp dir for ipc endpoints; remove it with the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "zkit-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let inprocCounter = 0;
/** A unique inproc endpoint name. */
export function inprocName(): string {
  return `inproc://test-${process.pid}-${++inprocCounter}`;
}
