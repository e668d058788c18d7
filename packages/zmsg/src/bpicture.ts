/**
 * Binary pictures, CZMQ's `zsock_bsend`/`zsock_brecv` format: the values in
 * one data frame, integers big-endian, then one frame per `f`, then the
 * frames of an `m` message. Pure encode/decode functions.
 *
 * | char | argument (send) | value (receive) | bytes in the data frame |
 * | --- | --- | --- | --- |
 * | `1` `2` `4` | number | number | 1, 2, 4 bytes big-endian |
 * | `8` | bigint or safe-integer number | bigint | 8 bytes big-endian |
 * | `s` | string of 0-255 UTF-8 bytes | string | 1-byte length + bytes |
 * | `S` | string | string | 4-byte length + bytes |
 * | `c` | Buffer / Uint8Array (a chunk) | Buffer | 4-byte length + bytes |
 * | `u` | 16-byte Buffer (a uuid) | Buffer | 16 bytes |
 * | `f` | ZFrame / Buffer / Uint8Array / string | ZFrame | none: a frame of its own after the data frame |
 * | `m` | ZMsg (last character only) | ZMsg of the remaining frames | none: its frames come last |
 *
 * `"1248sS"` with `(1, 2, 3, 4, "ab", "cd")` is one frame
 * `01 0002 00000003 0000000000000004 02 6162 00000002 6364`.
 * @module
 */
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { INTEGER_KINDS, checkInteger } from "./integers.js";
import { ZFrame, describe, toBuffer, type FrameInput } from "./zframe.js";
import { ZMsg } from "./zmsg.js";

/**
 * The argument a binary picture character takes (`never` for a character
 * that is not valid, so TypeScript flags it).
 * @typeParam C - one picture character
 */
export type BinaryPictureArg<C extends string> = C extends "1" | "2" | "4"
  ? number
  : C extends "8"
    ? number | bigint
    : C extends "s" | "S"
      ? string
      : C extends "c" | "u"
        ? Uint8Array
        : C extends "f"
          ? FrameInput
          : C extends "m"
            ? ZMsg
            : never;

/**
 * The value a binary picture character gives back when decoding.
 * @typeParam C - one picture character
 */
export type BinaryPictureValue<C extends string> = C extends "1" | "2" | "4"
  ? number
  : C extends "8"
    ? bigint
    : C extends "s" | "S"
      ? string
      : C extends "c" | "u"
        ? Buffer
        : C extends "f"
          ? ZFrame
          : C extends "m"
            ? ZMsg
            : never;

/**
 * The arguments of a binary picture, as a tuple: `BinaryPictureArgs<"1s">`
 * is `[number, string]`. A picture that is not a literal type gives `unknown[]`.
 * @typeParam P - the picture
 * @typeParam Acc - the tuple built so far (leave it out)
 */
export type BinaryPictureArgs<P extends string, Acc extends unknown[] = []> = string extends P
  ? unknown[]
  : P extends `${infer C}${infer Rest}`
    ? BinaryPictureArgs<Rest, [...Acc, BinaryPictureArg<C>]>
    : Acc;

/**
 * The values a binary picture decodes to, as a tuple:
 * `BinaryPictureValues<"48S">` is `[number, bigint, string]`. A picture that
 * is not a literal type gives `unknown[]`.
 * @typeParam P - the picture
 * @typeParam Acc - the tuple built so far (leave it out)
 */
export type BinaryPictureValues<P extends string, Acc extends unknown[] = []> = string extends P
  ? unknown[]
  : P extends `${infer C}${infer Rest}`
    ? BinaryPictureValues<Rest, [...Acc, BinaryPictureValue<C>]>
    : Acc;

const VALID = "1248sScufm";
const WIDTH: Readonly<Record<string, number>> = { "1": 1, "2": 2, "4": 4, "8": 8 };
const UUID_SIZE = 16;

const UNSUPPORTED: Readonly<Record<string, string>> = {
  p: "'p' (a pointer) cannot cross a Node.js socket; send the value itself",
  i: "'i' is a text-picture character; a binary picture sends unsigned integers with 1 2 4 8",
  b: "'b' is a text-picture character; a binary picture sends bytes with 'c' (a chunk)",
  z: "'z' is a text-picture character; send an empty frame with 'f'",
  U: "a binary picture writes a uuid with lowercase 'u'",
};

