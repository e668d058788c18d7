/**
 * What the sections of `pnpm demo` share: the shape of a section, checks and
 * number formatting, the counts each section adds to the closing table,
 * deadlines, temporary directories, and `zkit` child processes that never
 * outlive the demo (an `exit` hook SIGKILLs whatever is still running and
 * removes the temporary directories, whatever way the demo ends).
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { interruptSignal, sleep } from "@zkit/core";

/** One row of the closing table: what one client sent and got back. */
export interface ClientCount {
  /** The client, e.g. `"MajordomoAsyncClient"`. */
  client: string;
  /** The service it asked. */
  service: string;
  /** Requests it made (each counted once, however often it was resent). */
  sent: number;
  /** Requests answered. */
  answered: number;
  /** Attempts that timed out and were sent again. */
  retries: number;
}

/** The counts the sections report, printed as a table at the end of the tour. */
export interface Counts {
  /** One row per client. */
  clients: ClientCount[];
  /** One line per server: `[name, what it counted]`. */
  servers: [name: string, summary: string][];
}

/** One stop of the tour. */
export interface Section {
  /** The pattern, e.g. "Request-reply". */
  title: string;
  /** Where the Guide explains it, and the example programs that show it. */
  guide: string;
  /**
   * Plays the pattern; `say` prints one line of the story, `counts` collects
   * what goes in the closing table. Closes what it opens, stops what it starts.
   */
  run(say: (line: string) => void, counts: Counts): Promise<void>;
}

/** A duration for the story: `0.42 ms`, `17 ms`. */
export const ms = (t: number): string => `${t < 10 ? t.toFixed(2) : Math.round(t)} ms`;

/** Throws `what` unless `ok`: a section that sees something wrong fails. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/**
 * Resolves with `p`, or rejects once `timeoutMs` passed, saying what it
 * waited for, or at once on Ctrl-C (`interruptSignal()` of `@zkit/core`).
 */
export async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const signal = interruptSignal();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    onAbort = () => reject(new Error(`interrupted while waiting for ${what}`));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort!);
  }
}

/** Resolves once `condition()` holds (checked every 10 ms); rejects after `timeoutMs`, or on Ctrl-C. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10, interruptSignal());
  }
}

// ---------------------------------------------------------------- child processes

/** How a child process ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `zkit` command running as a child process. */
export interface ZkitProcess {
  /** The process id. */
  readonly pid: number;
  /** Resolves when it has exited and its output is read. */
  readonly exited: Promise<ChildExit>;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the first stdout line matching `pattern`; rejects after `timeoutMs` or if it exits first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends a signal (nothing once it has exited). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`; resolves with how it ended. */
  stop(graceMs: number): Promise<ChildExit>;
}

const examplesDir = fileURLToPath(new URL("..", import.meta.url));
const zkitMain = fileURLToPath(new URL("../../packages/cli/src/main.ts", import.meta.url));
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** SIGKILLs every child still running and removes every temporary directory (synchronous). */
export function cleanUpNow(): void {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// Last resort: whatever way the demo ends (a failure, its deadline, a second
// Ctrl-C), no worker outlives it and no directory is left behind.
process.on("exit", cleanUpNow);

/** How many child processes are still running. */
export function runningChildren(): number {
  return running.size;
}

/**
 * Starts `zkit <args...>` (packages/cli, from source through tsx) as a child
 * process, the way `pnpm zkit` runs it: a real process the demo can SIGKILL.
 */
export function startZkit(args: string[]): ZkitProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ZKIT_")) env[k] = v;
  const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", zkitMain, ...args], {
    cwd: examplesDir,
    env: { ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  let err = "";
  let exit: ChildExit | undefined;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    notify();
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  child.on("error", (e) => {
    err += `spawn error: ${e.message}\n`;
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.on("close", (code, signal) => {
      exit = { code, signal };
      running.delete(child);
      resolve(exit);
      notify();
    });
  });
  const name = `zkit ${args.slice(0, 2).join(" ")} (pid ${child.pid})`;
  const output = (): string => `--- ${name} stdout ---\n${out}--- ${name} stderr ---\n${err}`;
  return {
    pid: child.pid ?? -1,
    exited,
    stdout: () => out,
    waitFor(pattern, timeoutMs) {
      const interrupt = interruptSignal();
      return new Promise((resolve, reject) => {
        const done = (e: Error | undefined, m?: RegExpMatchArray): void => {
          clearTimeout(timer);
          listeners.delete(look);
          interrupt.removeEventListener("abort", onAbort);
          if (e) reject(e);
          else resolve(m!);
        };
        const look = (): void => {
          const m = pattern.exec(out.slice(0, out.lastIndexOf("\n") + 1));
          if (m) done(undefined, m);
          else if (exit) done(new Error(`${name} exited (${exit.code ?? exit.signal}) before printing ${pattern}\n${output()}`));
        };
        const onAbort = (): void => done(new Error(`interrupted while waiting for ${pattern} from ${name}`));
        const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from ${name}\n${output()}`)), timeoutMs);
        listeners.add(look);
        interrupt.addEventListener("abort", onAbort, { once: true });
        if (interrupt.aborted) onAbort();
        else look();
      });
    },
    kill(signal) {
      if (exit === undefined) child.kill(signal);
    },
    async stop(graceMs) {
      if (exit === undefined) child.kill("SIGTERM");
      try {
        return await within(exited, graceMs, `${name} to exit`);
      } catch {
        child.kill("SIGKILL");
        return await exited;
      }
    },
  };
}

/** Creates a temporary directory, removed by `remove()` or, at the latest, when the demo exits. */
export function makeTempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return {
    dir,
    remove() {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}
