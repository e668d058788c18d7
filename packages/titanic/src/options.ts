/**
 * Checking options objects: unknown names and bad values throw
 * `InvalidArgumentError` naming the option and what to pass.
 * @module
 * @internal
 */
import { InvalidArgumentError } from "@zkit/core";

/** @internal Throws unless `options` is an object whose keys are all in `known`. */
export function checkOptions(options: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${what} options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`unknown ${what} option "${key}": the options are ${known.join(", ")}`);
  }
  return options as Record<string, unknown>;
}

/** @internal A number option: >= min (> min when `exclusive`), an integer when `integer`, Infinity only when `infinity`. */
export function numberOption(
  value: unknown,
  name: string,
  dflt: number,
  rule: { min: number; exclusive?: boolean; integer?: boolean; infinity?: boolean },
): number {
  if (value === undefined) return dflt;
  const ok =
    typeof value === "number" &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (rule.infinity === true && value === Infinity)) &&
    (rule.exclusive ? value > rule.min : value >= rule.min) &&
    (!rule.integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) {
    const kind = rule.integer ? "an integer" : "a number";
    throw new InvalidArgumentError(`option ${name} must be ${kind} ${rule.exclusive ? ">" : ">="} ${rule.min}${rule.infinity ? " (or Infinity)" : ""}, got ${describe(value)}`);
  }
  return value as number;
}

/** @internal A string option that must be set. */
export function requiredString(value: unknown, name: string, example: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidArgumentError(`option ${name} is required: pass a non-empty string such as ${JSON.stringify(example)}, got ${describe(value)}`);
  }
  return value;
}

/** @internal A string option with a default. */
export function stringOption(value: unknown, name: string, dflt: string): string {
  if (value === undefined) return dflt;
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidArgumentError(`option ${name} must be a non-empty string (default ${JSON.stringify(dflt)}), got ${describe(value)}`);
  }
  return value;
}

/** @internal A function option, or undefined. */
export function functionOption<F>(value: unknown, name: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new InvalidArgumentError(`option ${name} must be a function, got ${describe(value)}`);
  return value as F;
}

/** @internal An AbortSignal option, or undefined. */
export function signalOption(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidArgumentError(`option ${name} must be an AbortSignal, got ${describe(value)}`);
  return value;
}

/** @internal A CZMQ endpoint list where an item without `@`/`>` connects. */
export function connectEndpoint(endpoint: string): string {
  return endpoint
    .split(",")
    .map((e) => e.trim())
    .map((e) => (e.startsWith("@") || e.startsWith(">") ? e : `>${e}`))
    .join(",");
}

/** @internal A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return typeof value;
}
