/**
 * Real child processes for tests: TypeScript programs run from source through
 * tsx, Python peers, any command. Output is collected and searchable with
 * deadlines; {@link stopAll} in `afterEach` makes sure no child outlives its
 * test, and an `exit` hook kills whatever is left if the test process dies.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { within } from "./wait.js";

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child process. */
export interface Child {
  /** A short name for messages, e.g. `ch4/mdbroker.ts`. */
  readonly name: string;
  readonly child: ChildProcess;
  /** The process id. */
  readonly pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited and its output is fully read. */
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  readonly exit: Exit | undefined;
  /**
   * Resolves with the first match of `pattern` in stdout (complete lines
   * only, unless `partial`; with `from`, only output after that offset).
   * Rejects when `ms` pass or the process exits first, with its output.
   */
  waitFor(pattern: RegExp, ms: number, options?: { partial?: boolean; from?: number; stderr?: boolean }): Promise<RegExpMatchArray>;
  /** Resolves when the process exits; rejects after `ms` with its output. */
  waitForExit(ms: number): Promise<Exit>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, ...); to its whole group when started with `processGroup`. */
  kill(signal?: NodeJS.Signals): void;
  /** Writes to stdin (started with `stdin: "pipe"`). */
  write(text: string): void;
  /** Both outputs, labelled: for assertion messages. */
  describe(): string;
}

/** Options of {@link startProcess} and {@link startNode}. */
export interface StartOptions {
  /** Working directory. @defaultValue the test's cwd */
  cwd?: string;
  /** Added to the environment (which loses every `ZKIT_*` variable first). */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue "ignore" */
  stdin?: "pipe" | "ignore";
  /** A name for messages. @defaultValue the command and first argument */
  name?: string;
  /**
   * Starts the child in a process group of its own, and {@link Child.kill}
   * signals the whole group, as a terminal's Ctrl-C does: for commands that
   * are wrappers (`pnpm ...`, `npx ...`) around the program that matters.
   * @defaultValue false
   */
  processGroup?: boolean;
}

const running = new Set<Child>();

/** Starts `command args...` and collects its output. */
export function startProcess(command: string, args: string[], options: StartOptions = {}): Child {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ZKIT_")) env[k] = v;
  Object.assign(env, { NO_COLOR: "1" }, options.env);
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env,
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    detached: options.processGroup === true,
  });
  const signal = (sig: NodeJS.Signals): void => {
    if (options.processGroup && proc.pid !== undefined) {
      try {
        process.kill(-proc.pid, sig);
      } catch {
        // the group is gone already
      }
    } else proc.kill(sig);
  };
  const name = options.name ?? [command, args[0] ?? ""].join(" ").trim();
  let out = "";
  let err = "";
  let exit: Exit | undefined;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  proc.stdout!.setEncoding("utf8");
  proc.stderr!.setEncoding("utf8");
  proc.stdout!.on("data", (d: string) => {
    out += d;
    notify();
  });
  proc.stderr!.on("data", (d: string) => {
    err += d;
    notify();
  });
  proc.on("error", (e) => {
    err += `spawn error: ${e.message}\n`;
  });
  // "close" comes after stdout and stderr are fully read
  const exited = new Promise<Exit>((resolve) => {
    proc.on("close", (code, signal) => {
      // nothing of a process group outlives its leader (a wrapper's child that lingers)
      if (options.processGroup && proc.pid !== undefined) {
        try {
          process.kill(-proc.pid, "SIGKILL");
        } catch {
          // no one left
        }
      }
      exit = { code, signal };
      running.delete(handle);
      resolve(exit);
      notify();
    });
  });
  const describe = (): string => `--- ${name} stdout ---\n${out}\n--- ${name} stderr ---\n${err}`;
  // the child's own last words, for the first line of an error (a test report often shows only that line)
  const lastWords = (): string => {
    const lines = err
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("at ") && !/^Node\.js v\d/.test(l));
    // an uncaught error's own line ("ZkitError: ...") says most; else the last thing said
    const line = lines.filter((l) => /^\w*(Error|Exception)\b.*:/.test(l)).pop() ?? lines.pop();
    return line === undefined ? "" : `: ${line.slice(0, 300)}`;
  };
  const handle: Child = {
    name,
    child: proc,
    get pid() {
      return proc.pid ?? -1;
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    get exit() {
      return exit;
    },
    waitFor(pattern, ms, opts = {}) {
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          let text = (opts.stderr ? err : out).slice(opts.from ?? 0);
          if (!opts.partial) text = text.slice(0, text.lastIndexOf("\n") + 1);
          const m = pattern.exec(text);
          if (m) {
            done(undefined, m);
            return;
          }
          if (exit) done(new Error(`${name} exited (${exit.code ?? exit.signal}) before printing ${pattern}${lastWords()}\n${describe()}`));
        };
        const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${pattern} from ${name}\n${describe()}`)), ms);
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
      return within(exited, ms, () => `timed out after ${ms} ms waiting for ${name} to exit\n${describe()}`);
    },
    kill(sig = "SIGTERM") {
      if (exit === undefined) signal(sig);
    },
    write(text) {
      proc.stdin!.write(text);
    },
    describe,
  };
  running.add(handle);
  return handle;
}

/**
 * Runs a TypeScript (or JavaScript) program from source:
 * `node --conditions=@zkit/source --import tsx <script> ...args`.
 */
export function startNode(script: string, args: string[] = [], options: StartOptions = {}): Child {
  return startProcess(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", script, ...args], {
    ...options,
    name: options.name ?? script,
  });
}

/** How many children started by this test process are still running. */
export function runningChildren(): number {
  return running.size;
}

/**
 * Stops every child still running: SIGCONT (a stopped one cannot die of
 * SIGTERM), SIGTERM, then SIGKILL for any that did not exit within
 * `graceMs`. Call it in `afterEach`.
 */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all(
    [...running].map(async (c) => {
      c.kill("SIGCONT");
      c.kill("SIGTERM");
      try {
        await within(c.exited, graceMs, "");
      } catch {
        c.kill("SIGKILL");
        await within(c.exited, graceMs, `${c.name} (pid ${c.pid}) to die of SIGKILL`);
      }
    }),
  );
}

// Last resort if the test process itself goes away: no child outlives it.
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** How many times `pattern` (which must be global) matches `text`. */
export function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}
