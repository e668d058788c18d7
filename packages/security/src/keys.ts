/**
 * CURVE keys as zkit takes them: 40 characters of Z85 or 32 bytes, checked
 * once, kept as Z85 text; and the public key of a secret key (libzmq
 * `zmq_curve_public`), computed with Node's X25519.
 * @module
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { InvalidArgumentError, describeValue } from "@zkit/core";
import { z85Decode, z85Encode } from "./z85.js";

/** A CURVE key: 40 characters of Z85 text, or the 32 bytes themselves. */
export type CurveKey = string | Uint8Array;

/** The length of a CURVE key in bytes. */
export const CURVE_KEY_BYTES = 32;
/** The length of a CURVE key in Z85 text. */
export const CURVE_KEY_TEXT = 40;

/**
 * Checks a CURVE key and returns it as Z85 text.
 *
 * @param key - 40 Z85 characters or 32 bytes
 * @param what - what the key is, for the message, e.g. `"ZCert publicKey"`
 * @throws `InvalidArgumentError` naming `what` and what to pass
 */
export function curveKeyText(key: unknown, what: string): string {
  if (key instanceof Uint8Array) {
    if (key.length !== CURVE_KEY_BYTES) throw new InvalidArgumentError(`${what} must be 32 bytes or 40 characters of Z85, got ${key.length} bytes`);
    return z85Encode(key);
  }
  if (typeof key !== "string" || key.length !== CURVE_KEY_TEXT) {
    throw new InvalidArgumentError(
      `${what} must be a CURVE key: 40 characters of Z85 (as curveKeyPair() or a certificate file gives) or 32 bytes, got ${typeof key === "string" ? `${key.length} characters` : describeValue(key)}`,
    );
  }
  try {
    z85Decode(key);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not a Z85 CURVE key: ${(err as Error).message.replace(/^z85Decode\(text\): /, "")}`, { cause: err });
  }
  return key;
}

// PKCS#8 DER of an X25519 private key, without its 32 key bytes
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/**
 * The public key that belongs to a CURVE secret key (libzmq
 * `zmq_curve_public`): use it to check that a secret key and a public key
 * are a pair, or to rebuild a certificate from its secret key alone.
 *
 * @param secretKey - 40 Z85 characters or 32 bytes
 * @returns the public key as Z85 text
 * @throws `InvalidArgumentError` for something that is not a CURVE key
 */
export function curvePublicKey(secretKey: CurveKey): string {
  const secret = z85Decode(curveKeyText(secretKey, "curvePublicKey(secretKey)"));
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return z85Encode(Buffer.from(jwk.x!, "base64url"));
}
