/**
 * WorkerQueue: the least-recently-used queue of workers that the Guide's
 * queues (Simple and Paranoid Pirate) are built on, written once. Ready
 * workers wait in LRU order; a request goes to the one that has waited
 * longest, or is held until one is ready; each busy worker holds one
 * request, and only the answer to that request is accepted from it; a
 * worker that leaves gives its request to the next one (up to
 * `maxDeliveries` workers); with an expiry, silent workers are removed on
 * ZLoop tickets.
 * @module
 */
import { InvalidArgumentError } from "@zkit/core";
import type { ZLoop } from "@zkit/zloop";
import { PeerExpiry, type ExpiryHandle } from "./expiry.js";

/** A request as the queue holds it: its client, and how many workers it was given to. */
export interface QueuedWork {
  /** The client's routing id (replies must name it). */
  readonly client: Buffer;
  /** Workers it was given to so far (the queue counts). */
  deliveries: number;
}

/** One worker as the queue knows it. */
export interface QueuedWorker<R extends QueuedWork> {
  /** Its routing id. */
  readonly identity: Buffer;
  /** The request it holds, while busy. */
  readonly request: R | undefined;
  /** True while it holds a request. */
  readonly busy: boolean;
}

/** Options of a {@link WorkerQueue}. */
export interface WorkerQueueOptions<R extends QueuedWork> {
  /** Hands `request` to `worker` (the queue has marked it busy). */
  send: (worker: QueuedWorker<R>, request: R) => void;
  /** A request given to `maxDeliveries` workers, none of which answered, is dropped: told here. */
  onDropped?: (request: R) => void;
  /** A request whose worker left goes to another: told here. */
  onRequeued?: (request: R, from: QueuedWorker<R>) => void;
  /** How many workers one request may be given to. @defaultValue 3 */
  maxDeliveries?: number;
  /**
   * Expire workers silent this long (ms) on `expiry.loop`'s tickets;
   * `onExpire` is told first (the worker still holds its request then);
   * the worker is then forgotten and its request given back. Without it,
   * workers never expire.
   */
  expiry?: { loop: ZLoop; expiryMs: number; onExpire: (worker: QueuedWorker<R>) => void };
}

interface Worker<R extends QueuedWork> {
  identity: Buffer;
  key: string;
  request: R | undefined;
  busy: boolean;
  expiry: ExpiryHandle<Worker<R>> | undefined;
}

/**
 * The state of an LRU worker queue, without sockets: the owner decodes
 * messages and calls it; it calls back `send` to hand a request out.
 */
export class WorkerQueue<R extends QueuedWork> {
  readonly #send: (worker: QueuedWorker<R>, request: R) => void;
  readonly #onDropped: ((request: R) => void) | undefined;
  readonly #onRequeued: ((request: R, from: QueuedWorker<R>) => void) | undefined;
  readonly #maxDeliveries: number;
  readonly #expiry: PeerExpiry<Worker<R>> | undefined;
  readonly #all = new Map<string, Worker<R>>();
  /** Ready workers, least recently used first (a Map keeps insertion order). */
  readonly #ready = new Map<string, Worker<R>>();
  /** Requests waiting for a ready worker, oldest first. */
  #held: R[] = [];

  /**
   * @param options - see {@link WorkerQueueOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: WorkerQueueOptions<R>) {
    if (typeof options?.send !== "function") throw new InvalidArgumentError("WorkerQueue: option send must be a function (worker, request) => void");
    const max = options.maxDeliveries ?? 3;
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`WorkerQueue: option maxDeliveries must be an integer >= 1, got ${String(max)}`);
    this.#send = options.send;
    this.#onDropped = options.onDropped;
    this.#onRequeued = options.onRequeued;
    this.#maxDeliveries = max;
    const e = options.expiry;
    if (e !== undefined) {
      this.#expiry = new PeerExpiry<Worker<R>>(e.loop, e.expiryMs, (worker) => {
        if (this.#all.get(worker.key) !== worker) return;
        worker.expiry = undefined; // its ticket has fired
        e.onExpire(worker); // it still holds its request here
        this.#forget(worker);
      });
    }
  }

  /** Workers known (ready and busy). */
  get size(): number {
    return this.#all.size;
  }

  /** Workers ready for a request now. */
  get readyCount(): number {
    return this.#ready.size;
  }

  /** Requests waiting for a ready worker. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** True when a new request would go out at once: a worker is ready and nothing is held. */
  get canTake(): boolean {
    return this.#ready.size > 0 && this.#held.length === 0;
  }

