/**
 * The Freelance client's decisions, without sockets: which servers are
 * alive, which one gets each request, when a request goes to another server,
 * which servers are demoted, which replies answer a request and which are
 * duplicates or unknown. {@link FreelanceClient} feeds it what its ROUTER
 * receives, timer firings and send failures, and sends what it returns;
 * tests drive it directly with a clock of their own.
 *
 * What it fixes in the Guide's `flcliapi` (chapter 4, model 3):
 * - `flcliapi` resends the pending request to the first live server on
 *   every poll wake-up (each PONG from any server sends another copy), and
 *   never moves past a server that answers PINGs but drops requests. Here a
 *   request goes to one server at a time, and moves to another only when
 *   its attempt times out or its server is lost; a server that let a
 *   request time out is demoted.
 * - `flcliapi` appends a server to its live list on CONNECT and again on its
 *   first reply, so it can be there twice. Here a server is one entry,
 *   alive or not.
 * - `flcliapi` asserts (crashes) on a reply from an identity it does not
 *   know. Here it is dropped and counted.
 * - `flcliapi` serves one request at a time. Here any number are in flight.
 * @module
 */
import type { HandshakeError } from "@zkit/security";
import { LogBurst, TimeoutError, getLogger, isRouterNotification } from "@zkit/core";
import { Backoff, RetriesExhaustedError, Reply, peerId, type ExpiryHandle, type RetryEvent } from "@zkit/reliability";
import { decodeClientMessage, encodeControl, encodePing, encodeRequest, printable } from "./protocol.js";

const log = getLogger("flp");

/** Why a server stopped counting as alive (event `disconnected`). */
export type ServerLostReason =
  /** Silent for `serverTtlMs` (no PONG, no reply). */
  | "silent"
  /** Its connection ended (libzmq's disconnect notice): it died, or closed. */
  | "connection-lost"
  /** A message to it could not be sent (no connection, or its queue was full). */
  | "unreachable"
  /** {@link FreelanceClient.disconnect} removed it. */
  | "removed";

/** Why a request went to another server (event `retry`). */
export type RetryReason =
  /** Its server did not answer within `attemptTimeoutMs`. */
  | "timeout"
  /** Its server was lost (see {@link ServerLostReason}) before answering. */
  | "server-lost";

/**
 * A server, as the client's events name it: by its routing id in hex, as
 * every zkit event names a peer (`peerId` of `@zkit/reliability`), and by
 * its endpoint, which in 10/FLP is the same routing id as text.
 */
export interface ServerInfo {
  /** The server's routing id in hex (the bytes of its endpoint). */
  server: string;
  /** The server's endpoint, e.g. `tcp://localhost:5555`: what to print. */
  endpoint: string;
}

/** A server that stopped counting as alive (event `disconnected`). */
export interface ServerLostInfo extends ServerInfo {
  /** Why. */
  reason: ServerLostReason;
  /** How long it had been silent, in ms, when `reason` is `silent`. */
  silentMs?: number;
}

/** A server demoted after a request timed out on it (event `server-demoted`). */
export interface DemotedInfo extends ServerInfo {
  /** How long it gets no request while another live server can take it, in ms. */
  delayMs: number;
}

/** A request sent again, to another server if there is one (event `retry`). */
export interface FreelanceRetryEvent extends RetryEvent {
  /** The server that did not answer: its routing id in hex. */
  server: string;
  /** Its endpoint. */
  endpoint: string;
  /** Why the request moves on. */
  reason: RetryReason;
}

/** A message dropped because it could not be understood, or came from nobody this client knows (event `malformed`). */
export interface MalformedInfo {
  /** What is wrong with it. */
  reason: string;
  /** The index of the bad frame (the routing id is frame 0), when one can be named. */
  frame: number | undefined;
  /** The sender's routing id in hex (`peerId`); a server's is its endpoint's bytes. */
  peer: string | undefined;
}

