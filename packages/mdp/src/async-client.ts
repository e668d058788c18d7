/**
 * MajordomoAsyncClient: many Majordomo requests in flight at once, each
 * caller getting its own reply.
 *
 * 7/MDP carries no request id, and a broker returns replies in whatever
 * order its workers answer, so two requests for one service on one
 * connection cannot be told apart by their replies. The client has two
 * ways around that:
 *
 * - Multiplexed (zkit's envelope extension, against a broker that answers
 *   `mmi.zkit.envelope` with 200, as `MajordomoBroker` does): ONE DEALER.
 *   Each request carries a correlation frame in its envelope,
 *   `[corr][""]["MDPC01"][service][body...]`; the broker carries routing id
 *   and correlation to the worker as the one opaque client-address frame
 *   7/MDP workers echo, and puts the correlation back in front of the
 *   reply. A resend after a timeout gets a new correlation, so a late reply
 *   to an old attempt matches nothing: dropped and counted (`late`).
 * - Socket per request (any MDP/0.1 broker, the Guide's C broker included):
 *   a pool of DEALER sockets ("slots"), never more than one request in
 *   flight on a slot, so the reply that arrives on a slot is the answer to
 *   the one request that slot carries (its service frame is checked too).
 *   Free slots are reused; a slot whose request timed out or was aborted is
 *   closed, so its late reply is dropped by the broker's ROUTER instead of
 *   being taken for another.
 *
 * With `multiplex: "auto"` (the default) the client asks the broker
 * `mmi.zkit.envelope` before its first request and picks the first way on
 * a 200, the second on anything else or no answer in `discoveryTimeoutMs`.
 * @module
 */
import {
  ClosedError,
  ErrorCode,
  LogBurst,
  TIMEOUT_RULE,
  TimeoutError,
  ZSocket,
  ZkitError,
  abortError,
  getLogger,
  parseEndpoints,
  readOptions,
  type FrameLike,
  type TraceFn,
} from "@zkit/core";
import { Lifecycle, Reply, type RetryEvent } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type HandshakeError, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { Deque } from "./deque.js";
import { MMI_ENVELOPE, MMI_OK, decodeClientReply, decodeEnvelopedClientReply, encodeEnvelopedRequest, encodeRequest, printable } from "./protocol.js";
import { MDP_TIMEOUT_MS, checkRequest, readEndpoint, type CheckedRequest, type MajordomoRequestOptions } from "./request.js";

const log = getLogger("mdp");
const noSockets = new LogBurst(log, "MajordomoAsyncClient: out of sockets, requests wait for one (lower maxSockets, or close sockets elsewhere)");
const lateReplies = new LogBurst(log, "MajordomoAsyncClient: late replies dropped (see stats.late)", { level: "info" });

/** How long the client waits before it tries again to open a socket, after libzmq had none left, in ms. */
const SOCKET_RETRY_MS = 50;

/** Default of {@link MajordomoAsyncClientOptions.maxSockets}. */
export const MDP_MAX_SOCKETS = 256;

/**
 * How a {@link MajordomoAsyncClient} carries many requests: `"on"`, one
 * DEALER with a correlation frame per request (zkit's envelope extension;
 * the broker must support it); `"off"`, a DEALER per request in flight
 * (any MDP/0.1 broker); `"auto"`, asks the broker (`mmi.zkit.envelope`)
 * and multiplexes when it says 200.
 */
export type MultiplexMode = "auto" | "on" | "off";

/** How a {@link MajordomoAsyncClient} turned out to carry its requests: see {@link MultiplexMode}. */
export type AsyncClientMode = "multiplexed" | "sockets";

/** Default of {@link MajordomoAsyncClientOptions.maxInFlight}: the same as `maxSockets`, so the mode changes how many connections there are, not how many requests are on the wire. */
export const MDP_MAX_IN_FLIGHT = 256;

/** Default of {@link MajordomoAsyncClientOptions.multiplex}. */
export const MDP_MULTIPLEX: MultiplexMode = "auto";

/** Default of {@link MajordomoAsyncClientOptions.discoveryTimeoutMs}: the Guide's request timeout. */
export const MDP_DISCOVERY_TIMEOUT_MS = 2500;

/** The service name of the discovery question, as a frame. */
const MMI_ENVELOPE_FRAME = Buffer.from(MMI_ENVELOPE);

