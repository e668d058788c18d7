/**
 * CURVE keys: a new key pair from the libzmq inside zeromq.js (CZMQ
 * `zcert_new`'s keys, libzmq `zmq_curve_keypair`).
 * @module
 */
import * as zmq from "zeromq";
import { ZkitError, ErrorCode } from "./errors.js";

/** A CURVE key pair, both keys as 40-character Z85 text. */
export interface CurveKeyPair {
  /** The public key: give it to peers (a client's `curveServerKey` is the server's public key). */
  readonly publicKey: string;
  /** The secret key: keep it to this socket (`curveSecretKey`). */
  readonly secretKey: string;
}

/**
 * Makes a new CURVE key pair (libzmq `zmq_curve_keypair`). A server socket
 * takes `{ curveServer: true, curveSecretKey }`; a client takes
 * `{ curveServerKey: server.publicKey, curvePublicKey, curveSecretKey }`.
 *
 * @example
 * ```ts
 * const server = curveKeyPair();
 * const client = curveKeyPair();
 * const rep = await ZSocket.rep("@tcp://127.0.0.1:*", { curveServer: true, curveSecretKey: server.secretKey });
 * const req = await ZSocket.req(`>${rep.endpoint}`, {
 *   curveServerKey: server.publicKey,
 *   curvePublicKey: client.publicKey,
 *   curveSecretKey: client.secretKey,
 * });
 * ```
 * @returns the keys as Z85 text (40 characters each)
 * @throws {@link ZkitError} `ZKIT_NOT_SUPPORTED` when the bundled libzmq was
 *   built without CURVE (`zmqCapabilities().curve` is false)
 */
export function curveKeyPair(): CurveKeyPair {
  if (!zmq.capability.curve) {
    throw new ZkitError(ErrorCode.NotSupported, "curveKeyPair: this libzmq was built without CURVE (zmqCapabilities().curve is false)");
  }
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { publicKey, secretKey };
}
