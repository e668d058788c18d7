/**
 * The queue's state: every known worker, whether it is busy, and the
 * least-recently-used list of idle ones. No sockets, no timers: the queue
 * asks it what to do and does it.
 * @internal
 * @module
 */

/** @internal One worker as the queue knows it. */
export interface WorkerEntry<T> {
  /** Its routing id at the backend. */
  readonly identity: Buffer;
  /** The map key: the identity's bytes as a latin1 string. */
  readonly key: string;
  /** True while it holds a request. */
  busy: boolean;
  /** What the queue attaches (its expiry ticket). */
  readonly data: T;
}

/** @internal Known workers and the LRU list of idle ones; O(1) operations. */
export class Workers<T> {
  readonly #all = new Map<string, WorkerEntry<T>>();
  /** Idle workers, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<string, WorkerEntry<T>>();

  /** Number of known workers. */
  get size(): number {
    return this.#all.size;
  }

  /** Number of idle workers. */
  get idleCount(): number {
    return this.#idle.size;
  }

  /** Every known worker. */
  all(): IterableIterator<WorkerEntry<T>> {
    return this.#all.values();
  }

  get(identity: Buffer): WorkerEntry<T> | undefined {
    return this.#all.get(identity.toString("latin1"));
  }

  /** Registers a new worker, busy until {@link Workers.idle}. */
  add(identity: Buffer, data: T): WorkerEntry<T> {
    const key = identity.toString("latin1");
    const entry: WorkerEntry<T> = { identity, key, busy: true, data };
    this.#all.set(key, entry);
    return entry;
  }

  /** The worker is ready for a request: it goes to the end of the LRU list. */
  idle(entry: WorkerEntry<T>): void {
    entry.busy = false;
    this.#idle.delete(entry.key);
    this.#idle.set(entry.key, entry);
  }

  /** Takes the least recently used idle worker and marks it busy. */
  take(): WorkerEntry<T> | undefined {
    const next = this.#idle.values().next();
    if (next.done) return undefined;
    const entry = next.value;
    this.#idle.delete(entry.key);
    entry.busy = true;
    return entry;
  }

  /** Forgets a worker; false if it was not known (any more). */
  remove(entry: WorkerEntry<T>): boolean {
    if (this.#all.get(entry.key) !== entry) return false;
    this.#all.delete(entry.key);
    this.#idle.delete(entry.key);
    return true;
  }

  clear(): void {
    this.#all.clear();
    this.#idle.clear();
  }
}
