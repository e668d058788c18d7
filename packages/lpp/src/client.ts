/**
 * LazyPirateClient: reliable request-reply over a plain REQ socket (ZeroMQ
 * Guide chapter 4, "Client-Side Reliability"). Each attempt waits
 * `timeoutMs` for a reply; on silence the socket is closed, a fresh one is
 * opened and the request resent, up to `retries` times, then the request
 * fails with {@link RetriesExhaustedError}.
 * @module
 */
import {
  ClosedError,
  RETRIES_RULE,
  TIMED_OUT,
  TIMEOUT_RULE,
  ZSocket,
  abortError,
  getLogger,
  parseEndpoints,
  raceDeadline,
  readOptions,
  toFrames,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { Lifecycle, Reply, withRetries, type RetryEvent as LayerRetryEvent } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { LPP_RETRIES, LPP_TIMEOUT_MS, type MatchFn } from "./protocol.js";

const log = getLogger("lpp");

/** Options of a {@link LazyPirateClient}. */
export interface LazyPirateClientOptions {
  /**
   * The server (or queue) to talk to, as a CZMQ endpoint list: an endpoint
   * with no prefix connects, e.g. `"tcp://localhost:5555"`. With several
   * endpoints, REQ sends each attempt to the next one (round robin).
   */
  endpoint: string;
  /**
   * How long each attempt waits for a reply, in ms.
   * @defaultValue 2500 ({@link LPP_TIMEOUT_MS}, the Guide's `REQUEST_TIMEOUT`)
   */
  timeoutMs?: number;
  /**
   * How many times a request is resent after its first attempt timed out;
   * 0 sends it once. A request is sent at most `1 + retries` times.
   * @defaultValue 3 ({@link LPP_RETRIES})
   */
  retries?: number;
  /**
   * Decides whether a reply answers the request in flight; a reply for which
   * it returns false (or throws) is counted in `stats.unmatched`, emitted as
   * `unmatched`, dropped, and the attempt goes on waiting until its timeout.
   * `echoMatch` is the Guide's check (the reply equals the request).
   * @defaultValue undefined (every reply answers)
   */
  match?: MatchFn;
  /**
   * Called with every message sent or received (`socket: "server"`), for
   * tracing (`zkit lpp client -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
  /**
   * How the connection to the server is secured (`@zkit/security`): for
   * CURVE the client's key pair and the server's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(serverKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong server key, a key the
   * server's ZAuth refuses) rejects the request with a `HandshakeError`
   * that says so, at once, not with `RetriesExhaustedError` after every
   * retry.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** Per-request settings of {@link LazyPirateClient.request}; each defaults to the client's. */
export interface LazyPirateRequestOptions {
  /** Reply timeout of each attempt of this request, in ms. */
  timeoutMs?: number;
  /** Resends after the first attempt, for this request. */
  retries?: number;
  /**
   * Cancels the request, whether it is waiting for its turn or in flight:
   * it rejects with `AbortError` (and the socket is replaced, since REQ
   * cannot drop a request it sent).
   */
  signal?: AbortSignal;
}

/** What the `retry` event reports: the layer's retry event, and the request being resent. */
export interface RetryEvent extends LayerRetryEvent {
  /** The request being resent. */
  readonly request: readonly Buffer[];
}

/** What the `unmatched` event reports. */
export interface UnmatchedEvent {
  /** The request in flight. */
  readonly request: readonly Buffer[];
  /** The reply that did not answer it, dropped. */
  readonly reply: readonly Buffer[];
}

/** The events of a {@link LazyPirateClient}. */
export interface LazyPirateClientEvents {
  /** An attempt timed out: the socket was replaced and the request is sent again. */
  retry: [event: RetryEvent];
  /** A reply did not pass `match` and was dropped. */
  unmatched: [event: UnmatchedEvent];
}

/** The counters of a {@link LazyPirateClient}, since it was created. */
export interface LazyPirateClientStats {
  /** Requests accepted by {@link LazyPirateClient.request}. */
  readonly requests: number;
  /** Requests that got their reply. */
  readonly replies: number;
  /** Resends after a timeout (each one on a fresh socket). */
  readonly retries: number;
  /** Replies dropped because `match` rejected them. */
  readonly unmatched: number;
  /** Requests that failed with {@link RetriesExhaustedError}. */
  readonly failed: number;
  /** Requests cancelled through their `AbortSignal`. */
  readonly aborted: number;
}

interface Pending {
  readonly frames: Buffer[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: unknown) => void;
  onAbort: (() => void) | undefined;
}

/**
 * A Lazy Pirate client: `request()` sends over a REQ socket and waits for
 * the reply; if none comes within `timeoutMs`, it closes the socket (a REQ
 * socket that lost its reply is stuck), opens a fresh one and resends, up to
 * `retries` times, then rejects with {@link RetriesExhaustedError}.
 *
 * A reply from an earlier attempt can never be mistaken for the answer: it
 * would arrive on a socket that is already closed. Replies that do not pass
 * the `match` option are dropped too.
 *
 * Concurrent `request()` calls are serialized (REQ is lockstep): they are
 * sent one after the other in call order, and each one's `timeoutMs`
 * counts from its own send, not from the call.
 *
 * @example
 * ```ts
 * const client = new LazyPirateClient({ endpoint: "tcp://localhost:5555", match: echoMatch });
 * client.on("retry", ({ attempt }) => console.log(`W: no response from server, retrying (${attempt})`));
 * try {
 *   const reply = await client.request("1");
 *   console.log(`I: server replied OK (${reply[0]})`);
 * } catch (err) {
 *   if (err instanceof RetriesExhaustedError) console.log("E: server seems to be offline, abandoning");
 * }
 * await client.close();
 * ```
 */
export class LazyPirateClient extends Lifecycle<LazyPirateClientEvents> {
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #match: MatchFn | undefined;
  readonly #trace: TraceFn | undefined;
  readonly #security: SecuritySocketOptions | undefined;
  #sock: ZSocket<"REQ"> | undefined;
  #guard: HandshakeGuard | undefined;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  readonly #closing = new AbortController();
  #stats = { requests: 0, replies: 0, retries: 0, unmatched: 0, failed: 0, aborted: 0 };

  /**
   * @param options - see {@link LazyPirateClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option (the message
   *   names it); `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: LazyPirateClientOptions) {
    super({ owner: "LazyPirateClient", channel: "zkit:lpp:client" });
    const o = readOptions(options, { owner: "LazyPirateClient", example: '{ endpoint: "tcp://localhost:5555" }' });
    this.#endpoint = o.requiredString("endpoint", "tcp://localhost:5555", "the server to connect to");
    parseEndpoints(this.#endpoint, false); // throws InvalidEndpointError now rather than at the first request
    this.#timeoutMs = o.number("timeoutMs", LPP_TIMEOUT_MS, TIMEOUT_RULE);
    this.#retries = o.number("retries", LPP_RETRIES, RETRIES_RULE);
    this.#match = o.function<MatchFn>("match", "(request, reply) => boolean, e.g. echoMatch");
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "LazyPirateClient", role: "client" });
  }

  /** The endpoint list the client connects to, as given. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** The counters since the client was created (a snapshot). */
  get stats(): LazyPirateClientStats {
    return { ...this.#stats };
  }

  /** Requests not settled yet: the one in flight and those waiting for their turn. */
  get pending(): number {
    return this.#queue.length + (this.#running !== undefined ? 1 : 0);
  }

  /**
   * Sends a request and resolves with its reply. The client starts by
   * itself on the first request (it connects then).
   *
   * @param body - one frame or an array of frames (strings are sent as UTF-8)
   * @param options - per-request `timeoutMs`, `retries` and `signal`
   * @returns the reply (a {@link Reply}: its frames, with `text()`), which
   *   passed `match` when one is set
   * @throws (rejects) {@link RetriesExhaustedError} (code `ZKIT_TIMEOUT`)
   *   when every attempt timed out; `HandshakeError` when the `security`
   *   handshake with the server failed; `AbortError` when `signal` aborted;
   *   `ClosedError` when the client is or gets closed; `InvalidArgumentError`
   *   for a bad body or option
   */
  request(body: MessageLike, options: LazyPirateRequestOptions = {}): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (this.closed) return reject(new ClosedError("LazyPirateClient.request: the client is closed"));
      let frames: Buffer[];
      let timeoutMs: number;
      let retries: number;
      let signal: AbortSignal | undefined;
      try {
        const o = readOptions(options, { owner: "LazyPirateClient.request", example: "{ timeoutMs: 1000 }" });
        frames = toFrames(body, "LazyPirateClient.request(body)");
        timeoutMs = o.number("timeoutMs", this.#timeoutMs, TIMEOUT_RULE);
        retries = o.number("retries", this.#retries, RETRIES_RULE);
        signal = o.signal("signal");
      } catch (err) {
        return reject(err);
      }
      if (signal?.aborted) {
        this.#stats.aborted++;
        return reject(abortError("LazyPirateClient.request", signal));
      }
      void this.start();
      const p: Pending = { frames, timeoutMs, retries, signal, resolve, reject, onAbort: undefined };
      if (signal) {
        // while it waits for its turn; once running, the attempt watches the signal
        p.onAbort = () => {
          const i = this.#queue.indexOf(p);
          if (i < 0) return;
          this.#queue.splice(i, 1);
          this.#stats.aborted++;
          reject(abortError("LazyPirateClient.request", signal));
        };
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.#stats.requests++;
      this.#queue.push(p);
      if (this.#running === undefined) this.#running = this.#pump();
    });
  }

  /** Nothing to do: the socket is opened by the first request. */
  protected onStart(): void {}

  /**
   * Closes the client: the request in flight and those waiting reject with
   * `ClosedError`, the socket is closed; resolves once the request in flight
   * has settled.
   */
  protected async onClose(): Promise<void> {
    this.#closing.abort();
    for (const p of this.#queue.splice(0)) {
      this.#unlisten(p);
      p.reject(new ClosedError("LazyPirateClient: the client was closed before the request was sent"));
    }
    this.#discard();
    await this.#running;
  }

  async #pump(): Promise<void> {
    try {
      for (let p = this.#queue.shift(); p !== undefined; p = this.#queue.shift()) {
        try {
          p.resolve(await this.#run(p));
        } catch (err) {
          p.reject(err);
        } finally {
          this.#unlisten(p);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  #unlisten(p: Pending): void {
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    p.onAbort = undefined;
  }

  /** All attempts of one request. */
  async #run(p: Pending): Promise<Reply> {
    try {
      return await withRetries((_n, timeoutMs) => this.#attempt(p, timeoutMs), {
        retries: p.retries,
        timeoutMs: p.timeoutMs,
        signal: p.signal,
        what: "LazyPirateClient.request",
        onRetry: (e) => {
          this.#stats.retries++;
          log.info("no reply within %d ms (attempt %d): reconnecting and resending", e.timeoutMs, e.attempt);
          this.notify("retry", { ...e, request: p.frames });
        },
      });
    } catch (err) {
      if ((err as { name?: string })?.name === "RetriesExhaustedError") {
        this.#stats.failed++;
        log.warn("%s", (err as Error).message);
      } else if ((err as { code?: string })?.code === "ZKIT_ABORTED") {
        this.#stats.aborted++;
      }
      throw err;
    }
  }

  /** One attempt: the reply, or TIMED_OUT (the socket is then discarded). */
  async #attempt(p: Pending, timeoutMs: number): Promise<Reply | typeof TIMED_OUT> {
    const what = "LazyPirateClient.request";
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    const closing = this.#closing.signal;
    try {
      const sock = await this.#socket();
      this.#trace?.({ direction: "out", socket: "server", frames: p.frames });
      const sent = await raceDeadline(this.#unlessClosing(this.#guarded(sock.send(p.frames))), { timeoutMs: left(), signal: p.signal, what });
      if (sent === TIMED_OUT) return this.#timedOut();
      const got = await raceDeadline(this.#unlessClosing(this.#guarded(sock.receive())), { timeoutMs: left(), signal: p.signal, what });
      if (got === TIMED_OUT) return this.#timedOut();
      this.#trace?.({ direction: "in", socket: "server", frames: got });
      if (this.#matches(p.frames, got)) {
        this.#stats.replies++;
        return Reply.fromFrames(got);
      }
      // REQ delivers one reply per request: nothing else can come on this
      // socket, so wait out the attempt and retry on a fresh one.
      await raceDeadline(this.#unlessClosing(new Promise<never>(() => {})), { timeoutMs: left(), signal: p.signal, what });
      return this.#timedOut();
    } catch (err) {
      this.#discard(); // aborted or failed: REQ cannot drop a request it sent
      if (closing.aborted) throw new ClosedError("LazyPirateClient: the client was closed while the request was in flight", { cause: err });
      throw err;
    }
  }

  /** `p`, or a rejection with ClosedError as soon as the client closes. */
  #unlessClosing<T>(p: Promise<T>): Promise<T> {
    const closing = this.#closing.signal;
    if (closing.aborted) return Promise.reject(new ClosedError("LazyPirateClient: closed"));
    return new Promise<T>((resolve, reject) => {
      const on = (): void => reject(new ClosedError("LazyPirateClient: closed"));
      closing.addEventListener("abort", on, { once: true });
      p.then(
        (v) => {
          closing.removeEventListener("abort", on);
          resolve(v);
        },
        (err: unknown) => {
          closing.removeEventListener("abort", on);
          reject(err);
        },
      );
    });
  }

  /** `p`, or a rejection with the HandshakeError when the socket's security handshake fails first. */
  #guarded<T>(p: Promise<T>): Promise<T> {
    return this.#guard === undefined ? p : this.#guard.race(p);
  }

  #timedOut(): typeof TIMED_OUT {
    this.#discard();
    return TIMED_OUT;
  }

  #matches(request: Buffer[], reply: Buffer[]): boolean {
    if (this.#match === undefined) return true;
    let ok: boolean;
    try {
      ok = this.#match(request, reply) === true;
    } catch (err) {
      log.warn("match threw (%s): the reply counts as unmatched", (err as Error)?.message ?? String(err));
      ok = false;
    }
    if (!ok) {
      this.#stats.unmatched++;
      log.warn("dropped a reply that does not answer the request in flight (%d frame(s))", reply.length);
      this.notify("unmatched", { request, reply });
    }
    return ok;
  }

  async #socket(): Promise<ZSocket<"REQ">> {
    if (this.#sock !== undefined && !this.#sock.closed) return this.#sock;
    // linger 0: a request left behind by a closed socket must never be delivered later
    const sock = new ZSocket("REQ", { ...this.#security, linger: 0 });
    // the guard watches before the socket connects: libzmq reports only what happens after
    const guard = this.#security === undefined ? undefined : new HandshakeGuard(sock);
    try {
      await sock.attach(this.#endpoint, false);
    } catch (err) {
      guard?.close();
      sock.close();
      throw err;
    }
    if (this.#closing.signal.aborted) {
      guard?.close();
      sock.close();
      throw new ClosedError("LazyPirateClient: the client was closed while the request was in flight");
    }
    this.#sock = sock;
    this.#guard = guard;
    return sock;
  }

  #discard(): void {
    this.#guard?.close();
    this.#guard = undefined;
    this.#sock?.close();
    this.#sock = undefined;
  }
}
