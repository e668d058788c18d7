/**
 * EventLoopTurn: one shared `setImmediate` that every busy reader of a loop
 * waits on, the share of a turn each busy reader gets, and a clock of the
 * current turn, so a loop flooded on many sockets still lets timers and I/O
 * run about every millisecond.
 * @module
 */
import { now } from "@zkit/core";

/**
 * @internal Hands out a promise that resolves on the next turn of the Node
 * event loop (after timers and I/O had their chance). Every caller in the
 * same turn gets the same promise, so fifty busy readers cost one
 * `setImmediate`, and they resume in the order they asked (round robin).
 * It counts them, so a budget of messages per turn can be split fairly
 * ({@link EventLoopTurn.quota}), and it times the current turn
 * ({@link EventLoopTurn.overtime}) so slow handlers cannot hold it long.
 */
export class EventLoopTurn {
  #next: Promise<void> | undefined;
  #resolve: (() => void) | undefined;
  #scheduled = false;
  #waiting = 0;
  #busy = 1;
  #count = 0;
  #startedAt = 0;
  #over = false;

  /** Resolves in the check phase of the next event-loop turn. */
  next(): Promise<void> {
    this.#waiting++;
    this.#schedule();
    return (this.#next ??= new Promise<void>((resolve) => (this.#resolve = resolve)));
  }

  /**
   * How many messages one reader may take before yielding, when the loop
   * may handle `budget` per turn: the budget split between the readers that
   * were busy (yielded) last turn, at least 1.
   */
  quota(budget: number): number {
    return Math.ceil(budget / this.#busy);
  }

  /**
   * Counts one message handled and tells whether `maxMs` have passed since
   * the first message counted after the last yield ({@link next}). The
   * clock is read at the 1st, 2nd, 4th and 8th message and every 8th after
   * that, so slow handlers are caught after one or two calls while fast
   * traffic pays for few clock reads. Once true, true until the next check
   * phase.
   *
   * Counting does not schedule anything: a reader woken for one message at
   * a time (the common case under load) would otherwise pay a
   * `setImmediate`, and the extra turn of the event loop it forces, per
   * message. Without one the count runs on across turns, so the readers
   * yield at least every `maxMs` even when every turn is short.
   */
  overtime(maxMs: number): boolean {
    if (this.#over) return true;
    const n = ++this.#count;
    if (n === 1) {
      this.#startedAt = now();
    } else if ((n & 7) === 0 || n === 2 || n === 4) {
      if (now() - this.#startedAt >= maxMs) this.#over = true;
    }
    return this.#over;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#onTurn);
  }

  #onTurn = (): void => {
    this.#scheduled = false;
    this.#count = 0;
    this.#over = false;
    this.#busy = Math.max(1, this.#waiting);
    this.#waiting = 0;
    const resolve = this.#resolve;
    this.#next = this.#resolve = undefined;
    resolve?.();
  };
}
