/**
 * TimerHeap: a binary min-heap of timers ordered by deadline (then by
 * creation), with removal from the middle, so ZLoop needs one Node timeout
 * for any number of timers.
 * @module
 */

/** @internal What the heap stores: a deadline, a tie-breaker and its slot. */
export interface HeapEntry {
  /** Monotonic ms when the entry is due. */
  deadline: number;
  /** Creation order; breaks ties between equal deadlines. */
  readonly seq: number;
  /** Position in the heap array; -1 when not in a heap. */
  index: number;
}

/** @internal A min-heap on (deadline, seq) with O(log n) push, pop and remove. */
export class TimerHeap<T extends HeapEntry> {
  #items: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.#items.length;
  }

  /** The entry with the earliest deadline, or undefined when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds `entry` (which must not already be in a heap). */
  push(entry: T): void {
    entry.index = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.index);
  }

  /** Removes and returns the earliest entry. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `entry` if it is in this heap; returns whether it was. */
  remove(entry: T): boolean {
    const i = entry.index;
    const items = this.#items;
    if (i < 0 || i >= items.length || items[i] !== entry) return false;
    const last = items.pop()!;
    entry.index = -1;
    if (last !== entry) {
      items[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    for (const e of this.#items) e.index = -1;
    this.#items = [];
  }

  #less(a: T, b: T): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const a = items[i]!;
    const b = items[j]!;
    items[i] = b;
    items[j] = a;
    a.index = j;
    b.index = i;
  }

  #up(i: number): void {
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i]!, items[parent]!)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(items[l]!, items[m]!)) m = l;
      if (r < n && this.#less(items[r]!, items[m]!)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
