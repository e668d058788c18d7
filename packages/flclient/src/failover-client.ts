/**
 * FailoverClient: the Guide's Freelance model 1, "simple retry and
 * failover" (`flclient1`). Each attempt opens a fresh REQ socket to one
 * server, waits `timeoutMs` for the reply, and on silence closes it and
 * tries the next server. Any REP server will do (the Guide's `flserver1`
 * echoes).
 * @module
 */
import {
  ClosedError,
  ErrorCode,
  InvalidArgumentError,
  RETRIES_RULE,
  TIMED_OUT,
  TIMEOUT_RULE,
  ZSocket,
  ZkitError,
  describeValue,
  getLogger,
  parseEndpoints,
  raceDeadline,
  readOptions,
  toFrames,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { Lifecycle, Reply, RetriesExhaustedError, withRetries, type RetryEvent } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { SignalWatches } from "./signals.js";

const log = getLogger("flp");

/** The Guide's model 1 reply timeout per attempt (`REQUEST_TIMEOUT`), in ms. */
export const FAILOVER_TIMEOUT_MS = 1000;

/** Options of a {@link FailoverClient}. */
export interface FailoverClientOptions {
  /** The servers, in the order they are tried: an array, or a comma-separated list (a leading `>` is accepted). */
  endpoints: string | readonly string[];
  /**
   * How long each attempt waits for its reply, in ms.
   * @defaultValue 1000 ({@link FAILOVER_TIMEOUT_MS}, the Guide's `REQUEST_TIMEOUT`)
   */
  timeoutMs?: number;
  /**
   * Resends after the first attempt timed out, each to the next server in
   * the list (round robin). The Guide tries one server 3 times, and each of
   * several servers once.
   * @defaultValue 2 with one endpoint (three sends), else the number of endpoints - 1 (each server once)
   */
  retries?: number;
  /**
   * Called with every message sent or received (`socket` is the server's endpoint).
   * @defaultValue undefined (no tracing)
   */
  trace?: TraceFn;
  /**
   * Close when the process is interrupted (SIGINT or SIGTERM, after
   * `handleInterrupts()` of `@zkit/core`).
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
  /**
   * How the connections to the servers are secured (`@zkit/security`): for
   * CURVE the client's key pair and the servers' public key (the servers
   * of one client share a key pair), `{ curve: { secretKey, publicKey, serverKey } }`
   * (or `cert.clientSecurity(serverKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong server key, a key the server's ZAuth refuses) rejects the request with a `HandshakeError` at once, without trying the next server: they share the key.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** Per-request settings of {@link FailoverClient.request}; each defaults to the client's. */
export interface FailoverRequestOptions {
  /**
   * Reply timeout of each attempt, in ms.
   * @defaultValue the client's `timeoutMs`
   */
  timeoutMs?: number;
  /**
   * Resends after the first attempt.
   * @defaultValue the client's `retries`
   */
  retries?: number;
  /**
   * Cancels the request: it rejects with an `AbortError`.
   * @defaultValue undefined (not cancellable)
   */
  signal?: AbortSignal;
}

/** A request sent to the next server (event `retry`). */
export interface FailoverRetryEvent extends RetryEvent {
  /** The endpoint of the server that did not answer (a REQ socket knows no routing id of its peer). */
  endpoint: string;
}

/** The events of a {@link FailoverClient}. */
export interface FailoverClientEvents {
  /** An attempt timed out; the request goes to the next server. */
  retry: [info: FailoverRetryEvent];
}

/** The counters of a {@link FailoverClient}. */
export interface FailoverClientStats {
  /** Calls to `request()` accepted. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Resends after a timeout. */
  retries: number;
  /** Requests that failed with `RetriesExhaustedError`. */
  timeouts: number;
  /** Requests cancelled through their signal. */
  aborted: number;
}

const OPTION_NAMES = ["endpoints", "timeoutMs", "retries", "trace", "closeOnInterrupt", "security"] as const;
const REQUEST_OPTION_NAMES = ["timeoutMs", "retries", "signal"] as const;

/**
 * The Guide's Freelance model 1: each request goes to one server over a
 * fresh REQ socket; when no reply comes within `timeoutMs`, the socket is
 * closed and the next server tried (round robin), `retries` times. A
 * request starts with the server that answered the one before, so a dead
 * server costs one timeout, not one per request. Works with any REP server.
 *
 * @example
 * ```ts
 * const client = new FailoverClient({ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] });
 * await client.start();
 * console.log((await client.request("Hello world")).text());
 * await client.close();
 * ```
 */
export class FailoverClient extends Lifecycle<FailoverClientEvents> {
  /** The servers, in the order they are tried. */
  readonly endpoints: readonly string[];
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #trace: TraceFn | undefined;
  readonly #security: SecuritySocketOptions | undefined;
  readonly #sockets = new Set<ZSocket<"REQ">>();
  readonly #signals = new SignalWatches();
  readonly #stats: FailoverClientStats = { requests: 0, replies: 0, retries: 0, timeouts: 0, aborted: 0 };
  /** The server that answered last: where the next request starts. */
  #current = 0;

  /**
   * @param options - see {@link FailoverClientOptions}
   * @throws `InvalidArgumentError` for a missing, unknown or bad option;
   *   `InvalidEndpointError` for an endpoint that is not CZMQ syntax
   */
  constructor(options: FailoverClientOptions) {
    const o = readOptions(options, { owner: "FailoverClient", known: OPTION_NAMES, example: '{ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] }' });
    super({ owner: "FailoverClient", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    this.endpoints = endpointList(o.raw("endpoints"), "FailoverClient option endpoints");
    this.#timeoutMs = o.number("timeoutMs", FAILOVER_TIMEOUT_MS, TIMEOUT_RULE);
    this.#retries = o.number("retries", this.endpoints.length === 1 ? 2 : this.endpoints.length - 1, RETRIES_RULE);
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "FailoverClient", role: "client" });
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<FailoverClientStats> {
    return this.#stats;
  }

  /**
   * Sends a request and resolves with the first reply, trying the servers
   * in turn. The first call starts the client if `start()` was not called.
   *
   * @param body - one frame or several
   * @param opts - see {@link FailoverRequestOptions}
   * @throws (rejects) `RetriesExhaustedError` (code `ZKIT_TIMEOUT`) when no
   *   server answered; `HandshakeError` when the `security` handshake
   *   failed; `AbortError` when `signal` aborts; `ClosedError` when
   *   the client is (or gets) closed; `InvalidArgumentError` for a bad
   *   body or option
   */
  async request(body: MessageLike, opts?: FailoverRequestOptions): Promise<Reply> {
    if (this.closed) throw new ClosedError("FailoverClient.request: the client is closed");
    const frames = toFrames(body, "FailoverClient.request(body)");
    const o = readOptions(opts, { owner: "FailoverClient.request", known: REQUEST_OPTION_NAMES });
    const timeoutMs = o.number("timeoutMs", this.#timeoutMs, TIMEOUT_RULE);
    const retries = o.number("retries", this.#retries, RETRIES_RULE);
    const callerSignal = o.signal("signal");
    this.start().catch(() => {}); // clients start by themselves on their first request
    this.#stats.requests++;
    const start = this.#current;
    const n = this.endpoints.length;
    // one listener on the caller's signal however many requests share it
    let signal: AbortSignal | undefined;
    let unwatch: (() => void) | undefined;
    if (callerSignal !== undefined) {
      const linked = new AbortController();
      signal = linked.signal;
      if (callerSignal.aborted) linked.abort(callerSignal.reason);
      else unwatch = this.#signals.watch(callerSignal, () => linked.abort(callerSignal.reason));
    }
    try {
      const reply = await withRetries(
        async (attempt, ms) => {
          const index = (start + attempt - 1) % n;
          const answer = await this.#attempt(frames, this.endpoints[index]!, ms, signal);
          if (answer !== TIMED_OUT) this.#current = index;
          return answer;
        },
        {
          retries,
          timeoutMs,
          signal,
          what: "FailoverClient.request",
          onRetry: (e) => {
            this.#stats.retries++;
            const endpoint = this.endpoints[(start + e.attempt - 1) % n]!;
            log.info("FailoverClient: no reply from %s within %d ms, trying the next server", endpoint, e.timeoutMs);
            this.notify("retry", { ...e, endpoint });
          },
        },
      );
      this.#stats.replies++;
      return reply;
    } catch (err) {
      if (err instanceof RetriesExhaustedError) this.#stats.timeouts++;
      else if (err instanceof ZkitError && err.code === ErrorCode.Aborted) this.#stats.aborted++;
      throw err;
    } finally {
      unwatch?.();
    }
  }

  /** One attempt on a fresh REQ socket: the reply, or `TIMED_OUT`. */
  async #attempt(frames: Buffer[], endpoint: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<Reply | typeof TIMED_OUT> {
    if (this.closed) throw new ClosedError("FailoverClient.request: the client was closed before the reply came");
    const socket = new ZSocket("REQ", { ...this.#security, linger: 0 });
    this.#sockets.add(socket);
    // the guard watches before the socket connects: libzmq reports only what happens after
    const guard = this.#security === undefined ? undefined : new HandshakeGuard(socket);
    try {
      socket.connect(endpoint);
      this.#trace?.({ direction: "out", socket: endpoint, frames });
      const exchange = socket.send(frames).then(() => socket.waitReadable());
      const ready = await raceDeadline(guard === undefined ? exchange : guard.race(exchange), { timeoutMs, signal, what: "FailoverClient.request" });
      if (ready === TIMED_OUT) return TIMED_OUT;
      if (!ready) throw new ClosedError("FailoverClient.request: the client was closed before the reply came");
      const reply = await socket.receive();
      this.#trace?.({ direction: "in", socket: endpoint, frames: reply });
      return Reply.fromFrames(reply);
    } catch (err) {
      if (this.closed && !(err instanceof ClosedError)) throw new ClosedError("FailoverClient.request: the client was closed before the reply came", { cause: err });
      throw err;
    } finally {
      guard?.close();
      this.#sockets.delete(socket);
      socket.close({ lingerMs: 0 });
    }
  }

  protected onStart(): void {}

  protected onClose(): void {
    for (const s of this.#sockets) s.close({ lingerMs: 0 });
    this.#sockets.clear();
  }
}

/**
 * Endpoints for the models' clients: an array, or a comma-separated list;
 * each connects (a leading `>` dropped), none binds; at least one.
 * @internal
 */
export function endpointList(value: unknown, what: string): string[] {
  const list = typeof value === "string" ? value.split(",") : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list === undefined)
    throw new InvalidArgumentError(`${what} is required: pass an array of server endpoints such as ["tcp://localhost:5555"], or a comma-separated list, got ${describeValue(value)}`);
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== "string") throw new InvalidArgumentError(`${what} must hold endpoint strings such as "tcp://localhost:5555", got ${describeValue(item)}`);
    const e = item.trim();
    if (e === "") continue;
    if (e.startsWith("@")) throw new InvalidArgumentError(`${what}: ${JSON.stringify(e)} binds; a client connects to servers, drop the "@"`);
    const [spec] = parseEndpoints(e.startsWith(">") ? e : `>${e}`, false);
    out.push(spec!.address);
  }
  if (out.length === 0) throw new InvalidArgumentError(`${what} is required: pass at least one server endpoint such as "tcp://localhost:5555"`);
  return out;
}
