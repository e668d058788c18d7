/**
 * 12/CHP, the Clustered Hashmap Protocol (ZeroMQ Guide chapter 5, "Reliable
 * Pub-Sub (Clone Pattern)"; rfc.zeromq.org/spec/12): the commands between a
 * Clone server's three sockets and its clients. Pure functions: no sockets,
 * no timers. Decoders return a typed value or a `ProtocolError` naming the
 * bad frame; they never throw.
 *
 * ```
 * client DEALER -> server ROUTER (P)    ["ICANHAZ?"][subtree]                           ICANHAZ
 * server ROUTER (P) -> client           [key][seq][uuid][props][value]                  KVSYNC, one per key
 *                                       ["KTHXBAI"][seq][""][""][subtree]               KTHXBAI, last
 * server PUB (P+1) -> clients           [key][seq][uuid][props][value]                  KVPUB
 *                                       ["HUGZ"][seq][""][""][""]                       HUGZ
 * client PUB -> server SUB (P+2)        [key][0][uuid][props][value]                    KVSET
 * ```
 *
 * The Guide's C programs differ from the RFC in three ways, and both forms
 * are read ({@link CloneDialect}): their KVSYNC carries the uuid and the
 * properties, with `ttl` turned into an absolute time in epoch ms; their
 * KTHXBAI's last frame is empty instead of the subtree; their HUGZ carries
 * the current sequence instead of 0.
 * @module
 */
import { ProtocolError } from "@zkit/core";
import { KVMSG_TTL, KVMsg, encodeSequence } from "@zkit/kvmsg";

/** The Guide's base port P: snapshots on P, updates on P + 1, the collector on P + 2. */
export const CLONE_PORT = 5556;
/** The first frame of a snapshot request. */
export const ICANHAZ = "ICANHAZ?";
/** The key of the command that ends a snapshot. */
export const KTHXBAI = "KTHXBAI";
/** The key of the heartbeat the server publishes when idle. */
export const HUGZ = "HUGZ";

/**
 * Which form a server sends: `"rfc"` (12/CHP as written) or `"guide"` (the
 * Guide's C programs: KVSYNC with uuid and properties, `ttl` as an absolute
 * epoch-ms time; KTHXBAI with an empty last frame; HUGZ with the current
 * sequence). Either is read on receive.
 */
export type CloneDialect = "rfc" | "guide";

const EMPTY = Buffer.alloc(0);
const ICANHAZ_FRAME = Buffer.from(ICANHAZ);
const KTHXBAI_FRAME = Buffer.from(KTHXBAI);
const HUGZ_FRAME = Buffer.from(HUGZ);

/** A snapshot request as the server's ROUTER receives it. */
export interface SnapshotRequest {
  /** The client's routing id. */
  readonly client: Buffer;
  /** The subtree asked for: `""` for every key, or a key prefix. */
  readonly subtree: string;
  /**
   * The form the client asked for, a zkit extension (a third frame after
   * ICANHAZ?: `"rfc"` or `"guide"`), or `undefined`: the server's own. The
   * passive server of a pair asks for `"guide"`, whose KVSYNC carries each
   * key's uuid and ttl deadline.
   */
  readonly form: CloneDialect | undefined;
}

/** What a client's snapshot socket receives. */
export type SnapshotReply = { readonly kind: "kvsync"; readonly msg: KVMsg } | { readonly kind: "kthxbai"; readonly sequence: number; readonly subtree: string };

/** What a client's subscriber receives. */
export type Update = { readonly kind: "kvpub"; readonly msg: KVMsg } | { readonly kind: "hugz"; readonly sequence: number };

/**
 * Client -> server: `["ICANHAZ?"][subtree]`, or, with `form`, zkit's
 * extension `["ICANHAZ?"][subtree][form]` that asks for the snapshot in
 * that form (servers other than zkit's drop it as malformed).
 */
export function encodeIcanhaz(subtree: string, form?: CloneDialect): Buffer[] {
  const frames = [ICANHAZ_FRAME, Buffer.from(subtree, "utf8")];
  if (form !== undefined) frames.push(Buffer.from(form));
  return frames;
}

/** Decodes `[client]["ICANHAZ?"][subtree]` from the snapshot ROUTER. */
export function decodeIcanhaz(frames: readonly Buffer[]): SnapshotRequest | ProtocolError {
  const what = "12/CHP snapshot request";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length !== 3 && frames.length !== 4) return new ProtocolError(`${what}: expected ["ICANHAZ?"][subtree], got ${frames.length - 1} frame(s) after the routing id`);
  if (!frames[1]!.equals(ICANHAZ_FRAME)) return new ProtocolError(`${what}: frame 1 must be "ICANHAZ?", got ${describe(frames[1]!)}`, 1);
  let form: CloneDialect | undefined;
  if (frames.length === 4) {
    const f = frames[3]!.toString("latin1");
    if (f !== "rfc" && f !== "guide") return new ProtocolError(`${what}: frame 3, the form asked for, must be "rfc" or "guide", got ${describe(frames[3]!)}`, 3);
    form = f;
  }
  return { client: frames[0]!, subtree: frames[2]!.toString("utf8"), form };
}

