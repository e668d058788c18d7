/**
 * Pollable checks: how ZLoop and ZPoller tell a socket (or an actor) from a
 * wrong argument, with an error that says what to pass.
 * @module
 */
import { InvalidArgumentError, type Pollable } from "@zkit/core";

/**
 * True when `value` can be read by a {@link ZLoop} reader or a
 * {@link ZPoller}: it has `receive()`, `waitReadable()`, `readable` and
 * `closed`, like a `ZSocket` of `@zkit/core` or a `ZActor` of `@zkit/zthread`.
 *
 * @param value - anything
 */
export function isPollable(value: unknown): value is Pollable {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.receive === "function" && typeof v.waitReadable === "function" && "readable" in v && "closed" in v;
}

/** @internal Throws `InvalidArgumentError` unless `value` is Pollable. */
export function assertPollable(value: unknown, where: string): asserts value is Pollable {
  if (!isPollable(value)) {
    throw new InvalidArgumentError(`${where}: expected a Pollable (a ZSocket that can receive, or a ZActor), got ${describe(value)}`);
  }
}

/** @internal A short description of a bad argument for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object without receive()/waitReadable() (${value.constructor?.name ?? "Object"})`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "function") return "a function";
  return String(value);
}
