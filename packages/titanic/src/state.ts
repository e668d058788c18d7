/**
 * TitanicState: what a Titanic server knows about its requests, in memory,
 * and what it decides from it: which uuids exist, which are pending (stored,
 * no reply yet) or replied, in which order pending requests are forwarded,
 * and the next sequence number. It mirrors the store's directory (which is
 * the truth after a restart) and does no I/O.
 * @module
 * @internal
 */
import type { StoredRequestInfo } from "./store.js";

/** @internal One request the server knows. */
export interface Entry {
  readonly uuid: string;
  /** The target service; undefined when only the reply survived a damaged request file. */
  readonly service: string | undefined;
  readonly seq: number;
  state: "pending" | "replied";
}

/** @internal What `titanic.reply` should answer for a uuid. */
export type ReplyDecision = "unknown" | "pending" | "replied";

/** @internal The in-memory index of a Titanic server's requests. */
export class TitanicState {
  readonly #entries = new Map<string, Entry>();
  /** Pending entries in forwarding order (insertion order: sequence order). */
  readonly #pending = new Map<string, Entry>();
  #nextSeq = 1;

  /** Loads what the store found, in sequence order; returns how many are pending. */
  load(requests: readonly StoredRequestInfo[]): number {
    for (const r of requests) {
      const entry: Entry = { uuid: r.uuid, service: r.service, seq: r.seq, state: r.replied ? "replied" : "pending" };
      this.#entries.set(r.uuid, entry);
      if (!r.replied) this.#pending.set(r.uuid, entry);
      if (r.seq >= this.#nextSeq) this.#nextSeq = r.seq + 1;
    }
    return this.#pending.size;
  }

  /** A fresh sequence number, above every stored one. */
  nextSeq(): number {
    return this.#nextSeq++;
  }

  /** Records a newly stored request as pending. */
  add(uuid: string, service: string, seq: number): Entry {
    const entry: Entry = { uuid, service, seq, state: "pending" };
    this.#entries.set(uuid, entry);
    this.#pending.set(uuid, entry);
    return entry;
  }

  /** The entry of `uuid`, if the server knows it. */
  get(uuid: string): Entry | undefined {
    return this.#entries.get(uuid);
  }

  /** True when `entry` is still known and still waits for its reply. */
  isPending(entry: Entry): boolean {
    return this.#entries.get(entry.uuid) === entry && entry.state === "pending";
  }

  /** What `titanic.reply` answers for `uuid`. */
  decideReply(uuid: string): ReplyDecision {
    const entry = this.#entries.get(uuid);
    if (entry === undefined) return "unknown";
    return entry.state;
  }

  /** The reply of `entry` is stored. */
  markReplied(entry: Entry): void {
    entry.state = "replied";
    this.#pending.delete(entry.uuid);
  }

  /**
   * The stored reply of `entry` was lost (damaged): forward the request
   * again if it is there, else forget the uuid. Returns whether it is pending.
   */
  replyLost(entry: Entry): boolean {
    if (this.#entries.get(entry.uuid) !== entry) return false;
    if (entry.service === undefined) {
      this.remove(entry.uuid);
      return false;
    }
    entry.state = "pending";
    this.#pending.set(entry.uuid, entry);
    return true;
  }

  /** Forgets `uuid`; returns its entry, if there was one. */
  remove(uuid: string): Entry | undefined {
    const entry = this.#entries.get(uuid);
    this.#entries.delete(uuid);
    this.#pending.delete(uuid);
    return entry;
  }

  /** Puts back an entry whose removal failed on disk. */
  restore(entry: Entry): void {
    this.#entries.set(entry.uuid, entry);
    if (entry.state === "pending") this.#pending.set(entry.uuid, entry);
  }

  /** Pending entries in forwarding order (a live view: safe to change while iterating). */
  pending(): IterableIterator<Entry> {
    return this.#pending.values();
  }

  /** How many requests are pending. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** How many requests the server knows (pending or replied). */
  get size(): number {
    return this.#entries.size;
  }
}