/** Options of {@link MajordomoAsyncClient}. */
export interface MajordomoAsyncClientOptions {
  /** The broker: `"tcp://host:5555"` or `">tcp://host:5555"`; a CZMQ endpoint list (connects only). */
  endpoint: string;
  /**
   * How long to wait for each reply, in ms, counted from when the request
   * is sent (time spent waiting for a free socket does not count).
   * @defaultValue 2500
   */
  timeoutMs?: number;
  /**
   * In socket-per-request mode, the most sockets (hence requests on the
   * wire) at once; more requests wait, in call order, for a free one. Each
   * socket is one connection to the broker; libzmq allows 1023 sockets per
   * process by default. Unused when multiplexed (one socket carries every
   * request).
   * @defaultValue 256
   */
  maxSockets?: number;
  /**
   * When multiplexed, the most requests on the wire at once; more wait, in
   * call order, and their timeout starts when they are sent (as with
   * `maxSockets` per socket). A burst bigger than the workers can serve
   * within `timeoutMs` would otherwise time out in the broker's queue, and
   * one client would fill the broker's memory. Unused with a socket per
   * request (`maxSockets` is the limit there).
   * @defaultValue 256 (as `maxSockets`)
   */
  maxInFlight?: number;
  /**
   * How requests travel (see {@link MultiplexMode}). `"auto"` asks the
   * broker once, before the first request, whether it takes enveloped
   * requests (`mmi.zkit.envelope`): a zkit broker says 200 and every
   * request shares one socket, however many are in flight; any other
   * broker answers 501 (or nothing) and the client opens a socket per
   * request in flight, as 7/MDP requires. `"on"` skips the question (a
   * broker without the extension then drops every request: use it only
   * with a zkit broker); `"off"` never multiplexes.
   * @defaultValue "auto": multiplexed where the broker supports it, correct
   *   everywhere else, at the cost of one MMI round trip before the first
   *   request
   */
  multiplex?: MultiplexMode;
  /**
   * With `multiplex: "auto"`, how long to wait for the broker's answer to
   * `mmi.zkit.envelope`, in ms; no answer in time means socket per request
   * (a broker that ignores unknown `mmi.*` services). Requests wait for the
   * answer; their own timeouts start when they are sent.
   * @defaultValue 2500 (the Guide's request timeout: a live broker answers
   *   MMI at once, and a short value would let a slow start on a loaded
   *   machine rule out multiplexing for the client's whole life)
   */
  discoveryTimeoutMs?: number;
  /** Called with every message the client sends or receives. */
  trace?: TraceFn;
  /**
   * How the connections to the broker are secured (`@zkit/security`): for
   * CURVE the client's key pair and the broker's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(brokerKey)`); `{ plain: { username, password } }`
   * for PLAIN. A handshake that fails (a wrong broker key, a key the
   * broker's ZAuth refuses) rejects the request on that socket with a
   * `HandshakeError` that says so, at once, not with a timeout.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The counters of a {@link MajordomoAsyncClient}. */
export interface MajordomoAsyncClientStats {
  /** Calls to `request()`. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Attempts that timed out (each leads to a resend or a `TimeoutError`). */
  timeouts: number;
  /** Requests aborted through their signal. */
  aborted: number;
  /** Messages dropped because no request on their socket awaited them (or malformed ones). */
  unmatched: number;
  /**
   * Multiplexed replies dropped because their correlation matches no
   * request in flight: the answer to an attempt that timed out (and was
   * resent with a new correlation) or was aborted. Never delivered.
   */
  late: number;
  /** Sockets opened so far (reuse keeps this low; 1 when multiplexed). */
  socketsOpened: number;
  /** Gauge: sockets open now. */
  sockets: number;
  /** Gauge: requests on the wire now. */
  inFlight: number;
  /** Gauge: requests waiting for a free socket, or for the broker's answer to `mmi.zkit.envelope`, now. */
  waiting: number;
}

const OPTION_NAMES = ["endpoint", "timeoutMs", "maxSockets", "maxInFlight", "multiplex", "discoveryTimeoutMs", "trace", "security"] as const;

/** The events of a {@link MajordomoAsyncClient}. */
export interface MajordomoAsyncClientEvents {
  /** A request timed out and is sent again (its `retries` allowed it): on a fresh socket, or multiplexed with a new correlation. */
  retry: [event: RetryEvent & { service: string }];
  /** With `multiplex: "auto"`: the broker's answer (or silence) decided how requests travel, once, before the first is sent; `reason` says what it answered. */
  mode: [event: { mode: AsyncClientMode; reason: string }];
}

/** The one multiplexed DEALER and the requests in flight on it, by correlation. */
interface Mux {
  socket: ZSocket<"DEALER">;
  guard: HandshakeGuard | undefined;
  pending: Map<number, Pending>;
}

interface Slot {
  socket: ZSocket<"DEALER">;
  pending: Pending | undefined;
  /** Watches the handshakes when the client has `security`. */
  guard: HandshakeGuard | undefined;
}

interface Pending {
  req: CheckedRequest;
  resolve: (body: Reply) => void;
  reject: (err: unknown) => void;
  slot: Slot | undefined;
  /** The multiplexed socket it is in flight on, with correlation `corr`. */
  mux: Mux | undefined;
  corr: number;
  timer: NodeJS.Timeout | undefined;
  retriesLeft: number;
  done: boolean;
}

/** The requests that share one AbortSignal, and the one listener for them all. */
interface SignalWatch {
  pending: Set<Pending>;
  listener: () => void;
}

/**
 * A Majordomo client with many requests in flight (the Guide's `mdcliapi2`
 * pattern), where each `request()` resolves with its own reply whatever
 * order the workers answer in, against any MDP/0.1 broker.
 *
 * How: against a broker with zkit's envelope extension (found out with
 * an MMI question, `multiplex: "auto"`), one DEALER and a correlation frame
 * per request; elsewhere a pool of up to `maxSockets` DEALER connections,
 * at most one request in flight on each (see the module notes). Workers
 * see standard 7/MDP either way.
 * Guarantee: every resolved promise carries the reply to its own request;
 * a request that times out or is aborted never receives a later reply (its
 * socket is closed, or its correlation is retired: the late reply is
 * dropped and counted in `stats.late`).
 *
 * @example
 * ```ts
 * const client = new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:5555" });
 * const replies = await Promise.all(
 *   Array.from({ length: 100 }, (_, i) => client.request("echo", `hello ${i}`)),
 * );
 * console.log(replies.map(([frame]) => frame!.toString())); // hello 0 ... hello 99, in order
 * await client.close();
 * ```
 */
export class MajordomoAsyncClient extends Lifecycle<MajordomoAsyncClientEvents> {
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;
  readonly #addresses: string[];
  readonly #timeoutMs: number;
  readonly #maxSockets: number;
  readonly #maxInFlight: number;
  readonly #discoveryTimeoutMs: number;
  readonly #trace: TraceFn | undefined;
  readonly #security: SecuritySocketOptions | undefined;
  readonly #stats: MajordomoAsyncClientStats = {
    requests: 0,
    replies: 0,
    timeouts: 0,
    aborted: 0,
    unmatched: 0,
    late: 0,
    socketsOpened: 0,
    sockets: 0,
    inFlight: 0,
    waiting: 0,
  };
  readonly #slots = new Set<Slot>();
  #free: Slot[] = [];
  readonly #waiting = new Deque<Pending>();
  readonly #signals = new Map<AbortSignal, SignalWatch>();
  /** Set while waiting to try opening sockets again (libzmq or the process had none left). */
  #socketRetry: NodeJS.Timeout | undefined;
  /**
   * How requests travel now: decided by the option, or by the broker's
   * answer to `mmi.zkit.envelope` (`unknown` until asked, `discovering`
   * while the question is out).
   */
  #state: "unknown" | "discovering" | AsyncClientMode;
  /** The multiplexed socket (also the one the discovery question goes out on). */
  #mux: Mux | undefined;
  /** Requests that wait for the broker's answer to the discovery question. */
  readonly #held = new Deque<Pending>();
  #discoveryTimer: NodeJS.Timeout | undefined;
  /** The last correlation used (uint32, wraps). */
  #lastCorr = 0;

