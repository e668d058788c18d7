/**
 * MajordomoClient: the Guide's synchronous Majordomo client API (mdcliapi)
 * with Lazy Pirate retries: one request at a time, a timeout per attempt,
 * a fresh socket for every resend.
 * @module
 */
import { ClosedError, RETRIES_RULE, TIMED_OUT, TIMEOUT_RULE, ZSocket, getLogger, raceDeadline, readOptions, type FrameLike, type TraceFn } from "@zkit/core";
import { Lifecycle, Reply, withRetries, type RetryEvent } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { decodeClientReply, encodeRequest, printable } from "./protocol.js";
import { MDP_RETRIES, MDP_TIMEOUT_MS, checkRequest, readEndpoint, type CheckedRequest, type MajordomoRequestOptions } from "./request.js";

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
   * fresh socket, before `request()` rejects with `RetriesExhaustedError`
   * (`retries: 3` means up to four sends in all).
   * @defaultValue 3
   */
  retries?: number;
  /** Called with every message the client sends or receives. */
  trace?: TraceFn;
  /**
   * How the connection to the broker is secured (`@zkit/security`): for
   * CURVE the client's key pair and the broker's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(brokerKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong broker key, a key the
   * broker's ZAuth refuses) rejects the request with a `HandshakeError`
   * that says so, at once, not with a timeout after every retry.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The counters of a {@link MajordomoClient}. */
export interface MajordomoClientStats {
  /** Calls to `request()`. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Attempts that timed out (each leads to a resend or a `TimeoutError`). */
  timeouts: number;
  /** Requests that gave up with `RetriesExhaustedError`. */
  failures: number;
  /** Messages dropped because they were not the reply awaited (malformed, another service). */
  unmatched: number;
}

const OPTION_NAMES = ["endpoint", "timeoutMs", "retries", "trace", "security"] as const;

/** The events of a {@link MajordomoClient}. */
export interface MajordomoClientEvents {
  /** An attempt timed out: the socket was replaced and the request is sent again. */
  retry: [event: RetryEvent & { service: string }];
}

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
export class MajordomoClient extends Lifecycle<MajordomoClientEvents> {
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #trace: TraceFn | undefined;
  readonly #stats: MajordomoClientStats = { requests: 0, replies: 0, timeouts: 0, failures: 0, unmatched: 0 };
  readonly #security: SecuritySocketOptions | undefined;
  #socket: ZSocket<"DEALER"> | undefined;
  #guard: HandshakeGuard | undefined;
  #turn: Promise<void> = Promise.resolve();
  readonly #closing = new AbortController();

