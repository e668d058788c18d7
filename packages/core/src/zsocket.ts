/**
 * ZSocket: one ZeroMQ socket with CZMQ's endpoint syntax, a send queue that
 * never reports "busy", one-reader receives with a lookahead for pollers,
 * and a lifecycle registered for {@link shutdown}.
 * @module
 */
import * as zmq from "zeromq";
import { parseEndpoint, parseEndpoints, portRangeAddresses } from "./endpoints.js";
import type { MessageLike } from "./frames.js";
import { describeValue } from "./options.js";
import type { Pollable, Sendable } from "./pollable.js";
import { ClosedError, ErrorCode, InvalidArgumentError, ZkitError, fromZmqError } from "./errors.js";
import { getLogger } from "./log.js";
import { register, unregister } from "./registry.js";
import { BINDS_BY_DEFAULT, CAN_RECEIVE, CAN_SEND, SOCKET_CLASSES, isSocketType, type SocketClassMap, type SocketOptionsOf, type SocketType } from "./socket-types.js";

const log = getLogger("core");

/**
 * The linger zkit gives a socket unless told otherwise: undelivered messages
 * are kept up to 1000 ms after close, then dropped. libzmq's default (-1)
 * would keep the process alive forever when a peer is gone.
 */
export const ZSOCKET_LINGER_MS = 1000;

/** A send waiting behind one that libzmq has not taken yet: from {@link ZSocket.send} (resolve/reject) or {@link ZSocket.post} (onFailed). */
interface QueuedSend {
  message: MessageLike;
  resolve: (() => void) | undefined;
  reject: ((err: ZkitError) => void) | undefined;
  onFailed: PostFailure | undefined;
}

/**
 * Called when a message given to {@link ZSocket.post} could not be handed
 * to libzmq (or the socket closed first), with the error and the message.
 * Always called asynchronously, never from inside `post()`.
 */
export type PostFailure = (err: ZkitError, message: MessageLike) => void;

const noop = (): void => {};

/**
 * A ZeroMQ socket.
 *
 * - Create it with CZMQ's endpoint syntax: {@link ZSocket.new} or the typed
 *   helpers ({@link ZSocket.router}, {@link ZSocket.dealer}, ...).
 * - {@link send} may be called by any number of callers at once: messages
 *   go out in call order and no caller ever sees `EBUSY`.
 * - {@link receive} and `for await` read the socket; one reader at a time.
 * - {@link close} is idempotent and never keeps the process alive for more
 *   than the linger time ({@link ZSOCKET_LINGER_MS} unless set).
 *
 * @example
 * ```ts
 * const server = await ZSocket.rep("@tcp://127.0.0.1:*");
 * const client = await ZSocket.req(`>${server.endpoint}`);
 * await client.send("Hello");
 * const [request] = await server.receive();
 * await server.send("World");
 * console.log((await client.receive()).toString());
 * client.close();
 * server.close();
 * ```
 *
 * @typeParam T - the socket type, which decides the options it accepts
 */
export class ZSocket<T extends SocketType = SocketType> implements AsyncIterable<Buffer[]>, Pollable, Sendable {
  /** The socket type, e.g. `"ROUTER"`. */
  readonly type: T;
  /**
   * The zeromq.js socket underneath. An escape hatch: sending or receiving
   * on it directly bypasses the send queue and the one-reader rule.
   */
  readonly raw: SocketClassMap[T];

  #closed = false;
  #endpoints: string[] = [];
  // send queue: FIFO with a head index (no shift()), one drainer. Sends go
  // straight to libzmq while nothing is queued; a send meets EBUSY only
  // while one of ours is pending in zeromq.js, and then waits here.
  #queue: (QueuedSend | undefined)[] = [];
  #head = 0;
  #draining = false;
  /** Sends handed to zeromq.js whose promise has not settled yet. */
  #outstanding = 0;
  #flushWaiters: (() => void)[] = [];
  // receive side: one consumer, plus a one-message lookahead for pollers
  #receiving = false;
  #stash: Buffer[] | undefined;
  #prefetch: Promise<boolean> | undefined;