/** The events of a {@link FreelanceClient}. */
export interface FreelanceClientEvents {
  /** The ROUTER connects to a server (at `start()`, or `connect()` afterwards); it counts as alive once it answers a PING. */
  connecting: [info: ServerInfo];
  /** A server answered (PONG or a reply) and counts as alive: requests may go to it. */
  connected: [info: ServerInfo];
  /** A server stopped counting as alive; the requests it held went to others. */
  disconnected: [info: ServerLostInfo];
  /** A server let a request time out while it answered PINGs: it gets no request for a while. */
  "server-demoted": [info: DemotedInfo];
  /** A request is sent again, after a timeout or because its server was lost. */
  retry: [info: FreelanceRetryEvent];
  /** A message was dropped: malformed, from an unknown server, or with a control frame no request ever had. */
  malformed: [info: MalformedInfo];
  /** The security handshake with a server failed (a wrong server key, a key its ZAuth refuses): what it said. */
  "handshake-failed": [info: { endpoint: string; error: HandshakeError }];
}

/** The client's counters: totals since it started, and gauges of the present. */
export interface FreelanceClientStats {
  /** Calls to `request()` accepted. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Sends of a request after its first (to another server, or the same one when it is the only one). */
  retries: number;
  /** Requests that failed with a `TimeoutError` (or `RetriesExhaustedError`). */
  timeouts: number;
  /** Requests cancelled through their signal. */
  aborted: number;
  /**
   * Replies dropped because their request had already been answered (by
   * another server), had timed out or been aborted: the copies a resend can
   * cause, never handed to the caller.
   */
  duplicates: number;
  /** Messages dropped because they came from an identity that is none of this client's servers, or named no request this client ever sent. */
  unknown: number;
  /** Messages dropped because they broke 10/FLP. */
  malformed: number;
  /** PINGs sent. */
  pings: number;
  /** PONGs received. */
  pongs: number;
  /** Times a server was demoted. */
  demotions: number;
  /** Times a live server was lost (silent, connection ended, unreachable). */
  serversLost: number;
  /** Gauge: requests not answered yet (in flight and waiting). */
  pending: number;
  /** Gauge: requests waiting for a live server. */
  waiting: number;
  /** Gauge: servers this client connects to. */
  servers: number;
  /** Gauge: servers that count as alive now. */
  liveServers: number;
}

/** One server, as {@link FreelanceClient.servers} describes it. */
export interface ServerSnapshot {
  /** Its routing id in hex, as the events name it. */
  server: string;
  /** Its endpoint (its routing id as text). */
  endpoint: string;
  /** True while it counts as alive: it answered within `serverTtlMs` and its connection holds. */
  alive: boolean;
  /** Requests sent to it and not answered yet. */
  inFlight: number;
  /** True while it is demoted (it gets requests only when no other live server can). */
  demoted: boolean;
  /** True while it may hold only one request: once demoted, until it answers one in time. */
  probation: boolean;
  /** Requests sent to it (resends included). */
  requests: number;
  /** Replies it sent that answered a pending request. */
  replies: number;
  /** Attempts that timed out on it. */
  timeouts: number;
  /** Milliseconds since it was last heard from, or undefined if never. */
  silentMs: number | undefined;
}

/** The client settings the state needs, resolved. @internal */
export interface ClientConfig {
  pingIntervalMs: number;
  serverTtlMs: number;
  attemptTimeoutMs: number;
  demotionMs: number;
}

/** The expiry the state uses: `PeerExpiry` of `@zkit/reliability`, or a test's. @internal */
interface ServerExpiry {
  add(server: ServerEntry): ExpiryHandle<ServerEntry>;
  touch(handle: ExpiryHandle<ServerEntry>): void;
  remove(handle: ExpiryHandle<ServerEntry>): void;
}

