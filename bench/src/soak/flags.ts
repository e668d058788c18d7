/**
 * The `--name=value` flags of the soak scripts: numbers only, unknown names
 * refused with the list of known ones.
 * @module
 */

/** Parses `--name=value` arguments; throws on an unknown name or a value that is not a number. */
export function parseFlags(argv: string[], known: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const arg of argv) {
    if (arg === "--") continue;
    const m = /^--([a-z-]+)=(.+)$/.exec(arg);
    if (m === null || !known.includes(m[1]!)) throw new Error(`unknown argument ${arg}; known: ${known.map((k) => `--${k}=N`).join(" ")}`);
    const value = Number(m[2]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${arg}: expected a number >= 0`);
    out.set(m[1]!, value);
  }
  return out;
}

/** The value of flag `name`, or `fallback`. */
export function option(flags: Map<string, number>, name: string, fallback: number): number {
  return flags.get(name) ?? fallback;
}
