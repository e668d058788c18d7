/**
 * Tickets (CZMQ `zloop_ticket`): cheap timeouts that share one delay, kept in
 * a doubly linked list in deadline order so a reset is O(1) (move to the
 * tail) and only the head needs a timer. Built for per-peer heartbeat expiry
 * with thousands of peers.
 * @module
 */
import type { TicketHandler } from "./handlers.js";

/**
 * A handle on one ticket of a {@link ZLoop}: pass it to
 * {@link ZLoop.ticketReset} when the peer shows life and to
 * {@link ZLoop.ticketDelete} when the peer is gone.
 */
export interface Ticket {
  /**
   * True while the ticket is armed: false once it expired (its handler ran
   * and did not reset it) or was deleted.
   */
  readonly active: boolean;
  /** Monotonic ms (see `now()` of `@zkit/core`) when the ticket expires if not reset. */
  readonly deadline: number;
}

/** @internal One ticket: a node of its loop's {@link TicketList}. */
export class TicketNode implements Ticket {
  deadline = 0;
  prev: TicketNode | undefined;
  next: TicketNode | undefined;
  /** True while linked in the list. */
  linked = false;
  /** True while its handler runs (a reset from there re-arms it). */
  firing = false;
  /** True once deleted or expired for good. */
  done = false;

  constructor(
    readonly list: TicketList,
    readonly handler: TicketHandler,
  ) {}

  get active(): boolean {
    return this.linked;
  }
}

/** @internal The tickets of one loop, in deadline order. */
export class TicketList {
  head: TicketNode | undefined;
  tail: TicketNode | undefined;
  size = 0;

  /**
   * Links `node` with `deadline`. Tickets share one delay, so the new
   * deadline is almost always the latest and this is O(1); after the delay
   * was lowered it walks back from the tail to keep the order.
   */
  insert(node: TicketNode, deadline: number): void {
    node.deadline = deadline;
    let after = this.tail;
    while (after !== undefined && after.deadline > deadline) after = after.prev;
    node.prev = after;
    node.next = after === undefined ? this.head : after.next;
    if (node.prev) node.prev.next = node;
    else this.head = node;
    if (node.next) node.next.prev = node;
    else this.tail = node;
    node.linked = true;
    this.size++;
  }

  /** Unlinks `node` (no-op if it is not linked). */
  unlink(node: TicketNode): void {
    if (!node.linked) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    node.linked = false;
    this.size--;
  }

  /** Unlinks every ticket and marks it done. */
  clear(): void {
    let n = this.head;
    while (n) {
      const next = n.next;
      n.prev = n.next = undefined;
      n.linked = false;
      n.done = true;
      n = next;
    }
    this.head = this.tail = undefined;
    this.size = 0;
  }
}
