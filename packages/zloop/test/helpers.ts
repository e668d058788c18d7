// Test helpers for @zkit/zloop: deadlines instead of sleeps, child processes
// that run TypeScript fixtures from source, unique inproc names.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Resolves `p`, or rejects after `ms` with a message naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
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
    await new Promise((r) => setTimeout(r, 2));
  }
}

let inprocCounter = 0;
/** A unique inproc endpoint name. */
export function inprocName(): string {
  return `inproc://zloop-test-${process.pid}-${++inprocCounter}`;
}

/** The message `i` as a frame, and back. */
export const frame = (i: number): Buffer => Buffer.from(String(i));
export const num = (msg: Buffer[]): number => Number(msg[0]!.toString());

/** Asserts `seq` is exactly 0..n-1 and says where it is not. */
export function checkSequence(seq: number[], n: number): string | undefined {
  if (seq.length !== n) {
    const seen = new Set(seq);
    let missing = -1;
    for (let i = 0; i < n; i++) if (!seen.has(i)) { missing = i; break; }
    return `got ${seq.length} of ${n} messages (first missing: ${missing})`;
  }
  for (let i = 0; i < n; i++) if (seq[i] !== i) return `out of order at position ${i}: got ${seq[i]}`;
  return undefined;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** A running fixture process with its output so far. */
export interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `test/fixtures/<name>.ts` in a new Node process, from source, cwd the package. */
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
