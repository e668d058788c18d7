/**
 * MajordomoClient: the Guide's synchronous Majordomo client API (mdcliapi)
 * with Lazy Pirate retries: one request at a time, a timeout per attempt,
 * a fresh socket for every resend.
 * @module
 */
import { ClosedError, TimeoutError, ZSocket, getLogger, readOptions, type FrameLike, type TraceFn } from "@zkit/core";
import { decodeClientReply, encodeRequest, printable } from "./protocol.js";
import {
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_MS,
  RETRIES_RULE,
  TIMED_OUT,
  TIMEOUT_RULE,
  abortError,
  checkRequest,
  race,
  readEndpoint,
  type CheckedRequest,
  type MajordomoRequestOptions,
} from "./request.js";

const log = getLogger("mdp");

/** Options of {@link MajordomoClient}. */
export interface MajordomoClientOptions {
  /** The broker: `"tcp://host:5555"` or `">tcp://host:5555"` (connects); a CZMQ endpoint list. */
  endpoint: string;
  /**
   * How long to wait for the reply to one attempt, in ms.
   * @defaultValue 2500
   */
  timeoutMs?: number;
  /**
   * How many times a request is resent after a timeout, each time on a
   * fresh socket, before `request()` rejects with `TimeoutError`
   * (`retries: 3` means up to four sends in all).
   * @defaultValue 3
   */
  retries?: number;
  /** Called with every message the client sends or receives. */
  trace?: TraceFn;
}

/** The counters of a {@link MajordomoClient}. */
export interface MajordomoClientStats {
  /** Calls to `request()`. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Attempts that timed out (each leads to a resend or a `TimeoutError`). */
  timeouts: number;
  /** Requests that gave up with `TimeoutError`. */
  failures: number;
  /** Messages dropped because they were not the reply awaited (malformed, another service). */
  unmatched: number;
}

const OPTION_NAMES = ["endpoint", "timeoutMs", "retries", "trace"] as const;

/**
 * A synchronous-style Majordomo client (7/MDP, the Guide's `mdcliapi`) with
 * Lazy Pirate reliability: each attempt waits `timeoutMs`; after a timeout
 * the socket is closed (a late reply can never be mistaken for the next
 * one) and the request is resent on a fresh one, up to `retries` times.
 *
 * Requests run one at a time: concurrent calls wait their turn, in call
 * order. For many requests in flight use {@link MajordomoAsyncClient}.
 *
 * @example
 * ```ts
 * const client = new MajordomoClient({ endpoint: "tcp://127.0.0.1:5555" });
 * const [reply] = await client.request("echo", "Hello world");
 * console.log(reply!.toString()); // Hello world
 * await client.close();
 * ```
 */
export class MajordomoClient {
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #trace: TraceFn | undefined;
  readonly #stats: MajordomoClientStats = { requests: 0, replies: 0, timeouts: 0, failures: 0, unmatched: 0 };
  #socket: ZSocket<"DEALER"> | undefined;
  #turn: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * @param options - see {@link MajordomoClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option,
   *   `InvalidEndpointError` for an endpoint that is not CZMQ syntax
   */
  constructor(options: MajordomoClientOptions) {
    const o = readOptions(options, { owner: "MajordomoClient", known: OPTION_NAMES });
    this.endpoint = readEndpoint(o);
    this.#timeoutMs = o.number("timeoutMs", DEFAULT_TIMEOUT_MS, TIMEOUT_RULE);
    this.#retries = o.number("retries", DEFAULT_RETRIES, RETRIES_RULE);
    this.#trace = o.function<TraceFn>("trace");
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<MajordomoClientStats> {
    return this.#stats;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request to `service` and resolves with the reply's body frames
   * (the frames after the service frame).
   *
   * @param service - the service name, e.g. `"echo"` or `"mmi.service"`
   * @param body - the request body: one frame or several
   * @param opts - per-request `timeoutMs`, `retries` and `signal`
   * @throws (rejects) `TimeoutError` when no reply came after `retries`
   *   resends; `AbortError` when `signal` aborts; `ClosedError` when the
   *   client is (or gets) closed; `InvalidArgumentError` for bad arguments
   */
  async request(service: string, body: FrameLike | readonly FrameLike[], opts?: MajordomoRequestOptions): Promise<Buffer[]> {
    const req = checkRequest("MajordomoClient.request", service, body, opts, { timeoutMs: this.#timeoutMs, retries: this.#retries });
    if (this.#closed) throw new ClosedError("MajordomoClient.request: the client is closed");
    this.#stats.requests++;
    // one request at a time, in call order: the next caller waits for the
    // one before it and for this one
    const previous = this.#turn;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.#turn = previous.then(() => mine);
    try {
      await race(previous, Infinity, req.signal, `MajordomoClient.request("${req.serviceName}")`);
      return await this.#attempts(req);
    } finally {
      release();
    }
  }

  async #attempts(req: CheckedRequest): Promise<Buffer[]> {
    const what = `MajordomoClient.request("${req.serviceName}")`;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClosedError(`${what}: the client is closed`);
      if (req.signal?.aborted) throw abortError(what, req.signal);
      const socket = await this.#open();
      const request = encodeRequest(req.service, req.body);
      this.#trace?.({ direction: "out", socket: "broker", frames: request });
      void socket.send(request);
      const reply = await this.#await(socket, req, what);
      if (reply !== undefined) {
        this.#stats.replies++;
        return reply;
      }
      this.#stats.timeouts++;
      this.#discard(); // Lazy Pirate: a fresh socket, so a late reply is never taken for the next one
      if (attempt >= req.retries) {
        this.#stats.failures++;
        throw new TimeoutError(`${what}: no reply after ${attempt + 1} attempt(s) of ${req.timeoutMs} ms each`);
      }
      log.warn("%s: no reply within %d ms, resending (%d of %d)", what, req.timeoutMs, attempt + 1, req.retries);
    }
  }

  async #open(): Promise<ZSocket<"DEALER">> {
    if (this.#socket === undefined || this.#socket.closed) {
      this.#socket = await ZSocket.dealer(this.endpoint, { linger: 0 });
      if (this.#closed) {
        this.#socket.close();
        throw new ClosedError("MajordomoClient.request: the client is closed");
      }
    }
    return this.#socket;
  }

  /** Waits for the reply to `req` until its timeout; undefined when it timed out. */
  async #await(socket: ZSocket<"DEALER">, req: CheckedRequest, what: string): Promise<Buffer[] | undefined> {
    const deadline = performance.now() + req.timeoutMs;
    for (;;) {
      let ready: boolean | typeof TIMED_OUT;
      try {
        ready = await race(socket.waitReadable(), deadline - performance.now(), req.signal, what);
      } catch (err) {
        this.#discard(); // the reply may still come: never on this socket
        throw err;
      }
      if (ready === TIMED_OUT) return undefined;
      if (!ready) throw new ClosedError(`${what}: the client was closed while waiting`);
      const frames = await socket.receive();
      this.#trace?.({ direction: "in", socket: "broker", frames });
      const msg = decodeClientReply(frames);
      if (msg.kind === "reply" && msg.service.equals(req.service)) return msg.body;
      this.#stats.unmatched++;
      log.warn("%s: dropped a message that is not its reply: %s", what, msg.kind === "invalid" ? msg.error.message : `a reply from service ${printable(msg.service)}`);
    }
  }

  #discard(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }

  /**
   * Closes the client: a request in progress rejects with `ClosedError`.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#discard();
    return Promise.resolve();
  }

  /** Closes the client (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
