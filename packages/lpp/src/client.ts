/**
 * LazyPirateClient: reliable request-reply over a plain REQ socket (ZeroMQ
 * Guide chapter 4, "Client-Side Reliability"). Each attempt waits
 * `timeoutMs` for a reply; on silence the socket is closed, a fresh one is
 * opened and the request resent, up to `retries` times, then the request
 * fails with {@link RetriesExhaustedError}.
 * @module
 */
import { EventEmitter } from "node:events";
import {
  AbortError,
  ClosedError,
  ZSocket,
  getLogger,
  parseEndpoints,
  readOptions,
  toFrames,
  type MessageLike,
  type NumberRule,
  type TraceFn,
} from "@zkit/core";
import { RetriesExhaustedError } from "./errors.js";
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

/** What the `retry` event reports. */
export interface RetryEvent {
  /** The attempt that timed out (1 for the first send). */
  readonly attempt: number;
  /** Resends left after the one about to happen. */
  readonly retriesLeft: number;
  /** The timeout that passed, in ms. */
  readonly timeoutMs: number;
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
  readonly resolve: (reply: Buffer[]) => void;
  readonly reject: (err: unknown) => void;
  onAbort: (() => void) | undefined;
}

const TIMED_OUT: unique symbol = Symbol("timed out");
const ABORTED: unique symbol = Symbol("aborted");
const CLOSING: unique symbol = Symbol("closing");
type Stop = typeof TIMED_OUT | typeof ABORTED | typeof CLOSING;

/** One attempt's end: its deadline, the caller's signal or the client closing, whichever comes first. */
class AttemptEnd {
  readonly promise: Promise<Stop>;
  #timer: NodeJS.Timeout | undefined;
  #cleanup: (() => void)[] = [];

