/**
 * ShotgunClient: the Guide's Freelance model 2, "brutal shotgun massacre"
 * (`flclient2`). One DEALER connected to every server sends each request
 * to all of them at once and takes the first reply; the others are dropped.
 * The servers are REP sockets that answer `[sequence][reply...]` (the
 * Guide's `flserver2` answers `[sequence]["OK"]`).
 * @module
 */
import { ClosedError, LogBurst, TIMEOUT_RULE, TimeoutError, ZSocket, abortError, getLogger, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { Lifecycle, Reply } from "@zkit/reliability";
import { securitySocketOptions, type HandshakeError, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { HandshakeWatch } from "./handshake-watch.js";
import { endpointList } from "./failover-client.js";
import { decodeControl, encodeControl } from "./protocol.js";
import { SignalWatches } from "./signals.js";

const log = getLogger("flp");

/** The Guide's model 2 timeout (`GLOBAL_TIMEOUT`): no server answered in this long, in ms. */
export const SHOTGUN_TIMEOUT_MS = 2500;

const EMPTY = Buffer.alloc(0);

/** Options of a {@link ShotgunClient}. */
export interface ShotgunClientOptions {
  /** The servers (REP sockets): an array, or a comma-separated list (a leading `>` is accepted). */
  endpoints: string | readonly string[];
  /**
   * How long a request waits for the first reply, in ms.
   * @defaultValue 2500 ({@link SHOTGUN_TIMEOUT_MS}, the Guide's `GLOBAL_TIMEOUT`)
   */
  timeoutMs?: number;
  /**
   * Called with every message sent or received.
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
   * for PLAIN. When the handshake failed with every server (a wrong server key, a key their ZAuth refuses), the requests reject with a `HandshakeError` at once; one server failing among good ones is only a server that is down.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** Per-request settings of {@link ShotgunClient.request}. */
export interface ShotgunRequestOptions {
  /** How long this request waits for the first reply, in ms. @defaultValue the client's `timeoutMs` */
  timeoutMs?: number;
  /**
   * Cancels the request: it rejects with an `AbortError`.
   * @defaultValue undefined (not cancellable)
   */
  signal?: AbortSignal;
}

/** A message the client dropped because it is no `[""][sequence][reply...]` (event `malformed`). */
export interface ShotgunMalformedInfo {
  /** What is wrong with it. */
  reason: string;
  /** The index of the bad frame (the empty delimiter is frame 0), when one can be named. */
  frame: number | undefined;
  /** Always undefined: a DEALER does not know which server sent a message. */
  peer: undefined;
}

/** The events of a {@link ShotgunClient}. */
export interface ShotgunClientEvents {
  /** A message that is not a reply was dropped. */
  malformed: [info: ShotgunMalformedInfo];
}

/** The counters of a {@link ShotgunClient}. */
export interface ShotgunClientStats {
  /** Calls to `request()` accepted. */
  requests: number;
  /** Requests answered (by their first reply). */
  replies: number;
  /** Copies of requests sent (one per server per request). */
  copies: number;
  /** Replies dropped because their request had been answered already (the other servers' copies), timed out or aborted. */
  duplicates: number;
  /** Requests that failed with `TimeoutError`. */
  timeouts: number;
  /** Requests cancelled through their signal. */
  aborted: number;
  /** Messages dropped that were not replies. */
  malformed: number;
}

const OPTION_NAMES = ["endpoints", "timeoutMs", "trace", "closeOnInterrupt", "security"] as const;
const REQUEST_OPTION_NAMES = ["timeoutMs", "signal"] as const;

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
  cleanup: (() => void) | undefined;
}

/**
 * The Guide's Freelance model 2: every request goes to every server at
 * once over one DEALER (`[""][sequence][body...]`, one copy per server),
 * and the first reply `[""][sequence][reply...]` wins; later ones are
 * dropped (`stats.duplicates`). Fast when servers are healthy, at the cost
 * of doing every request N times. Any number of requests may be in flight.
 *
 * The DEALER deals copies round robin over its connections: with a server
 * down, another may get two copies (as in the Guide).
 *
 * @example
 * ```ts
 * const client = new ShotgunClient({ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] });
 * await client.start();
 * const reply = await client.request("random name"); // ["OK"] from the Guide's flserver2
 * await client.close();
 * ```
 */
export class ShotgunClient extends Lifecycle<ShotgunClientEvents> {
  /** The servers. */
  readonly endpoints: readonly string[];
  readonly #timeoutMs: number;
  readonly #trace: TraceFn | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #signals = new SignalWatches();
  readonly #stats: ShotgunClientStats = { requests: 0, replies: 0, copies: 0, duplicates: 0, timeouts: 0, aborted: 0, malformed: 0 };
  readonly #malformedLog = new LogBurst(log, "ShotgunClient: malformed messages dropped (see stats.malformed)");
  readonly #security: SecuritySocketOptions | undefined;
  #socket: ZSocket<"DEALER"> | undefined;
  #handshakes: HandshakeWatch | undefined;
  #seq = 0;

  /**
   * @param options - see {@link ShotgunClientOptions}
   * @throws `InvalidArgumentError` for a missing, unknown or bad option;
   *   `InvalidEndpointError` for an endpoint that is not CZMQ syntax
   */
  constructor(options: ShotgunClientOptions) {
    const o = readOptions(options, { owner: "ShotgunClient", known: OPTION_NAMES, example: '{ endpoints: ["tcp://localhost:5555", "tcp://localhost:5556"] }' });
    super({ owner: "ShotgunClient", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    this.endpoints = endpointList(o.raw("endpoints"), "ShotgunClient option endpoints");
    this.#timeoutMs = o.number("timeoutMs", SHOTGUN_TIMEOUT_MS, TIMEOUT_RULE);
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "ShotgunClient", role: "client" });
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<ShotgunClientStats> {
    return this.#stats;
  }

  /**
   * Sends the request to every server and resolves with the first reply.
   * The first call starts the client if `start()` was not called.
   *
   * @param body - one frame or several
   * @param opts - see {@link ShotgunRequestOptions}
   * @throws (rejects) `TimeoutError` when no server answered in time;
   *   `HandshakeError` when the `security` handshake failed with every
   *   server; `AbortError` when `signal` aborts; `ClosedError` when the client is
   *   (or gets) closed; `InvalidArgumentError` for a bad body or option
   */
  request(body: MessageLike, opts?: ShotgunRequestOptions): Promise<Reply> {
    if (this.closed) return Promise.reject(new ClosedError("ShotgunClient.request: the client is closed"));
    let frames: Buffer[];
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      frames = toFrames(body, "ShotgunClient.request(body)");
      const o = readOptions(opts, { owner: "ShotgunClient.request", known: REQUEST_OPTION_NAMES });
      timeoutMs = o.number("timeoutMs", this.#timeoutMs, TIMEOUT_RULE);
      signal = o.signal("signal");
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortError("ShotgunClient.request", signal));
    // clients start by themselves on their first request (onStart opens the socket at once)
    this.start().catch(() => {});
    const socket = this.#socket;
    if (this.closed || socket === undefined) return Promise.reject(new ClosedError("ShotgunClient.request: the client is closed (it could not start; see done)"));
    const refused = this.#handshakes?.allFailed(this.endpoints);
    if (refused !== undefined) return Promise.reject(refused);
    const seq = ++this.#seq;
    this.#stats.requests++;
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          if (this.#settle(seq)) {
            this.#stats.timeouts++;
            reject(new TimeoutError(`ShotgunClient.request: none of the ${this.endpoints.length} servers answered within ${timeoutMs} ms`));
          }
        }, timeoutMs),
        cleanup: undefined,
      };
      if (signal !== undefined) {
        const s = signal;
        p.cleanup = this.#signals.watch(s, () => {
          if (this.#settle(seq)) {
            this.#stats.aborted++;
            reject(abortError("ShotgunClient.request", s));
          }
        });
      }
      this.#pending.set(seq, p);
      const message = [EMPTY, encodeControl(seq), ...frames];
      for (let i = 0; i < this.endpoints.length; i++) {
        this.#stats.copies++;
        this.#trace?.({ direction: "out", socket: "servers", frames: message });
        // a send fails only when the socket closes, which rejects the request anyway
        socket.send(message).catch(() => {});
      }
    });
  }

  /** Forgets request `seq`; true when it was still pending. */
  #settle(seq: number): boolean {
    const p = this.#pending.get(seq);
    if (p === undefined) return false;
    this.#pending.delete(seq);
    clearTimeout(p.timer);
    p.cleanup?.();
    return true;
  }

  #onMessage(frames: Buffer[]): void {
    this.#trace?.({ direction: "in", socket: "servers", frames });
    const seq = frames.length >= 2 && frames[0]!.length === 0 ? decodeControl(frames[1]!) : undefined;
    if (seq === undefined || seq > this.#seq) {
      this.#stats.malformed++;
      const frame = frames.length < 2 ? frames.length : frames[0]!.length !== 0 ? 0 : 1;
      const reason =
        frames.length < 2
          ? `expected [""][sequence][reply...], got ${frames.length} frame(s)`
          : frame === 0
            ? 'expected [""][sequence][reply...]: frame 0 is not the empty delimiter'
            : 'expected [""][sequence][reply...]: frame 1 is no sequence number this client sent';
      this.#malformedLog.record("ShotgunClient: dropped a message that is no reply: %s", reason);
      this.notify("malformed", { reason, frame, peer: undefined });
      return;
    }
    const p = this.#pending.get(seq);
    if (p === undefined || !this.#settle(seq)) {
      this.#stats.duplicates++;
      return;
    }
    this.#stats.replies++;
    p.resolve(Reply.fromFrames(frames.slice(2)));
  }

  /** Every server refused the handshake: the requests waiting for a reply reject with the error. */
  #handshakeFailed(err: HandshakeError): void {
    log.warn("ShotgunClient: %s", err.message);
    if (this.#handshakes?.allFailed(this.endpoints) === undefined) return;
    for (const [seq, p] of [...this.#pending]) {
      this.#settle(seq);
      p.reject(err);
    }
  }

  protected onStart(): void {
    const socket = new ZSocket("DEALER", { ...this.#security, linger: 0 });
    // the watch starts before the socket connects: libzmq reports only what happens after
    if (this.#security !== undefined) this.#handshakes = new HandshakeWatch(socket, (err) => this.#handshakeFailed(err));
    for (const e of this.endpoints) socket.connect(e);
    this.#socket = socket;
    void (async () => {
      try {
        for await (const frames of socket) this.#onMessage(frames);
      } catch (err) {
        if (!socket.closed) this.fail(err);
      }
    })();
  }

  protected onClose(): void {
    for (const [seq, p] of [...this.#pending]) {
      this.#settle(seq);
      p.reject(new ClosedError("ShotgunClient.request: the client was closed before the reply came"));
    }
    this.#handshakes?.close();
    this.#socket?.close({ lingerMs: 0 });
    this.#malformedLog.flush();
  }
}
