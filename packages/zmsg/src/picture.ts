/**
 * Text pictures, CZMQ's `zsock_send`/`zsock_recv` format: one frame per
 * picture character, numbers as decimal ASCII. Pure encode/decode functions.
 *
 * | char | argument (send) | value (receive) | frame |
 * | --- | --- | --- | --- |
 * | `i` | number, signed 32-bit | number | decimal text, e.g. `-7` |
 * | `u` | number, unsigned 32-bit (deprecated in CZMQ) | number | decimal text |
 * | `1` `2` `4` | number, unsigned 8/16/32-bit | number | decimal text |
 * | `8` | bigint or safe-integer number, unsigned 64-bit | bigint | decimal text |
 * | `s` | string | string | UTF-8 bytes |
 * | `b` `c` | Buffer / Uint8Array | Buffer | the bytes |
 * | `f` | ZFrame / Buffer / Uint8Array | ZFrame | the bytes |
 * | `U` | 16-byte Buffer (a uuid) | Buffer | the 16 bytes |
 * | `m` | ZMsg (last character only) | ZMsg of the remaining frames | its frames |
 * | `z` | none | none | an empty frame |
 * @module
 */
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { INTEGER_KINDS, UINT64_MAX, checkInteger } from "./integers.js";
import { ZFrame, describe, toBuffer } from "./zframe.js";
import { ZMsg } from "./zmsg.js";

/**
 * The argument a text picture character takes (`never` for a character that
 * is not valid, so TypeScript flags it).
 * @typeParam C - one picture character
 */
export type PictureArg<C extends string> = C extends "i" | "u" | "1" | "2" | "4"
  ? number
  : C extends "8"
    ? number | bigint
    : C extends "s"
      ? string
      : C extends "b" | "c" | "U"
        ? Uint8Array
        : C extends "f"
          ? ZFrame | Uint8Array
          : C extends "m"
            ? ZMsg
            : never;

/**
 * The value a text picture character gives back when decoding.
 * @typeParam C - one picture character
 */
export type PictureValue<C extends string> = C extends "i" | "u" | "1" | "2" | "4"
  ? number
  : C extends "8"
    ? bigint
    : C extends "s"
      ? string
      : C extends "b" | "c" | "U"
        ? Buffer
        : C extends "f"
          ? ZFrame
          : C extends "m"
            ? ZMsg
            : never;

/**
 * The arguments of a text picture, as a tuple: `PictureArgs<"isz">` is
 * `[number, string]` (`z` takes none). A picture that is not a literal type
 * gives `unknown[]`.
 * @typeParam P - the picture
 * @typeParam Acc - the tuple built so far (leave it out)
 */
export type PictureArgs<P extends string, Acc extends unknown[] = []> = string extends P
  ? unknown[]
  : P extends `${infer C}${infer Rest}`
    ? PictureArgs<Rest, C extends "z" ? Acc : [...Acc, PictureArg<C>]>
    : Acc;

/**
 * The values a text picture decodes to, as a tuple: `PictureValues<"i8sz">`
 * is `[number, bigint, string]`. A picture that is not a literal type gives
 * `unknown[]`.
 * @typeParam P - the picture
 * @typeParam Acc - the tuple built so far (leave it out)
 */
export type PictureValues<P extends string, Acc extends unknown[] = []> = string extends P
  ? unknown[]
  : P extends `${infer C}${infer Rest}`
    ? PictureValues<Rest, C extends "z" ? Acc : [...Acc, PictureValue<C>]>
    : Acc;

const VALID = "iu1248sbcfUmz";

const UNSUPPORTED: Readonly<Record<string, string>> = {
  p: "'p' (a pointer) cannot cross a Node.js socket; send the value itself",
  h: "'h' (a CZMQ zhashx) is not supported; send the pairs as 's' frames or encode them into one 'b' frame",
  S: "'S' is a binary-picture character; a text picture sends every string with 's'",
  l: "'l' (a CZMQ zlistx) is not supported; send the items as 's' frames",
  d: "'d' (a double) is not in CZMQ's zsock_send; send it as text with 's'",
};

/**
 * Checks a text picture and returns how many arguments it takes; throws an
 * InvalidArgumentError naming the bad character.
 * @internal
 */
export function checkPicture(picture: unknown, where: string): number {
  if (typeof picture !== "string") throw new InvalidArgumentError(`${where}: the picture must be a string such as "is8", got ${describe(picture)}`);
  let args = 0;
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    if (!VALID.includes(c)) {
      const why = UNSUPPORTED[c] ?? `'${c}' is not a picture character`;
      throw new InvalidArgumentError(`${where}: bad picture ${JSON.stringify(picture)} at index ${i}: ${why}; use i u 1 2 4 8 s b c f U m z`);
    }
    if (c === "m" && i !== picture.length - 1) {
      throw new InvalidArgumentError(`${where}: bad picture ${JSON.stringify(picture)}: 'm' (the rest of the message) must be the last character`);
    }
    if (c !== "z") args++;
  }
  return args;
}

/**
 * Encodes values by a text picture into frames, one per character, as CZMQ's
 * `zsock_send` does (numbers as decimal text, `z` an empty frame, `m` the
 * frames of a message). Bytes are not copied.
 *
 * @param picture - e.g. `"is8bz"`; see the table of this module
 * @param args - one value per character, except `z`
 * @returns the frames
 * @throws `InvalidArgumentError` for a bad picture, a wrong number of
 *   arguments, or an argument of the wrong type or range; the message says
 *   which argument and what to pass
 */
