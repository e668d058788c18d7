/**
 * Checking the options shared by the queue and the worker.
 * @internal
 * @module
 */
import { InvalidArgumentError } from "@zkit/core";

/** @internal A number of ms > 0 (or >= 0 with `zero`), or the default. */
export function msOption(value: unknown, name: string, dflt: number, zero = false): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!zero && value === 0)) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds ${zero ? ">= 0" : "> 0"}, got ${String(value)}`);
  }
  return value;
}

/** @internal An integer >= min, or the default. */
export function intOption(value: unknown, name: string, dflt: number, min: number, what: string): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min} (${what}), got ${String(value)}`);
  }
  return value;
}

/** @internal A function or undefined. */
export function fnOption<T>(value: T | undefined, name: string, shape: string): T | undefined {
  if (value !== undefined && typeof value !== "function") throw new InvalidArgumentError(`${name} must be a function ${shape}`);
  return value;
}
