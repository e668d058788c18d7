/**
 * Internal: the owner's end of a thread's or actor's PAIR pipe. Closing it
 * closes the other end too (libzmq never tells a PAIR that its peer left),
 * and once the other side has ended it closes itself as soon as everything
 * the other side sent has been read.
 * @module
 * @internal
 */
import { randomBytes } from "node:crypto";
import { threadId } from "node:worker_threads";
import { ZSocket } from "@zkit/core";

let counter = 0;

/**
 * A fresh inproc endpoint, unique in the process: the default ZeroMQ context,
 * and so the inproc namespace, is shared by every thread.
 */
export function uniquePipeEndpoint(what: string): string {
  return `inproc://zkit-${what}-${process.pid}-${threadId}-${++counter}-${randomBytes(4).toString("hex")}`;
}

/**
 * The owner's end of a pipe (a PAIR that binds).
 *
 * It never asks libzmq whether a message is waiting (`raw.readable`, i.e.
 * `ZMQ_EVENTS`) while a receive is pending: that consumes the socket's
 * edge-triggered notification and the pending receive then never wakes up
 * (measured with zeromq.js 6.8).
 */
export class PipeEnd extends ZSocket<"PAIR"> {
  #onClose: (() => void) | undefined;
  #peerEnded = false;
  /** receive()/waitReadable() calls not settled yet */
  #pending = 0;
  #checkScheduled = false;

  /** Creates the PAIR and binds it to `endpoint` (an inproc address). */
  static async open(endpoint: string): Promise<PipeEnd> {
    const pipe = new PipeEnd();
    try {
      await pipe.bind(endpoint);
    } catch (err) {
      pipe.close();
      throw err;
    }
    return pipe;
  }

  private constructor() {
    super("PAIR");
  }

  /** What to run once when this end closes: close the other end. */
  onClose(fn: () => void): void {
    this.#onClose = fn;
  }

  /**
   * The other side is gone for good (its function ended and its sockets are
   * closed): close this end once nothing the other side sent is left to
   * read, so a pending receive rejects with ClosedError and a `for await`
   * loop ends.
   */
  peerEnded(): void {
    this.#peerEnded = true;
    this.#closeIfDrained();
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    const fn = this.#onClose;
    this.#onClose = undefined;
    fn?.();
  }

  /** False while a receive is pending (it will get the next message), else as ZSocket. */
  override get readable(): boolean {
    return this.#pending === 0 && super.readable;
  }

  override receive(): Promise<Buffer[]> {
    return this.#track(super.receive());
  }

  override waitReadable(): Promise<boolean> {
    // the read-ahead message stays available to receive() after a close
    return this.#track(super.waitReadable());
  }

  #track<T>(op: Promise<T>): Promise<T> {
    if (this.closed) return op;
    this.#pending++;
    return op.then(
      (value) => {
        this.#pending--;
        this.#closeIfDrained();
        return value;
      },
      (err: unknown) => {
        this.#pending--;
        throw err;
      },
    );
  }

  #closeIfDrained(): void {
    if (!this.#peerEnded || this.closed) return;
    if (this.#pending > 0) {
      this.#checkLater();
      return;
    }
    let more: boolean;
    try {
      more = this.raw.readable; // safe: nothing pending
    } catch {
      more = false;
    }
    if (!more) this.close();
  }

  /**
   * A receive is pending, so libzmq must not be asked. Everything the peer
   * sent was in the pipe before it ended, and the pending receive takes it
   * in the next poll phase of the event loop. So: if the receive is still
   * pending two loop turns later, nothing is left and this end can close.
   */
  #checkLater(): void {
    if (this.#checkScheduled) return;
    this.#checkScheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        this.#checkScheduled = false;
        if (this.closed) return;
        if (this.#pending > 0) this.close();
        else this.#closeIfDrained();
      }),
    );
  }
}