export function encodePicture(picture: string, args: readonly unknown[]): Buffer[] {
  const expected = checkPicture(picture, "encodePicture");
  if (!Array.isArray(args) || args.length !== expected) {
    throw new InvalidArgumentError(`picture ${JSON.stringify(picture)} takes ${expected} argument${expected === 1 ? "" : "s"}, got ${Array.isArray(args) ? args.length : describe(args)}`);
  }
  const frames: Buffer[] = [];
  let a = 0;
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    if (c === "z") {
      frames.push(Buffer.alloc(0));
      continue;
    }
    const value = args[a];
    const where = `picture ${JSON.stringify(picture)}, argument ${a} ('${c}')`;
    a++;
    const kind = INTEGER_KINDS[c];
    if (kind !== undefined) {
      frames.push(Buffer.from(String(checkInteger(value, kind, where)), "latin1"));
    } else if (c === "s") {
      if (typeof value !== "string") throw new InvalidArgumentError(`${where}: pass a string, got ${describe(value)}`);
      frames.push(Buffer.from(value, "utf8"));
    } else if (c === "b" || c === "c") {
      if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${where}: pass a Buffer or Uint8Array, got ${describe(value)}`);
      frames.push(toBuffer(value, where));
    } else if (c === "U") {
      if (!(value instanceof Uint8Array) || value.length !== 16) {
        throw new InvalidArgumentError(`${where}: pass a uuid as a 16-byte Buffer, got ${describe(value)}${value instanceof Uint8Array ? ` of ${value.length} bytes` : ""}`);
      }
      frames.push(toBuffer(value, where));
    } else if (c === "f") {
      if (!(value instanceof ZFrame) && !(value instanceof Uint8Array)) {
        throw new InvalidArgumentError(`${where}: pass a ZFrame, Buffer or Uint8Array, got ${describe(value)}`);
      }
      frames.push(toBuffer(value, where));
    } else {
      // 'm', last by checkPicture
      if (!(value instanceof ZMsg)) throw new InvalidArgumentError(`${where}: pass a ZMsg, got ${describe(value)}`);
      for (const frame of value.frames) frames.push(frame);
    }
  }
  return frames;
}

const SIGNED = /^-?[0-9]+$/;
const UNSIGNED = /^[0-9]+$/;
/** CZMQ sends 'u' with "%ud", a stray "d" after the digits; accept it. */
const UNSIGNED_CZMQ_U = /^[0-9]+d?$/;

/**
 * Decodes frames by a text picture, as CZMQ's `zsock_recv` does, but strictly:
 * a missing frame, a number that is not decimal text in range, a uuid that is
 * not 16 bytes or a `z` frame that is not empty is a ProtocolError. Frames after
 * the picture's end are ignored, as in CZMQ. Bytes are not copied.
 *
 * @param picture - e.g. `"is8bz"`; see the table of this module
 * @param frames - the frames of a received message
 * @returns one value per character, except `z`
 * @throws `InvalidArgumentError` for a bad picture
 * @throws `ProtocolError` for frames that do not match; `err.frame` is
 *   the index of the frame
 */
export function decodePicture(picture: string, frames: readonly Buffer[]): unknown[] {
  checkPicture(picture, "decodePicture");
  const values: unknown[] = [];
  let f = 0;
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    if (c === "m") {
      values.push(ZMsg.fromBuffers(frames.slice(f)));
      f = frames.length;
      continue;
    }
    const frame = frames[f];
    if (frame === undefined) {
      throw new ProtocolError(
        `picture ${JSON.stringify(picture)} needs a frame for '${c}' at index ${f}, but the message has only ${frames.length} frame${frames.length === 1 ? "" : "s"}`,
        f,
      );
    }
    const where = `picture ${JSON.stringify(picture)}, frame ${f} ('${c}')`;
    const kind = INTEGER_KINDS[c];
    if (kind !== undefined) {
      values.push(parseInteger(frame, c, kind.label, where, f));
    } else if (c === "s") {
      values.push(frame.toString("utf8"));
    } else if (c === "b" || c === "c") {
      values.push(frame);
    } else if (c === "U") {
      if (frame.length !== 16) throw new ProtocolError(`${where}: a uuid frame must have 16 bytes, it has ${frame.length}`, f);
      values.push(frame);
    } else if (c === "f") {
      values.push(new ZFrame(frame));
    } else if (frame.length !== 0) {
      // 'z'
      throw new ProtocolError(`${where}: expected an empty frame, got ${frame.length} bytes`, f);
    }
    f++;
  }
  return values;
}

function parseInteger(frame: Buffer, c: string, label: string, where: string, index: number): number | bigint {
  const text = frame.length <= 32 ? frame.toString("latin1") : "";
  const shape = c === "i" ? SIGNED : c === "u" ? UNSIGNED_CZMQ_U : UNSIGNED;
  if (shape.test(text)) {
    const digits = text.endsWith("d") ? text.slice(0, -1) : text;
    if (c === "8") {
      const value = BigInt(digits);
      if (value <= UINT64_MAX) return value;
    } else {
      const value = Number(digits);
      const kind = INTEGER_KINDS[c]!;
      if (value >= kind.min && value <= kind.max) return value;
    }
  }
  const shown = frame.length <= 32 ? JSON.stringify(frame.toString("latin1")) : `${frame.length} bytes`;
  throw new ProtocolError(`${where}: expected ${label} as decimal text, got ${shown}`, index);
}
