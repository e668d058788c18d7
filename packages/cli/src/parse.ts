/**
 * Command-line parsing for `zkit`: node:util parseArgs underneath, with
 * typed numbers, required flags, `-v`/`--verbose` and `--help` everywhere.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError, type Command, type FlagSpec } from "./command.js";

/** The usage text of one command. */
export function usage(cmd: Command): string {
  const lines = [`usage: zkit ${cmd.path.join(" ")} [options]${cmd.positionals ? ` ${cmd.positionals}` : ""}`, "", cmd.summary, "", "options:"];
  const all: [string, FlagSpec][] = [
    ...Object.entries(cmd.flags),
    ["verbose", { type: "boolean", short: "v", help: "print traffic frame by frame, and state changes" }],
    ["help", { type: "boolean", short: "h", help: "print this help" }],
  ];
  const left = all.map(([name, f]) => {
    const value = f.type === "boolean" ? "" : f.type === "number" ? " N" : " VALUE";
    return `  ${f.short ? `-${f.short}, ` : "    "}--${name}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  all.forEach(([, f], i) => {
    const def = f.type !== "boolean" && f.default !== undefined ? ` (default ${f.default})` : f.type !== "boolean" && f.required ? " (required)" : "";
    lines.push(left[i]!.padEnd(width) + `${f.help}${def}`);
  });
  if (cmd.details) lines.push("", cmd.details);
  return lines.join("\n");
}

/** Parses `argv` (the words after the command path) against `cmd`'s flags. */
export function parseCommandLine(cmd: Command, argv: string[]): { help: boolean; flags: Record<string, unknown>; args: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    verbose: { type: "boolean", short: "v" },
  };
  for (const [name, f] of Object.entries(cmd.flags)) {
    options[name] = { type: f.type === "boolean" ? "boolean" : "string", ...(f.short ? { short: f.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { help: true, flags: {}, args: [] };
  const flags: Record<string, unknown> = { verbose: values.verbose === true };
  for (const [name, f] of Object.entries(cmd.flags)) {
    const given = values[name];
    if (f.type === "boolean") {
      flags[name] = given === true;
      continue;
    }
    if (given === undefined) {
      if (f.required) throw new UsageError(`--${name} is required: ${f.help}`);
      flags[name] = f.default;
      continue;
    }
    const text = String(given);
    if (f.type === "string") {
      if (text === "") throw new UsageError(`--${name} needs a value: ${f.help}`);
      flags[name] = text;
      continue;
    }
    const n = Number(text);
    const min = f.min ?? 0;
    if (text.trim() === "" || !Number.isFinite(n) || (!f.float && !Number.isInteger(n)) || n < min) {
      throw new UsageError(`--${name} must be ${f.float ? "a number" : "an integer"} >= ${min}, got "${text}"`);
    }
    flags[name] = n;
  }
  return { help: false, flags, args: parsed.positionals };
}
