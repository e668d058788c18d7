/**
 * Checking options objects: every zkit class reads its options through
 * {@link readOptions}, so a bad option always throws an
 * {@link InvalidArgumentError} that names the class, the option and what to
 * pass, in the same words everywhere.
 * @module
 */
import { InvalidArgumentError } from "./errors.js";

/** What {@link readOptions} needs to know about the options it reads. */
export interface OptionsSpec {
  /**
   * Who takes the options, for messages: a class (`"MajordomoClient"`) or a
   * method (`"LazyPirateClient.request"`).
   */
  owner: string;
  /**
   * The option names accepted. When given, any other key throws (catching a
   * misspelt option); when left out, other keys are ignored.
   */
  known?: readonly string[];
  /** A valid options object, shown when something else is passed, e.g. `'{ endpoint: "tcp://localhost:5555" }'`. */
  example?: string;
}

/** What a number option accepts. */
export interface NumberRule {
  /** The lower bound. */
  min: number;
  /** True when `min` itself is not allowed (`> min` instead of `>= min`). @defaultValue false */
  exclusive?: boolean;
  /** True to accept whole numbers only. @defaultValue false */
  integer?: boolean;
  /** True to accept `Infinity` ("no limit"). @defaultValue false */
  infinity?: boolean;
  /**
   * What the number counts, added to the message in parentheses, e.g.
   * `"heartbeat intervals a worker may stay silent"`.
   */
  meaning?: string;
}

/**
 * A short description of any value for error messages: `null`, `an array`,
 * `3 bytes` for a Buffer or Uint8Array, a string in quotes (cut after 40 characters), a number or boolean as
 * written, or the type's name (`object`, `function`, `undefined`).
 *
 * @param value - anything
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `${value.length} byte${value.length === 1 ? "" : "s"}`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return typeof value;
}

/**
 * Starts reading an options object: checks that it is an object (or
 * `undefined`, read as `{}`) and, when `spec.known` is given, that every key
 * is a known option. Read each option with a method of the returned
 * {@link OptionReader}; each checks the value, applies the default and
 * throws an `InvalidArgumentError` such as
 * `MajordomoClient option timeoutMs must be a number of milliseconds > 0, got -5`.
 *
 * @example
 * ```ts
 * constructor(options: MyClientOptions) {
 *   const o = readOptions(options, { owner: "MyClient", known: ["endpoint", "timeoutMs", "trace"] });
 *   this.endpoint = o.requiredString("endpoint", "tcp://localhost:5555");
 *   this.timeoutMs = o.number("timeoutMs", 2500, { min: 0, exclusive: true });
 *   this.trace = o.function<TraceFn>("trace");
 * }
 * ```
 *
 * @typeParam T - the options type, so that only its option names can be read
 * @param options - what the caller passed
 * @param spec - the owner's name for messages, the known names, an example
 * @throws {@link InvalidArgumentError} for something other than an object, or an unknown option name
 */
export function readOptions<T extends object>(options: T | undefined, spec: OptionsSpec): OptionReader<T> {
  return new OptionReader<T>(options, spec);
}

/**
 * Reads the options of one object, option by option, with one set of rules
 * and messages. Made by {@link readOptions}.
 *
 * @typeParam T - the options type
 */
export class OptionReader<T extends object> {
  /** Who takes the options, as given to {@link readOptions}. */
  readonly owner: string;
  readonly #values: Record<string, unknown>;

