/**
 * What every example program shares: flags (with environment fallbacks and
 * `--help`), CZMQ endpoint lists that bind or connect as the flag's name
 * says, and a `main()` that installs interrupt handling, closes every socket
 * at the end and sets the exit code.
 * @module
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ZkitError, bindEndpoints, connectEndpoints, handleInterrupts, interrupted, shutdown } from "@zkit/core";

/** One command-line flag. */
export type OptionSpec = { type: "string"; default: string; help: string } | { type: "number"; default: number; help: string; min?: number } | { type: "boolean"; help: string };

/** The values {@link parseOptions} returns for a set of flags. */
export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { type: "number" } ? number : S[K] extends { type: "boolean" } ? boolean : string;
};

/** The environment variable that stands in for a flag: `--work-ms` -> `ZKIT_WORK_MS`. */
export function envName(flag: string): string {
  return `ZKIT_${flag.toUpperCase().replace(/-/g, "_")}`;
}

function usage(program: string, summary: string, spec: Record<string, OptionSpec>): string {
  const lines = [`usage: ${program} [options]`, "", summary, "", "options (each also read from the environment variable shown):"];
  for (const [flag, o] of Object.entries(spec)) {
    const value = o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE";
    const def = o.type === "boolean" ? "" : ` (default ${o.default})`;
    lines.push(`${`  --${flag}${value}`.padEnd(26)}${o.help}${def} [${envName(flag)}]`);
  }
  lines.push(`${`  --help`.padEnd(26)}print this help`);
  return lines.join("\n");
}

/**
 * Parses `argv` against `spec`. A flag wins over its environment variable
 * ({@link envName}), which wins over the default. `--help` prints the usage
 * and exits 0; a bad flag prints the problem and the usage and exits 2.
 *
 * @param program - the program's name, for the usage line
 * @param summary - one or two lines on what the program does
 */
export function parseOptions<S extends Record<string, OptionSpec>>(
  program: string,
  summary: string,
  spec: S,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): OptionValues<S> {
  const fail = (problem: string): never => {
    process.stderr.write(`${program}: ${problem}\n\n${usage(program, summary, spec)}\n`);
    process.exit(2);
  };
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [flag, o] of Object.entries(spec)) options[flag] = { type: o.type === "boolean" ? "boolean" : "string" };
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (parsed.help === true) {
    process.stdout.write(`${usage(program, summary, spec)}\n`);
    process.exit(0);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [flag, o] of Object.entries(spec)) {
    const given = parsed[flag];
    const fromEnv = env[envName(flag)];
    if (o.type === "boolean") {
      out[flag] = given === true || (given === undefined && fromEnv !== undefined && /^(1|true|yes)$/i.test(fromEnv));
      continue;
    }
    const text = typeof given === "string" ? given : fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
    if (o.type === "string") {
      out[flag] = text ?? o.default;
      continue;
    }
    if (text === undefined) {
      out[flag] = o.default;
      continue;
    }
    const n = Number(text);
    const min = o.min ?? 0;
    if (!Number.isInteger(n) || n < min) fail(`--${flag} must be an integer >= ${min}, got "${text}"`);
    out[flag] = n;
  }
  return out as OptionValues<S>;
}

/** A CZMQ endpoint list where every item without `@`/`>` binds: `"tcp://*:5555"` -> `"@tcp://*:5555"`. */
export const binding: (endpoints: string) => string = bindEndpoints;

/** A CZMQ endpoint list where every item without `@`/`>` connects: `"tcp://localhost:5555"` -> `">tcp://localhost:5555"`. */
export const connecting: (endpoints: string) => string = connectEndpoints;

/**
 * Resolves on the first line (Enter) or the end of stdin, so that a broker
 * run with stdin from /dev/null starts at once; rejects when `signal`
 * aborts (Ctrl-C).
 */
export function enterPressed(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      lines.close();
      process.stdin.destroy(); // stdin must not keep the process alive
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(signal.reason ?? new Error("interrupted"));
    lines.once("line", () => finish());
    lines.once("close", () => finish());
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Writes without a newline (the Guide's progress dots). */
export function print(text: string): void {
  process.stdout.write(text);
}

/**
 * Runs an example program: installs SIGINT/SIGTERM handling (the first
 * signal closes every socket, so receive loops end), runs `body`, then closes
 * whatever is still open. Exit code 0 when `body` finishes or stops because
 * of an interrupt, 1 when it fails for any other reason. The process then
 * ends by itself once libzmq has delivered what is left (socket linger).
 */
export async function main(body: () => Promise<void>): Promise<void> {
  handleInterrupts();
  try {
    await body();
  } catch (err) {
    // After Ctrl-C, a closed socket or an aborted sleep is how the program stops.
    if (!interrupted()) {
      // zkit's errors say what went wrong and what to do; others get their stack.
      const text = err instanceof ZkitError ? `${err.code}: ${err.message}` : ((err as Error)?.stack ?? String(err));
      process.stderr.write(`${text}\n`);
      process.exitCode = 1;
    }
  } finally {
    shutdown();
  }
}
