/**
 * Integer ranges shared by the text and binary pictures: checking what a
 * caller passes (InvalidArgumentError) and what a peer sent (ProtocolError).
 * Internal to @zkit/zmsg.
 * @module
 * @internal
 */
import { InvalidArgumentError } from "@zkit/core";
import { describe } from "./zframe.js";

/** One integer kind of a picture. @internal */
export interface IntegerKind {
  /** What to pass, for error messages. */
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Only `8`: 64-bit, passed as a bigint or a safe-integer number. */
  readonly wide: boolean;
}

/** @internal */
export const INTEGER_KINDS: Readonly<Record<string, IntegerKind>> = {
  i: { label: "a signed 32-bit integer (-2147483648 to 2147483647)", min: -0x80000000, max: 0x7fffffff, wide: false },
  u: { label: "an unsigned 32-bit integer (0 to 4294967295)", min: 0, max: 0xffffffff, wide: false },
  "1": { label: "an unsigned 8-bit integer (0 to 255)", min: 0, max: 0xff, wide: false },
  "2": { label: "an unsigned 16-bit integer (0 to 65535)", min: 0, max: 0xffff, wide: false },
  "4": { label: "an unsigned 32-bit integer (0 to 4294967295)", min: 0, max: 0xffffffff, wide: false },
  "8": { label: "an unsigned 64-bit integer (a bigint from 0n to 2n ** 64n - 1n, or a safe-integer number)", min: 0, max: Number.MAX_SAFE_INTEGER, wide: true },
};

/** 2^64 - 1. @internal */
export const UINT64_MAX = 0xffffffffffffffffn;

/**
 * Checks a caller's integer argument against `kind` and returns it; throws an
 * InvalidArgumentError that says where (`where`) and what to pass.
 * @internal
 */
export function checkInteger(value: unknown, kind: IntegerKind, where: string): number | bigint {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= kind.min && value <= kind.max) return value;
  } else if (typeof value === "bigint" && kind.wide) {
    if (value >= 0n && value <= UINT64_MAX) return value;
  }
  throw new InvalidArgumentError(`${where}: pass ${kind.label}, got ${describe(value)}`);
}