  /**
   * @param options - see {@link MajordomoAsyncClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, or an
   *   endpoint that binds; `InvalidEndpointError` for an endpoint that is
   *   not CZMQ syntax
   */
  constructor(options: MajordomoAsyncClientOptions) {
    super({ owner: "MajordomoAsyncClient", channel: "zkit:mdp:client" });
    const o = readOptions(options, { owner: "MajordomoAsyncClient", known: OPTION_NAMES });
    this.endpoint = readEndpoint(o);
    const specs = parseEndpoints(this.endpoint, false);
    if (specs.some((s) => s.bind)) o.fail("endpoint", `must connect: MajordomoAsyncClient only connects; drop the "@" in ${JSON.stringify(o.raw("endpoint"))}`);
    this.#addresses = specs.map((s) => s.address);
    this.#timeoutMs = o.number("timeoutMs", MDP_TIMEOUT_MS, TIMEOUT_RULE);
    this.#maxSockets = o.number("maxSockets", MDP_MAX_SOCKETS, { min: 1, integer: true });
    this.#maxInFlight = o.number("maxInFlight", MDP_MAX_IN_FLIGHT, { min: 1, integer: true });
    const multiplex = o.oneOf<MultiplexMode>("multiplex", ["auto", "on", "off"], MDP_MULTIPLEX);
    this.#state = multiplex === "on" ? "multiplexed" : multiplex === "off" ? "sockets" : "unknown";
    this.#discoveryTimeoutMs = o.number("discoveryTimeoutMs", MDP_DISCOVERY_TIMEOUT_MS, TIMEOUT_RULE);
    this.#trace = o.function<TraceFn>("trace");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "MajordomoAsyncClient", role: "client" });
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<MajordomoAsyncClientStats> {
    return this.#stats;
  }

  /**
   * How requests travel: `"multiplexed"` (one socket, a correlation frame
   * each) or `"sockets"` (a socket per request in flight); undefined while
   * `multiplex: "auto"` has not had the broker's answer yet.
   */
  get mode(): AsyncClientMode | undefined {
    return this.#state === "unknown" || this.#state === "discovering" ? undefined : this.#state;
  }

  /**
   * Sends a request to `service` and resolves with the reply's body frames
   * (the frames after the service frame). Any number of calls may be in
   * flight; each gets its own reply.
   *
   * @param service - the service name, e.g. `"echo"`
   * @param body - the request body: one frame or several
   * @param opts - per-request `timeoutMs` (from the send), `retries`
   *   (resends after a timeout, on a fresh socket or with a new
   *   correlation; default 0) and `signal`
   * @throws (rejects) `TimeoutError` when no reply came in time (after
   *   `retries` resends); `HandshakeError` when the `security` handshake
   *   with the broker failed; `AbortError` when `signal` aborts; `ClosedError`
   *   when the client is (or gets) closed; `InvalidArgumentError` for bad
   *   arguments
   */
  request(service: string, body: FrameLike | readonly FrameLike[] = [], opts?: MajordomoRequestOptions): Promise<Reply> {
    let req: CheckedRequest;
    try {
      req = checkRequest("MajordomoAsyncClient.request", service, body, opts, { timeoutMs: this.#timeoutMs, retries: 0 });
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new ClosedError("MajordomoAsyncClient.request: the client is closed"));
    if (req.signal?.aborted) return Promise.reject(abortError(`MajordomoAsyncClient.request("${req.serviceName}")`, req.signal));
    void this.start();
    this.#stats.requests++;
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = { req, resolve, reject, slot: undefined, mux: undefined, corr: 0, timer: undefined, retriesLeft: req.retries, done: false };
      if (req.signal !== undefined) this.#watch(req.signal, p);
      this.#route(p);
    });
  }

  /** Sends `p` the way the client carries requests, or holds it until that is known. Never throws. */
  #route(p: Pending): void {
    switch (this.#state) {
      case "sockets":
        this.#assign(p);
        return;
      case "multiplexed":
        if ((this.#mux?.pending.size ?? 0) < this.#maxInFlight) {
          this.#sendMux(p);
        } else {
          this.#waiting.push(p);
          this.#stats.waiting++;
        }
        return;
      default:
        this.#held.push(p);
        this.#stats.waiting++;
        if (this.#state === "unknown") this.#discover();
    }
  }

  // ------------------------------------------------------------ multiplexed

  /**
   * Asks the broker whether it takes enveloped requests: a plain 7/MDP
   * `mmi.zkit.envelope` request on the socket that will carry them.
   */
  #discover(): void {
    this.#state = "discovering";
    const mux = this.#tryOpenMux();
    if (mux instanceof Error) {
      this.#decide("sockets", `the multiplexed socket could not be opened (${mux.message})`);
      return;
    }
    this.#discoveryTimer = setTimeout(() => {
      this.#discoveryTimer = undefined;
      this.#decide("sockets", `no answer to ${MMI_ENVELOPE} within ${this.#discoveryTimeoutMs} ms`);
    }, this.#discoveryTimeoutMs);
    const frames = encodeRequest(MMI_ENVELOPE_FRAME, []);
    this.#trace?.({ direction: "out", socket: "broker", frames });
    mux.socket.post(frames);
  }

