/**
 * `runZkit(argv)`: finds the subcommand, parses its flags, installs interrupt
 * handling and runs it, returning the exit code; `zkit --version`, `--help`,
 * and a message that says what to type for every command line it cannot run.
 * @module
 */
import { readFileSync } from "node:fs";
import { ZkitError, handleInterrupts, interruptSignal, interrupted, shutdown } from "@zkit/core";
import { UsageError, type Command } from "./command.js";
import { commands } from "./commands/index.js";
import { nearest, parseCommandLine, usage } from "./parse.js";

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

/**
 * The version of `@zkit/cli` (its package.json), what `zkit --version`
 * prints. Read at run time, so it is right from `src/` and from `dist/`.
 */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

/** Finds the command whose path is the longest prefix of `argv`. */
function find(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { cmd: best, rest: argv.slice(best.path.length) } : undefined;
}

/** ` (did you mean "zkit mdp broker"?)` for the command nearest to `words`, or "". */
function didYouMean(words: string[], among: readonly Command[] = commands): string {
  const phrase = words.join(" ");
  const near = nearest(
    phrase,
    among.map((c) => c.path.slice(0, Math.max(1, words.length)).join(" ")),
  );
  return near !== undefined && near !== phrase ? ` (did you mean "zkit ${near}"?)` : "";
}

const VERBOSE = new Set(["-v", "--verbose"]);
const TOP_OPTIONS = ["help", "version", "verbose"];

/**
 * Runs `zkit` with `argv` (the words after `zkit`).
 * @returns the exit code: 0 done, 1 failed, 2 bad command line
 */
export async function runZkit(argv: string[]): Promise<number> {
  const stdout = (text: string): void => void process.stdout.write(`${text}\n`);
  const stderr = (text: string): void => void process.stderr.write(`${text}\n`);
  if (argv.length === 0) {
    stderr(overview());
    return 2;
  }
  const first = argv[0]!;
  if (first === "--version" || first === "-V") {
    stdout(version());
    return 0;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = argv.slice(1);
    // `zkit help mdp broker` is `zkit mdp broker --help`
    if (topic.length > 0 && !topic[0]!.startsWith("-")) return runZkit([...topic, "--help"]);
    stdout(overview());
    return 0;
  }
  // -v before the command: `zkit -v mdp broker` is `zkit mdp broker -v`
  let verbose = false;
  while (argv.length > 0 && VERBOSE.has(argv[0]!)) {
    verbose = true;
    argv = argv.slice(1);
  }
  if (argv.length === 0) {
    stderr(`zkit: -v (--verbose) goes with a command, e.g. zkit mdp broker -v; zkit --version (-V) prints the version\n\n${overview()}`);
    return 2;
  }
  if (argv[0]!.startsWith("-")) {
    const flag = argv[0]!.split("=")[0]!;
    const near = flag.startsWith("--") ? nearest(flag.slice(2), TOP_OPTIONS) : undefined;
    stderr(`zkit: unknown option ${flag}${near ? ` (did you mean --${near}?)` : ""}; options go after the command: zkit <pattern> <role> [options]\n\n${overview()}`);
    return 2;
  }
  const found = find(argv);
  const pattern = argv[0]!;
  const words = argv.slice(0, 2).filter((a) => !a.startsWith("-"));
  if (!found) {
    if (commands.some((c) => c.path[0] === pattern)) {
      // a pattern without a role: `zkit mdp`, `zkit mdp --help`, `zkit mdp -v`, `zkit mdp brokr`
      const next = argv[1];
      if (next === undefined || next === "--help" || next === "-h") {
        if (next === undefined) stderr(overview(pattern));
        else stdout(overview(pattern));
        return next === undefined ? 2 : 0;
      }
      if (next.startsWith("-")) {
        stderr(`zkit ${pattern}: name a role before the options: zkit ${pattern} <role> ${next}\n\n${overview(pattern)}`);
        return 2;
      }
    }
    stderr(`zkit: unknown command "${words.join(" ")}"${didYouMean(words)}\n\n${overview(commands.some((c) => c.path[0] === pattern) ? pattern : undefined)}`);
    return 2;
  }
  const { cmd } = found;
  let rest = found.rest;
  // `zkit titanic reqest`: a near miss of a longer command, not an argument
  const next = rest[0];
  const longer = commands.filter((c) => c.path.length > cmd.path.length && cmd.path.every((w, i) => c.path[i] === w));
  if (next !== undefined && !next.startsWith("-") && !cmd.positionals && longer.length > 0) {
    const asked = [...cmd.path, next];
    const hint = didYouMean(asked, longer);
    if (hint !== "") {
      stderr(`zkit: unknown command "${asked.join(" ")}"${hint}\n\n${overview(cmd.path[0])}`);
      return 2;
    }
  }
  if (verbose) rest = ["-v", ...rest];
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(cmd, rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr(`zkit ${cmd.path.join(" ")}: ${err.message}\n\n${usage(cmd)}`);
    return 2;
  }
  if (parsed.help) {
    stdout(usage(cmd));
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
      out: stdout,
      err: stderr,
      signal: interruptSignal(),
    });
    return code ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`zkit ${cmd.path.join(" ")}: ${err.message}\n\n${usage(cmd)}`);
      return 2;
    }
    if (interrupted()) return 0;
    stderr(`zkit ${cmd.path.join(" ")}: ${describeFailure(err)}`);
    return 1;
  } finally {
    shutdown();
    removeHandlers();
  }
}

/**
 * One line for a command that failed: `CODE: message` for zkit's errors,
 * the message for Node's system errors (`EACCES: permission denied, ...`),
 * and the stack only for what nobody expected (a bug worth reporting).
 */
function describeFailure(err: unknown): string {
  if (err instanceof ZkitError) return `${err.code}: ${err.message}`;
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string") return err.message;
  return (err as Error)?.stack ?? String(err);
}
