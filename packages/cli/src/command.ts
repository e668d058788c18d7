/**
 * What a `zkit` subcommand is: its name, flags, positional arguments and the
 * function that runs it. Each pattern package's commands live in
 * `src/commands/<pattern>.ts` and are listed in `src/commands/index.ts`.
 * @module
 */
import type { AnyMetricsSpec } from "./metrics.js";

/**
 * One flag of a subcommand. Numbers are integers unless `float` is set. A
 * string flag with `endpoint` is a CZMQ endpoint list, checked when the
 * command line is parsed: `"bind"`, items without a prefix bind (`>` ones
 * connect); `"bind-only"`, the same but no item may connect (a broker's
 * `--bind`); `"connect"`, items without a prefix connect. A string flag with
 * `check` is checked by that function (e.g. `--metrics HOST:PORT`).
 */
export type FlagSpec =
  | {
      type: "string";
      default?: string;
      help: string;
      short?: string;
      required?: boolean;
      endpoint?: "bind" | "bind-only" | "connect";
      /** Checks the value when the command line is parsed: throws a {@link UsageError} that says what to write (the flag's name is put before it). */
      check?: (value: string) => unknown;
      /** The flag may be given several times (`--auth-allow A --auth-allow B`): each value is checked, and the command gets them joined with commas. */
      repeatable?: boolean;
    }
  | { type: "number"; default?: number; help: string; short?: string; min?: number; float?: boolean; required?: boolean }
  | { type: "boolean"; help: string; short?: string };

/** The parsed values of a set of flags. A flag with no default and not given is undefined. */
export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K] extends { type: "boolean" }
    ? boolean
    : S[K] extends { type: "number"; default: number }
      ? number
      : S[K] extends { type: "number"; required: true }
        ? number
        : S[K] extends { type: "number" }
          ? number | undefined
          : S[K] extends { type: "string"; default: string }
            ? string
            : S[K] extends { type: "string"; required: true }
              ? string
              : string | undefined;
};

/** What a running subcommand gets. */
export interface CommandContext<S extends Record<string, FlagSpec>> {
  /** The flags, parsed and checked. `verbose` is always there (`-v`). */
  flags: FlagValues<S> & { verbose: boolean };
  /** Positional arguments, in order. */
  args: string[];
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
  /** Aborts on SIGINT/SIGTERM: pass it to anything that waits. */
  signal: AbortSignal;
}

/** One subcommand, e.g. `zkit mdp broker`. */
export interface Command<S extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** The words after `zkit`, e.g. `["mdp", "broker"]`, or `["titanic"]`. */
  path: string[];
  /** One line: what it does. */
  summary: string;
  /** Positional arguments as shown in the usage line, e.g. `"BODY..."`. */
  positionals?: string;
  /** More lines of help after the flags (examples, notes). */
  details?: string;
  flags: S;
  /**
   * What a server command serves with `--metrics HOST:PORT` (its `run`
   * passes the same spec and its object to `withMetrics`); the docs list
   * these metrics.
   */
  metrics?: AnyMetricsSpec;
  /**
   * Runs the command until it is done or interrupted (`ctx.signal` aborts).
   * @returns the exit code (default 0)
   */
  run(ctx: CommandContext<S>): Promise<number | void>;
}

/** Defines a command with its flag types inferred. */
export function defineCommand<S extends Record<string, FlagSpec>>(command: Command<S>): Command<S> {
  return command;
}

/** A bad command line: the message says what, and the usage follows. */
export class UsageError extends Error {
  override name = "UsageError";
}
