/**
 * `runZkit(argv)`: finds the subcommand, parses its flags, installs interrupt
 * handling and runs it, returning the exit code.
 * @module
 */
import { ZkitError, handleInterrupts, interruptSignal, interrupted, shutdown } from "@zkit/core";
import { UsageError, type Command } from "./command.js";
import { commands } from "./commands/index.js";
import { parseCommandLine, usage } from "./parse.js";

/**
 * How long a command has, after SIGINT/SIGTERM, to close gracefully before
 * zkit closes every socket itself. A second signal exits at once (130).
 */
export const GRACE_MS = 2000;

/**
 * The list of commands, for `zkit --help`; with `pattern`, only that
 * pattern's commands (`zkit mdp --help`).
 */
export function overview(pattern?: string): string {
  const shown = pattern === undefined ? commands : commands.filter((c) => c.path[0] === pattern);
  const width = Math.max(...shown.map((c) => c.path.join(" ").length), 4) + 4;
  return [
    pattern === undefined ? "usage: zkit <pattern> <role> [options]" : `usage: zkit ${pattern} <role> [options]`,
    "",
    "ZeroMQ Guide patterns as servers and clients; `zkit <pattern> <role> --help` for each.",
    "",
    ...shown.map((c) => `  ${c.path.join(" ").padEnd(width)}${c.summary}`),
  ].join("\n");
}

/** Finds the command whose path is the longest prefix of `argv`. */
function find(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { cmd: best, rest: argv.slice(best.path.length) } : undefined;
}

/**
 * Runs `zkit` with `argv` (the words after `zkit`).
 * @returns the exit code: 0 done, 1 failed, 2 bad command line
 */
export async function runZkit(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stderr.write(`${overview()}\n`);
    return 2;
  }
  if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  const found = find(argv);
  const pattern = argv[0]!;
  if (!found && commands.some((c) => c.path[0] === pattern)) {
    // a pattern without a role: `zkit mdp`, `zkit mdp --help`
    const help = argv.length === 2 && (argv[1] === "--help" || argv[1] === "-h");
    if (help || argv.length === 1) {
      (help ? process.stdout : process.stderr).write(`${overview(pattern)}\n`);
      return help ? 0 : 2;
    }
    process.stderr.write(`zkit: unknown command "${argv.filter((a) => !a.startsWith("-")).slice(0, 2).join(" ")}"\n\n${overview(pattern)}\n`);
    return 2;
  }
  if (!found) {
    process.stderr.write(`zkit: unknown command "${argv.filter((a) => !a.startsWith("-")).slice(0, 2).join(" ")}"\n\n${overview()}\n`);
    return 2;
  }
  const { cmd, rest } = found;
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(cmd, rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`zkit ${cmd.path.join(" ")}: ${err.message}\n\n${usage(cmd)}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage(cmd)}\n`);
    return 0;
  }
  // The command closes its servers gracefully on ctx.signal; whatever is
  // still open GRACE_MS later is closed for it.
  const removeHandlers = handleInterrupts({
    shutdown: false,
    onInterrupt: () => setTimeout(shutdown, GRACE_MS).unref(),
  });
  try {
    const code = await cmd.run({
      flags: parsed.flags as never,
      args: parsed.args,
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      signal: interruptSignal(),
    });
    return code ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`zkit ${cmd.path.join(" ")}: ${err.message}\n\n${usage(cmd)}\n`);
      return 2;
    }
    if (interrupted()) return 0;
    const text = err instanceof ZkitError ? `${err.code}: ${err.message}` : ((err as Error)?.stack ?? String(err));
    process.stderr.write(`zkit ${cmd.path.join(" ")}: ${text}\n`);
    return 1;
  } finally {
    shutdown();
    removeHandlers();
  }
}

