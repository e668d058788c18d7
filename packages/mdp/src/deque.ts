/**
 * A FIFO queue with O(1) push, shift and unshift (a growable ring buffer):
 * `Array.prototype.shift()` is O(n), which a broker queue cannot afford.
 * @module
 * @internal
 */

/** @internal */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity = 16) {
    this.#items = new Array<T | undefined>(capacity);
  }

  /** Number of items. */
  get length(): number {
    return this.#size;
  }

  /** Adds at the tail. */
  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  /** Adds at the head (the next {@link shift} returns it). */
  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length;
    this.#items[this.#head] = item;
    this.#size++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    if (this.#size === 0) this.#head = 0;
    else if (this.#items.length > 1024 && this.#size * 8 < this.#items.length) this.#shrink();
    return item;
  }

  /** The head without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes everything. */
  clear(): void {
    this.#items = new Array<T | undefined>(16);
    this.#head = 0;
    this.#size = 0;
  }

  /** Items from head to tail. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#head + i) % this.#items.length]!;
  }

  #grow(): void {
    this.#resize(Math.max(16, this.#items.length * 2));
  }

  #shrink(): void {
    this.#resize(Math.max(16, this.#items.length >> 1));
  }

  #resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#size; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }
}
