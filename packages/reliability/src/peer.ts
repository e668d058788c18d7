/**
 * How zkit names a peer in events and logs: its routing id in hex, the same
 * string everywhere (a ROUTER's automatic ids are 5 bytes: `"00" + 8 hex`).
 * @module
 */

/** A routing id as the hex string every zkit event uses. */
export function peerId(identity: Buffer | Uint8Array): string {
  return Buffer.from(identity.buffer, identity.byteOffset, identity.byteLength).toString("hex");
}