  /**
   * @param options - see {@link MajordomoClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option,
   *   `InvalidEndpointError` for an endpoint that is not CZMQ syntax
   */
  constructor(options: MajordomoClientOptions) {
    super({ owner: "MajordomoClient", channel: "zkit:mdp:client" });
    const o = readOptions(options, { owner: "MajordomoClient", known: OPTION_NAMES });
    this.endpoint = readEndpoint(o);
    this.#timeoutMs = o.number("timeoutMs", MDP_TIMEOUT_MS, TIMEOUT_RULE);
    this.#retries = o.number("retries", MDP_RETRIES, RETRIES_RULE);
    this.#trace = o.function<TraceFn>("trace");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "MajordomoClient", role: "client" });
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<MajordomoClientStats> {
    return this.#stats;
  }

  /**
   * Sends a request to `service` and resolves with the reply's body frames
   * (the frames after the service frame). The client starts by itself on
   * the first request.
   *
   * @param service - the service name, e.g. `"echo"` or `"mmi.service"`
   * @param body - the request body: one frame or several; none is sent as
   *   one empty frame, as 7/MDP requires
   * @param opts - per-request `timeoutMs`, `retries` and `signal`
   * @returns a {@link Reply}: the body frames, with `text()` and `json()`
   * @throws (rejects) `RetriesExhaustedError` (a `TimeoutError`) when no
   *   reply came after `retries` resends; `HandshakeError` when the
   *   `security` handshake with the broker failed; `AbortError` when `signal`
   *   aborts; `ClosedError` when the client is (or gets) closed;
   *   `InvalidArgumentError` for bad arguments
   */
  async request(service: string, body: FrameLike | readonly FrameLike[] = [], opts?: MajordomoRequestOptions): Promise<Reply> {
    const req = checkRequest("MajordomoClient.request", service, body, opts, { timeoutMs: this.#timeoutMs, retries: this.#retries });
    if (this.closed) throw new ClosedError("MajordomoClient.request: the client is closed");
    void this.start();
    this.#stats.requests++;
    // one request at a time, in call order: the next caller waits for the
    // one before it and for this one
    const previous = this.#turn;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.#turn = previous.then(() => mine);
    const what = `MajordomoClient.request("${req.serviceName}")`;
    try {
      await raceDeadline(previous, { timeoutMs: Infinity, signal: req.signal, what });
      return await withRetries((_n, timeoutMs) => this.#attempt(req, timeoutMs, what), {
        retries: req.retries,
        timeoutMs: req.timeoutMs,
        signal: req.signal,
        what,
        onRetry: (e) => {
          log.warn("%s: no reply within %d ms, resending (%d of %d)", what, e.timeoutMs, e.attempt, req.retries);
          this.notify("retry", { ...e, service: req.serviceName });
        },
      });
    } catch (err) {
      if ((err as { name?: string })?.name === "RetriesExhaustedError") this.#stats.failures++;
      if (this.#closing.signal.aborted && !(err instanceof ClosedError)) throw new ClosedError(`${what}: the client was closed`, { cause: err });
      throw err;
    } finally {
      release();
    }
  }

  /** One attempt: send, then wait for the reply until its timeout (TIMED_OUT: the socket is then discarded). */
  async #attempt(req: CheckedRequest, timeoutMs: number, what: string): Promise<Reply | typeof TIMED_OUT> {
    if (this.closed) throw new ClosedError(`${what}: the client is closed`);
    const socket = await this.#open();
    const request = encodeRequest(req.service, req.body);
    this.#trace?.({ direction: "out", socket: "broker", frames: request });
    socket.post(request); // a failure (socket closed meanwhile) shows as a timeout
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      let ready: boolean | typeof TIMED_OUT;
      try {
        const readable = socket.waitReadable();
        ready = await raceDeadline(this.#guard === undefined ? readable : this.#guard.race(readable), { timeoutMs: deadline - performance.now(), signal: req.signal, what });
      } catch (err) {
        this.#discard(); // the reply may still come: never on this socket
        throw err;
      }
      if (ready === TIMED_OUT) {
        this.#stats.timeouts++;
        this.#discard(); // Lazy Pirate: a fresh socket, so a late reply is never taken for the next one
        return TIMED_OUT;
      }
      if (!ready) throw new ClosedError(`${what}: the client was closed while waiting`);
      const frames = await socket.receive();
      this.#trace?.({ direction: "in", socket: "broker", frames });
      const msg = decodeClientReply(frames);
      if (msg.kind === "reply" && msg.service.equals(req.service)) {
        this.#stats.replies++;
        return Reply.fromFrames(msg.body);
      }
      this.#stats.unmatched++;
      log.warn("%s: dropped a message that is not its reply: %s", what, msg.kind === "invalid" ? msg.error.message : `a reply from service ${printable(msg.service)}`);
    }
  }

  async #open(): Promise<ZSocket<"DEALER">> {
    if (this.#socket === undefined || this.#socket.closed) {
      if (this.#security === undefined) this.#socket = await ZSocket.dealer(this.endpoint, { linger: 0 });
      else {
        // the guard watches before the socket connects: libzmq reports only what happens after
        const socket = new ZSocket("DEALER", { ...this.#security, linger: 0 });
        this.#guard = new HandshakeGuard(socket);
        this.#socket = socket;
        await socket.attach(this.endpoint);
      }
      if (this.closed) {
        this.#socket.close();
        throw new ClosedError("MajordomoClient.request: the client is closed");
      }
    }
    return this.#socket;
  }

  #discard(): void {
    this.#guard?.close();
    this.#guard = undefined;
    this.#socket?.close();
    this.#socket = undefined;
  }

  /** Nothing to do: the socket is opened by the first request. */
  protected onStart(): void {}

  /** A request in progress rejects with `ClosedError`; the socket closes. */
  protected onClose(): void {
    this.#closing.abort();
    this.#discard();
  }
}
