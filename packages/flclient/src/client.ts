/**
 * FreelanceClient: the Guide's model 3 (`flcliapi`), brokerless reliable
 * request-reply over several servers, with any number of requests in
 * flight. One ROUTER connected to every server; an agent on a ZLoop PINGs
 * them, tracks which are alive, and sends each request to the best live
 * server, moving it to another when that one does not answer in time.
 * @module
 */
import {
  ClosedError,
  ROUTER_NOTIFY_CONNECT,
  ROUTER_NOTIFY_DISCONNECT,
  TIMEOUT_RULE,
  ZSocket,
  abortError,
  describeValue,
  getLogger,
  now,
  parseEndpoints,
  readOptions,
  type OptionReader,
  toFrames,
  InvalidArgumentError,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { Lifecycle, PeerExpiry, type Reply } from "@zkit/reliability";
import { securitySocketOptions, type HandshakeError, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { HandshakeWatch } from "./handshake-watch.js";
import { ZLoop } from "@zkit/zloop";
import { ClientState, type ClientConfig, type FreelanceClientEvents, type FreelanceClientStats, type ServerEntry, type ServerSnapshot } from "./client-state.js";
import { FLP_PING_INTERVAL_MS, FLP_SERVER_TTL_MS, FLP_TIMEOUT_MS } from "./protocol.js";
import { SignalWatches } from "./signals.js";

const log = getLogger("flp");

/** Default of {@link FreelanceClientOptions.attemptTimeoutMs}. */
export const FLP_ATTEMPT_TIMEOUT_MS = 1000;

/** Default of {@link FreelanceClientOptions.demotionMs}. */
export const FLP_DEMOTION_MS = 2000;

/** Options of a {@link FreelanceClient}. */
export interface FreelanceClientOptions {
  /**
   * The servers to connect to when it starts: endpoints as the servers name
   * themselves (a 10/FLP server's routing id is its endpoint, so
   * `tcp://localhost:5555` and `tcp://127.0.0.1:5555` are two different
   * servers to the protocol), in an array or a comma-separated list; a
   * leading `>` is accepted. More can be added at any time with
   * {@link FreelanceClient.connect}.
   * @defaultValue none
   */
  endpoints?: string | readonly string[];
  /**
   * How often the client PINGs a server it has not heard from lately, in
   * ms: every interval, each server that is not alive, and each live one
   * quiet for half an interval, gets a PING. The Guide's `PING_INTERVAL`.
   * @defaultValue 2000 ({@link FLP_PING_INTERVAL_MS})
   */
  pingIntervalMs?: number;
  /**
   * How long a server may stay silent (no PONG, no reply) before it counts
   * as dead, in ms; more than `pingIntervalMs`. The Guide's `SERVER_TTL`:
   * three PINGs unanswered. A server whose connection ends is dead at once.
   * @defaultValue 6000 ({@link FLP_SERVER_TTL_MS})
   */
  serverTtlMs?: number;
  /**
   * How long a request may take in all, in ms, from the call to its reply,
   * whatever servers it goes to; then it rejects with a `TimeoutError`. The
   * Guide's `GLOBAL_TIMEOUT`. Per request: `request(body, { timeoutMs })`.
   * @defaultValue 3000 ({@link FLP_TIMEOUT_MS})
   */
  timeoutMs?: number;
  /**
   * How long one server has to answer a request before the request goes to
   * another live server, in ms (the Guide's client resends on every wake-up
   * instead). A third of `timeoutMs`, so that a request can try the three
   * servers of the Guide's examples before its deadline. Keep it above the
   * slowest normal reply: a reply that takes longer makes a copy of the
   * request go to another server (the first reply wins, the other is dropped).
   * @defaultValue 1000 ({@link FLP_ATTEMPT_TIMEOUT_MS})
   */
  attemptTimeoutMs?: number;
  /**
   * How long a server that let a request time out (while it answered PINGs:
   * stuck, overloaded, or dropping requests) gets no requests while another
   * live server can take them, in ms. Each time it fails again the delay
   * doubles, up to 16 times this; it is back to normal once it answers a
   * request in time. A demoted server is still used when every live server
   * is demoted. The Guide's client has no such rule and keeps sending to a
   * server that PONGs but never answers.
   * @defaultValue 2000 ({@link FLP_DEMOTION_MS})
   */
  demotionMs?: number;
  /**
   * Called with every message the client sends or receives (the CLI's `-v`).
   * @defaultValue undefined (no tracing)
   */
  trace?: TraceFn;
  /**
   * Close when the process is interrupted (SIGINT or SIGTERM, after
   * `handleInterrupts()` of `@zkit/core`): pending requests reject with
   * `ClosedError`.
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
  /**
   * How the connections to the servers are secured (`@zkit/security`): for
   * CURVE the client's key pair and the servers' public key (the servers
   * of one client share a key pair), `{ curve: { secretKey, publicKey, serverKey } }`
   * (or `cert.clientSecurity(serverKey)`); `{ plain: { username, password } }`
   * for PLAIN. Each failed handshake is reported as `handshake-failed`; when it failed with every server and none is alive (a wrong server key, a key their ZAuth refuses), the requests reject with the `HandshakeError` at once instead of a timeout.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** Per-request settings of {@link FreelanceClient.request}. */
export interface FreelanceRequestOptions {
  /** This request's whole timeout, in ms. @defaultValue the client's `timeoutMs` */
  timeoutMs?: number;
  /**
   * Cancels the request: it rejects with an `AbortError` (a late reply is dropped).
   * @defaultValue undefined (not cancellable)
   */
  signal?: AbortSignal;
}

const OPTION_NAMES = ["endpoints", "pingIntervalMs", "serverTtlMs", "timeoutMs", "attemptTimeoutMs", "demotionMs", "trace", "closeOnInterrupt", "security"] as const;
const REQUEST_OPTION_NAMES = ["timeoutMs", "signal"] as const;

/**
 * A Freelance client (10/FLP, the Guide's model 3): reliable request-reply
 * straight to several servers, with no broker, surviving any of them
 * dying, with any number of requests in flight.
 *
 * - One ROUTER connected to every server (a server's routing id is its
 *   endpoint, so the client addresses it by the string it connected to).
 *   It learns at once when a server's connection comes up (it PINGs it) or
 *   ends (the server is dead, the requests it held go to others).
 * - A server is alive while it answers: any PONG or reply within
 *   `serverTtlMs`. Quiet servers are PINGed every `pingIntervalMs`.
 * - Each request goes to one live server: one it has not tried yet, with
 *   the fewest requests in flight. When that server does not answer within
 *   `attemptTimeoutMs`, or is lost, the request goes to another live
 *   server, until `timeoutMs` has passed. With no live server it waits for
 *   one until its deadline.
 * - A server that let a request time out while it answered PINGs is
 *   demoted (`demotionMs`, doubling); back from demotion, it holds one
 *   request at a time until it answers one in time.
 * - Replies are matched by the control frame (the request's number): the
 *   first reply wins, later copies count as `duplicates`; replies from
 *   unknown identities or naming no request are dropped and counted
 *   (`unknown`), never crash the client.
 *
 * @example
 * ```ts
 * const client = new FreelanceClient({ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] });
 * await client.start();
 * const reply = await client.request("random name");
 * console.log(reply.text());
 * await client.close();
 * ```
 */
export class FreelanceClient extends Lifecycle<FreelanceClientEvents> {
  readonly #config: ClientConfig;
  readonly #timeoutMs: number;
  readonly #trace: TraceFn | undefined;
  readonly #state: ClientState;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #signals = new SignalWatches();
  /** Endpoints added before start(), connected then. */
  readonly #initial: string[] = [];
  #socket: ZSocket<"ROUTER"> | undefined;
  readonly #security: SecuritySocketOptions | undefined;
  #handshakes: HandshakeWatch | undefined;

  /**
   * @param options - see {@link FreelanceClientOptions}
   * @throws `InvalidArgumentError` for an unknown option, a bad value, or
   *   an endpoint that binds; `InvalidEndpointError` for one that is not
   *   CZMQ endpoint syntax
   */
  constructor(options: FreelanceClientOptions = {}) {
    const o: OptionReader<FreelanceClientOptions> = readOptions(options, {
      owner: "FreelanceClient",
      known: OPTION_NAMES,
      example: '{ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] }',
    });
    super({ owner: "FreelanceClient", channel: "zkit:flp:client", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    const pingIntervalMs = o.number("pingIntervalMs", FLP_PING_INTERVAL_MS, TIMEOUT_RULE);
    const serverTtlMs = o.number("serverTtlMs", FLP_SERVER_TTL_MS, TIMEOUT_RULE);
    if (serverTtlMs <= pingIntervalMs) o.fail("serverTtlMs", `(${serverTtlMs}) must be more than pingIntervalMs (${pingIntervalMs}): a live server would expire between two PINGs`);
    this.#timeoutMs = o.number("timeoutMs", FLP_TIMEOUT_MS, TIMEOUT_RULE);
    this.#config = {
      pingIntervalMs,
      serverTtlMs,
      attemptTimeoutMs: o.number("attemptTimeoutMs", FLP_ATTEMPT_TIMEOUT_MS, TIMEOUT_RULE),
      demotionMs: o.number("demotionMs", FLP_DEMOTION_MS, TIMEOUT_RULE),
    };
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "FreelanceClient", role: "client" });
    const endpoints = o.raw("endpoints");
    if (endpoints !== undefined) {
      const list = typeof endpoints === "string" ? endpoints.split(",") : Array.isArray(endpoints) ? (endpoints as unknown[]) : undefined;
      if (list === undefined) o.fail("endpoints", `must be an endpoint string (a comma-separated list is fine) or an array of them, got ${describeValue(endpoints)}`);
      for (const e of list) {
        if (typeof e !== "string") o.fail("endpoints", `must hold endpoint strings such as "tcp://localhost:5555", got ${describeValue(e)}`);
        if (e.trim() === "") continue;
        const endpoint = serverEndpoint(e, "FreelanceClient option endpoints");
        if (!this.#initial.includes(endpoint)) this.#initial.push(endpoint);
      }
    }
    const trace = this.#trace;
    this.#state = new ClientState(this.#config, {
      send: (frames, server, request) => {
        const socket = this.#socket;
        if (socket === undefined || socket.closed) return;
        trace?.({ direction: "out", socket: "servers", frames });
        socket.send(frames).catch(() => {
          if (!socket.closed) this.#state.sendFailed(server, request);
        });
      },
      now,
      timer: (delayMs, fn) => this.#loop.timer(delayMs, 1, fn),
      cancel: (handle) => void this.#loop.timerEnd(handle),
      expiry: {
        add: (s) => this.#expiry!.add(s),
        touch: (h) => this.#expiry!.touch(h),
        remove: (h) => this.#expiry!.remove(h),
      },
      notify: (event, ...args) => (this.notify as (e: string, ...a: unknown[]) => void)(event, ...args),
    });
  }

  #expiry: PeerExpiry<ServerEntry> | undefined;

  /** The settings in force, defaults applied. */
  get options(): Readonly<Required<Omit<FreelanceClientOptions, "endpoints" | "trace" | "closeOnInterrupt" | "security">>> {
    return { ...this.#config, timeoutMs: this.#timeoutMs };
  }

  /** The client's counters, with gauges of the present (a snapshot). */
  get stats(): FreelanceClientStats {
    return this.#state.stats;
  }

  /** The servers' endpoints, in the order they were added. */
  get endpoints(): string[] {
    return this.state === "new" || this.state === "starting" ? [...this.#initial] : this.#state.servers().map((s) => s.endpoint);
  }

  /** Every server: alive or not, requests in flight, demotion, counters. */
  servers(): ServerSnapshot[] {
    return this.#state.servers();
  }

  /**
   * Adds a server, now or (before {@link start}) when the client starts.
   * The endpoint must be the one the server calls itself (its routing id):
   * `tcp://localhost:5555` and `tcp://127.0.0.1:5555` are different servers
   * to 10/FLP. Adding a server twice does nothing.
   *
   * @param endpoint - e.g. `"tcp://localhost:5555"`; a leading `>` is accepted
   * @returns false when it was already there
   * @throws `ClosedError` after close; `InvalidArgumentError` for an
   *   endpoint that binds; `InvalidEndpointError` for bad syntax
   */
  connect(endpoint: string): boolean {
    this.assertOpen("FreelanceClient.connect");
    const ep = serverEndpoint(endpoint, "FreelanceClient.connect(endpoint)");
    if (this.#socket === undefined) {
      if (this.#initial.includes(ep)) return false;
      this.#initial.push(ep);
      return true;
    }
    if (this.#state.hasServer(ep)) return false;
    this.#socket.connect(ep);
    this.#state.addServer(ep);
    log.info("connecting to %s", ep);
    return true;
  }

  /**
   * Removes a server: the requests it holds go to the others, and the
   * ROUTER disconnects from it.
   * @returns false when there was no such server
   * @throws `ClosedError` after close
   */
  disconnect(endpoint: string): boolean {
    this.assertOpen("FreelanceClient.disconnect");
    const ep = serverEndpoint(endpoint, "FreelanceClient.disconnect(endpoint)");
    if (this.#socket === undefined) {
      const i = this.#initial.indexOf(ep);
      if (i < 0) return false;
      this.#initial.splice(i, 1);
      return true;
    }
    if (!this.#state.removeServer(ep)) return false;
    try {
      this.#socket.disconnect(ep);
    } catch (err) {
      log.debug("disconnect %s: %s", ep, (err as Error).message);
    }
    return true;
  }

  /**
   * Sends a request to the best live server and resolves with its reply.
   * Any number of calls may be in flight; each gets the reply to its own
   * request, from whichever server answered it first. The first call starts
   * the client if {@link FreelanceClient.start} was not called.
   *
   * @param body - one frame or several (an empty array is one empty frame on the wire)
   * @param opts - see {@link FreelanceRequestOptions}
   * @returns the reply's frames (`reply.text()` for the first as text)
   * @throws (rejects) `RetriesExhaustedError` (a `TimeoutError`, code
   *   `ZKIT_TIMEOUT`) when servers got it but none answered within the
   *   timeout; `TimeoutError` when no server was alive to send it to;
   *   `HandshakeError` when the `security` handshake failed with every
   *   server; `AbortError` when `signal` aborts; `ClosedError` when the client is
   *   (or gets) closed; `InvalidArgumentError` for a bad body or option
   */
  request(body: MessageLike, opts?: FreelanceRequestOptions): Promise<Reply> {
    if (this.closed) return Promise.reject(new ClosedError("FreelanceClient.request: the client is closed"));
    let frames: Buffer[];
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      frames = toFrames(body, "FreelanceClient.request(body)", { allowEmpty: true });
      if (opts === undefined) {
        timeoutMs = this.#timeoutMs;
      } else {
        const o = readOptions(opts, { owner: "FreelanceClient.request", known: REQUEST_OPTION_NAMES });
        timeoutMs = o.number("timeoutMs", this.#timeoutMs, TIMEOUT_RULE);
        signal = o.signal("signal");
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortError("FreelanceClient.request", signal));
    // clients start by themselves on their first request; a start that
    // fails closes the client (done rejects with why)
    this.start().catch(() => {});
    if (this.closed) return Promise.reject(new ClosedError("FreelanceClient.request: the client is closed (it could not start; see done)"));
    const refused = this.#refused();
    if (refused !== undefined) return Promise.reject(refused);
    if (signal === undefined) return new Promise<Reply>((resolve, reject) => void this.#state.submit(frames, timeoutMs, resolve, reject));
    const s = signal;
    return new Promise<Reply>((resolve, reject) => {
      let unwatch: (() => void) | undefined;
      const req = this.#state.submit(
        frames,
        timeoutMs,
        (reply) => {
          unwatch?.();
          resolve(reply);
        },
        (err) => {
          unwatch?.();
          reject(err);
        },
      );
      if (!req.done) unwatch = this.#signals.watch(s, () => this.#state.abort(req, abortError("FreelanceClient.request", s)));
    });
  }

  /** The handshake error when it failed with every server and none is alive; otherwise undefined. */
  #refused(): HandshakeError | undefined {
    if (this.#handshakes === undefined) return undefined;
    const servers = this.#state.servers();
    if (servers.some((s) => s.alive)) return undefined;
    return this.#handshakes.allFailed(servers.map((s) => s.endpoint));
  }

  #handshakeFailed(err: HandshakeError): void {
    log.warn("FreelanceClient: %s", err.message);
    this.notify("handshake-failed", { endpoint: err.endpoint, error: err });
    const refused = this.#refused();
    if (refused !== undefined) this.#state.rejectAll(refused);
  }

  protected onStart(): void {
    const socket = new ZSocket("ROUTER", {
      ...this.#security,
      // a send to a server with no connection fails at once (mandatory; no
      // send timeout) instead of vanishing or hanging; routerNotify: a
      // server's connection coming up (PING it now) or ending (it is dead)
      linger: 0,
      mandatory: true,
      sendTimeout: 0,
      routerNotify: ROUTER_NOTIFY_CONNECT | ROUTER_NOTIFY_DISCONNECT,
    });
    // the watch starts before the socket connects: libzmq reports only what happens after
    if (this.#security !== undefined) this.#handshakes = new HandshakeWatch(socket, (err) => this.#handshakeFailed(err));
    this.#socket = socket;
    const loop = this.#loop;
    this.#expiry = new PeerExpiry<ServerEntry>(loop, this.#config.serverTtlMs, (s) => this.#state.serverSilent(s));
    const state = this.#state;
    const trace = this.#trace;
    loop.reader(socket, (frames) => {
      trace?.({ direction: "in", socket: "servers", frames });
      try {
        state.onMessage(frames);
      } catch (err) {
        // the state never throws on input; a bug must still not stop the client
        log.error("FreelanceClient: a message could not be handled: %s", (err as Error)?.stack ?? String(err));
      }
    });
    loop.readerSetTolerant(socket);
    loop.timer(this.#config.pingIntervalMs, 0, () => {
      state.tick();
      this.publishStats(state.stats);
    });
    for (const ep of this.#initial) {
      socket.connect(ep);
      state.addServer(ep);
      log.info("connecting to %s", ep);
    }
    loop.start().catch((err: unknown) => this.fail(err));
  }

  protected onClose(): void {
    this.#state.close(() => new ClosedError("FreelanceClient.request: the client was closed before the reply came"));
    this.#loop.destroy();
    this.#handshakes?.close();
    this.#socket?.close({ lingerMs: 0 });
    log.info("FreelanceClient closed");
  }
}

/** A server endpoint as the client connects to it: a string that connects (a leading `>` dropped), checked. */
function serverEndpoint(endpoint: unknown, what: string): string {
  if (typeof endpoint !== "string" || endpoint.trim() === "") {
    throw new InvalidArgumentError(`${what}: pass a server endpoint such as "tcp://localhost:5555", got ${describeValue(endpoint)}`);
  }
  const e = endpoint.trim();
  if (e.startsWith("@")) throw new InvalidArgumentError(`${what}: ${JSON.stringify(e)} binds; a Freelance client connects to servers, drop the "@"`);
  const specs = parseEndpoints(e.startsWith(">") ? e : `>${e}`, false);
  if (specs.length !== 1) throw new InvalidArgumentError(`${what}: one endpoint at a time, got ${JSON.stringify(e)}`);
  return specs[0]!.address;
}
