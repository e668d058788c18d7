/**
 * BinaryStar: the Binary Star reactor (the Guide's `bstar` class). It owns
 * the state publisher, the subscriber to its peer's states and the
 * client-facing voter socket, runs {@link BinaryStarMachine} on them, and
 * calls the application's handler for client requests only while it is
 * active. Applications and other patterns (Clone) embed it: its {@link ZLoop}
 * takes their own readers and timers, its events say when it becomes
 * active or passive.
 * @module
 */
import { LogBurst, ZSocket, atLeastOneFrame, getLogger, now, parseEndpoints, readOptions, toFrames, type MessageLike, type TraceFn } from "@zkit/core";
import { HandlerRunner, Heartbeat, Lifecycle, peerId, type HandlerContext } from "@zkit/reliability";
import { securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { ZLoop } from "@zkit/zloop";
import { BinaryStarMachine, type RejectReason, type SplitBrain, type Transition, type TransitionReason } from "./machine.js";
import { BSTAR_HEARTBEAT_INTERVAL_MS, PEER_EXPIRY_HEARTBEATS, decodeState, encodeRejected, encodeState, splitEnvelope, type BinaryStarRole, type BinaryStarState } from "./protocol.js";

const log = getLogger("bstar");

/** Default of {@link BinaryStarOptions.maxFrameBytes}: 16 MiB. */
export const BSTAR_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Default of {@link BinaryStarOptions.concurrency}: one request at a time. */
export const BSTAR_CONCURRENCY = 1;

/** Default of {@link BinaryStarOptions.handlerTimeoutMs}: no deadline. */
export const BSTAR_HANDLER_TIMEOUT_MS = Infinity;

/** How long `close()` lets the handlers in hand finish before aborting their signal, in ms. */
export const BSTAR_CLOSE_GRACE_MS = 1000;

/** What a voter handler gets beside the request. */
export interface VoterContext extends HandlerContext {
  /**
   * The frames that route a reply back to this client: its routing id (and
   * any further routing frames) up to and including the empty delimiter a
   * REQ client puts there. Prepended to the reply and to {@link send}.
   */
  readonly envelope: readonly Buffer[];
  /**
   * Sends one more message to this client, envelope added, before the
   * handler's reply: for answers of several messages (Clone's snapshot). A
   * REQ client reads only one reply; use it with DEALER clients.
   */
  send(message: MessageLike): Promise<void>;
}

/**
 * Serves one client request while the server is active: returns (or
 * resolves to) the reply, which goes back with the client's envelope, or
 * `undefined`/`null` for no reply. A handler that throws sends nothing (the
 * client times out and retries) and is reported as `handler-error`.
 */
export type VoterHandler = (request: Buffer[], ctx: VoterContext) => MessageLike | null | undefined | void | Promise<MessageLike | null | undefined | void>;

/** Options of a {@link BinaryStar}. */
export interface BinaryStarOptions {
  /**
   * `"primary"` or `"backup"`: the primary is the one that serves when both
   * start together. One of each per pair.
   */
  role: BinaryStarRole;
  /**
   * Where this server publishes its state, as a CZMQ endpoint list: an
   * endpoint with no prefix binds (e.g. `"tcp://*:5003"`;
   * `"tcp://127.0.0.1:*"` takes an ephemeral port, read it from
   * {@link BinaryStar.stateEndpoint}).
   */
  local: string;
  /**
   * The peer's state publisher, as a CZMQ endpoint list: an endpoint with no
   * prefix connects (e.g. `"tcp://backup-host:5004"`). May be left out and
   * given later with {@link BinaryStar.connectPeer} (when both sides take
   * ephemeral ports).
   * @defaultValue undefined (connect later)
   */
  remote?: string;
  /**
   * Where clients connect: the voter ROUTER's CZMQ endpoint list; an
   * endpoint with no prefix binds (e.g. `"tcp://*:5001"`). Every message on
   * it is a client vote (the Guide's CLIENT_REQUEST event).
   */
  voter: string;
  /** Serves the client requests this server accepts, only while it is active. */
  handler: VoterHandler;
  /**
   * How often this server publishes its state, in ms; the peer counts as
   * gone after 2 intervals of silence (the peer expiry). Both servers of a
   * pair must use the same value. Failover takes about the peer expiry
   * plus the clients' timeout.
   * @defaultValue 1000 ({@link BSTAR_HEARTBEAT_INTERVAL_MS}, the Guide's `BSTAR_HEARTBEAT`)
   */
  heartbeatIntervalMs?: number;
  /**
   * Answer a rejected vote (a request to a passive server, or to a primary
   * still waiting for its peer) with `["BSTAR-REJECTED"][state]` instead of
   * dropping it, so a zkit {@link BinaryStarClient} switches to the other
   * server at once rather than after its timeout. A zkit extension: the
   * Guide's clients would take that answer for the reply, so leave it off
   * where they connect. Rejected votes are counted either way.
   * @defaultValue false (the Guide's behaviour: dropped, the client times out)
   */
  answerRejectedVotes?: boolean;
  /**
   * How many requests the handler serves at once; more wait in order.
   * @defaultValue 1 ({@link BSTAR_CONCURRENCY})
   */
  concurrency?: number;
  /**
   * Each request's deadline, in ms from when it is accepted: `ctx.signal`
   * aborts then, and a handler still running is reported as
   * `handler-error` (no reply is sent).
   * @defaultValue Infinity ({@link BSTAR_HANDLER_TIMEOUT_MS}: no deadline)
   */
  handlerTimeoutMs?: number;
  /**
   * The largest frame the voter accepts, in bytes; libzmq refuses bigger
   * ones before receiving them (it drops that client's connection), so
   * memory stays bounded whatever clients send.
   * @defaultValue 16777216 ({@link BSTAR_MAX_FRAME_BYTES}: 16 MiB)
   */
  maxFrameBytes?: number;
  /**
   * Close when the process is interrupted (SIGINT, SIGTERM) after
   * `handleInterrupts()` of `@zkit/core`.
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
  /**
   * Called with every message the server receives or sends: `socket` is
   * `"peer"` for states, `"client"` for the voter (the CLI's `-v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
  /**
   * How the server's sockets are secured (`@zkit/security`): CURVE with
   * the pair's key pair, `{ curve: { secretKey, publicKey } }` (or
   * `cert.serverSecurity()`), no `serverKey`. Both servers of a pair take
   * the same key pair, so that clients need one server key for either. The
   * voter and the state publisher are CURVE servers; the state subscriber
   * connects to the peer as a CURVE client with the pair's own key, so a
   * `ZAuth` with a certificate store in the servers' processes must allow
   * the pair's public key besides the clients' (put its public certificate
   * in the store). Which keys are let in is decided by that `ZAuth`
   * (libzmq asks the one ZAP handler of the process); without one, libzmq
   * admits every CURVE key. PLAIN is not taken here: the state link would
   * need a password of its own.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's pairs run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

const OPTION_NAMES = [
  "role",
  "local",
  "remote",
  "voter",
  "handler",
  "heartbeatIntervalMs",
  "answerRejectedVotes",
  "concurrency",
  "handlerTimeoutMs",
  "maxFrameBytes",
  "closeOnInterrupt",
  "trace",
  "security",
] as const;

/** A state change, as the `active` and `passive` events report it. */
export interface StateChangeInfo {
  /** The state it left. */
  readonly from: BinaryStarState;
  /** Why it changed; see {@link TransitionReason}. */
  readonly reason: TransitionReason;
}

/** A rejected client request (event `vote-rejected`). */
export interface VoteRejectedInfo {
  /** The client's routing id, in hex. */
  readonly client: string;
  /** This server's state when it rejected it. */
  readonly state: BinaryStarState;
  /** Why; see {@link RejectReason}. */
  readonly reason: RejectReason;
  /** True when the client got `["BSTAR-REJECTED"][state]` back (`answerRejectedVotes`). */
  readonly answered: boolean;
}

/** A split brain (event `split-brain`): zkit's rule decided what this server does. */
export interface SplitBrainInfo extends SplitBrain {
  /** This server's role. */
  readonly role: BinaryStarRole;
}

/** The events of a {@link BinaryStar}, besides `start` and `close`. */
export interface BinaryStarEvents {
  /** It became active: it serves clients now (the Guide's `bstar_new_active`). */
  active: [info: StateChangeInfo];
  /** It became passive: it stands by (the Guide's `bstar_new_passive`). */
  passive: [info: StateChangeInfo];
  /** The peer has been silent for the peer expiry (2 heartbeats), or never spoke since the start. */
  "peer-lost": [info: { reason: "silent"; silentMs: number }];
  /** The peer spoke: the first time, or again after it was lost. */
  "peer-seen": [info: { state: BinaryStarState }];
  /** A client request was not served: it came while this server may not serve. */
  "vote-rejected": [info: VoteRejectedInfo];
  /** Both servers active, or both passive: resolved by zkit's rule (see {@link BinaryStarMachine}), never by exiting. */
  "split-brain": [info: SplitBrainInfo];
  /**
   * Its own event loop stalled for the peer expiry or more (a frozen
   * process, a blocked loop): it rejects requests and takes nothing over
   * for `quietMs`, while it hears what its peer did meanwhile.
   */
  stalled: [info: { stalledMs: number; quietMs: number }];
  /**
   * A message on the state socket that is not a state was dropped: `frame`
   * is the bad frame's index, if one frame is to blame; `peer` is always
   * `undefined` (a SUB socket does not say which publisher sent a message).
   */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined }];
  /** The handler threw, rejected, or passed its deadline: no reply was sent. */
  "handler-error": [info: { error: unknown; request: Buffer[] }];
}