  /** The way requests travel is known: says so, and sends the requests that waited for it. */
  #decide(mode: AsyncClientMode, reason: string): void {
    clearTimeout(this.#discoveryTimer);
    this.#discoveryTimer = undefined;
    this.#state = mode;
    if (mode === "sockets" && this.#mux !== undefined) this.#closeMux(this.#mux); // nothing is in flight on it yet
    log.info("MajordomoAsyncClient: %s: %s", mode === "multiplexed" ? "one socket for every request (zkit envelope extension)" : "a socket per request in flight", reason);
    this.notify("mode", { mode, reason });
    for (let p = this.#held.shift(); p !== undefined; p = this.#held.shift()) {
      this.#stats.waiting--;
      if (!p.done) this.#route(p);
    }
  }

  /** The multiplexed socket, opened, or the error that kept it from being opened. */
  #tryOpenMux(): Mux | ZkitError {
    try {
      return this.#openMux();
    } catch (err) {
      return err instanceof ZkitError ? err : new ZkitError(ErrorCode.Socket, `MajordomoAsyncClient: cannot open a socket: ${String(err)}`, { cause: err });
    }
  }

  #openMux(): Mux {
    // replies to every request in flight come back on this one connection:
    // no receive limit, or libzmq would stop reading with thousands in flight
    const socket = new ZSocket("DEALER", { ...this.#security, linger: 0, receiveHighWaterMark: 0 });
    const mux: Mux = { socket, guard: undefined, pending: new Map() };
    if (this.#security !== undefined) mux.guard = new HandshakeGuard(socket, { onFailure: (err) => this.#muxHandshakeFailed(mux, err) });
    try {
      for (const address of this.#addresses) socket.connect(address);
    } catch (err) {
      mux.guard?.close();
      socket.close();
      throw err;
    }
    this.#mux = mux;
    this.#stats.socketsOpened++;
    this.#stats.sockets++;
    void this.#readMux(mux);
    return mux;
  }

  #closeMux(mux: Mux): void {
    if (this.#mux !== mux) return;
    this.#mux = undefined;
    this.#stats.sockets--;
    mux.guard?.close();
    mux.socket.close();
  }

  /** Sends `p` on the multiplexed socket with a fresh correlation. Never throws: a failure rejects `p` alone. */
  #sendMux(p: Pending): void {
    let mux = this.#mux;
    if (mux === undefined) {
      const opened = this.#tryOpenMux(); // the first request with multiplex "on", or after a failed handshake
      if (opened instanceof Error) {
        this.#finish(p);
        p.reject(opened);
        return;
      }
      mux = opened;
    }
    let corr = (this.#lastCorr + 1) >>> 0;
    while (mux.pending.has(corr)) corr = (corr + 1) >>> 0;
    this.#lastCorr = corr;
    p.mux = mux;
    p.corr = corr;
    mux.pending.set(corr, p);
    this.#stats.inFlight++;
    p.timer = setTimeout(() => this.#timedOut(p), p.req.timeoutMs);
    const frame = Buffer.allocUnsafe(4);
    frame.writeUInt32BE(corr, 0);
    const frames = encodeEnvelopedRequest(frame, p.req.service, p.req.body);
    this.#trace?.({ direction: "out", socket: "broker", frames });
    mux.socket.post(frames);
  }

  async #readMux(mux: Mux): Promise<void> {
    try {
      for await (const frames of mux.socket) this.#onMuxMessage(mux, frames);
    } catch (err) {
      if (!mux.socket.closed) log.warn("MajordomoAsyncClient: the multiplexed socket failed (%s); its requests will time out", (err as Error)?.message ?? String(err));
    }
  }

  #onMuxMessage(mux: Mux, frames: Buffer[]): void {
    this.#trace?.({ direction: "in", socket: "broker", frames });
    const msg = decodeEnvelopedClientReply(frames);
    if (msg.kind === "plain") {
      if (this.#state === "discovering" && mux === this.#mux && msg.service.equals(MMI_ENVELOPE_FRAME)) {
        const status = msg.body[0]?.toString() ?? "(nothing)";
        if (status === MMI_OK) this.#decide("multiplexed", `the broker answered ${MMI_OK} to ${MMI_ENVELOPE}`);
        else this.#decide("sockets", `the broker answered ${printable(Buffer.from(status))} to ${MMI_ENVELOPE}`);
        return;
      }
      this.#dropUnmatched(`a plain reply from service ${printable(msg.service)} on the multiplexed socket`);
      return;
    }
    if (msg.kind === "invalid") {
      this.#dropUnmatched(msg.error.message);
      return;
    }
    const p = msg.corr.length === 4 ? mux.pending.get(msg.corr.readUInt32BE(0)) : undefined;
    if (p === undefined) {
      this.#stats.late++;
      lateReplies.record("MajordomoAsyncClient: dropped a reply from %s whose request is no longer in flight (it timed out and was resent, or was aborted)", printable(msg.service));
      return;
    }
    if (!msg.service.equals(p.req.service)) {
      this.#dropUnmatched(`a reply from service ${printable(msg.service)} to a request for ${p.req.serviceName}`);
      return;
    }
    this.#stats.replies++;
    this.#finish(p);
    p.resolve(Reply.fromFrames(msg.body));
  }

  #dropUnmatched(why: string): void {
    this.#stats.unmatched++;
    log.warn("MajordomoAsyncClient: dropped a message that is no awaited reply: %s", why);
  }

  /**
   * The multiplexed socket's security handshake failed: every request on
   * it (and every request waiting for the discovery answer) rejects with
   * the error at once; the socket is closed, and the next request opens a
   * new one (asking the broker again with `multiplex: "auto"`).
   */
  #muxHandshakeFailed(mux: Mux, err: HandshakeError): void {
    if (this.#mux !== mux) return;
    log.warn("MajordomoAsyncClient: %s", err.message);
    this.#closeMux(mux);
    // the requests waiting for room would meet the same broker with the same keys: they fail too
    const victims = [...mux.pending.values()];
    if (this.#state === "multiplexed") {
      for (let p = this.#waiting.shift(); p !== undefined; p = this.#waiting.shift()) {
        this.#stats.waiting--;
        if (!p.done) victims.push(p);
      }
    }
    for (const p of victims) {
      this.#finish(p);
      p.reject(err);
    }
    if (this.#state === "discovering") {
      clearTimeout(this.#discoveryTimer);
      this.#discoveryTimer = undefined;
      this.#state = "unknown";
      for (let p = this.#held.shift(); p !== undefined; p = this.#held.shift()) {
        this.#stats.waiting--;
        if (p.done) continue;
        this.#finish(p);
        p.reject(err);
      }
    }
  }

  // ------------------------------------------------------ socket per request

  /**
   * Puts `p` on a free socket, a new one, or in the waiting line. Never
   * throws (it also runs from timers): a failure rejects `p` alone.
   */
  #assign(p: Pending): void {
    let slot = this.#free.pop();
    if (slot === undefined && this.#slots.size < this.#maxSockets) {
      const opened = this.#tryOpen();
      if (opened instanceof Error) {
        if (!this.#outOfSockets(opened)) {
          this.#finish(p);
          p.reject(opened);
          return;
        }
      } else {
        slot = opened;
      }
    }
    if (slot === undefined) {
      this.#waiting.push(p);
      this.#stats.waiting++;
      return;
    }
    this.#send(slot, p);
  }

  /** A new slot, or the error that kept it from being opened. */
  #tryOpen(): Slot | ZkitError {
    try {
      return this.#open();
    } catch (err) {
      return err instanceof ZkitError ? err : new ZkitError(ErrorCode.Socket, `MajordomoAsyncClient: cannot open a socket: ${String(err)}`, { cause: err });
    }
  }

