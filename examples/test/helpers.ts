// Test helpers for the examples: run an example program as a real child
// process (from source, through tsx), wait on its output with deadlines,
// and make sure no child outlives the test.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The examples package directory: the cwd of every example program. */
export const examplesDir = fileURLToPath(new URL("..", import.meta.url));

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running example program. */
export interface Example {
  /** The script, e.g. `ch1/hwserver.ts`, for messages. */
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the program wrote to stdout so far. */
  stdout(): string;
  /** Everything the program wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /**
   * Resolves with the first match of `pattern` in stdout. By default only
   * complete lines are searched (a line is in once its newline is); with
   * `partial` the text written so far, for the Guide's progress dots.
   * Rejects when `ms` pass or the program exits first, with its output.
   */
  waitFor(pattern: RegExp, ms: number, options?: { partial?: boolean }): Promise<RegExpMatchArray>;
  /** Resolves when the program exits; rejects after `ms` with its output. */
  waitForExit(ms: number): Promise<Exit>;
  /** Writes to the program's stdin (started with `stdin: "pipe"`). */
  write(text: string): void;
}

const running = new Set<Example>();

function describeOutput(e: Example): string {
  return `--- ${e.name} stdout ---\n${e.stdout()}\n--- ${e.name} stderr ---\n${e.stderr()}`;
}

/** Rejects after `ms` with `message()` unless `p` settles first. */
export function within<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts `node --conditions=@zkit/source --import tsx <script> ...args` in
 * the examples directory. Stdin is /dev/null unless `stdin: "pipe"`. The
 * child's environment is the test's without `ZKIT_*` variables (so a flag's
 * environment fallback never leaks in), plus `env`.
 */
export function startExample(script: string, args: string[] = [], options: { stdin?: "pipe" | "ignore"; env?: NodeJS.ProcessEnv } = {}): Example {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ZKIT_")) env[k] = v;
  Object.assign(env, { NO_COLOR: "1" }, options.env);
  const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", script, ...args], {
    cwd: examplesDir,
    env,
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    out += d;
    notify();
  });
  child.stderr!.on("data", (d: string) => {
    err += d;
  });
  let exit: Exit | undefined;
  // "close" comes after stdout and stderr are fully read, so the output is complete.
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      exit = { code, signal };
      running.delete(example);
      resolve(exit);
      notify();
    });
  });
  child.on("error", (e) => {
    err += `spawn error: ${e.message}\n`;
  });

  const example: Example = {
    name: script,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms, opts = {}) {
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          const text = opts.partial ? out : out.slice(0, out.lastIndexOf("\n") + 1);
          const m = pattern.exec(text);
          if (m) return done(undefined, m);
          if (exit) done(new Error(`${script} exited (${exit.code ?? exit.signal}) before printing ${pattern}\n${describeOutput(example)}`));
        };
        const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${pattern} from ${script}\n${describeOutput(example)}`)), ms);
        const done = (e?: Error, m?: RegExpMatchArray): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve(m!);
        };
        listeners.add(check);
        check();
      });
    },
    waitForExit(ms) {
      return within(exited, ms, () => `timed out after ${ms} ms waiting for ${script} to exit\n${describeOutput(example)}`);
    },
    write(text) {
      child.stdin!.write(text);
    },
  };
  running.add(example);
  return example;
}

/**
 * Stops every example still running: SIGTERM, then SIGKILL for any that did
 * not exit within `graceMs`. Call it in `afterEach`.
 */
export async function stopAll(graceMs = 5_000): Promise<void> {
  const all = [...running];
  await Promise.all(
    all.map(async (e) => {
      e.child.kill("SIGTERM");
      try {
        await within(e.exited, graceMs, () => "");
      } catch {
        e.child.kill("SIGKILL");
        await within(e.exited, graceMs, () => `${e.name} (pid ${e.child.pid}) survived SIGKILL`);
      }
    }),
  );
}

// Last resort if the test process itself goes away: no child outlives it.
process.on("exit", () => {
  for (const e of running) e.child.kill("SIGKILL");
});

/** How many times `pattern` (which must be global) matches `text`. */
export function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}
