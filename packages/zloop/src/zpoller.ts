/**
 * ZPoller: CZMQ's `zpoller` for Node: wait until one of several sockets has
 * a message, using each socket's one-message lookahead, so waiting never
 * takes (or loses) a message.
 * @module
 */
import { ErrorCode, InvalidArgumentError, ZkitError, interruptSignal, now, type Pollable } from "@zkit/core";
import { assertPollable, describe } from "./pollable-check.js";

/** The waiter of a pending {@link ZPoller.wait}: woken to scan again. */
interface Waiter {
  wake: () => void;
  fail: (err: unknown) => void;
}

/**
 * Waits on several sockets (or actors) at once (CZMQ `zpoller`).
 * {@link ZPoller.wait} returns the first socket, in registration order, that
 * has a message; the caller then calls `receive()` on it and gets the
 * message at once. Waiting uses the sockets' lookahead (`waitReadable()`),
 * never a race of `receive()` calls, so no message is lost, whatever the
 * timeouts.
 *
 * @example
 * ```ts
 * const poller = new ZPoller(frontend, backend);
 * for (;;) {
 *   const sock = await poller.wait(1000);
 *   if (sock === null) {
 *     if (poller.terminated) break; // interrupted, or a socket closed
 *     continue; // poller.expired: the second passed without a message
 *   }
 *   const msg = await sock.receive();
 *   // ...
 * }
 * ```
 *
 * @typeParam S - the type of the sockets polled
 */
export class ZPoller<S extends Pollable = Pollable> {
  /**
   * Keep waiting when the process is interrupted (CZMQ
   * `zpoller_set_nonstop`). By default {@link ZPoller.wait} returns null
   * with {@link ZPoller.terminated} set once `interruptSignal()` of
   * `@zkit/core` aborted.
   * @defaultValue false
   */
  nonstop = false;

  #items: S[] = [];
  #expired = false;
  #terminated = false;
  #waiter: Waiter | undefined;
  /** The lookahead promise of each socket this poller already listens to. */
  #watched = new WeakMap<Pollable, Promise<boolean>>();

  /**
   * @param sockets - the sockets to poll, highest priority first
   * @throws `InvalidArgumentError` if one is not Pollable
   */
  constructor(...sockets: S[]) {
    for (const s of sockets) this.add(s);
  }

  /** The polled sockets in registration (priority) order. */
  get sockets(): readonly S[] {
    return this.#items;
  }

  /** True when the last {@link ZPoller.wait} returned null because its timeout passed (CZMQ `zpoller_expired`). */
  get expired(): boolean {
    return this.#expired;
  }

  /**
   * True when the last {@link ZPoller.wait} returned null because the process
   * was interrupted or a polled socket closed (CZMQ `zpoller_terminated`).
   */
  get terminated(): boolean {
    return this.#terminated;
  }

