/**
 * CloneStore: the state of a Clone server (12/CHP) with no sockets and no
 * timers, so it can be tested alone and shared by every server role: the
 * key-value map, the sequence number (strictly increasing: every change,
 * client update or expiry, takes the next one), and the ephemeral keys'
 * deadlines, kept as absolute epoch-ms times in a heap so expiring costs
 * nothing while nothing is due.
 * @module
 */
import { KVMsg } from "@zkit/kvmsg";
import { inSubtree, ttlSeconds } from "./protocol.js";

/** One key of the store. */
export interface StoreEntry {
  /** The message as published (with its sequence, uuid and properties). */
  readonly msg: KVMsg;
  /** When an ephemeral key expires, in epoch ms; `undefined` for a key that stays. */
  readonly expiresAt: number | undefined;
}

/** A consistent view of the store for one snapshot. */
export interface StoreSnapshot {
  /** The matching entries, as they were when the snapshot was taken. */
  readonly entries: readonly StoreEntry[];
  /** The store's sequence when the snapshot was taken: the KTHXBAI's. */
  readonly sequence: number;
}

interface Deadline {
  at: number;
  key: string;
  sequence: number;
}

/**
 * The map, the sequence and the ttl deadlines of a Clone server.
 *
 * @example
 * ```ts
 * const store = new CloneStore();
 * const published = store.apply(kvset);     // the update with its sequence: publish it
 * for (const del of store.expire()) publish(del); // ephemeral keys now due, as deletes
 * const { entries, sequence } = store.snapshot("/client/");
 * ```
 */
export class CloneStore {
  readonly #map = new Map<string, StoreEntry>();
  readonly #heap: Deadline[] = [];
  #sequence = 0;

  /** The sequence of the last change. */
  get sequence(): number {
    return this.#sequence;
  }

  /** Keys held. */
  get size(): number {
    return this.#map.size;
  }

  /** Ephemeral deadlines still pending (some may be stale: their key changed since). */
  get pendingDeadlines(): number {
    return this.#heap.length;
  }

  /** The entry of `key`, if any. */
  get(key: string): StoreEntry | undefined {
    return this.#map.get(key);
  }

  /** Every entry, in insertion order. */
  entries(): IterableIterator<StoreEntry> {
    return this.#map.values();
  }

  /**
   * Applies a client's update (KVSET): gives it the next sequence, stores it
   * (or deletes the key when its body is empty) and returns the message to
   * publish. A `ttl` property (seconds) makes the key expire at
   * `now + ttl` (epoch ms); the published message keeps the relative `ttl`
   * it came with, as 12/CHP has it.
   */
  apply(update: KVMsg, now: number = Date.now()): KVMsg {
    const msg = update.dup();
    msg.sequence = ++this.#sequence;
    const ttl = ttlSeconds(msg);
    this.#store(msg, ttl === undefined ? undefined : now + ttl * 1000);
    return msg;
  }

  /**
   * Takes every ephemeral key whose deadline is `now` or earlier out of the
   * map, and returns one delete per key (an empty body, the next sequence,
   * no uuid), in deadline order: publish each.
   */
  expire(now: number = Date.now()): KVMsg[] {
    const out: KVMsg[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const d = this.#pop();
      const entry = this.#map.get(d.key);
      // a deadline is stale when its key changed after it was set
      if (entry === undefined || entry.msg.sequence !== d.sequence) continue;
      this.#map.delete(d.key);
      out.push(new KVMsg({ key: d.key, sequence: ++this.#sequence }));
    }
    return out;
  }

  /**
   * Stores an update another server published (the passive of a pair
   * following the active): `msg` keeps its sequence, and the store's
   * sequence becomes the highest seen. An empty body deletes the key.
   * `expiresAt` (epoch ms) is when an ephemeral key expires.
   */
  mirror(msg: KVMsg, expiresAt: number | undefined): void {
    if (msg.sequence > this.#sequence) this.#sequence = msg.sequence;
    this.#store(msg, expiresAt);
  }

  /**
   * Replaces the whole store by another server's snapshot (the passive of a
   * pair after a resync): its entries, and its sequence.
   */
  reset(entries: Iterable<StoreEntry>, sequence: number): void {
    this.#map.clear();
    this.#heap.length = 0;
    this.#sequence = sequence;
    for (const e of entries) this.#store(e.msg, e.expiresAt);
  }

  /** Moves the sequence up to `sequence` if it is behind (never down): the next change takes the one after. */
  advanceTo(sequence: number): void {
    if (sequence > this.#sequence) this.#sequence = sequence;
  }

  /** The entries of `subtree` and the current sequence, consistent with each other. */
  snapshot(subtree: string): StoreSnapshot {
    const entries: StoreEntry[] = [];
    for (const e of this.#map.values()) if (subtree === "" || inSubtree(e.msg.key, subtree)) entries.push(e);
    return { entries, sequence: this.#sequence };
  }

  #store(msg: KVMsg, expiresAt: number | undefined): void {
    if (msg.body.length === 0) {
      this.#map.delete(msg.key);
      return;
    }
    this.#map.set(msg.key, { msg, expiresAt });
    if (expiresAt !== undefined) this.#push({ at: expiresAt, key: msg.key, sequence: msg.sequence });
  }

  // a binary min-heap on `at`
  #push(d: Deadline): void {
    const h = this.#heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= d.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = d;
  }

  #pop(): Deadline {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
