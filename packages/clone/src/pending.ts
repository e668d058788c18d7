/**
 * PendingList: what the passive server of a Clone pair holds. Clients send
 * every update to both servers; the passive keeps each one it received on
 * its collector until it sees the active publish it (matched by uuid), so
 * that on failover it can apply and publish the ones the active never did.
 * No sockets, no timers: the server feeds it and asks it.
 * @module
 */
import type { KVMsg } from "@zkit/kvmsg";

/** One held update. */
export interface PendingUpdate {
  /** The update as the client sent it. */
  readonly msg: KVMsg;
  /** Its uuid in hex. */
  readonly uuid: string;
  /** When the passive received it, in ms of the clock passed in. */
  readonly receivedAt: number;
}

/**
 * The passive server's pending list, pruned as the active's updates arrive.
 *
 * - {@link hold}: a client's update came in on the collector. If the active
 *   already published it (its uuid was {@link published} first, the active
 *   being quicker than this server's collector), it is dropped; otherwise it
 *   is held, in arrival order.
 * - {@link published}: the active published an update. Its uuid leaves the
 *   list, and so does every update of the same key held before it: the
 *   active applied a later value of that key, so republishing an older one
 *   on failover would undo it. An update not held yet is remembered (for
 *   {@link hold}) until {@link forgetSeen} drops it by age.
 * - {@link resynced}: the passive took a new snapshot of the active's map.
 *   Each key's update in it settles that update and the older held updates
 *   of the key, as a publication does; held updates it does not show stay
 *   (the active may not have applied them yet).
 * - {@link drain}: failover: every update still held, in arrival order, for
 *   the new active to apply and publish.
 */
export class PendingList {
  readonly #byUuid = new Map<string, PendingUpdate>();
  readonly #byKey = new Map<string, PendingUpdate[]>();
  readonly #seen = new Map<string, number>();

  /** Updates held. */
  get size(): number {
    return this.#byUuid.size;
  }

  /** Uuids seen from the active and not (yet) on the collector. */
  get seenSize(): number {
    return this.#seen.size;
  }

  /** True if an update with `uuid` (hex) is held. */
  has(uuid: string): boolean {
    return this.#byUuid.has(uuid);
  }

  /**
   * A client's update arrived on the collector, `uuid` its hex uuid (not
   * empty). Returns `false` when it was dropped because the active already
   * published it.
   */
  hold(msg: KVMsg, uuid: string, receivedAt: number): boolean {
    if (this.#seen.delete(uuid)) return false;
    if (this.#byUuid.has(uuid)) return false; // the same update twice: hold it once
    const p: PendingUpdate = { msg, uuid, receivedAt };
    this.#byUuid.set(uuid, p);
    const list = this.#byKey.get(msg.key);
    if (list === undefined) this.#byKey.set(msg.key, [p]);
    else list.push(p);
    return true;
  }

  /**
   * The active published an update of `key` with `uuid` (hex; `""` for a
   * server's own change, an expiry, which matches nothing). Returns how many
   * held updates it pruned.
   */
  published(key: string, uuid: string, at: number): number {
    if (uuid === "") return 0;
    const list = this.#byKey.get(key);
    const held = this.#byUuid.get(uuid);
    if (held === undefined) this.#seen.set(uuid, at);
    if (list === undefined) return 0;
    // the matching update and every update of the key held before it
    const cut = held === undefined ? list.length : list.indexOf(held) + 1;
    const gone = list.splice(0, cut);
    for (const p of gone) this.#byUuid.delete(p.uuid);
    if (list.length === 0) this.#byKey.delete(key);
    return gone.length;
  }

  /**
   * The passive applied a fresh snapshot of the active's map: `entries` are
   * its keys with the uuid (hex) of each key's update (the Guide's form of
   * KVSYNC carries them). A held update of a key settles with the older
   * held updates of that key; a uuid not held is remembered, as for
   * {@link published}. Returns how many held updates it pruned.
   */
  resynced(entries: Iterable<readonly [key: string, uuid: string]>, at: number): number {
    let pruned = 0;
    for (const [key, uuid] of entries) {
      if (uuid === "") continue;
      const held = this.#byUuid.get(uuid);
      if (held === undefined) {
        this.#seen.set(uuid, at);
        continue;
      }
      const list = this.#byKey.get(key);
      const gone = list === undefined ? [held] : list.splice(0, list.indexOf(held) + 1);
      for (const p of gone) this.#byUuid.delete(p.uuid);
      if (list !== undefined && list.length === 0) this.#byKey.delete(key);
      pruned += gone.length;
    }
    return pruned;
  }

  /** Forgets uuids seen from the active before `before` that never came to the collector (clients that send to the active only). */
  forgetSeen(before: number): number {
    let n = 0;
    for (const [uuid, at] of this.#seen) {
      if (at >= before) break; // insertion order is time order
      this.#seen.delete(uuid);
      n++;
    }
    return n;
  }

  /** Takes every held update out, in arrival order, and forgets the uuids seen. */
  drain(): PendingUpdate[] {
    const out = [...this.#byUuid.values()];
    this.clear();
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.#byUuid.clear();
    this.#byKey.clear();
    this.#seen.clear();
  }
}