  /**
   * Adds a socket, after those already there (CZMQ `zpoller_add`). Adding
   * one already polled does nothing. A pending {@link ZPoller.wait} sees it.
   *
   * @param sock - a socket that can receive, or an actor
   * @throws `InvalidArgumentError` if `sock` is not Pollable
   */
  add(sock: S): void {
    assertPollable(sock, "ZPoller.add(sock)");
    if (this.#items.includes(sock)) return;
    this.#items.push(sock);
    this.#waiter?.wake();
  }

  /**
   * Removes a socket (CZMQ `zpoller_remove`). A message it read ahead stays
   * in its lookahead for the next `receive()`.
   *
   * @param sock - a polled socket
   * @returns true if it was polled
   * @throws `InvalidArgumentError` if `sock` is not Pollable
   */
  remove(sock: S): boolean {
    assertPollable(sock, "ZPoller.remove(sock)");
    const i = this.#items.indexOf(sock);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    this.#waiter?.wake();
    return true;
  }

  /**
   * Waits until a polled socket has a message (CZMQ `zpoller_wait`).
   *
   * - Returns the first readable socket in registration order; its
   *   `receive()` then completes at once.
   * - Returns null with {@link ZPoller.expired} set when `timeoutMs` passes.
   * - Returns null with {@link ZPoller.terminated} set when the process is
   *   interrupted (unless {@link ZPoller.nonstop}) or a polled socket is
   *   closed with nothing left to read; a closed socket is removed from the
   *   poller, so the next wait watches the others.
   *
   * @param timeoutMs - milliseconds to wait; -1 waits forever, 0 does not wait
   * @returns the readable socket, or null
   * @throws `InvalidArgumentError` for a timeout that is not -1 or a
   *   number >= 0; rejects with a `ZkitError` (`ZKIT_BUSY`) if another wait
   *   is pending on this poller, or with the socket's error if reading ahead
   *   fails
   */
  async wait(timeoutMs = -1): Promise<S | null> {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || (timeoutMs < 0 && timeoutMs !== -1)) {
      throw new InvalidArgumentError(`ZPoller.wait(timeoutMs): timeoutMs must be -1 (forever), 0 (no wait) or a number of milliseconds > 0, got ${describe(timeoutMs)}`);
    }
    if (this.#waiter !== undefined) {
      throw new ZkitError(ErrorCode.Busy, "ZPoller.wait: another wait() is pending on this poller; wait from one place at a time");
    }
    this.#expired = false;
    this.#terminated = false;
    const signal = interruptSignal();
    const deadline = timeoutMs === -1 ? Infinity : now() + timeoutMs;
    for (;;) {
      if (!this.nonstop && signal.aborted) {
        this.#terminated = true;
        return null;
      }
      const ready = this.#scan();
      if (ready !== undefined) return ready;
      if (this.#terminated) return null;
      const remaining = deadline - now();
      if (remaining <= 0) {
        this.#expired = true;
        return null;
      }
      await this.#sleep(remaining, signal);
    }
  }

  /**
   * The first readable socket; removes closed ones (setting terminated).
   *
   * A socket whose lookahead (started by an earlier wait) is still pending
   * is skipped: it becomes readable through its lookahead when that
   * completes. Asking a zeromq.js socket for `readable` while its receive is
   * pending reads `ZMQ_EVENTS`, which can swallow the edge-triggered
   * notification that receive waits for, and leave it hanging.
   */
  #scan(): S | undefined {
    const items = this.#items;
    let closed = false;
    for (const s of items) {
      if (this.#watched.has(s)) continue;
      if (s.readable) return s;
      if (s.closed) closed = true;
    }
    if (closed) {
      this.#items = items.filter((s) => !s.closed || s.readable);
      this.#terminated = true;
    }
    return undefined;
  }

  /** Waits until a lookahead completes, a socket is added or removed, the timeout, or an interrupt. */
  #sleep(remaining: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (!this.nonstop) waiter.wake();
      };
      const done = (): boolean => {
        if (this.#waiter !== waiter) return false;
        this.#waiter = undefined;
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        return true;
      };
      const waiter: Waiter = {
        wake: () => {
          if (done()) resolve();
        },
        fail: (err) => {
          if (done()) reject(err);
        },
      };
      this.#waiter = waiter;
      if (remaining !== Infinity) timer = setTimeout(waiter.wake, Math.max(1, Math.ceil(remaining)));
      signal.addEventListener("abort", onAbort);
      for (const s of this.#items) this.#watch(s);
    });
  }

  /** Starts (or reuses) the lookahead of `s` and listens to it once. */
  #watch(s: S): void {
    let p: Promise<boolean>;
    try {
      p = s.waitReadable();
    } catch (err) {
      this.#waiter?.fail(err);
      return;
    }
    if (this.#watched.get(s) === p) return; // already listening to this lookahead
    this.#watched.set(s, p);
    p.then(
      () => {
        if (this.#watched.get(s) === p) this.#watched.delete(s);
        this.#waiter?.wake();
      },
      (err: unknown) => {
        if (this.#watched.get(s) === p) this.#watched.delete(s);
        if (this.#items.includes(s)) this.#waiter?.fail(err);
      },
    );
  }
}