  /**
   * Handles a socket that could not be opened. When libzmq or the process
   * ran out of sockets (closed sockets are freed a moment after close), the
   * request waits and the client tries again shortly: true. Any other
   * failure belongs to the request: false.
   */
  #outOfSockets(err: ZkitError): boolean {
    if (err.code !== ErrorCode.TooManySockets) return false;
    noSockets.record("MajordomoAsyncClient: no socket left for a request (%s): it waits, and the client tries again in %d ms", err.message, SOCKET_RETRY_MS);
    if (this.#socketRetry === undefined && !this.closed) {
      this.#socketRetry = setTimeout(() => {
        this.#socketRetry = undefined;
        this.#openForWaiting();
      }, SOCKET_RETRY_MS);
    }
    return true;
  }

  #open(): Slot {
    const socket = new ZSocket("DEALER", { ...this.#security, linger: 0 });
    const slot: Slot = { socket, pending: undefined, guard: undefined };
    // the guard watches before the socket connects: libzmq reports only what happens after
    if (this.#security !== undefined) slot.guard = new HandshakeGuard(socket, { onFailure: (err) => this.#handshakeFailed(slot, err) });
    try {
      for (const address of this.#addresses) socket.connect(address);
    } catch (err) {
      slot.guard?.close();
      socket.close();
      throw err;
    }
    this.#slots.add(slot);
    this.#stats.socketsOpened++;
    this.#stats.sockets++;
    void this.#read(slot);
    return slot;
  }

  #send(slot: Slot, p: Pending): void {
    slot.pending = p;
    p.slot = slot;
    this.#stats.inFlight++;
    p.timer = setTimeout(() => this.#timedOut(p), p.req.timeoutMs);
    const frames = encodeRequest(p.req.service, p.req.body);
    this.#trace?.({ direction: "out", socket: "broker", frames });
    slot.socket.post(frames);
  }

  async #read(slot: Slot): Promise<void> {
    try {
      for await (const frames of slot.socket) this.#onMessage(slot, frames);
    } catch (err) {
      if (!slot.socket.closed) log.warn("MajordomoAsyncClient: a socket failed (%s); its request will time out", (err as Error)?.message ?? String(err));
    }
  }

  #onMessage(slot: Slot, frames: Buffer[]): void {
    this.#trace?.({ direction: "in", socket: "broker", frames });
    const p = slot.pending;
    const msg = decodeClientReply(frames);
    if (p === undefined || msg.kind !== "reply" || !msg.service.equals(p.req.service)) {
      this.#dropUnmatched(msg.kind === "invalid" ? msg.error.message : p === undefined ? "no request awaits a reply on its socket" : `a reply from service ${printable(msg.service)}`);
      return;
    }
    this.#stats.replies++;
    this.#finish(p);
    this.#release(slot);
    p.resolve(Reply.fromFrames(msg.body));
  }

  /** Ends `p`'s life in the client (timer, abort listener, slot). */
  #finish(p: Pending): void {
    p.done = true;
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.timer = undefined;
    if (p.req.signal !== undefined) this.#unwatch(p.req.signal, p);
    if (p.slot !== undefined) {
      p.slot.pending = undefined;
      p.slot = undefined;
      this.#stats.inFlight--;
    }
    if (p.mux !== undefined) {
      p.mux.pending.delete(p.corr);
      p.mux = undefined;
      this.#stats.inFlight--;
      this.#sendWaiting();
    }
  }

  /** Multiplexed: sends waiting requests while fewer than `maxInFlight` are on the wire. Never throws. */
  #sendWaiting(): void {
    if (this.#state !== "multiplexed" || this.closed) return;
    while (this.#waiting.length > 0 && (this.#mux?.pending.size ?? 0) < this.#maxInFlight) {
      const next = this.#waiting.shift()!;
      this.#stats.waiting--;
      if (!next.done) this.#sendMux(next);
    }
  }

  /** A slot whose request was answered: to the next waiting request, or to the free list. */
  #release(slot: Slot): void {
    for (let next = this.#waiting.shift(); next !== undefined; next = this.#waiting.shift()) {
      this.#stats.waiting--;
      if (next.done) continue;
      this.#send(slot, next);
      return;
    }
    this.#free.push(slot);
  }

  /**
   * A slot's security handshake failed: its request (if any) rejects with
   * the error at once, and the socket is retired (libzmq would never
   * reconnect a socket refused by ZAP, and would fail again with a wrong
   * key).
   */
  #handshakeFailed(slot: Slot, err: HandshakeError): void {
    if (!this.#slots.has(slot)) return;
    log.warn("MajordomoAsyncClient: %s", err.message);
    const p = slot.pending;
    if (p !== undefined) this.#finish(p);
    else this.#free = this.#free.filter((s) => s !== slot);
    this.#retire(slot);
    p?.reject(err);
  }

  /** Closes a slot that may still get a late reply, and opens room for a waiting request. */
  #retire(slot: Slot): void {
    this.#slots.delete(slot);
    this.#stats.sockets--;
    slot.guard?.close();
    slot.socket.close(); // never in the free list: it carried a request
    this.#openForWaiting(); // the room it leaves may serve a waiting request
  }

  /** Opens sockets for waiting requests while there is room; never throws. */
  #openForWaiting(): void {
    for (let next = this.#waiting.peek(); next !== undefined && this.#slots.size < this.#maxSockets && !this.closed; next = this.#waiting.peek()) {
      if (next.done) {
        this.#waiting.shift();
        this.#stats.waiting--;
        continue;
      }
      const opened = this.#tryOpen();
      if (opened instanceof Error) {
        if (this.#outOfSockets(opened)) return; // they keep waiting; tried again shortly
        this.#waiting.shift();
        this.#stats.waiting--;
        this.#finish(next);
        next.reject(opened);
        continue;
      }
      this.#waiting.shift();
      this.#stats.waiting--;
      this.#send(opened, next);
    }
  }

  #timedOut(p: Pending): void {
    if (p.done) return;
    p.timer = undefined;
    this.#stats.timeouts++;
    if (p.mux !== undefined) {
      // its correlation is retired: a late reply to this attempt is dropped (stats.late)
      p.mux.pending.delete(p.corr);
      p.mux = undefined;
      this.#stats.inFlight--;
      if (p.retriesLeft === 0 || this.closed) this.#sendWaiting(); // a resend takes the room back itself
    } else {
      const slot = p.slot!;
      slot.pending = undefined;
      p.slot = undefined;
      this.#stats.inFlight--;
      this.#retire(slot); // a late reply must never meet the next request on this socket
    }
    const what = `MajordomoAsyncClient.request("${p.req.serviceName}")`;
    if (p.retriesLeft > 0 && !this.closed) {
      p.retriesLeft--;
      log.warn("%s: no reply within %d ms, resending", what, p.req.timeoutMs);
      this.notify("retry", { attempt: p.req.retries - p.retriesLeft, retriesLeft: p.retriesLeft, timeoutMs: p.req.timeoutMs, service: p.req.serviceName });
      this.#route(p);
      return;
    }
    this.#finish(p);
    p.reject(new TimeoutError(`${what}: no reply after ${p.req.retries + 1} attempt(s) of ${p.req.timeoutMs} ms each`));
  }

  /** One abort listener per signal, however many requests share it. */
  #watch(signal: AbortSignal, p: Pending): void {
    let watch = this.#signals.get(signal);
    if (watch === undefined) {
      const w: SignalWatch = {
        pending: new Set(),
        listener: () => {
          this.#signals.delete(signal);
          for (const q of w.pending) this.#abort(q);
        },
      };
      watch = w;
      this.#signals.set(signal, w);
      signal.addEventListener("abort", w.listener, { once: true });
    }
    watch.pending.add(p);
  }

  #unwatch(signal: AbortSignal, p: Pending): void {
    const watch = this.#signals.get(signal);
    if (watch === undefined) return;
    watch.pending.delete(p);
    if (watch.pending.size === 0) {
      signal.removeEventListener("abort", watch.listener);
      this.#signals.delete(signal);
    }
  }

  #abort(p: Pending): void {
    if (p.done) return;
    this.#stats.aborted++;
    const slot = p.slot;
    this.#finish(p);
    if (slot !== undefined) this.#retire(slot);
    p.reject(abortError(`MajordomoAsyncClient.request("${p.req.serviceName}")`, p.req.signal!));
  }

  /** Nothing to do: sockets are opened by the requests. */
  protected onStart(): void {}

  /** Every request still waiting rejects with `ClosedError`, and every socket closes. */
  protected onClose(): void {
    clearTimeout(this.#socketRetry);
    clearTimeout(this.#discoveryTimer);
    this.#discoveryTimer = undefined;
    const err = (): ClosedError => new ClosedError("MajordomoAsyncClient.request: the client was closed before the reply came");
    for (let p = this.#held.shift(); p !== undefined; p = this.#held.shift()) {
      this.#stats.waiting--;
      if (p.done) continue;
      this.#finish(p);
      p.reject(err());
    }
    const mux = this.#mux;
    if (mux !== undefined) {
      for (const p of [...mux.pending.values()]) {
        this.#finish(p);
        p.reject(err());
      }
      this.#closeMux(mux);
    }
    for (let p = this.#waiting.shift(); p !== undefined; p = this.#waiting.shift()) {
      this.#stats.waiting--;
      if (p.done) continue;
      this.#finish(p);
      p.reject(err());
    }
    for (const slot of [...this.#slots]) {
      const p = slot.pending;
      if (p !== undefined) {
        this.#finish(p);
        p.reject(err());
      }
      this.#slots.delete(slot);
      this.#stats.sockets--;
      slot.guard?.close();
      slot.socket.close();
    }
    this.#free = [];
  }
}