/**
 * Server -> client: one KVSYNC for `msg`, after the routing id. The RFC form
 * has empty uuid and properties frames; the Guide's carries both, with the
 * `ttl` property replaced by `expiresAt` (epoch ms) when the key has one.
 */
export function encodeKvsync(client: Buffer, msg: KVMsg, dialect: CloneDialect, expiresAt?: number): Buffer[] {
  const key = Buffer.from(msg.key, "utf8");
  const seq = encodeSequence(msg.sequence);
  if (dialect === "rfc") return [client, key, seq, EMPTY, EMPTY, msg.body];
  let props = msg.encodeProperties();
  if (expiresAt !== undefined) {
    const copy = msg.dup();
    copy.setProp(KVMSG_TTL, Math.round(expiresAt));
    props = copy.encodeProperties();
  }
  return [client, key, seq, msg.uuid, props, msg.body];
}

/** Server -> client: `["KTHXBAI"][sequence][""][""][subtree]` (the Guide's last frame is empty). */
export function encodeKthxbai(client: Buffer, sequence: number, subtree: string, dialect: CloneDialect): Buffer[] {
  return [client, KTHXBAI_FRAME, encodeSequence(sequence), EMPTY, EMPTY, dialect === "rfc" ? Buffer.from(subtree, "utf8") : EMPTY];
}

/** Decodes what a client's snapshot DEALER receives: a KVSYNC or the KTHXBAI that ends the snapshot. */
export function decodeSnapshotReply(frames: readonly Buffer[]): SnapshotReply | ProtocolError {
  const m = KVMsg.decode(frames);
  if (m instanceof ProtocolError) return new ProtocolError(`12/CHP snapshot: ${m.message}`, m.frame);
  if (m.key === KTHXBAI) return { kind: "kthxbai", sequence: m.sequence, subtree: m.text };
  return { kind: "kvsync", msg: m };
}

/** Server -> clients: `["HUGZ"][sequence][""][""][""]`; the RFC's sequence is 0, the Guide's the current one. */
export function encodeHugz(sequence: number, dialect: CloneDialect): Buffer[] {
  return [HUGZ_FRAME, encodeSequence(dialect === "rfc" ? 0 : sequence), EMPTY, EMPTY, EMPTY];
}

/** Decodes what a client's subscriber receives: a KVPUB or a HUGZ. */
export function decodeUpdate(frames: readonly Buffer[]): Update | ProtocolError {
  const m = KVMsg.decode(frames);
  if (m instanceof ProtocolError) return new ProtocolError(`12/CHP update: ${m.message}`, m.frame);
  if (m.key === HUGZ) return { kind: "hugz", sequence: m.sequence };
  return { kind: "kvpub", msg: m };
}

/** Decodes a KVSET from the server's collector: a kvmsg whose key is not a command. */
export function decodeKvset(frames: readonly Buffer[]): KVMsg | ProtocolError {
  const m = KVMsg.decode(frames);
  if (m instanceof ProtocolError) return new ProtocolError(`12/CHP update from a client: ${m.message}`, m.frame);
  if (m.key === "" || m.key === HUGZ || m.key === KTHXBAI) return new ProtocolError(`12/CHP update from a client: the key ${JSON.stringify(m.key)} is not a key a client may set`, 0);
  return m;
}

/**
 * The `ttl` property of a client's update, in seconds, when it asks for one:
 * a number > 0 (`ttl=0`, a missing or unreadable one mean "no ttl", as in
 * the Guide's `atoi`). Absurdly large values are capped at ten years.
 */
export function ttlSeconds(msg: KVMsg): number | undefined {
  const ttl = msg.ttl;
  if (ttl === undefined || !(ttl > 0)) return undefined;
  return Math.min(ttl, 10 * 365 * 24 * 3600);
}

/** True if `key` is in `subtree` (a prefix; `""` holds every key). */
export function inSubtree(key: string, subtree: string): boolean {
  return key.startsWith(subtree);
}

function describe(frame: Buffer): string {
  const hex = frame.subarray(0, 8).toString("hex");
  return frame.length === 0 ? "an empty frame" : `${frame.length} byte(s) ${hex}${frame.length > 8 ? "..." : ""}`;
}
