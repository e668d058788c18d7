/**
 * Z85 (32/Z85): the text encoding of CURVE keys, 5 printable characters for
 * every 4 bytes. Keys are 32 bytes, so their Z85 text is 40 characters.
 * @module
 */
import { InvalidArgumentError, describeValue } from "@zkit/core";

/** The 85 characters of Z85, in value order (32/Z85). */
export const Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < Z85_ALPHABET.length; i++) DECODE[Z85_ALPHABET.charCodeAt(i)] = i;

const MAX_UINT32 = 0xffffffff;

/**
 * Encodes bytes as Z85 text (libzmq `zmq_z85_encode`).
 *
 * @example
 * ```ts
 * z85Encode(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])); // "HelloWorld"
 * ```
 * @param data - bytes; their number must be a multiple of 4 (a CURVE key is 32)
 * @returns the text, 5 characters for every 4 bytes
 * @throws `InvalidArgumentError` when `data` is not bytes, or its
 *   length is not a multiple of 4 (the message says how many to pad)
 */
export function z85Encode(data: Uint8Array): string {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`z85Encode(data): data must be a Buffer or Uint8Array, got ${describeValue(data)}`);
  if (data.length % 4 !== 0) {
    throw new InvalidArgumentError(
      `z85Encode(data): Z85 encodes whole groups of 4 bytes, got ${data.length} bytes; pad to ${data.length + 4 - (data.length % 4)} bytes (32/Z85 leaves padding to the caller)`,
    );
  }
  let out = "";
  for (let i = 0; i < data.length; i += 4) {
    let value = ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = Z85_ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/**
 * Decodes Z85 text to bytes (libzmq `zmq_z85_decode`).
 *
 * @param text - Z85 text; its length must be a multiple of 5 (a CURVE key is 40)
 * @returns the bytes, 4 for every 5 characters
 * @throws `InvalidArgumentError` when `text` is not a string, its length
 *   is not a multiple of 5, it holds a character outside the Z85 alphabet
 *   (named with its position), or a group of 5 is worth more than 4 bytes hold
 */
export function z85Decode(text: string): Buffer {
  if (typeof text !== "string") throw new InvalidArgumentError(`z85Decode(text): text must be a string of Z85 characters, got ${describeValue(text)}`);
  if (text.length % 5 !== 0) {
    throw new InvalidArgumentError(`z85Decode(text): Z85 text comes in groups of 5 characters, got ${text.length} (a CURVE key is 40); check that the text was not cut or padded`);
  }
  const out = Buffer.allocUnsafe((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? DECODE[code]! : -1;
      if (digit < 0) {
        throw new InvalidArgumentError(`z85Decode(text): character ${JSON.stringify(text[i + j])} at position ${i + j} is not in the Z85 alphabet (0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#)`);
      }
      value = value * 85 + digit;
    }
    if (value > MAX_UINT32) {
      throw new InvalidArgumentError(`z85Decode(text): the group ${JSON.stringify(text.slice(i, i + 5))} at position ${i} is worth more than 4 bytes hold; this is not Z85 text`);
    }
    out.writeUInt32BE(value, o);
  }
  return out;
}

/**
 * True when `text` is a CURVE key in Z85: 40 characters of the alphabet
 * that decode to 32 bytes.
 *
 * @param text - anything
 */
export function isZ85Key(text: unknown): text is string {
  if (typeof text !== "string" || text.length !== 40) return false;
  try {
    z85Decode(text);
    return true;
  } catch {
    return false;
  }
}