  constructor(ms: number, signal: AbortSignal | undefined, closing: AbortSignal) {
    this.promise = new Promise<Stop>((resolve) => {
      this.#timer = setTimeout(() => resolve(TIMED_OUT), ms);
      const listen = (s: AbortSignal, value: Stop): void => {
        if (s.aborted) return resolve(value);
        const on = (): void => resolve(value);
        s.addEventListener("abort", on, { once: true });
        this.#cleanup.push(() => s.removeEventListener("abort", on));
      };
      listen(closing, CLOSING);
      if (signal) listen(signal, ABORTED);
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    for (const f of this.#cleanup) f();
  }
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
export class LazyPirateClient extends EventEmitter<LazyPirateClientEvents> {
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #match: MatchFn | undefined;
  readonly #trace: TraceFn | undefined;
  #sock: ZSocket<"REQ"> | undefined;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #closing = new AbortController();
  #stats = { requests: 0, replies: 0, retries: 0, unmatched: 0, failed: 0, aborted: 0 };

  /**
   * @param options - see {@link LazyPirateClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option (the message
   *   names it); `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: LazyPirateClientOptions) {
    super();
    const o = readOptions(options, { owner: "LazyPirateClient", example: '{ endpoint: "tcp://localhost:5555" }' });
    this.#endpoint = o.requiredString("endpoint", "tcp://localhost:5555", "the server to connect to");
    parseEndpoints(this.#endpoint, false); // throws InvalidEndpointError now rather than at the first request
    this.#timeoutMs = o.number("timeoutMs", LPP_TIMEOUT_MS, TIMEOUT_RULE);
    this.#retries = o.number("retries", LPP_RETRIES, RETRIES_RULE);
    this.#match = o.function<MatchFn>("match", "(request, reply) => boolean, e.g. echoMatch");
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
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

  /** True once {@link LazyPirateClient.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request and resolves with its reply's frames.
   *
   * @param body - one frame or an array of frames (strings are sent as UTF-8)
   * @param options - per-request `timeoutMs`, `retries` and `signal`
   * @returns the reply, which passed `match` when one is set
   * @throws (rejects) {@link RetriesExhaustedError} (code `ZKIT_TIMEOUT`)
   *   when every attempt timed out; `AbortError` when `signal` aborted;
   *   `ClosedError` when the client is or gets closed; `InvalidArgumentError`
   *   for a bad body or option
   */
  request(body: MessageLike, options: LazyPirateRequestOptions = {}): Promise<Buffer[]> {
    return new Promise<Buffer[]>((resolve, reject) => {
      if (this.#closed) return reject(new ClosedError("LazyPirateClient.request: the client is closed"));
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
        return reject(abortError(signal));
      }
      const p: Pending = { frames, timeoutMs, retries, signal, resolve, reject, onAbort: undefined };
      if (signal) {
        // while it waits for its turn; once running, the attempt watches the signal
        p.onAbort = () => {
          const i = this.#queue.indexOf(p);
          if (i < 0) return;
          this.#queue.splice(i, 1);
          this.#stats.aborted++;
          reject(abortError(signal));
        };
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.#stats.requests++;
      this.#queue.push(p);
      if (this.#running === undefined) this.#running = this.#pump();
    });
  }

  /**
   * Closes the client: the request in flight and those waiting reject with
   * `ClosedError`, the socket is closed. Idempotent; resolves once the
   * request in flight has settled.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#closing.abort();
      for (const p of this.#queue.splice(0)) {
        this.#unlisten(p);
        p.reject(new ClosedError("LazyPirateClient: the client was closed before the request was sent"));
      }
      this.#discard();
    }
    await this.#running;
  }

  /** Closes the client (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
  async #run(p: Pending): Promise<Buffer[]> {
    for (let attempt = 1; ; attempt++) {
      const reply = await this.#attempt(p);
      if (reply !== TIMED_OUT) return reply;
      if (attempt > p.retries) {
        this.#stats.failed++;
        log.warn("no reply after %d attempt(s) of %d ms: giving up", attempt, p.timeoutMs);
        throw new RetriesExhaustedError(attempt, p.timeoutMs);
      }
      this.#stats.retries++;
      log.info("no reply within %d ms (attempt %d): reconnecting and resending", p.timeoutMs, attempt);
      this.emit("retry", { attempt, retriesLeft: p.retries - attempt, timeoutMs: p.timeoutMs, request: p.frames });
    }
  }

  /** One attempt: the reply, or TIMED_OUT (the socket is then discarded). */
  async #attempt(p: Pending): Promise<Buffer[] | typeof TIMED_OUT> {
    const end = new AttemptEnd(p.timeoutMs, p.signal, this.#closing.signal);
    try {
      const sock = await this.#socket();
      this.#trace?.({ direction: "out", socket: "server", frames: p.frames });
      const sent = await Promise.race([sock.send(p.frames), end.promise]);
      if (sent !== undefined) return this.#stop(sent, p);
      for (;;) {
        const got = await Promise.race([sock.receive(), end.promise]);
        if (!Array.isArray(got)) return this.#stop(got, p);
        this.#trace?.({ direction: "in", socket: "server", frames: got });
        if (this.#matches(p.frames, got)) {
          this.#stats.replies++;
          return got;
        }
        // REQ delivers one reply per request: nothing else can come on this
        // socket, so wait out the attempt and retry on a fresh one.
        return this.#stop(await end.promise, p);
      }
    } catch (err) {
      this.#discard();
      if (this.#closed) throw new ClosedError("LazyPirateClient: the client was closed while the request was in flight", { cause: err });
      throw err;
    } finally {
      end.dispose();
    }
  }

  #stop(why: Stop, p: Pending): typeof TIMED_OUT {
    this.#discard();
    if (why === TIMED_OUT) return TIMED_OUT;
    if (why === ABORTED) {
      this.#stats.aborted++;
      throw abortError(p.signal!);
    }
    throw new ClosedError("LazyPirateClient: the client was closed while the request was in flight");
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
      this.emit("unmatched", { request, reply });
    }
    return ok;
  }

  async #socket(): Promise<ZSocket<"REQ">> {
    if (this.#sock !== undefined && !this.#sock.closed) return this.#sock;
    // linger 0: a request left behind by a closed socket must never be delivered later
    const sock = new ZSocket("REQ", { linger: 0 });
    try {
      await sock.attach(this.#endpoint, false);
    } catch (err) {
      sock.close();
      throw err;
    }
    if (this.#closed) {
      sock.close();
      throw new ClosedError("LazyPirateClient: the client was closed while the request was in flight");
    }
    this.#sock = sock;
    return sock;
  }

  #discard(): void {
    this.#sock?.close();
    this.#sock = undefined;
  }
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError("LazyPirateClient.request: aborted", { cause: signal.reason });
}

const TIMEOUT_RULE: NumberRule = { min: 0, exclusive: true };
const RETRIES_RULE: NumberRule = { min: 0, integer: true, meaning: "resends after the first attempt" };