/** The counters of a {@link BinaryStar}, since it started. */
export interface BinaryStarStats {
  /** Client requests accepted (handed to the handler). */
  votesAccepted: number;
  /** Client requests rejected (not served). */
  votesRejected: number;
  /** Rejected requests answered with `BSTAR-REJECTED` (`answerRejectedVotes`). */
  rejectionsAnswered: number;
  /** Replies sent to clients. */
  replies: number;
  /** Handler failures (threw, rejected, deadline passed): no reply sent. */
  handlerErrors: number;
  /** Requests accepted but dropped before their handler ran, because the server stepped down to passive. */
  dropped: number;
  /** State messages published. */
  statesSent: number;
  /** State messages received from the peer. */
  statesReceived: number;
  /** Messages on the state socket that were not states, dropped. */
  malformed: number;
  /** Times it became active. */
  activations: number;
  /** Of those, failovers: a passive server took over from a silent peer. */
  failovers: number;
  /** Split brains detected (dual active or dual passive). */
  splitBrains: number;
  /** Stalls of its own event loop of a peer expiry or more. */
  stalls: number;
}

/** What the runner keeps with each accepted request. */
interface Accepted {
  readonly envelope: Buffer[];
  readonly body: Buffer[];
}

/**
 * One server of a Binary Star pair (ZeroMQ Guide chapter 4, "High
 * Availability Pair"): a primary and a backup, one active and serving
 * clients, the other passive, taking over when the active one is gone and
 * clients ask it to.
 *
 * - Each server publishes its state every heartbeat on a PUB socket
 *   (`local`) and subscribes to its peer's (`remote`): one frame, `"1"` to
 *   `"4"`, byte-compatible with the Guide's C and Python `bstarsrv`, so
 *   either of those can be the peer.
 * - Every message on the voter ROUTER is a client vote. While active, the
 *   handler serves it and its reply goes back; otherwise the request is
 *   dropped and counted (`vote-rejected`), or answered `BSTAR-REJECTED`
 *   with `answerRejectedVotes`.
 * - A server becomes active only when clients ask it and it cannot see its
 *   peer (the Guide's split-brain rule); failover is automatic, recovery is
 *   manual: a restarted server sees its peer active and stands by.
 * - Dual active and dual passive are reported (`split-brain`) and resolved
 *   by a rule, without exiting; a server that finds its own loop stalled
 *   listens for a peer expiry before it serves again. See
 *   {@link BinaryStarMachine} for the state table and both rules.
 * - Applications embed it: add readers and timers to {@link BinaryStar.loop}
 *   and watch the `active`/`passive` events (the Guide's `bstar_zloop`,
 *   `bstar_new_active`, `bstar_new_passive`).
 *
 * @example
 * ```ts
 * const server = new BinaryStar({
 *   role: "primary",
 *   local: "tcp://*:5003",
 *   remote: "tcp://localhost:5004",
 *   voter: "tcp://*:5001",
 *   handler: (request) => request, // echo
 * });
 * server.on("active", ({ reason }) => console.log(`I: active (${reason})`));
 * server.on("passive", ({ reason }) => console.log(`I: passive (${reason})`));
 * await server.start();
 * await server.done; // until Ctrl-C
 * ```
 */
