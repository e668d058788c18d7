/**
 * BinaryStarClient: the Lazy Pirate client over a Binary Star pair (the
 * Guide's `bstarcli`). It talks to one server at a time over a REQ socket;
 * when a reply does not come within the timeout it drops the socket,
 * switches to the other server, waits a settle delay (time for the pair to
 * fail over) and resends, on the retry loop of `@zkit/reliability`.
 * @module
 */
import { setMaxListeners } from "node:events";
import {
  ClosedError,
  DeadlineSignal,
  InvalidArgumentError,
  RETRIES_RULE,
  TIMED_OUT,
  TIMEOUT_RULE,
  ZSocket,
  abortError,
  getLogger,
  now,
  parseEndpoints,
  raceDeadline,
  readOptions,
  toFrames,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { Lifecycle, Reply, withRetries, type RetryEvent } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { BSTAR_TIMEOUT_MS, BSTAR_SETTLE_DELAY_MS, decodeRejected, type BinaryStarState } from "./protocol.js";

const log = getLogger("bstar");

/** Default of {@link BinaryStarClientOptions.retries}. */
export const BSTAR_RETRIES = 3;

/** Options of a {@link BinaryStarClient}. */
export interface BinaryStarClientOptions {
  /**
   * The two servers of the pair, primary first: an array of two endpoints,
   * or a comma-separated list (`"tcp://host1:5001,tcp://host2:5002"`). The
   * client starts with the first.
   */
  servers: string | readonly string[];
  /**
   * How long each attempt waits for a reply, in ms.
   * @defaultValue 1000 ({@link BSTAR_TIMEOUT_MS}, the Guide's `REQUEST_TIMEOUT`)
   */
  timeoutMs?: number;
  /**
   * How long to wait after switching servers before resending, in ms: time
   * for the other server to see that its peer is gone (2 heartbeats) so it
   * takes the request instead of rejecting it. Keep `timeoutMs +
   * settleDelayMs` at or above the servers' peer expiry.
   * @defaultValue 2000 ({@link BSTAR_SETTLE_DELAY_MS}, the Guide's `SETTLE_DELAY`)
   */
  settleDelayMs?: number;
  /**
   * Resends after the first attempt, each after a switch; `Infinity` keeps
   * trying, as the Guide's `bstarcli` does.
   * @defaultValue 3 ({@link BSTAR_RETRIES})
   */
  retries?: number;
  /**
   * Take zkit's answer to a rejected request (`["BSTAR-REJECTED"][state]`,
   * sent by servers with `answerRejectedVotes`) as "ask the other server":
   * switch at once, without waiting for the timeout (and without the settle
   * delay, unless the other server rejected the previous attempt too). Off,
   * such an answer is returned like any reply.
   * @defaultValue true
   */
  switchOnRejection?: boolean;
  /**
   * Close when the process is interrupted (SIGINT, SIGTERM) after
   * `handleInterrupts()` of `@zkit/core`: requests in flight reject with
   * `ClosedError`.
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
  /**
   * Called with every message sent or received (`socket` is the server's
   * endpoint), for tracing (`zkit bstar client -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
  /**
   * How the connections to the pair are secured (`@zkit/security`): for
   * CURVE the client's key pair and the pair's public key (both servers of
   * a pair share one key pair), `{ curve: { secretKey, publicKey, serverKey } }`
   * (or `cert.clientSecurity(pairKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong server key, a key the
   * server's ZAuth refuses) rejects the request with a `HandshakeError`
   * that says so, at once: failing over would not help, the other server
   * has the same key.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's pairs run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

const OPTION_NAMES = ["servers", "timeoutMs", "settleDelayMs", "retries", "switchOnRejection", "closeOnInterrupt", "trace", "security"] as const;

/** Per-request settings of {@link BinaryStarClient.request}; each defaults to the client's. */
export interface BinaryStarRequestOptions {
  /**
   * Reply timeout of each attempt of this request, in ms.
   * @defaultValue the client's `timeoutMs`
   */
  timeoutMs?: number;
  /**
   * Resends after the first attempt, for this request.
   * @defaultValue the client's `retries`
   */
  retries?: number;
  /**
   * Cancels the request, waiting for its turn or in flight: it rejects with `AbortError`.
   * @defaultValue undefined (not cancellable)
   */
  signal?: AbortSignal;
}

/** A switch to the other server (event `failover`). */
export interface FailoverInfo {
  /** The server it gave up on. */
  readonly from: string;
  /** The server it talks to now. */
  readonly to: string;
  /** No reply within the timeout, or the server answered that it rejected the request. */
  readonly reason: "timeout" | "rejected";
  /** How long it waits before resending, in ms. */
  readonly settleDelayMs: number;
  /** The attempt that failed (1 for the first send). */
  readonly attempt: number;
}

/** The events of a {@link BinaryStarClient}, besides `start` and `close`. */
export interface BinaryStarClientEvents {
  /** It switched servers and will resend. */
  failover: [info: FailoverInfo];
  /** An attempt failed (timeout or rejection) and the request is resent. */
  retry: [info: RetryEvent];
  /** A server answered that it rejected the request (it is passive, or waiting for its peer). */
  rejected: [info: { server: string; state: BinaryStarState }];
}

/** The counters of a {@link BinaryStarClient}, since it was created. */
export interface BinaryStarClientStats {
  /** Requests accepted by {@link BinaryStarClient.request}. */
  readonly requests: number;
  /** Requests that got their reply. */
  readonly replies: number;
  /** Resends. */
  readonly retries: number;
  /** Switches to the other server. */
  readonly failovers: number;
  /** Rejections answered by a server (`BSTAR-REJECTED`). */
  readonly rejections: number;
  /** Requests that failed with `RetriesExhaustedError`. */
  readonly failed: number;
  /** Requests cancelled through their signal. */
  readonly aborted: number;
}

const NEVER = new Promise<never>(() => {});

/**
 * A client of a Binary Star pair: Lazy Pirate over two servers.
 *
 * `request()` sends over a REQ socket to the current server and waits
 * `timeoutMs`. With no reply, it closes the socket (a REQ socket that lost
 * its reply is stuck, and a late reply must never be taken for the next
 * one), switches to the other server, waits `settleDelayMs` and resends on
 * a fresh socket; after `retries` resends it rejects with
 * `RetriesExhaustedError`. A server with `answerRejectedVotes` makes it
 * switch at once instead of after the timeout.
 *
 * Concurrent requests are sent one after the other, in call order (REQ is
 * lockstep); each one's timeout counts from its own send.
 *
 * @example
 * ```ts
 * const client = new BinaryStarClient({ servers: ["tcp://localhost:5001", "tcp://localhost:5002"] });
 * client.on("failover", ({ to }) => console.log(`W: no response from server, failing over to ${to}`));
 * const reply = await client.request("1");
 * console.log(`I: server replied OK (${reply.text()})`);
 * await client.close();
 * ```
 */
export class BinaryStarClient extends Lifecycle<BinaryStarClientEvents> {
  readonly #servers: readonly string[];
  readonly #timeoutMs: number;
  readonly #settleDelayMs: number;
  readonly #retries: number;
  readonly #switchOnRejection: boolean;
  readonly #trace: TraceFn | undefined;
  readonly #closing = new AbortController();
  #current = 0;
  readonly #security: SecuritySocketOptions | undefined;
  #sock: ZSocket<"REQ"> | undefined;
  #guard: HandshakeGuard | undefined;
  /** Waited before the next attempt: the settle delay after a switch. */
  #settleMs = 0;
  /** The last attempt ended in a rejection (two in a row: settle before the next). */
  #lastRejected = false;
  /** Requests run one at a time: each waits for this. */
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  #stats = { requests: 0, replies: 0, retries: 0, failovers: 0, rejections: 0, failed: 0, aborted: 0 };

  /**
   * @param options - see {@link BinaryStarClientOptions}
   * @throws `InvalidArgumentError` for a missing, unknown or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: BinaryStarClientOptions) {
    const o = readOptions(options, { owner: "BinaryStarClient", known: OPTION_NAMES, example: '{ servers: ["tcp://localhost:5001", "tcp://localhost:5002"] }' });
    super({ owner: "BinaryStarClient", channel: "zkit:bstar:client", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    const raw = o.raw("servers");
    const list = typeof raw === "string" ? raw.split(",").map((s) => s.trim()) : Array.isArray(raw) ? [...(raw as unknown[])] : undefined;
    if (list === undefined || list.length !== 2 || !list.every((s) => typeof s === "string" && s !== "")) {
      throw new InvalidArgumentError('BinaryStarClient option servers is required: pass the two servers of the pair, primary first, e.g. ["tcp://localhost:5001", "tcp://localhost:5002"]');
    }
    for (const s of list as string[]) {
      const specs = parseEndpoints(s, false);
      if (specs.length !== 1 || specs[0]!.bind) throw new InvalidArgumentError(`BinaryStarClient option servers: ${JSON.stringify(s)} must be one endpoint to connect to`);
    }
    this.#servers = (list as string[]).map((s) => parseEndpoints(s, false)[0]!.address);
    this.#timeoutMs = o.number("timeoutMs", BSTAR_TIMEOUT_MS, TIMEOUT_RULE);
    this.#settleDelayMs = o.number("settleDelayMs", BSTAR_SETTLE_DELAY_MS, { min: 0 });
    this.#retries = o.number("retries", BSTAR_RETRIES, { ...RETRIES_RULE, infinity: true });
    this.#switchOnRejection = o.boolean("switchOnRejection", true);
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "BinaryStarClient", role: "client" });
    // one listener per request waiting for its turn: any number may queue
    setMaxListeners(0, this.#closing.signal);
  }

  /** The two servers, in order. */
  get servers(): readonly string[] {
    return this.#servers;
  }

  /** The server the next request goes to. */
  get server(): string {
    return this.#servers[this.#current]!;
  }

  /** Requests not settled yet: the one in flight and those waiting for their turn. */
  get pending(): number {
    return this.#pending;
  }

  /** The counters since the client was created (a snapshot). */
  get stats(): BinaryStarClientStats {
    return { ...this.#stats };
  }

  /**
   * Sends a request to the pair and resolves with the reply.
   *
   * @param body - one frame or an array of frames (strings as UTF-8)
   * @param options - per-request `timeoutMs`, `retries` and `signal`
   * @returns the reply's frames, with `text()`, `json()`
   * @throws (rejects) `RetriesExhaustedError` (code `ZKIT_TIMEOUT`) when
   *   every attempt failed; `HandshakeError` when the `security`
   *   handshake with a server failed; `AbortError` when `signal` aborted;
   *   `ClosedError` when the client is or gets closed;
   *   `InvalidArgumentError` for a bad body or option
   */
  async request(body: MessageLike, options: BinaryStarRequestOptions = {}): Promise<Reply> {
    if (this.closed) throw new ClosedError("BinaryStarClient.request: the client is closed");
    const o = readOptions(options, { owner: "BinaryStarClient.request", known: ["timeoutMs", "retries", "signal"], example: "{ timeoutMs: 1000 }" });
    const frames = toFrames(body, "BinaryStarClient.request(body)");
    const timeoutMs = o.number("timeoutMs", this.#timeoutMs, TIMEOUT_RULE);
    const retries = o.number("retries", this.#retries, { ...RETRIES_RULE, infinity: true });
    const signal = o.signal("signal");
    if (signal?.aborted) {
      this.#stats.aborted++;
      throw abortError("BinaryStarClient.request", signal);
    }
    void this.start();
    this.#stats.requests++;
    this.#pending++;
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    // cancelled or closed while waiting for its turn: leave at once
    const stop = new DeadlineSignal(Infinity, signal, this.#closing.signal);
    try {
      await raceDeadline(previous, { timeoutMs: Infinity, signal: stop.signal, what: "BinaryStarClient.request" });
      return await this.#run(frames, timeoutMs, retries, stop.signal);
    } catch (err) {
      if (this.#closing.signal.aborted) throw new ClosedError("BinaryStarClient: the client was closed before the request was answered", { cause: err });
      if (signal?.aborted) this.#stats.aborted++;
      throw err;
    } finally {
      stop.dispose();
      this.#pending--;
      // the next request starts once this one and every one before it ended
      void previous.then(release, release);
    }
  }

  protected onStart(): void {}

  protected async onClose(): Promise<void> {
    this.#closing.abort(new ClosedError("BinaryStarClient: closed"));
    this.#discard();
    await this.#tail;
  }

  async #run(frames: Buffer[], timeoutMs: number, retries: number, signal: AbortSignal): Promise<Reply> {
    try {
      const reply = await withRetries((n, ms) => this.#attempt(frames, n, ms, signal), {
        retries,
        timeoutMs,
        signal,
        what: "BinaryStarClient.request",
        onRetry: (event) => {
          this.#stats.retries++;
          this.notify("retry", event);
        },
      });
      this.#stats.replies++;
      return reply;
    } catch (err) {
      if ((err as { code?: unknown })?.code === "ZKIT_TIMEOUT") {
        this.#stats.failed++;
        log.warn("E: no reply from either server after %d attempts: giving up", retries + 1);
      }
      throw err;
    }
  }

  /** One attempt on the current server: the reply, or TIMED_OUT after switching servers. */
  async #attempt(frames: Buffer[], attempt: number, timeoutMs: number, signal: AbortSignal): Promise<Reply | typeof TIMED_OUT> {
    if (this.#settleMs > 0) {
      const ms = this.#settleMs;
      this.#settleMs = 0;
      await raceDeadline(NEVER, { timeoutMs: ms, signal, what: "BinaryStarClient.request" });
    }
    const server = this.server;
    const sock = this.#socket(server);
    try {
      this.#trace?.({ direction: "out", socket: server, frames });
      const started = now();
      const sent = await raceDeadline(this.#guarded(sock.send(frames)), { timeoutMs, signal, what: "BinaryStarClient.request" });
      if (sent === TIMED_OUT) return this.#failover(attempt, "timeout");
      const left = Math.max(0, timeoutMs - (now() - started));
      const ready = await raceDeadline(this.#guarded(sock.waitReadable()), { timeoutMs: left, signal, what: "BinaryStarClient.request" });
      if (ready !== true) return this.#failover(attempt, "timeout");
      const reply = await sock.receive();
      this.#trace?.({ direction: "in", socket: server, frames: reply });
      const rejectedBy = this.#switchOnRejection ? decodeRejected(reply) : undefined;
      if (rejectedBy !== undefined) {
        this.#stats.rejections++;
        this.notify("rejected", { server, state: rejectedBy });
        return this.#failover(attempt, "rejected");
      }
      this.#lastRejected = false;
      return Reply.fromFrames(reply);
    } catch (err) {
      this.#discard();
      throw err;
    }
  }

  /** Drops the socket, switches to the other server and sets the settle delay for the next attempt. */
  #failover(attempt: number, reason: "timeout" | "rejected"): typeof TIMED_OUT {
    this.#discard();
    const from = this.server;
    this.#current = 1 - this.#current;
    const to = this.server;
    // a rejection says the other server should take it now; two in a row
    // (both waiting for each other) and the pair needs the settle delay too
    const settle = reason === "timeout" || this.#lastRejected ? this.#settleDelayMs : 0;
    this.#lastRejected = reason === "rejected";
    this.#settleMs = settle;
    this.#stats.failovers++;
    log.info("W: %s from %s, failing over to %s", reason === "timeout" ? "no response" : "rejected", from, to);
    this.notify("failover", { from, to, reason, settleDelayMs: settle, attempt });
    return TIMED_OUT;
  }

  #socket(server: string): ZSocket<"REQ"> {
    if (this.#sock !== undefined && !this.#sock.closed) return this.#sock;
    // linger 0: a request left behind by a dropped socket is never delivered later
    const sock = new ZSocket("REQ", { ...this.#security, linger: 0 });
    // the guard watches before the socket connects: libzmq reports only what happens after
    this.#guard = this.#security === undefined ? undefined : new HandshakeGuard(sock);
    sock.connect(server);
    this.#sock = sock;
    return sock;
  }

  /** `p`, or a rejection with the HandshakeError when the socket's security handshake fails first. */
  #guarded<T>(p: Promise<T>): Promise<T> {
    return this.#guard === undefined ? p : this.#guard.race(p);
  }

  #discard(): void {
    this.#guard?.close();
    this.#guard = undefined;
    this.#sock?.close();
    this.#sock = undefined;
  }
}