  /**
   * @param options - what the caller passed
   * @param spec - see {@link OptionsSpec}
   * @throws {@link InvalidArgumentError} for something other than an object, or an unknown option name
   */
  constructor(options: T | undefined, spec: OptionsSpec) {
    this.owner = spec.owner;
    if (options === undefined) {
      this.#values = {};
      return;
    }
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new InvalidArgumentError(`${spec.owner} options must be an object${spec.example ? ` like ${spec.example}` : ""}, got ${describeValue(options)}`);
    }
    this.#values = options as Record<string, unknown>;
    if (spec.known !== undefined) {
      for (const key of Object.keys(options)) {
        if (!spec.known.includes(key)) throw new InvalidArgumentError(`unknown ${spec.owner} option "${key}": the options are ${spec.known.join(", ")}`);
      }
    }
  }

  /** The value passed for `name`, unchecked (`undefined` when not set). */
  raw(name: keyof T & string): unknown {
    return this.#values[name];
  }

  /**
   * Throws the `InvalidArgumentError` for a bad value of `name`:
   * `<owner> option <name> <problem>`.
   *
   * @param name - the option
   * @param problem - what is wrong and what to pass, e.g. `must be >= reconnectInitialMs (500)`
   */
  fail(name: keyof T & string, problem: string): never {
    throw new InvalidArgumentError(`${this.owner} option ${name} ${problem}`);
  }

  /**
   * A number option: a number (never NaN) that follows `rule`; `Infinity`
   * only when `rule.infinity`. The message says "a number of milliseconds"
   * for a name that ends in `Ms`.
   *
   * @param name - the option
   * @param dflt - the value when the option is not set (`undefined` to leave it unset)
   * @param rule - the bounds and kind of number
   */
  number(name: keyof T & string, dflt: number, rule: NumberRule): number;
  number(name: keyof T & string, dflt: number | undefined, rule: NumberRule): number | undefined;
  number(name: keyof T & string, dflt: number | undefined, rule: NumberRule): number | undefined {
    const value = this.#values[name];
    if (value === undefined) return dflt;
    const ok =
      typeof value === "number" &&
      !Number.isNaN(value) &&
      (Number.isFinite(value) || (rule.infinity === true && value === Infinity)) &&
      (rule.exclusive ? value > rule.min : value >= rule.min) &&
      (!rule.integer || !Number.isFinite(value) || Number.isInteger(value));
    if (ok) return value;
    const ms = name.endsWith("Ms");
    const kind = rule.integer ? (ms ? "an integer number of milliseconds" : "an integer") : ms ? "a number of milliseconds" : "a number";
    const notes = [rule.infinity ? "or Infinity" : "", rule.meaning ?? ""].filter((n) => n !== "");
    return this.fail(name, `must be ${kind} ${rule.exclusive ? ">" : ">="} ${rule.min}${notes.map((n) => ` (${n})`).join("")}, got ${describeValue(value)}`);
  }

  /**
   * A boolean option: `true` or `false`.
   *
   * @param name - the option
   * @param dflt - the value when the option is not set
   */
  boolean(name: keyof T & string, dflt: boolean): boolean {
    const value = this.#values[name];
    if (value === undefined) return dflt;
    if (typeof value !== "boolean") this.fail(name, `must be true or false, got ${describeValue(value)}`);
    return value;
  }

  /**
   * A string option with a default: a string that is not empty or blank.
   *
   * @param name - the option
   * @param dflt - the value when the option is not set
   */
  string(name: keyof T & string, dflt: string): string {
    const value = this.#values[name];
    if (value === undefined) return dflt;
    if (typeof value !== "string" || value.trim() === "") {
      this.fail(name, `must be a non-empty string (default ${JSON.stringify(dflt)}), got ${describeValue(value)}`);
    }
    return value;
  }

  /**
   * A string option that must be set: a string that is not empty or blank.
   *
   * @param name - the option
   * @param example - a good value for the message, e.g. `"tcp://localhost:5555"`
   * @param meaning - what the option is, for the message, e.g. `"the queue's backend"`
   */
  requiredString(name: keyof T & string, example: string, meaning?: string): string {
    const value = this.#values[name];
    if (typeof value !== "string" || value.trim() === "") {
      this.fail(name, `is required: pass ${meaning ? `${meaning}, ` : ""}a non-empty string such as ${JSON.stringify(example)}, got ${describeValue(value)}`);
    }
    return value;
  }

  /**
   * One of a few strings.
   *
   * @param name - the option
   * @param choices - the values allowed
   * @param dflt - the value when the option is not set
   */
  oneOf<V extends string>(name: keyof T & string, choices: readonly V[], dflt: V): V {
    const value = this.#values[name];
    if (value === undefined) return dflt;
    if (!choices.includes(value as V)) this.fail(name, `must be ${choices.map((c) => JSON.stringify(c)).join(" or ")}, got ${describeValue(value)}`);
    return value as V;
  }

  /**
   * A function option, or `undefined` when not set.
   *
   * @param name - the option
   * @param shape - how the function is called, for the message, e.g. `"({ direction, socket, frames }) => void"`
   */
  function<F>(name: keyof T & string, shape?: string): F | undefined {
    const value = this.#values[name];
    if (value === undefined) return undefined;
    if (typeof value !== "function") this.fail(name, `must be a function${shape ? ` ${shape}` : ""}, got ${describeValue(value)}`);
    return value as F;
  }

  /**
   * A function option that must be set.
   *
   * @param name - the option
   * @param shape - how the function is called, for the message, e.g. `"async (request: Buffer[]) => reply"`
   */
  requiredFunction<F>(name: keyof T & string, shape: string): F {
    const value = this.#values[name];
    if (typeof value !== "function") this.fail(name, `is required: pass a function ${shape}, got ${describeValue(value)}`);
    return value as F;
  }

  /**
   * An `AbortSignal` option, or `undefined` when not set.
   *
   * @param name - the option
   */
  signal(name: keyof T & string): AbortSignal | undefined {
    const value = this.#values[name];
    if (value === undefined) return undefined;
    if (!(value instanceof AbortSignal)) this.fail(name, `must be an AbortSignal, got ${describeValue(value)}`);
    return value;
  }
}