export class BinaryStar extends Lifecycle<BinaryStarEvents> {
  readonly #role: BinaryStarRole;
  readonly #local: string;
  #remote: string | undefined;
  readonly #voterEndpoints: string;
  readonly #heartbeatIntervalMs: number;
  readonly #answerRejected: boolean;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  /** The voter's and publisher's socket options (a CURVE server), and the subscriber's (a CURVE client of the peer, with the pair's key). */
  readonly #serverSecurity: SecuritySocketOptions;
  readonly #peerSecurity: SecuritySocketOptions;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #runner: HandlerRunner<Accepted, MessageLike | null | undefined | void, Accepted>;
  readonly #heartbeat: Heartbeat;
  readonly #malformedLog = new LogBurst(log, "malformed state messages dropped (is something else publishing on the peer's state endpoint?)");
  readonly #rejectedLog = new LogBurst(log, "client requests rejected", { level: "debug" });
  #machine: BinaryStarMachine | undefined;
  #pub: ZSocket<"PUB"> | undefined;
  #sub: ZSocket<"SUB"> | undefined;
  #voter: ZSocket<"ROUTER"> | undefined;
  #peerSeen = false;
  #stats: BinaryStarStats = {
    votesAccepted: 0,
    votesRejected: 0,
    rejectionsAnswered: 0,
    replies: 0,
    handlerErrors: 0,
    dropped: 0,
    statesSent: 0,
    statesReceived: 0,
    malformed: 0,
    activations: 0,
    failovers: 0,
    splitBrains: 0,
    stalls: 0,
  };

  /**
   * @param options - see {@link BinaryStarOptions}
   * @throws `InvalidArgumentError` for a missing, unknown or bad option
   *   (the message names it); `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: BinaryStarOptions) {
    const o = readOptions(options, {
      owner: "BinaryStar",
      known: OPTION_NAMES,
      example: '{ role: "primary", local: "tcp://*:5003", remote: "tcp://localhost:5004", voter: "tcp://*:5001", handler }',
    });
    super({ owner: "BinaryStar", channel: "zkit:bstar:server", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    if (o.raw("role") === undefined) o.fail("role", 'is required: pass "primary" or "backup"');
    this.#role = o.oneOf<BinaryStarRole>("role", ["primary", "backup"], "primary");
    this.#local = o.requiredString("local", "tcp://*:5003", "where this server publishes its state (binds)");
    this.#voterEndpoints = o.requiredString("voter", "tcp://*:5001", "where clients connect (binds)");
    const remote = o.raw("remote");
    if (remote !== undefined) this.#remote = o.requiredString("remote", "tcp://localhost:5004", "the peer's state endpoint (connects)");
    // bad endpoint syntax fails here, not at start()
    parseEndpoints(this.#local, true);
    parseEndpoints(this.#voterEndpoints, true);
    if (this.#remote !== undefined) parseEndpoints(this.#remote, false);
    const handler = o.requiredFunction<VoterHandler>("handler", "(request: Buffer[], ctx) => reply");
    this.#heartbeatIntervalMs = o.number("heartbeatIntervalMs", BSTAR_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
    this.#answerRejected = o.boolean("answerRejectedVotes", false);
    this.#maxFrameBytes = o.number("maxFrameBytes", BSTAR_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    const concurrency = o.number("concurrency", BSTAR_CONCURRENCY, { min: 1, integer: true });
    const handlerTimeoutMs = o.number("handlerTimeoutMs", BSTAR_HANDLER_TIMEOUT_MS, { min: 0, exclusive: true, infinity: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined && (typeof security !== "object" || security === null || !("curve" in security))) {
      o.fail("security", "must be { curve: { secretKey, publicKey } }, the pair's key pair (PLAIN is not taken: the state link between the servers would need a password of its own)");
    }
    this.#serverSecurity = securitySocketOptions(security, { owner: "BinaryStar", role: "server" });
    const { curveSecretKey, curvePublicKey } = this.#serverSecurity;
    // the same key pair, as a client of the peer (whose public key it is)
    this.#peerSecurity = curvePublicKey === undefined ? {} : { curveSecretKey, curvePublicKey, curveServerKey: curvePublicKey };

    this.#runner = new HandlerRunner<Accepted, MessageLike | null | undefined | void, Accepted>({
      concurrency,
      timeoutMs: handlerTimeoutMs,
      handler: (req, ctx) => handler(req.body, this.#voterContext(req, ctx)),
      onResult: (req, result) => {
        if (result === undefined || result === null) return;
        let frames: Buffer[];
        try {
          frames = toFrames(result, "BinaryStar handler result", { allowEmpty: true });
        } catch (err) {
          this.#handlerFailed(req, err);
          return;
        }
        this.#stats.replies++;
        this.#sendClient([...req.envelope, ...atLeastOneFrame(frames)]);
      },
      onError: (req, err) => this.#handlerFailed(req, err),
    });
    this.#heartbeat = new Heartbeat({
      intervalMs: this.#heartbeatIntervalMs,
      liveness: PEER_EXPIRY_HEARTBEATS,
      beatWhileLost: true,
      onBeat: this.#beat,
      onLost: (silentMs) => {
        log.info("W: peer silent for %d ms", Math.round(silentMs));
        this.notify("peer-lost", { reason: "silent", silentMs });
      },
    });
  }

  /** Primary or backup. */
  get role(): BinaryStarRole {
    return this.#role;
  }

  /**
   * Its Binary Star state: `primary` or `backup` until the pair has
   * settled, then `active` or `passive`. (`state` is its lifecycle state:
   * new, running, closed...)
   */
  get starState(): BinaryStarState {
    return this.#machine?.state ?? this.#role;
  }

  /** True while it serves clients. */
  get active(): boolean {
    return this.starState === "active";
  }

  /** The peer's last published state, or `undefined` before it spoke. */
  get peerState(): BinaryStarState | undefined {
    return this.#machine?.peerState;
  }

  /** The heartbeat interval in force, in ms. */
  get heartbeatIntervalMs(): number {
    return this.#heartbeatIntervalMs;
  }

  /**
   * The reactor this server runs on (the Guide's `bstar_zloop`): add your
   * own readers, timers and tickets to it, and they run beside Binary
   * Star's. A handler of yours that throws ends the loop and closes the
   * server (`done` rejects with the error).
   */
  get loop(): ZLoop {
    return this.#loop;
  }

  /** Where the state publisher is bound (the real endpoint, ephemeral port resolved); empty before `start()`. */
  get stateEndpoint(): string {
    return this.#pub?.endpoint ?? "";
  }

  /** Where clients connect (the real endpoint of the voter's last bind); empty before `start()`. */
  get voterEndpoint(): string {
    return this.#voter?.endpoint ?? "";
  }

  /** The counters since it started (a snapshot). */
  get stats(): BinaryStarStats {
    return { ...this.#stats };
  }

  /**
   * Connects the state subscriber to the peer's state publisher, when
   * `remote` was not given (both servers took ephemeral ports): call it
   * before clients arrive. May be called before or after `start()`.
   *
   * @param endpoint - the peer's {@link BinaryStar.stateEndpoint}, a CZMQ
   *   endpoint list (no prefix connects)
   * @throws `ClosedError` after `close()`; `InvalidEndpointError` for a bad endpoint
   */
  connectPeer(endpoint: string): void {
    this.assertOpen("BinaryStar.connectPeer");
    const o = readOptions({ remote: endpoint }, { owner: "BinaryStar.connectPeer" });
    const remote = o.requiredString("remote", "tcp://localhost:5004", "the peer's state endpoint");
    parseEndpoints(remote, false);
    this.#remote = this.#remote === undefined ? remote : `${this.#remote},${remote}`;
    const sub = this.#sub;
    if (sub !== undefined) {
      sub.attach(remote, false).catch((err: unknown) => {
        if (!sub.closed) log.error("cannot connect to the peer at %s: %s", remote, (err as Error)?.message ?? String(err));
      });
    }
  }

  protected async onStart(): Promise<void> {
    const hb = this.#heartbeatIntervalMs;
    // ZMTP heartbeats on every Binary Star connection: a connection whose
    // other end went silent (a partition, a frozen or killed process) is
    // dropped after 2 heartbeats and made again as soon as the network
    // allows, so no state or request queued during a partition arrives
    // late, long after the fact, and the pair hears itself again at once
    // after a heal instead of after TCP's retransmission back-off.
    const zmtp = { heartbeatInterval: hb, heartbeatTimeout: 2 * hb, heartbeatTimeToLive: 2 * hb };
    this.#pub = new ZSocket("PUB", { ...this.#serverSecurity, ...zmtp, linger: 0 });
    await this.#pub.attach(this.#local, true);
    this.#sub = new ZSocket("SUB", { ...this.#peerSecurity, ...zmtp, linger: 0, connectTimeout: Math.max(100, hb) });
    this.#sub.subscribe("");
    if (this.#remote !== undefined) await this.#sub.attach(this.#remote, false);
    this.#voter = new ZSocket("ROUTER", {
      ...this.#serverSecurity,
      ...zmtp,
      maxMessageSize: Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1,
    });
    await this.#voter.attach(this.#voterEndpoints, true);

    const loop = this.#loop;
    this.#machine = new BinaryStarMachine({ role: this.#role, heartbeatIntervalMs: hb }, now());
    loop.reader(this.#sub, this.#onState);
    loop.readerSetTolerant(this.#sub);
    loop.reader(this.#voter, this.#onVote);
    loop.readerSetTolerant(this.#voter);
    this.#heartbeat.start(loop);
    loop.start().then(
      () => {
        if (!this.closed) this.fail(new Error("BinaryStar: its loop ended while it was running"));
      },
      (err: unknown) => this.fail(err),
    );
    log.info("I: %s, waiting for the peer (state on %s, clients on %s)", this.#role, this.#pub.endpoint, this.#voter.endpoint);
    this.#publish();
  }

  protected async onClose(): Promise<void> {
    this.#heartbeat.stop();
    await this.#runner.close(BSTAR_CLOSE_GRACE_MS);
    this.#loop.destroy();
    const voter = this.#voter;
    if (voter !== undefined && !voter.closed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([voter.flush(), new Promise<void>((r) => (timer = setTimeout(r, BSTAR_CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
    }
    this.#voter?.close({ lingerMs: 0 });
    this.#sub?.close();
    this.#pub?.close();
    this.#malformedLog.flush();
    this.#rejectedLog.flush();
  }

  #voterContext(req: Accepted, ctx: HandlerContext): VoterContext {
    const sendClient = (message: MessageLike): Promise<void> => {
      const frames = toFrames(message, "BinaryStar ctx.send(message)");
      return this.#sendClient([...req.envelope, ...atLeastOneFrame(frames)]);
    };
    return {
      get signal() {
        return ctx.signal;
      },
      deadline: ctx.deadline,
      ...(ctx.peer !== undefined && { peer: ctx.peer }),
      envelope: req.envelope,
      send: sendClient,
    };
  }

  #handlerFailed(req: Accepted, error: unknown): void {
    this.#stats.handlerErrors++;
    log.warn("handler failed, no reply sent: %s", (error as Error)?.message ?? String(error));
    this.notify("handler-error", { error, request: req.body });
  }

  #sendClient(frames: Buffer[]): Promise<void> {
    const voter = this.#voter;
    if (voter === undefined || voter.closed) return Promise.resolve();
    this.#trace?.({ direction: "out", socket: "client", frames });
    // a client that has gone is not an error: ROUTER drops the message
    return voter.send(frames).catch((err: unknown) => {
      if (!voter.closed) log.debug("reply not sent: %s", (err as Error)?.message ?? String(err));
    });
  }

  #publish(): void {
    const pub = this.#pub;
    if (pub === undefined || pub.closed) return;
    const frames = encodeState(this.starState);
    this.#trace?.({ direction: "out", socket: "peer", frames });
    this.#stats.statesSent++;
    pub.send(frames).catch((err: unknown) => {
      if (!pub.closed) log.debug("state not sent: %s", (err as Error)?.message ?? String(err));
    });
  }

  #beat = (): void => {
    const machine = this.#machine;
    if (machine === undefined) return;
    const stalled = machine.tick(now());
    if (stalled !== undefined) this.#stalled(stalled);
    this.#publish();
    this.publishStats({ ...this.#stats, state: machine.state });
  };

  #onState = (frames: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "peer", frames });
    const machine = this.#machine;
    if (machine === undefined) return;
    const decoded = decodeState(frames);
    if (!decoded.ok) {
      this.#stats.malformed++;
      this.#malformedLog.record("malformed state message dropped: %s", decoded.reason);
      this.notify("malformed", { reason: decoded.reason, frame: decoded.frame, peer: undefined });
      return;
    }
    this.#stats.statesReceived++;
    const returning = !this.#peerSeen || this.#heartbeat.lost;
    this.#peerSeen = true;
    this.#heartbeat.heard();
    const outcome = machine.peer(decoded.state, now());
    if (outcome.stalledMs !== undefined) this.#stalled(outcome.stalledMs);
    if (returning) {
      log.info("I: peer seen (%s)", decoded.state);
      this.notify("peer-seen", { state: decoded.state });
    }
    if (outcome.sameRole) {
      this.#malformedLog.record("W: the peer is %s too: one server of a pair must be the primary, the other the backup", decoded.state);
    }
    if (outcome.splitBrain !== undefined) {
      this.#stats.splitBrains++;
      const { kind, decision } = outcome.splitBrain;
      log.warn("E: split brain (%s): %s", kind, decision);
      this.notify("split-brain", { ...outcome.splitBrain, role: this.#role });
    }
    if (outcome.transition !== undefined) this.#changed(outcome.transition);
  };

  #onVote = (frames: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "client", frames });
    const machine = this.#machine;
    if (machine === undefined) return;
    const outcome = machine.vote(now());
    if (outcome.stalledMs !== undefined) this.#stalled(outcome.stalledMs);
    if (outcome.transition !== undefined) this.#changed(outcome.transition);
    const { envelope, body } = splitEnvelope(frames);
    if (outcome.accepted) {
      this.#stats.votesAccepted++;
      this.#runner.submit({ envelope, body }, { envelope, body }, { peer: peerId(frames[0]!) });
      return;
    }
    const state = machine.state;
    const reason = outcome.reason!;
    this.#stats.votesRejected++;
    if (this.#answerRejected) {
      this.#stats.rejectionsAnswered++;
      void this.#sendClient(encodeRejected(envelope, state));
    }
    this.#rejectedLog.record("client request rejected (%s, %s)", state, reason);
    this.notify("vote-rejected", { client: peerId(frames[0]!), state, reason, answered: this.#answerRejected });
  };

  #changed(t: Transition): void {
    log.info("I: %s -> %s (%s)", t.from, t.to, t.reason);
    if (t.to === "active") {
      this.#stats.activations++;
      if (t.reason === "failover") this.#stats.failovers++;
      this.notify("active", { from: t.from, reason: t.reason });
    } else {
      // accepted requests whose handler has not started: a passive server
      // does not serve them; their clients retry on the active one
      this.#stats.dropped += this.#runner.discard(() => true);
      this.notify("passive", { from: t.from, reason: t.reason });
    }
    this.#publish(); // the peer learns at once, not at the next heartbeat
  }

  #stalled(stalledMs: number): void {
    this.#stats.stalls++;
    const quietMs = this.#machine!.peerExpiryMs;
    log.warn("W: the event loop stalled for %d ms: no request served for %d ms while the peer is heard", Math.round(stalledMs), quietMs);
    this.notify("stalled", { stalledMs, quietMs });
  }
}
