/**
 * Command-line parsing for `zkit`: `--flag value`, `--flag=value`, short
 * boolean flags (`-v`, grouped `-qv`), `--` before positionals, typed
 * numbers, required flags, endpoint flags checked with core's parser, and
 * `-v`/`--verbose` and `-h`/`--help` everywhere. Every mistake is a
 * {@link UsageError} whose message names the flag and, for a misspelt one,
 * suggests the nearest.
 * @module
 */
import { InvalidEndpointError, parseEndpoints } from "@zkit/core";
import { UsageError, type Command, type FlagSpec } from "./command.js";

/** The flags every command has besides its own. */
const COMMON: [string, FlagSpec][] = [
  ["verbose", { type: "boolean", short: "v", help: "print traffic frame by frame, and state changes" }],
  ["help", { type: "boolean", short: "h", help: "print this help" }],
];

/** The usage text of one command. */
export function usage(cmd: Command): string {
  const lines = [`usage: zkit ${cmd.path.join(" ")} [options]${cmd.positionals ? ` ${cmd.positionals}` : ""}`, "", cmd.summary, "", "options:"];
  const all: [string, FlagSpec][] = [...Object.entries(cmd.flags), ...COMMON];
  const left = all.map(([name, f]) => {
    const value = f.type === "boolean" ? "" : f.type === "number" ? " N" : " VALUE";
    return `  ${f.short ? `-${f.short}, ` : "    "}--${name}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  all.forEach(([, f], i) => {
    const def =
      f.type !== "boolean" && f.default !== undefined
        ? ` (default ${f.default})`
        : f.type !== "boolean" && f.required
          ? " (required)"
          : f.type === "string" && f.repeatable
            ? " (repeatable)"
            : "";
    lines.push(`${left[i]!.padEnd(width)}${f.help}${def}`);
  });
  if (cmd.details) lines.push("", cmd.details);
  return lines.join("\n");
}

/**
 * The edit distance between `a` and `b` (insertions, deletions,
 * substitutions and swaps of neighbours each count 1).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate nearest to `word`, when it is near enough to be what was
 * meant: a few edits away (a third of its length, at least 1), or one starts
 * with the other. Undefined when nothing is close.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const distance = editDistance(word, c);
    const close = distance <= Math.max(1, Math.floor(Math.max(word.length, c.length) / 3)) || (word.length >= 3 && (c.startsWith(word) || word.startsWith(c)));
    if (close && distance < bestScore) {
      best = c;
      bestScore = distance;
    }
  }
  return best;
}

/** Parses `argv` (the words after the command path) against `cmd`'s flags. */
export function parseCommandLine(cmd: Command, argv: string[]): { help: boolean; flags: Record<string, unknown>; args: string[] } {
  const specs = new Map<string, FlagSpec>([...Object.entries(cmd.flags), ...COMMON]);
  const shorts = new Map<string, string>();
  for (const [name, f] of specs) if (f.short) shorts.set(f.short, name);
  const given = new Map<string, string | true>();
  const args: string[] = [];

  const unknown = (flag: string): UsageError => {
    const name = flag.replace(/^-+/, "");
    const near = flag.startsWith("--") ? nearest(name, [...specs.keys()]) : undefined;
    return new UsageError(`unknown option ${flag}${near ? ` (did you mean --${near}?)` : ""}`);
  };
  const isOption = (word: string): boolean => (word.startsWith("--") ? specs.has(word.slice(2).split("=")[0]!) : /^-[a-zA-Z]/.test(word) && shorts.has(word[1]!));

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const spec = specs.get(name);
      if (spec === undefined) throw unknown(eq < 0 ? word : word.slice(0, eq));
      if (spec.type === "boolean") {
        if (eq >= 0) throw new UsageError(`--${name} takes no value, got "${word.slice(eq + 1)}"`);
        given.set(name, true);
      } else {
        let value: string;
        if (eq >= 0) value = word.slice(eq + 1);
        else {
          const next = argv[i + 1];
          if (next === undefined || isOption(next)) throw new UsageError(`--${name} needs a value: ${spec.help}`);
          value = next;
          i++;
        }
        if (spec.type === "string" && spec.repeatable === true) {
          if (spec.check !== undefined && value.trim() !== "") checkValue(name, spec.check, value);
          const before = given.get(name);
          given.set(name, typeof before === "string" ? `${before},${value}` : value);
        } else {
          given.set(name, value);
        }
      }
      continue;
    }
    if (/^-[a-zA-Z]/.test(word)) {
      // -v, or grouped boolean short flags: -qv
      for (const letter of word.slice(1)) {
        const name = shorts.get(letter);
        if (name === undefined) throw unknown(`-${letter}`);
        if (specs.get(name)!.type !== "boolean") throw new UsageError(`-${letter} (--${name}) needs a value: write --${name} VALUE`);
        given.set(name, true);
      }
      continue;
    }
    args.push(word); // positionals, "-" and negative numbers included
  }

  if (given.get("help") === true) return { help: true, flags: {}, args: [] };
  if (!cmd.positionals && args.length > 0) throw new UsageError(`unexpected argument "${args[0]}": zkit ${cmd.path.join(" ")} takes none`);
  const flags: Record<string, unknown> = { verbose: given.get("verbose") === true };
  for (const [name, f] of Object.entries(cmd.flags)) flags[name] = value(name, f, given.get(name));
  return { help: false, flags, args };
}

const INTEGER = /^[0-9]+$/;
const DECIMAL = /^([0-9]+\.?[0-9]*|\.[0-9]+)$/;

/** One flag's value, checked and typed; its default when not given. */
function value(name: string, f: FlagSpec, given: string | true | undefined): unknown {
  if (f.type === "boolean") return given === true;
  if (given === undefined) {
    if (f.required) throw new UsageError(`--${name} is required: ${f.help}`);
    return f.default;
  }
  const text = String(given);
  if (f.type === "string") {
    if (text.trim() === "") throw new UsageError(`--${name} needs a value: ${f.help}`);
    if (f.endpoint !== undefined) checkEndpoints(name, text, f.endpoint);
    if (f.check !== undefined && f.repeatable !== true) checkValue(name, f.check, text); // repeatable ones: each value, as it was read
    return text;
  }
  const n = Number(text);
  const min = f.min ?? 0;
  if (!(f.float ? DECIMAL : INTEGER).test(text) || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} must be ${f.float ? "a number" : "an integer"} >= ${min}, got "${text}"`);
  }
  return n;
}

/** Runs a string flag's `check` on `text`, naming the flag in the UsageError. */
function checkValue(name: string, check: (value: string) => unknown, text: string): void {
  try {
    check(text);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`--${name}: ${err.message}`);
    throw err;
  }
}

/** Checks an endpoint list flag with core's parser; a `"bind-only"` list must not connect. */
function checkEndpoints(name: string, text: string, kind: "bind" | "bind-only" | "connect"): void {
  try {
    const specs = parseEndpoints(text, kind !== "connect");
    const wrong = kind === "bind-only" ? specs.find((s) => !s.bind) : undefined;
    if (wrong !== undefined) throw new UsageError(`--${name}: ">${wrong.address}" connects; --${name} takes endpoints to bind`);
  } catch (err) {
    if (err instanceof InvalidEndpointError) throw new UsageError(`--${name}: ${err.message}`);
    throw err;
  }
}