/**
 * Checks a binary picture; throws an InvalidArgumentError naming the bad character.
 * @internal
 */
export function checkBinaryPicture(picture: unknown, where: string): void {
  if (typeof picture !== "string") throw new InvalidArgumentError(`${where}: the picture must be a string such as "1248sS", got ${describe(picture)}`);
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    if (!VALID.includes(c)) {
      const why = UNSUPPORTED[c] ?? `'${c}' is not a binary picture character`;
      throw new InvalidArgumentError(`${where}: bad binary picture ${JSON.stringify(picture)} at index ${i}: ${why}; use 1 2 4 8 s S c u f m`);
    }
    if (c === "m" && i !== picture.length - 1) {
      throw new InvalidArgumentError(`${where}: bad binary picture ${JSON.stringify(picture)}: 'm' (the rest of the message) must be the last character`);
    }
  }
}

/**
 * Encodes values by a binary picture, as CZMQ's `zsock_bsend` does: one data
 * frame, then a frame per `f` argument, then the frames of an `m` message.
 * The data frame is built in one allocation; `f` and `m` frames are not copied.
 *
 * @param picture - e.g. `"1248sS"`; see the table of this module
 * @param args - one value per character
 * @returns the frames, the data frame first
 * @throws `InvalidArgumentError` for a bad picture, a wrong number of
 *   arguments, or an argument of the wrong type or range; the message says
 *   which argument and what to pass
 */
