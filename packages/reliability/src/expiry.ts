/**
 * PeerExpiry: many peers' liveness, seen from a server, at O(1) per message
 * whatever their number: one ZLoop ticket per peer (CZMQ's tickets), reset on
 * every message, firing when a peer stays silent for the expiry time.
 * @module
 */
import { InvalidArgumentError } from "@zkit/core";
import type { Ticket, ZLoop } from "@zkit/zloop";

/** One peer's expiry, from {@link PeerExpiry.add}. */
export interface ExpiryHandle<P> {
  /** The peer it watches. */
  readonly peer: P;
  /** True until it expired or was removed. */
  readonly active: boolean;
}

interface Handle<P> {
  readonly peer: P;
  active: boolean;
  ticket: Ticket;
}

/**
 * Expires silent peers on a {@link ZLoop}. It sets the loop's ticket delay
 * (one delay per loop, as in CZMQ): give it a loop whose tickets it owns.
 *
 * @example
 * ```ts
 * const expiry = new PeerExpiry(loop, 2500 * 3, (worker) => removeWorker(worker));
 * const handle = expiry.add(worker); // on READY
 * expiry.touch(handle);              // on every message from it
 * expiry.remove(handle);             // when it leaves
 * ```
 */
export class PeerExpiry<P> {
  readonly #loop: ZLoop;
  readonly #onExpire: (peer: P) => void;
  /** How long a peer may stay silent, in ms. */
  readonly expiryMs: number;

  /**
   * @param loop - the loop whose tickets it owns
   * @param expiryMs - silence after which a peer expires, in ms
   * @param onExpire - called once per expired peer (it is already removed)
   * @throws `InvalidArgumentError` for a bad argument
   */
  constructor(loop: ZLoop, expiryMs: number, onExpire: (peer: P) => void) {
    if (typeof expiryMs !== "number" || !Number.isFinite(expiryMs) || expiryMs <= 0) {
      throw new InvalidArgumentError(`PeerExpiry(loop, expiryMs, onExpire): expiryMs must be a number of milliseconds > 0, got ${String(expiryMs)}`);
    }
    if (typeof onExpire !== "function") throw new InvalidArgumentError("PeerExpiry(loop, expiryMs, onExpire): onExpire must be a function (peer) => void");
    this.#loop = loop;
    this.expiryMs = expiryMs;
    this.#onExpire = onExpire;
    loop.setTicketDelay(expiryMs);
  }

  /** Starts watching `peer`: it expires unless touched within `expiryMs`. */
  add(peer: P): ExpiryHandle<P> {
    const handle = { peer, active: true } as Handle<P>;
    handle.ticket = this.#loop.ticket(() => {
      handle.active = false;
      this.#onExpire(peer);
    });
    return handle;
  }

  /** The peer showed life: its expiry starts over. O(1). */
  touch(handle: ExpiryHandle<P>): void {
    const h = handle as unknown as Handle<P>;
    if (h.active) this.#loop.ticketReset(h.ticket);
  }

  /** Stops watching the peer (it left). */
  remove(handle: ExpiryHandle<P>): void {
    const h = handle as unknown as Handle<P>;
    if (!h.active) return;
    h.active = false;
    this.#loop.ticketDelete(h.ticket);
  }
}