  /**
   * Creates a socket that is not yet bound or connected; see {@link attach},
   * {@link bind} and {@link connect}. Most code uses {@link ZSocket.new}.
   *
   * @param type - the socket type
   * @param options - socket options; `linger` defaults to {@link ZSOCKET_LINGER_MS}
   * @throws {@link InvalidArgumentError} for an unknown type or option
   */
  constructor(type: T, options?: SocketOptionsOf<T>) {
    if (!isSocketType(type)) {
      throw new InvalidArgumentError(`unknown socket type ${JSON.stringify(type)}: use one of ${Object.keys(SOCKET_CLASSES).join(", ")}`);
    }
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new InvalidArgumentError(`socket options must be an object, got ${options === null ? "null" : typeof options}`);
    }
    this.type = type;
    const Class = SOCKET_CLASSES[type];
    // Options are set one by one on a socket that exists, so a bad one can
    // be named and the socket closed: when zeromq.js's constructor throws on
    // an option, the half-made native socket is never closed and the process
    // crashes (SIGSEGV) at exit.
    // `context` can only be given to the constructor.
    const { context, ...settable } = (options ?? {}) as Record<string, unknown>;
    let raw: SocketClassMap[T];
    try {
      raw = new Class(context === undefined ? { linger: ZSOCKET_LINGER_MS } : { linger: ZSOCKET_LINGER_MS, context: context as never }) as SocketClassMap[T];
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (code === "EMFILE" || code === "ENFILE") throw fromZmqError(err, `cannot create ${type} socket`);
      throw new InvalidArgumentError(`cannot create ${type} socket: ${(err as Error).message}`, { cause: err });
    }
    for (const [key, value] of Object.entries(settable)) {
      if (value === undefined) continue;
      try {
        setOption(raw, type, key, value);
      } catch (err) {
        raw.close();
        throw new InvalidArgumentError(`cannot create ${type} socket: option ${key} = ${describeValue(value)} was refused (${(err as Error).message}); see the socket options of zeromq.js`, {
          cause: err,
        });
      }
    }
    this.raw = raw;
    register(this);
  }

  /**
   * Creates a socket and attaches it to `endpoints` (CZMQ `zsock_new`).
   *
   * @param type - the socket type
   * @param endpoints - CZMQ endpoints: `"@tcp://127.0.0.1:*"` binds,
   *   `">tcp://127.0.0.1:5555"` connects, comma-separated; with no prefix the
   *   type's default ({@link BINDS_BY_DEFAULT}); omit to attach later
   * @param options - socket options (zeromq.js names)
   * @returns the socket, bound and connected
   * @throws {@link InvalidEndpointError} for bad endpoint syntax, a
   *   {@link ZkitError} with code `ZKIT_ADDRESS_IN_USE` when a bind fails
   */
  static async new<T extends SocketType>(type: T, endpoints?: string, options?: SocketOptionsOf<T>): Promise<ZSocket<T>> {
    const sock = new ZSocket(type, options);
    if (endpoints !== undefined) {
      try {
        await sock.attach(endpoints);
      } catch (err) {
        sock.close();
        throw err;
      }
    }
    return sock;
  }

  /** A PUB socket; endpoints bind by default. */
  static pub(endpoints?: string, options?: SocketOptionsOf<"PUB">): Promise<ZSocket<"PUB">> {
    return ZSocket.new("PUB", endpoints, options);
  }

  /**
   * A SUB socket; endpoints connect by default.
   * @param subscribe - prefixes to subscribe to (`""` for everything)
   */
  static async sub(endpoints?: string, subscribe?: string | Buffer | (string | Buffer)[], options?: SocketOptionsOf<"SUB">): Promise<ZSocket<"SUB">> {
    const sock = await ZSocket.new("SUB", endpoints, options);
    if (subscribe !== undefined) sock.subscribe(...(Array.isArray(subscribe) ? subscribe : [subscribe]));
    return sock;
  }

  /** A REQ socket; endpoints connect by default. */
  static req(endpoints?: string, options?: SocketOptionsOf<"REQ">): Promise<ZSocket<"REQ">> {
    return ZSocket.new("REQ", endpoints, options);
  }

  /** A REP socket; endpoints bind by default. */
  static rep(endpoints?: string, options?: SocketOptionsOf<"REP">): Promise<ZSocket<"REP">> {
    return ZSocket.new("REP", endpoints, options);
  }

  /** A DEALER socket; endpoints connect by default. */
  static dealer(endpoints?: string, options?: SocketOptionsOf<"DEALER">): Promise<ZSocket<"DEALER">> {
    return ZSocket.new("DEALER", endpoints, options);
  }

  /** A ROUTER socket; endpoints bind by default. */
  static router(endpoints?: string, options?: SocketOptionsOf<"ROUTER">): Promise<ZSocket<"ROUTER">> {
    return ZSocket.new("ROUTER", endpoints, options);
  }

  /** A PUSH socket; endpoints connect by default. */
  static push(endpoints?: string, options?: SocketOptionsOf<"PUSH">): Promise<ZSocket<"PUSH">> {
    return ZSocket.new("PUSH", endpoints, options);
  }

  /** A PULL socket; endpoints bind by default. */
  static pull(endpoints?: string, options?: SocketOptionsOf<"PULL">): Promise<ZSocket<"PULL">> {
    return ZSocket.new("PULL", endpoints, options);
  }

  /** A PAIR socket; endpoints connect by default. */
  static pair(endpoints?: string, options?: SocketOptionsOf<"PAIR">): Promise<ZSocket<"PAIR">> {
    return ZSocket.new("PAIR", endpoints, options);
  }

  /** An XPUB socket; endpoints bind by default. */
  static xpub(endpoints?: string, options?: SocketOptionsOf<"XPUB">): Promise<ZSocket<"XPUB">> {
    return ZSocket.new("XPUB", endpoints, options);
  }

  /** An XSUB socket; endpoints connect by default. */
  static xsub(endpoints?: string, options?: SocketOptionsOf<"XSUB">): Promise<ZSocket<"XSUB">> {
    return ZSocket.new("XSUB", endpoints, options);
  }

  /** A STREAM socket (raw TCP); endpoints connect by default. */
  static stream(endpoints?: string, options?: SocketOptionsOf<"STREAM">): Promise<ZSocket<"STREAM">> {
    return ZSocket.new("STREAM", endpoints, options);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The real address of the last bind (ephemeral ports resolved, e.g.
   * `tcp://127.0.0.1:41234`), or of the last connect if it never bound.
   * Empty when not attached.
   */
  get endpoint(): string {
    return this.#endpoints[this.#endpoints.length - 1] ?? "";
  }

  /** Every endpoint this socket bound (real addresses) or connected, in order. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /**
   * True when a {@link receive} would complete at once: a message is in the
   * lookahead, or libzmq has one waiting.
   */
  get readable(): boolean {
    if (this.#stash !== undefined) return true;
    // Asking zeromq.js while one of our receives is pending can consume
    // libzmq's edge-triggered wake-up, and that receive then never resolves
    // (measured on 6.8). The pending receive will report the message itself.
    if (this.#prefetch !== undefined || this.#receiving) return false;
    return !this.#closed && CAN_RECEIVE.has(this.type) && this.raw.readable;
  }

  /** Number of messages waiting in zkit's send queue (not yet handed to libzmq). */
  get queuedSends(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Binds and connects to a CZMQ endpoint list (CZMQ `zsock_attach`).
   *
   * @param endpoints - e.g. `"@tcp://127.0.0.1:*,>ipc:///tmp/x"`
   * @param serverish - what an endpoint with no prefix does (true binds);
   *   defaults to the socket type's CZMQ default
   * @returns the real endpoints, in the order given
   */
  async attach(endpoints: string, serverish: boolean = BINDS_BY_DEFAULT[this.type]): Promise<string[]> {
    const specs = parseEndpoints(endpoints, serverish);
    const out: string[] = [];
    for (const spec of specs) {
      if (spec.bind) out.push(await this.bind(spec.address));
      else {
        this.connect(spec.address);
        out.push(spec.address);
      }
    }
    return out;
  }

  /**
   * Binds to `address`; `tcp://127.0.0.1:*` takes an ephemeral port, and
   * CZMQ's ranges pick a free port in a range: `tcp://127.0.0.1:*[60000-]`
   * the first free one from 60000 up, `*[-60010]` from 49152 to 60010,
   * `*[60000-60010]` in between, `!` or `![60000-60010]` a random one (see
   * {@link parseEndpoints}).
   * @returns the real endpoint, e.g. `tcp://127.0.0.1:41234`
   * @throws {@link InvalidEndpointError} for a bad address (a tcp port
   *   outside 1-65535 included); `ZKIT_ADDRESS_IN_USE` when the port, or
   *   every port of the range, is taken
   */
  async bind(address: string): Promise<string> {
    this.#checkOpen("bind");
    const spec = parseEndpoint(address, true);
    const range = spec.portRange;
    let real: string | undefined;
    for (const candidate of range === undefined ? [spec.address] : portRangeAddresses(range)) {
      try {
        await this.raw.bind(candidate);
        real = this.raw.lastEndpoint ?? candidate;
        break;
      } catch (err) {
        const e = fromZmqError(err, `${this.type} bind ${candidate}`);
        if (range === undefined || e.code !== ErrorCode.AddressInUse) throw e;
      }
    }
    if (real === undefined) {
      throw new ZkitError(ErrorCode.AddressInUse, `${this.type} bind ${spec.address}: every port from ${range!.first} to ${range!.last} is in use; widen the range or use ':*'`);
    }
    this.#endpoints.push(real);
    log.debug("%s bound %s", this.type, real);
    return real;
  }

  /** Connects to `address` (libzmq connects in the background and reconnects). */
  connect(address: string): void {
    this.#checkOpen("connect");
    const spec = parseEndpoint(address, false);
    try {
      this.raw.connect(spec.address);
    } catch (err) {
      throw fromZmqError(err, `${this.type} connect ${spec.address}`);
    }
    this.#endpoints.push(spec.address);
    log.debug("%s connected %s", this.type, spec.address);
  }

  /** Unbinds from a previously bound address (the real endpoint). */
  async unbind(address: string): Promise<void> {
    this.#checkOpen("unbind");
    try {
      await this.raw.unbind(address);
    } catch (err) {
      throw fromZmqError(err, `${this.type} unbind ${address}`);
    }
    this.#forget(address);
  }

  /** Disconnects from a previously connected address. */
  disconnect(address: string): void {
    this.#checkOpen("disconnect");
    try {
      this.raw.disconnect(address);
    } catch (err) {
      throw fromZmqError(err, `${this.type} disconnect ${address}`);
    }
    this.#forget(address);
  }

  /**
   * Subscribes a SUB or XSUB socket to messages whose first frame starts with
   * one of `prefixes` (`""` for all). On XSUB, sends the subscription frame.
   * On an XPUB in `manual` mode, subscribes the peer whose subscription
   * message was received last (libzmq's `ZMQ_SUBSCRIBE` on XPUB).
   */
  subscribe(...prefixes: (string | Buffer)[]): void {
    this.#checkOpen("subscribe");
    if (this.type === "SUB" || this.type === "XPUB") (this.raw as zmq.Subscriber).subscribe(...prefixes);
    else if (this.type === "XSUB") for (const p of prefixes) void this.send(Buffer.concat([Buffer.from([1]), Buffer.from(p)]));
    else throw this.#unsupported("subscribe", "SUB, XSUB or XPUB in manual mode");
  }

  /** Removes subscriptions made with {@link subscribe} (on XPUB: of the last peer, in `manual` mode). */
  unsubscribe(...prefixes: (string | Buffer)[]): void {
    this.#checkOpen("unsubscribe");
    if (this.type === "SUB" || this.type === "XPUB") (this.raw as zmq.Subscriber).unsubscribe(...prefixes);
    else if (this.type === "XSUB") for (const p of prefixes) void this.send(Buffer.concat([Buffer.from([0]), Buffer.from(p)]));
    else throw this.#unsupported("unsubscribe", "SUB, XSUB or XPUB in manual mode");
  }

  /**
   * Sets a socket option by its zeromq.js name.
   * @example `sock.set("routingId", "worker-1")`
   */
  set<K extends keyof SocketOptionsOf<T>>(name: K, value: SocketOptionsOf<T>[K]): void {
    this.#checkOpen("set option");
    try {
      setOption(this.raw, this.type, name as string, value);
    } catch (err) {
      throw new InvalidArgumentError(`cannot set ${String(name)} on ${this.type}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Reads a socket option by its zeromq.js name.
   * @throws {@link InvalidArgumentError} when zeromq.js cannot read it: the
   *   CURVE keys (`curveSecretKey`, `curvePublicKey`, `curveServerKey`) are
   *   write-only in zeromq.js 6.8 (reading them fails with EINVAL)
   */
  get<K extends keyof SocketOptionsOf<T>>(name: K): SocketOptionsOf<T>[K] {
    this.#checkOpen("get option");
    try {
      if (name === "routerNotify" && this.type === "ROUTER") return nativeOptions(this.raw).getInt32Option(ZMQ_ROUTER_NOTIFY) as SocketOptionsOf<T>[K];
      return (this.raw as unknown as Record<PropertyKey, unknown>)[name as PropertyKey] as SocketOptionsOf<T>[K];
    } catch (err) {
      const hint = /^curve(Secret|Public|Server)Key$/.test(String(name)) ? "; zeromq.js cannot read CURVE keys back (they are write-only): keep the keys you set" : "";
      throw new InvalidArgumentError(`cannot read ${String(name)} on ${this.type}: ${(err as Error).message}${hint}`, { cause: err });
    }
  }

  /**
   * Sends one message (a frame, or an array of frames for a multipart
   * message). Any number of callers may send at once: messages leave in call
   * order, nobody sees `EBUSY`. The promise resolves when libzmq has taken
   * the message; it rejects with a {@link ZkitError} (`ZKIT_CLOSED` if the
   * socket closes first). Not awaiting it is safe: a failure is then logged,
   * never an unhandled rejection. Where nobody awaits the result,
   * {@link post} does the same without a promise.
   */
  send(message: MessageLike): Promise<void> {
    if (this.#closed) return rejected(new ClosedError(`${this.type} send: the socket is closed`));
    if (!CAN_SEND.has(this.type)) return rejected(this.#unsupported("send", "a type that can send"));
    if (this.#head === this.#queue.length) {
      // nothing queued: straight to libzmq, unless one of ours is pending there
      let sent: Promise<void>;
      try {
        sent = (this.raw as zmq.Dealer).send(message as zmq.MessageLike[]);
      } catch (err) {
        if (!this.#pendingInZmq(err)) return rejected(this.#sendError(err));
        return this.#enqueued(message);
      }
      this.#outstanding++;
      const promise = sent.then(this.#onSent, this.#onSendFailed);
      promise.catch(noop); // a caller that did not await must not crash the process
      return promise;
    }
    return this.#enqueued(message);
  }

  /**
   * Sends one message like {@link send}, in the same order as every other
   * send, but returns nothing: for senders that do not wait for libzmq to
   * take each message (a broker forwarding replies), it saves the promise
   * and the reactions `send()` costs per message.
   *
   * @param message - a frame or an array of frames
   * @param onFailed - called (asynchronously) when the message cannot be
   *   handed to libzmq, e.g. a ROUTER in `mandatory` mode naming a peer that
   *   is gone (`ZKIT_HOST_UNREACHABLE`), or the socket closed first
   *   (`ZKIT_CLOSED`); without it the failure is logged at debug level
   */
  post(message: MessageLike, onFailed?: PostFailure): void {
    if (this.#closed) {
      this.#postFailed(new ClosedError(`${this.type} send: the socket is closed`), message, onFailed);
      return;
    }
    if (!CAN_SEND.has(this.type)) {
      this.#postFailed(this.#unsupported("send", "a type that can send"), message, onFailed);
      return;
    }
    if (this.#head === this.#queue.length) {
      let sent: Promise<void>;
      try {
        sent = (this.raw as zmq.Dealer).send(message as zmq.MessageLike[]);
      } catch (err) {
        if (!this.#pendingInZmq(err)) {
          this.#postFailed(this.#sendError(err), message, onFailed);
          return;
        }
        this.#queue.push({ message, resolve: undefined, reject: undefined, onFailed });
        return;
      }
      this.#outstanding++;
      if (onFailed === undefined) sent.then(this.#onPosted, this.#onPostFailed);
      else
        sent.then(this.#onPosted, (err: unknown) => {
          this.#onPostFailed(err);
          onFailed(this.#sendError(err, false), message);
        });
      return;
    }
    this.#queue.push({ message, resolve: undefined, reject: undefined, onFailed });
  }

  /** zeromq.js refused a send because another of ours is still pending in it: queue this one behind. */
  #pendingInZmq(err: unknown): boolean {
    return this.#outstanding > 0 && (err as { code?: unknown } | null)?.code === "EBUSY";
  }

  #enqueued(message: MessageLike): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.#queue.push({ message, resolve, reject, onFailed: undefined });
    });
    promise.catch(noop);
    return promise;
  }

  #postFailed(err: ZkitError, message: MessageLike, onFailed: PostFailure | undefined): void {
    if (onFailed !== undefined) queueMicrotask(() => onFailed(err, message));
    else log.debug("%s", err.message);
  }

  #onSent = (): void => {
    this.#settled();
  };

  #onSendFailed = (err: unknown): never => {
    this.#settled();
    throw this.#sendError(err);
  };

  #onPosted = (): void => {
    this.#settled();
  };

  #onPostFailed = (err: unknown): void => {
    this.#settled();
    log.debug("%s", this.#sendError(err, false).message);
  };

  #sendError(err: unknown, logIt = true): ZkitError {
    const e = this.#closed ? new ClosedError(`${this.type} send: the socket was closed before the message left`, { cause: err }) : fromZmqError(err, `${this.type} send`);
    if (logIt) log.debug("%s", e.message);
    return e;
  }

  /** One of our sends settled in zeromq.js: let the queue move, or tell flush() waiters. */
  #settled(): void {
    this.#outstanding--;
    if (this.#draining) return;
    if (this.#head < this.#queue.length) void this.#drain();
    else if (this.#outstanding === 0) this.#idle();
  }

  #idle(): void {
    this.#queue.length = 0;
    this.#head = 0;
    if (this.#flushWaiters.length) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    const queue = this.#queue;
    try {
      while (this.#head < queue.length) {
        const entry = queue[this.#head]!;
        queue[this.#head++] = undefined;
        if (this.#closed) {
          this.#failed(entry, new ClosedError(`${this.type} send: the socket was closed before the message left`));
          continue;
        }
        let sent: Promise<void>;
        try {
          sent = (this.raw as zmq.Dealer).send(entry.message as zmq.MessageLike[]);
        } catch (err) {
          if (this.#pendingInZmq(err)) {
            // a send of ours is pending in zeromq.js (taken directly while
            // this one was being awaited): wait for it, it restarts the drain
            queue[--this.#head] = entry;
            return;
          }
          this.#failed(entry, this.#sendError(err));
          continue;
        }
        this.#outstanding++;
        try {
          await sent;
          this.#outstanding--;
          entry.resolve?.();
        } catch (err) {
          this.#outstanding--;
          this.#failed(entry, this.#sendError(err));
        }
        if (this.#head >= 1024 && this.#head * 2 >= queue.length) {
          queue.splice(0, this.#head);
          this.#head = 0;
        }
      }
    } finally {
      this.#draining = false;
    }
    if (this.#outstanding === 0) this.#idle();
  }

  #failed(entry: QueuedSend, err: ZkitError): void {
    if (entry.reject !== undefined) entry.reject(err);
    else if (entry.onFailed !== undefined) entry.onFailed(err, entry.message);
  }

  /** Resolves once every message sent so far has been handed to libzmq. */
  flush(): Promise<void> {
    if (this.#outstanding === 0 && this.#head === this.#queue.length) return Promise.resolve();
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  /**
   * Receives one message as its frames. One reader at a time: a second
   * concurrent call rejects with `ZKIT_BUSY`. Rejects with `ZKIT_CLOSED` when
   * the socket closes while waiting, `ZKIT_TIMEOUT` when `receiveTimeout`
   * passes.
   */
  receive(): Promise<Buffer[]> {
    const stash = this.#stash;
    if (stash !== undefined) {
      this.#stash = undefined;
      return Promise.resolve(stash);
    }
    if (this.#closed) return rejected(new ClosedError(`${this.type} receive: the socket is closed`));
    if (!CAN_RECEIVE.has(this.type)) return rejected(this.#unsupported("receive", "a type that can receive"));
    if (this.#receiving) return rejected(this.#busy());
    this.#receiving = true;
    const prefetch = this.#prefetch;
    if (prefetch !== undefined) return prefetch.then(this.#takePrefetched, this.#onReceiveFailed);
    let received: Promise<Buffer[]>;
    try {
      received = (this.raw as zmq.Dealer).receive();
    } catch (err) {
      this.#receiving = false;
      return rejected(fromZmqError(err, `${this.type} receive`));
    }
    return received.then(this.#onReceived, this.#onReceiveFailed);
  }

  #onReceived = (msg: Buffer[]): Buffer[] => {
    this.#receiving = false;
    return msg;
  };

  #takePrefetched = (): Buffer[] => {
    this.#receiving = false;
    const msg = this.#stash;
    this.#stash = undefined;
    if (msg === undefined) throw new ClosedError(`${this.type} receive: the socket was closed while waiting`);
    return msg;
  };

  #onReceiveFailed = (err: unknown): never => {
    this.#receiving = false;
    if (this.#closed) throw new ClosedError(`${this.type} receive: the socket was closed while waiting`, { cause: err });
    throw fromZmqError(err, `${this.type} receive`);
  };

  /**
   * Waits until a message can be received without waiting, reading it ahead
   * into a one-message lookahead that the next {@link receive} returns first.
   * Nothing is lost: this is how pollers watch many sockets at once.
   *
   * @returns true when a message is ready, false when the socket closed
   */
  waitReadable(): Promise<boolean> {
    if (this.#stash !== undefined) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    if (this.#prefetch !== undefined) return this.#prefetch;
    if (!CAN_RECEIVE.has(this.type)) return rejected(this.#unsupported("waitReadable", "a type that can receive"));
    if (this.#receiving) return rejected(this.#busy());
    let received: Promise<Buffer[]>;
    try {
      received = (this.raw as zmq.Dealer).receive();
    } catch (err) {
      return rejected(fromZmqError(err, `${this.type} receive`));
    }
    const prefetch = received.then(this.#onPrefetched, this.#onPrefetchFailed);
    this.#prefetch = prefetch;
    prefetch.catch(noop);
    return prefetch;
  }

  #onPrefetched = (msg: Buffer[]): boolean => {
    this.#prefetch = undefined;
    this.#stash = msg;
    return true;
  };

  #onPrefetchFailed = (err: unknown): boolean => {
    this.#prefetch = undefined;
    if (this.#closed) return false;
    throw fromZmqError(err, `${this.type} receive`);
  };

  /**
   * Takes the message {@link waitReadable} read ahead, at once and without a
   * promise: for loops that call `waitReadable()` and then receive
   * (`ZLoop`'s readers do). Returns undefined when there is none (nothing
   * read ahead, or a receive is pending); then use {@link receive}.
   */
  receiveReady(): Buffer[] | undefined {
    const stash = this.#stash;
    if (stash === undefined || this.#receiving) return undefined;
    this.#stash = undefined;
    return stash;
  }

  /**
   * Iterates over received messages; the loop ends when the socket closes.
   * @example
   * ```ts
   * for await (const [identity, , body] of router) { ... }
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer[]> {
    return {
      next: () =>
        this.receive().then(
          (value) => ({ value, done: false }),
          (err: unknown) => {
            if (err instanceof ZkitError && err.code === ErrorCode.Closed) return { value: undefined, done: true };
            throw err;
          },
        ),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * Closes the socket. Idempotent. Queued sends reject with `ZKIT_CLOSED`, a
   * pending receive rejects with `ZKIT_CLOSED` (a `for await` loop just ends).
   * Messages already handed to libzmq get up to `linger` ms to leave.
   *
   * @param options - `lingerMs` overrides the socket's linger for this close
   *   (0 drops whatever is still queued)
   */
  close(options?: { lingerMs?: number }): void {
    if (this.#closed) return;
    this.#closed = true;
    unregister(this);
    try {
      if (options?.lingerMs !== undefined) this.raw.linger = options.lingerMs;
      this.raw.close();
    } catch (err) {
      log.debug("%s close: %s", this.type, (err as Error).message);
    }
    log.debug("%s closed", this.type);
  }

  /** Closes the socket (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Closes the socket (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #forget(address: string): void {
    const i = this.#endpoints.lastIndexOf(address);
    if (i >= 0) this.#endpoints.splice(i, 1);
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new ClosedError(`${this.type} ${what}: the socket is closed`);
  }

  #unsupported(what: string, need: string): ZkitError {
    return new ZkitError(ErrorCode.NotSupported, `${what} is not possible on a ${this.type} socket; use ${need}`);
  }

  #busy(): ZkitError {
    return new ZkitError(ErrorCode.Busy, `${this.type} receive: another receive is already pending on this socket; read each socket from one place (one for-await loop, or a ZLoop reader)`);
  }
}

/** libzmq's ZMQ_ROUTER_NOTIFY (a draft option that zeromq.js does not name). */
const ZMQ_ROUTER_NOTIFY = 97;

interface NativeOptions {
  setInt32Option(id: number, value: number): void;
  getInt32Option(id: number): number;
}

function nativeOptions(raw: unknown): NativeOptions {
  return raw as NativeOptions;
}

/** Sets one option on a zeromq.js socket, including the ones zkit adds (`routerNotify`). */
function setOption(raw: unknown, type: SocketType, name: string, value: unknown): void {
  if (name === "routerNotify") {
    if (type !== "ROUTER") throw new Error("routerNotify is an option of ROUTER sockets only");
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 3) {
      throw new Error(`routerNotify must be a combination of ROUTER_NOTIFY_CONNECT (1) and ROUTER_NOTIFY_DISCONNECT (2), got ${describeValue(value)}`);
    }
    if (!zmq.capability.draft) throw new Error("routerNotify needs libzmq built with draft APIs");
    nativeOptions(raw).setInt32Option(ZMQ_ROUTER_NOTIFY, value);
    return;
  }
  (raw as Record<string, unknown>)[name] = value;
}

function rejected(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(noop);
  return p;
}