export function encodeBinaryPicture(picture: string, args: readonly unknown[]): Buffer[] {
  checkBinaryPicture(picture, "encodeBinaryPicture");
  if (!Array.isArray(args) || args.length !== picture.length) {
    throw new InvalidArgumentError(
      `binary picture ${JSON.stringify(picture)} takes ${picture.length} argument${picture.length === 1 ? "" : "s"}, got ${Array.isArray(args) ? args.length : describe(args)}`,
    );
  }
  // pass 1: check every argument and size the data frame
  const lengths: number[] = new Array<number>(picture.length).fill(0);
  const extra: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    const value = args[i];
    const where = `binary picture ${JSON.stringify(picture)}, argument ${i} ('${c}')`;
    const width = WIDTH[c];
    if (width !== undefined) {
      checkInteger(value, INTEGER_KINDS[c]!, where);
      size += width;
    } else if (c === "s" || c === "S") {
      if (typeof value !== "string") throw new InvalidArgumentError(`${where}: pass a string, got ${describe(value)}`);
      const n = Buffer.byteLength(value, "utf8");
      if (c === "s" && n > 255) throw new InvalidArgumentError(`${where}: a short string holds at most 255 UTF-8 bytes, this one has ${n}; use 'S' for long strings`);
      if (n > 0xffffffff) throw new InvalidArgumentError(`${where}: a long string holds at most 4294967295 bytes`);
      lengths[i] = n;
      size += (c === "s" ? 1 : 4) + n;
    } else if (c === "c") {
      if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${where}: pass a chunk as a Buffer or Uint8Array, got ${describe(value)}`);
      if (value.length > 0xffffffff) throw new InvalidArgumentError(`${where}: a chunk holds at most 4294967295 bytes`);
      size += 4 + value.length;
    } else if (c === "u") {
      if (!(value instanceof Uint8Array) || value.length !== UUID_SIZE) {
        throw new InvalidArgumentError(`${where}: pass a uuid as a 16-byte Buffer, got ${describe(value)}${value instanceof Uint8Array ? ` of ${value.length} bytes` : ""}`);
      }
      size += UUID_SIZE;
    } else if (c === "f") {
      extra.push(toBuffer(value, where));
    } else {
      // 'm', last by checkBinaryPicture
      if (!(value instanceof ZMsg)) throw new InvalidArgumentError(`${where}: pass a ZMsg, got ${describe(value)}`);
      for (const frame of value.frames) extra.push(frame);
    }
  }
  // pass 2: write the data frame
  const data = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    const value = args[i];
    switch (c) {
      case "1":
        at = data.writeUInt8(value as number, at);
        break;
      case "2":
        at = data.writeUInt16BE(value as number, at);
        break;
      case "4":
        at = data.writeUInt32BE(value as number, at);
        break;
      case "8":
        at = data.writeBigUInt64BE(BigInt(value as number | bigint), at);
        break;
      case "s":
        at = data.writeUInt8(lengths[i]!, at);
        at += data.write(value as string, at, "utf8");
        break;
      case "S":
        at = data.writeUInt32BE(lengths[i]!, at);
        at += data.write(value as string, at, "utf8");
        break;
      case "c": {
        const chunk = value as Uint8Array;
        at = data.writeUInt32BE(chunk.length, at);
        data.set(chunk, at);
        at += chunk.length;
        break;
      }
      case "u":
        data.set(value as Uint8Array, at);
        at += UUID_SIZE;
        break;
      default:
        break; // 'f' and 'm' are frames of their own
    }
  }
  return [data, ...extra];
}

/**
 * Decodes frames by a binary picture, as CZMQ's `zsock_brecv` does. Bytes
 * after the picture's end in the data frame are ignored, as in CZMQ; `c` and
 * `u` values are views into the data frame (no copy).
 *
 * @param picture - e.g. `"1248sS"`; see the table of this module
 * @param frames - the frames of a received message, the data frame first
 * @returns one value per character
 * @throws `InvalidArgumentError` for a bad picture
 * @throws `ProtocolError` when the message has no frame, the data frame
 *   is too short for the picture, or an `f` frame is missing; the message
 *   names the character and the offset, `err.frame` the frame
 */
export function decodeBinaryPicture(picture: string, frames: readonly Buffer[]): unknown[] {
  checkBinaryPicture(picture, "decodeBinaryPicture");
  const data = frames[0];
  if (data === undefined) throw new ProtocolError(`binary picture ${JSON.stringify(picture)}: the message has no frames`, 0);
  const values: unknown[] = [];
  const limit = data.length;
  let at = 0;
  let next = 1;
  const need = (n: number, c: string, what: string): void => {
    if (limit - at < n) {
      throw new ProtocolError(
        `binary picture ${JSON.stringify(picture)}: the data frame has ${limit} bytes, too short for '${c}' (${what}) at offset ${at}: needs ${n}, ${limit - at} left`,
        0,
      );
    }
  };
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i]!;
    switch (c) {
      case "1":
        need(1, c, "1-byte integer");
        values.push(data.readUInt8(at));
        at += 1;
        break;
      case "2":
        need(2, c, "2-byte integer");
        values.push(data.readUInt16BE(at));
        at += 2;
        break;
      case "4":
        need(4, c, "4-byte integer");
        values.push(data.readUInt32BE(at));
        at += 4;
        break;
      case "8":
        need(8, c, "8-byte integer");
        values.push(data.readBigUInt64BE(at));
        at += 8;
        break;
      case "s": {
        need(1, c, "string length");
        const n = data.readUInt8(at);
        at += 1;
        need(n, c, "string bytes");
        values.push(data.toString("utf8", at, at + n));
        at += n;
        break;
      }
      case "S": {
        need(4, c, "long string length");
        const n = data.readUInt32BE(at);
        at += 4;
        need(n, c, "long string bytes");
        values.push(data.toString("utf8", at, at + n));
        at += n;
        break;
      }
      case "c": {
        need(4, c, "chunk length");
        const n = data.readUInt32BE(at);
        at += 4;
        need(n, c, "chunk bytes");
        values.push(data.subarray(at, at + n));
        at += n;
        break;
      }
      case "u":
        need(UUID_SIZE, c, "uuid");
        values.push(data.subarray(at, at + UUID_SIZE));
        at += UUID_SIZE;
        break;
      case "f": {
        const frame = frames[next];
        if (frame === undefined) {
          throw new ProtocolError(
            `binary picture ${JSON.stringify(picture)}: 'f' at index ${i} needs frame ${next}, but the message has only ${frames.length} frame${frames.length === 1 ? "" : "s"}`,
            next,
          );
        }
        values.push(new ZFrame(frame));
        next++;
        break;
      }
      default:
        // 'm', last by checkBinaryPicture
        values.push(ZMsg.fromBuffers(frames.slice(next)));
        next = frames.length;
        break;
    }
  }
  return values;
}