/** What the state needs from its client. @internal */
export interface ClientHost {
  /**
   * Sends a message on the ROUTER; when it fails, calls
   * {@link ClientState.sendFailed} with the server and request (undefined for a PING).
   */
  send(frames: Buffer[], server: ServerEntry, request: PendingRequest | undefined): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fn` once after `delayMs`; returns a handle for {@link ClientHost.cancel}. */
  timer(delayMs: number, fn: () => void): number;
  /** Cancels a timer that may have fired already. */
  cancel(handle: number): void;
  /** Server liveness: silent servers expire (the host calls {@link ClientState.serverSilent}). */
  expiry: ServerExpiry;
  /** Emits an event. */
  notify<K extends keyof FreelanceClientEvents>(event: K, ...args: FreelanceClientEvents[K]): void;
}

/** A server in the client's books. @internal */
export interface ServerEntry {
  readonly endpoint: string;
  /** The routing id: the endpoint's bytes. */
  readonly id: Buffer;
  /** The routing id in hex, for events. */
  readonly hex: string;
  alive: boolean;
  /** When it was last heard from (`now()`), or -1. */
  lastHeard: number;
  expiry: ExpiryHandle<ServerEntry> | undefined;
  /** The requests it holds now. */
  readonly inFlight: Set<PendingRequest>;
  /** Demoted until this time (`now()`), 0 when not demoted. */
  demotedUntil: number;
  /** A timeout on a request sent before this time does not demote it again. */
  eligibleSince: number;
  /** While true (once demoted, until it answers in time), it may hold one request at a time. */
  probation: boolean;
  readonly backoff: Backoff;
  /** The dispatch counter when it last got a request: least recently used first among equals. */
  lastUsed: number;
  requests: number;
  replies: number;
  timeouts: number;
  removed: boolean;
}

/** A request not answered yet. @internal */
export interface PendingRequest {
  readonly seq: number;
  readonly control: Buffer;
  readonly body: readonly Buffer[];
  /** Its deadline (`now()`). */
  readonly deadline: number;
  /** Its whole timeout, in ms, for messages. */
  readonly timeoutMs: number;
  /** The server holding it now. */
  server: ServerEntry | undefined;
  /** When it was last sent. */
  sentAt: number;
  /** How many times it was sent. */
  attempts: number;
  /** Every server it was sent to. */
  readonly tried: ServerEntry[];
  timer: number | undefined;
  waiting: boolean;
  done: boolean;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
}

/** How many routing ids of unknown servers are remembered for error messages. */
const UNKNOWN_IDS_KEPT = 8;

/**
 * The Freelance client's books and rules. Every public method is
 * synchronous, never throws on bad input, and acts through its host.
 * @internal
 */
export class ClientState {
  readonly #config: ClientConfig;
  readonly #host: ClientHost;
  readonly #servers = new Map<string, ServerEntry>();
  readonly #pending = new Map<number, PendingRequest>();
  /** Requests waiting for a live server, in arrival order. */
  readonly #waiting = new Set<PendingRequest>();
  /** Routing ids that sent something but are none of our servers (for error messages). */
  readonly #unknownIds: string[] = [];
  #seq = 0;
  #dispatches = 0;
  #closed = false;
  readonly #counters = {
    requests: 0,
    replies: 0,
    retries: 0,
    timeouts: 0,
    aborted: 0,
    duplicates: 0,
    unknown: 0,
    malformed: 0,
    pings: 0,
    pongs: 0,
    demotions: 0,
    serversLost: 0,
  };
  readonly #logs = {
    duplicates: new LogBurst(log, "FreelanceClient: replies to requests already answered, timed out or aborted dropped (see stats.duplicates)", { level: "debug" }),
    unknown: new LogBurst(log, "FreelanceClient: messages from unknown servers or for unknown requests dropped (see stats.unknown)"),
    malformed: new LogBurst(log, "FreelanceClient: malformed messages dropped (see stats.malformed)"),
  };

  constructor(config: ClientConfig, host: ClientHost) {
    this.#config = config;
    this.#host = host;
  }

  /** The counters, with the gauges of the present. */
  get stats(): FreelanceClientStats {
    let live = 0;
    for (const s of this.#servers.values()) if (s.alive) live++;
    return { ...this.#counters, pending: this.#pending.size, waiting: this.#waiting.size, servers: this.#servers.size, liveServers: live };
  }

  /** Every server, as {@link ServerSnapshot}s, in the order they were added. */
  servers(): ServerSnapshot[] {
    const t = this.#host.now();
    return [...this.#servers.values()].map((s) => ({
      server: s.hex,
      endpoint: s.endpoint,
      alive: s.alive,
      inFlight: s.inFlight.size,
      demoted: s.demotedUntil > t,
      probation: s.probation,
      requests: s.requests,
      replies: s.replies,
      timeouts: s.timeouts,
      silentMs: s.lastHeard < 0 ? undefined : t - s.lastHeard,
    }));
  }

  // ------------------------------------------------------------- servers

  /**
   * Adds a server (the host has connected its ROUTER to `endpoint`) and
   * PINGs it. Adding one that is already there does nothing.
   * @returns false when it was already there
   */
  addServer(endpoint: string): boolean {
    if (this.#servers.has(endpoint)) return false;
    const id = Buffer.from(endpoint);
    const s: ServerEntry = {
      endpoint,
      id,
      hex: peerId(id),
      alive: false,
      lastHeard: -1,
      expiry: undefined,
      inFlight: new Set(),
      demotedUntil: 0,
      eligibleSince: 0,
      probation: false,
      backoff: new Backoff({ initialMs: this.#config.demotionMs, maxMs: 16 * this.#config.demotionMs }),
      lastUsed: 0,
      requests: 0,
      replies: 0,
      timeouts: 0,
      removed: false,
    };
    this.#servers.set(endpoint, s);
    this.#host.notify("connecting", info(s));
    this.#ping(s);
    return true;
  }

  /**
   * Removes a server: it gets no more requests; the ones it holds go to
   * other servers. @returns false when there was no such server
   */
  removeServer(endpoint: string): boolean {
    const s = this.#servers.get(endpoint);
    if (s === undefined) return false;
    this.#lost(s, "removed");
    s.removed = true;
    this.#servers.delete(endpoint);
    return true;
  }

  /** True when `endpoint` is one of the servers. */
  hasServer(endpoint: string): boolean {
    return this.#servers.has(endpoint);
  }

  /**
   * Every ping interval: PINGs each server that is not alive (a probe; it
   * fails at once while there is no connection) and each live one that has
   * been quiet for half an interval.
   */
  tick(): void {
    const t = this.#host.now();
    const quiet = this.#config.pingIntervalMs / 2;
    for (const s of this.#servers.values()) {
      if (!s.alive || t - s.lastHeard >= quiet) this.#ping(s);
    }
  }

  /** The host's expiry fired: `server` was silent for `serverTtlMs`. */
  serverSilent(server: ServerEntry): void {
    server.expiry = undefined; // PeerExpiry forgets an expired handle by itself
    if (!server.alive || server.removed) return;
    this.#lost(server, "silent", this.#host.now() - server.lastHeard);
  }

  #ping(s: ServerEntry): void {
    if (this.#closed) return;
    this.#counters.pings++;
    this.#host.send(encodePing(s.id), s, undefined);
  }

  /** `s` said something: it is alive. */
  #heard(s: ServerEntry): void {
    s.lastHeard = this.#host.now();
    if (s.alive) {
      if (s.expiry !== undefined) this.#host.expiry.touch(s.expiry);
      return;
    }
    s.alive = true;
    s.expiry = this.#host.expiry.add(s);
    log.debug("server %s is alive", s.endpoint);
    this.#host.notify("connected", info(s));
    this.#drain();
  }

  /** `s` no longer counts as alive: the requests it holds go elsewhere. */
  #lost(s: ServerEntry, reason: ServerLostReason, silentMs?: number): void {
    if (!s.alive) return;
    s.alive = false;
    if (s.expiry !== undefined) this.#host.expiry.remove(s.expiry);
    s.expiry = undefined;
    this.#counters.serversLost++;
    log.info("server %s lost (%s)", s.endpoint, reason);
    this.#host.notify("disconnected", silentMs === undefined ? { ...info(s), reason } : { ...info(s), reason, silentMs });
    const held = [...s.inFlight];
    for (const req of held) {
      const waited = this.#host.now() - req.sentAt;
      this.#detach(req);
      this.#retry(req, s, "server-lost", waited);
    }
  }

  #demote(s: ServerEntry): void {
    const t = this.#host.now();
    const delay = s.backoff.next();
    s.demotedUntil = t + delay;
    s.eligibleSince = s.demotedUntil;
    s.probation = true;
    this.#counters.demotions++;
    log.info("server %s let a request time out: demoted for %d ms", s.endpoint, delay);
    this.#host.notify("server-demoted", { ...info(s), delayMs: delay });
    // when the demotion ends, requests waiting only for it may go
    this.#host.timer(delay, () => this.#drain());
  }

  // ------------------------------------------------------------ messages

  /** Handles one message received by the ROUTER (routing id first). */
  onMessage(frames: Buffer[]): void {
    if (this.#closed) return;
    const id = frames[0];
    const s = id === undefined ? undefined : this.#servers.get(id.toString("latin1"));
    if (isRouterNotification(frames)) {
      // [server][""]: its connection came up or ended. Which one is not
      // said; a live server's notice is its loss, any other's may be a
      // connection: ping it (a PONG makes it alive).
      if (s === undefined) {
        this.#unknown(
          id!,
          `a server connected as ${printable(id!)}, which is none of the endpoints this client connected to: a Freelance server's routing id must be the exact endpoint its clients connect to`,
        );
        return;
      }
      if (s.alive) this.#lost(s, "connection-lost");
      this.#ping(s);
      return;
    }
    if (s === undefined) {
      this.#unknown(id!, `a message from ${printable(id!)}, which is none of the servers this client connected to`);
      return;
    }
    const msg = decodeClientMessage(frames);
    if (msg.kind === "invalid") {
      this.#counters.malformed++;
      this.#logs.malformed.record("FreelanceClient: dropped a malformed message from %s: %s", s.endpoint, msg.error.message);
      this.#host.notify("malformed", { reason: msg.error.message, frame: msg.error.frame, peer: s.hex });
      return;
    }
    this.#heard(s);
    if (msg.kind === "pong") {
      this.#counters.pongs++;
      return;
    }
    const req = msg.seq === undefined ? undefined : this.#pending.get(msg.seq);
    if (req === undefined) {
      if (msg.seq !== undefined && msg.seq <= this.#seq) {
        this.#counters.duplicates++;
        this.#logs.duplicates.record("FreelanceClient: dropped a reply from %s to request %d, which was already answered, timed out or aborted", s.endpoint, msg.seq);
        return;
      }
      this.#unknown(s.id, `a reply from ${s.endpoint} with control frame ${printable(msg.control)}, which names no request this client sent`, 1);
      return;
    }
    this.#answer(req, s, msg.body);
  }

  #unknown(id: Buffer, reason: string, frame?: number): void {
    this.#counters.unknown++;
    const peer = printable(id);
    if (frame === undefined && !this.#unknownIds.includes(peer)) {
      this.#unknownIds.push(peer);
      if (this.#unknownIds.length > UNKNOWN_IDS_KEPT) this.#unknownIds.shift();
    }
    this.#logs.unknown.record("FreelanceClient: dropped %s", reason);
    this.#host.notify("malformed", { reason, frame, peer: peerId(id) });
  }

  #answer(req: PendingRequest, s: ServerEntry, body: Buffer[]): void {
    const timely = req.server === s;
    if (timely) {
      // it answered in time: trusted again, fully
      s.probation = false;
      s.backoff.reset();
      s.demotedUntil = 0;
    }
    s.replies++;
    this.#counters.replies++;
    this.#finish(req);
    req.resolve(Reply.fromFrames(body));
    this.#drain();
  }

  /**
   * A send failed: `request` (undefined for a PING) did not leave for
   * `server` (no connection to it, or its queue is full). The server stops
   * counting as alive until it answers a PING; the request goes elsewhere.
   */
  sendFailed(server: ServerEntry, request: PendingRequest | undefined): void {
    if (this.#closed || request === undefined) return; // a PING to a server with no connection: the next one will do
    if (request.done || request.server !== server) return;
    this.#lost(server, "unreachable");
  }

  // ------------------------------------------------------------ requests

  /**
   * Takes a request: numbers it, sends it to the best live server, or keeps
   * it until one is alive. It settles through `resolve`/`reject`.
   */
  submit(body: readonly Buffer[], timeoutMs: number, resolve: (reply: Reply) => void, reject: (error: unknown) => void): PendingRequest {
    const seq = ++this.#seq;
    const req: PendingRequest = {
      seq,
      control: encodeControl(seq),
      body,
      deadline: this.#host.now() + timeoutMs,
      timeoutMs,
      server: undefined,
      sentAt: 0,
      attempts: 0,
      tried: [],
      timer: undefined,
      waiting: false,
      done: false,
      resolve,
      reject,
    };
    this.#pending.set(seq, req);
    this.#counters.requests++;
    this.#dispatch(req);
    return req;
  }

  /** Cancels a request (its signal aborted): it rejects with `error`; a late reply counts as a duplicate. */
  abort(req: PendingRequest, error: unknown): void {
    if (req.done) return;
    this.#finish(req);
    this.#counters.aborted++;
    req.reject(error);
    this.#drain();
  }

  /** Rejects every pending request with `error` (the handshake failed with every server); the client goes on. */
  rejectAll(error: unknown): void {
    for (const req of [...this.#pending.values()]) {
      this.#finish(req);
      req.reject(error);
    }
    this.#drain();
  }

  /** Rejects every pending request with `error()` and takes nothing more (the client closes). */
  close(error: () => unknown): void {
    this.#closed = true;
    for (const req of [...this.#pending.values()]) {
      this.#finish(req);
      req.reject(error());
    }
    for (const s of this.#servers.values()) {
      if (s.expiry !== undefined) this.#host.expiry.remove(s.expiry);
      s.expiry = undefined;
    }
    for (const l of Object.values(this.#logs)) l.flush();
  }

  /** Sends `req` to the best live server, or makes it wait for one. */
  #dispatch(req: PendingRequest): void {
    if (this.#closed || req.done) return;
    const s = this.#pick(req);
    if (s === undefined) {
      if (!req.waiting) {
        req.waiting = true;
        this.#waiting.add(req);
      }
      if (req.timer === undefined) this.#arm(req, req.deadline - this.#host.now());
      return;
    }
    this.#send(req, s);
  }

  /** Sends what waits, in order, while there are servers to take it. */
  #drain(): void {
    if (this.#closed) return;
    for (const req of this.#waiting) {
      const s = this.#pick(req);
      if (s === undefined) return; // no server for one: none for the rest either
      this.#send(req, s);
    }
  }

  /**
   * The server for `req`: among live servers that are not demoted (and not
   * on probation with a request already), the one it has not tried yet
   * with the fewest requests in flight, least recently used among equals.
   * When a live server is only busy with its probation request, undefined
   * (wait for it). When every live server is demoted, the best of those.
   */
  #pick(req: PendingRequest): ServerEntry | undefined {
    const t = this.#host.now();
    let best: ServerEntry | undefined;
    let fallback: ServerEntry | undefined;
    let liveUndemoted = false;
    for (const s of this.#servers.values()) {
      if (!s.alive) continue;
      const demoted = s.demotedUntil > t;
      if (!demoted) liveUndemoted = true;
      if (s.probation && s.inFlight.size > 0) continue;
      if (demoted) {
        if (fallback === undefined || better(s, fallback, req)) fallback = s;
      } else if (best === undefined || better(s, best, req)) best = s;
    }
    if (best !== undefined) return best;
    return liveUndemoted ? undefined : fallback;
  }

  #send(req: PendingRequest, s: ServerEntry): void {
    if (req.waiting) {
      req.waiting = false;
      this.#waiting.delete(req);
    }
    const t = this.#host.now();
    if (req.attempts > 0) this.#counters.retries++;
    req.server = s;
    req.sentAt = t;
    req.attempts++;
    if (!req.tried.includes(s)) req.tried.push(s);
    s.inFlight.add(req);
    s.lastUsed = ++this.#dispatches;
    s.requests++;
    this.#arm(req, Math.min(this.#config.attemptTimeoutMs, req.deadline - t));
    this.#host.send(encodeRequest(s.id, req.control, req.body), s, req);
  }

  #arm(req: PendingRequest, delayMs: number): void {
    if (req.timer !== undefined) this.#host.cancel(req.timer);
    req.timer = this.#host.timer(Math.max(0, delayMs), () => this.#onTimer(req));
  }

  #onTimer(req: PendingRequest): void {
    req.timer = undefined;
    if (req.done || this.#closed) return;
    const t = this.#host.now();
    // timers have millisecond resolution and may fire up to 1 ms early
    if (t >= req.deadline - 1) {
      this.#fail(req);
      return;
    }
    const s = req.server;
    if (s === undefined) {
      this.#arm(req, req.deadline - t); // waiting: until the deadline
      return;
    }
    // its server did not answer in time: demote it (once per spell), try another
    s.timeouts++;
    this.#detach(req);
    if (req.sentAt >= s.eligibleSince) this.#demote(s);
    this.#retry(req, s, "timeout", this.#config.attemptTimeoutMs);
  }

  #retry(req: PendingRequest, from: ServerEntry, reason: RetryReason, timeoutMs: number): void {
    const left = Math.max(0, Math.ceil((req.deadline - this.#host.now()) / this.#config.attemptTimeoutMs) - 1);
    this.#host.notify("retry", { attempt: req.attempts, retriesLeft: left, timeoutMs, ...info(from), reason });
    this.#dispatch(req);
  }

  #fail(req: PendingRequest): void {
    const attempts = req.attempts;
    this.#finish(req);
    this.#counters.timeouts++;
    const what = `FreelanceClient.request (timeout ${req.timeoutMs} ms)`;
    req.reject(attempts > 0 ? new RetriesExhaustedError(what, attempts, this.#config.attemptTimeoutMs) : new TimeoutError(`${what}: ${this.#noServer()}`));
  }

  /** Why no request could be sent: for the error of a request that never left. */
  #noServer(): string {
    if (this.#servers.size === 0) return "no server to send it to; call connect(endpoint) first";
    const names = [...this.#servers.keys()].join(", ");
    let text = `none of the servers (${names}) answered a PING in time; start one, or check the endpoints`;
    if (this.#unknownIds.length > 0) {
      text += `. Servers connected as ${this.#unknownIds.join(", ")}, which this client did not connect to: a Freelance server's routing id must be the exact endpoint its clients connect to`;
    }
    return text;
  }

  /** Takes `req` off its server. */
  #detach(req: PendingRequest): void {
    const s = req.server;
    if (s === undefined) return;
    s.inFlight.delete(req);
    req.server = undefined;
  }

  /** Ends `req`'s life in the books (it is settled by the caller). */
  #finish(req: PendingRequest): void {
    req.done = true;
    this.#pending.delete(req.seq);
    if (req.waiting) {
      req.waiting = false;
      this.#waiting.delete(req);
    }
    if (req.timer !== undefined) this.#host.cancel(req.timer);
    req.timer = undefined;
    this.#detach(req);
  }
}

/** True when `a` is a better choice than `b` for `req`: untried first, then fewer in flight, then least recently used. */
function better(a: ServerEntry, b: ServerEntry, req: PendingRequest): boolean {
  const at = req.tried.includes(a);
  const bt = req.tried.includes(b);
  if (at !== bt) return !at;
  if (a.inFlight.size !== b.inFlight.size) return a.inFlight.size < b.inFlight.size;
  return a.lastUsed < b.lastUsed;
}

/** How the events name a server. */
function info(s: ServerEntry): ServerInfo {
  return { server: s.hex, endpoint: s.endpoint };
}