  /** The worker with this routing id, if known. */
  get(identity: Buffer): QueuedWorker<R> | undefined {
    return this.#all.get(identity.toString("latin1"));
  }

  /** Every known worker. */
  workers(): IterableIterator<QueuedWorker<R>> {
    return this.#all.values();
  }

  /**
   * A new worker (its READY): known from now on, busy until
   * {@link WorkerQueue.ready}.
   * @returns the worker, or undefined when one with that id is known already
   */
  register(identity: Buffer): QueuedWorker<R> | undefined {
    const key = identity.toString("latin1");
    if (this.#all.has(key)) return undefined;
    const worker: Worker<R> = { identity, key, request: undefined, busy: true, expiry: undefined };
    if (this.#expiry !== undefined) worker.expiry = this.#expiry.add(worker);
    this.#all.set(key, worker);
    return worker;
  }

  /** The worker showed life: its expiry starts over. */
  touch(worker: QueuedWorker<R>): void {
    const w = worker as Worker<R>;
    if (w.expiry !== undefined) this.#expiry!.touch(w.expiry);
  }

  /**
   * The worker can take a request: a held one goes to it at once, else it
   * joins the end of the ready list. If it held a request (a second READY
   * from a busy worker), that one is given back first.
   */
  ready(worker: QueuedWorker<R>): void {
    const w = worker as Worker<R>;
    if (this.#all.get(w.key) !== w) return;
    const held = w.request;
    w.request = undefined;
    w.busy = false;
    if (held !== undefined) this.#giveBack(held, w);
    const next = this.#held.shift();
    if (next !== undefined) this.#hand(w, next);
    else {
      this.#ready.delete(w.key);
      this.#ready.set(w.key, w);
    }
  }

  /** A new request: to the worker ready longest, or held until one is ready. */
  dispatch(request: R): void {
    const next = this.#ready.values().next();
    if (next.done) this.#held.push(request);
    else {
      this.#ready.delete(next.value.key);
      this.#hand(next.value, request);
    }
  }

  /**
   * A reply from `worker` naming `client`: the request it answers, which the
   * worker then no longer holds, or undefined when it answers nothing the
   * queue gave that worker (forged: drop it). The worker is not made ready:
   * call {@link WorkerQueue.ready} for that.
   */
  reply(worker: QueuedWorker<R>, client: Buffer): R | undefined {
    const w = worker as Worker<R>;
    const request = w.request;
    if (!w.busy || request === undefined || !request.client.equals(client)) return undefined;
    w.request = undefined;
    return request;
  }

  /**
   * The worker left (disconnected, unreachable, refused): it is forgotten
   * and its request, if any, goes to the next worker.
   * @returns true when it was known
   */
  remove(worker: QueuedWorker<R>): boolean {
    return this.#forget(worker as Worker<R>);
  }

  /**
   * A send to `worker` failed: the request never left. The worker is
   * forgotten; the request goes to the next worker without counting a
   * delivery.
   */
  undelivered(worker: QueuedWorker<R>, request: R): void {
    const w = worker as Worker<R>;
    if (w.request === request) request.deliveries--;
    this.#forget(w);
  }

  /** Forgets every worker and held request (the queue closes); returns the held ones. */
  clear(): R[] {
    for (const w of this.#all.values()) if (w.expiry !== undefined) this.#expiry!.remove(w.expiry);
    this.#all.clear();
    this.#ready.clear();
    const held = this.#held;
    this.#held = [];
    return held;
  }

  #hand(worker: Worker<R>, request: R): void {
    worker.busy = true;
    worker.request = request;
    request.deliveries++;
    this.#send(worker, request);
  }

  #forget(w: Worker<R>): boolean {
    if (this.#all.get(w.key) !== w) return false;
    this.#all.delete(w.key);
    this.#ready.delete(w.key);
    if (w.expiry !== undefined) this.#expiry!.remove(w.expiry);
    const held = w.request;
    w.request = undefined;
    if (held !== undefined) this.#giveBack(held, w);
    return true;
  }

  /** A request whose worker left goes to the next worker first in line, up to `maxDeliveries` workers. */
  #giveBack(request: R, from: Worker<R>): void {
    if (request.deliveries >= this.#maxDeliveries) {
      this.#onDropped?.(request);
      return;
    }
    this.#onRequeued?.(request, from);
    const next = this.#ready.values().next();
    if (next.done) this.#held.unshift(request);
    else {
      this.#ready.delete(next.value.key);
      this.#hand(next.value, request);
    }
  }
}
