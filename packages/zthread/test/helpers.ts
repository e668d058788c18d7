// Test helpers for @zkit/zthread: deadlines instead of sleeps, fixture URLs,
// child processes that run TypeScript fixtures from source, and tracking of
// what a test started so that afterEach can end it.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shutdown } from "@zkit/core";
import { runningThreadCount, type ZActor, type ZThread } from "@zkit/zthread";

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

/** The URL of `test/fixtures/<name>.ts`. */
export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}.ts`, import.meta.url);
}

/** The message as strings. */
export function strs(msg: Buffer[]): string[] {
  return msg.map((f) => f.toString());
}

let inprocCounter = 0;
/** A unique inproc endpoint name. */
export function inprocName(): string {
  return `inproc://zthread-test-${process.pid}-${++inprocCounter}`;
}

const actors: ZActor[] = [];
const threads: ZThread[] = [];

/** Registers an actor for {@link cleanUp}. */
export function track<T extends ZActor | ZThread>(x: T): T {
  if ("destroy" in x) actors.push(x);
  else threads.push(x);
  return x;
}

/**
 * For afterEach: destroys tracked actors, stops tracked threads (errors were
 * the tests' business), closes every socket, and waits until no thread
 * started by zthread is left.
 */
export async function cleanUp(): Promise<void> {
  await Promise.allSettled([...actors.splice(0).map((a) => a.destroy()), ...threads.splice(0).map((t) => t.stop())]);
  shutdown();
  await waitFor(() => runningThreadCount() === 0, 15_000, "every zthread thread to end");
}

/** A running fixture process with its output so far. */
export interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `test/fixtures/<name>.ts` in a plain Node process, from source, cwd the package dir. */
export function runFixture(name: string, args: string[] = []): Fixture {
  const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", join(here, "fixtures", `${name}.ts`), ...args], {
    cwd: join(here, ".."),
    env: process.env,
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
