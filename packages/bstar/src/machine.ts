/**
 * The Binary Star finite-state machine, without sockets or timers: the
 * Guide's state table (shared/protocols.md, "Binary Star"), with the
 * PRIMARY race fixed as the Guide's `bstar` class fixed it in 2012, and
 * zkit's answers where the Guide aborts: split brain resolved by a rule,
 * and no voting right after a stall. {@link BinaryStar} feeds it the peer's
 * states, the client votes and its heartbeat ticks, with the time; tests
 * drive it directly, cell by cell.
 * @module
 */
import { PEER_EXPIRY_HEARTBEATS, type BinaryStarRole, type BinaryStarState } from "./protocol.js";

/**
 * Dual active with clients on both sides: the backup steps down after this
 * many peer expiries (6 heartbeats) with its peer still ACTIVE. Long enough
 * for a primary without clients to hear the split brain and step down
 * first: it may hear it up to a reconnect and a heartbeat after the backup
 * did, then waits one peer expiry, then needs one more state message.
 */
const BACKUP_TIE_BREAK_EXPIRIES = 3;

/** Why a server changed state (the `reason` of the `active` and `passive` events). */
export type TransitionReason =
  /** PRIMARY saw its peer in BACKUP: both started, the primary serves. */
  | "peer-backup"
  /** PRIMARY or BACKUP saw an ACTIVE peer: it stands by. */
  | "peer-active"
  /** PASSIVE saw its peer in PRIMARY or BACKUP: the active peer restarted, so this one serves. */
  | "peer-restarting"
  /** PASSIVE got a client request and its peer has been silent for the peer expiry: failover. */
  | "failover"
  /** PRIMARY got a client request and heard no peer for the peer expiry since it started: it serves alone. */
  | "no-peer"
  /** Split brain resolved by zkit's rule: an ACTIVE stepped down, or the PASSIVE primary took over. */
  | "split-brain";

/** A change of state. */
export interface Transition {
  /** The state it left. */
  readonly from: BinaryStarState;
  /** The state it is in now: `active` or `passive`. */
  readonly to: BinaryStarState;
  /** Why. */
  readonly reason: TransitionReason;
}

/** Why a client request (a vote) was rejected. */
export type RejectReason =
  /** BACKUP serves nobody before it has seen its peer (the table's "reject"). */
  | "backup"
  /**
   * PRIMARY has not yet waited out the peer expiry since it started: its
   * backup may be active after a failover (the race the Guide's `bstar`
   * class fixed in 2012; the hand-written `bstarsrv` accepts at once).
   */
  | "waiting-for-peer"
  /** PASSIVE whose peer is alive: the client must go to the active one. */
  | "peer-alive"
  /**
   * Its own event loop stalled for a peer expiry or more (a frozen process,
   * a blocked loop): the peer may have taken over meanwhile, so it listens
   * for one peer expiry before it serves or takes over again.
   */
  | "recovering"
  /** ACTIVE, in a dual-active split brain, and without clients of its own: it is stepping down. */
  | "split-brain";

/** What happens to a split brain on this server, decided when it is detected. */
export type SplitBrainDecision =
  /**
   * Dual active: this server steps down to PASSIVE now (a backup without
   * clients, or a server recovering from its own stall).
   */
  | "step-down"
  /**
   * Dual active: this server has no clients of its own (no request in the
   * last peer expiry); it rejects requests and steps down if the peer is
   * still ACTIVE one peer expiry later (the primary gives a busy backup the
   * time to keep its clients).
   */
  | "step-down-later"
  /**
   * Dual active: this server has clients and stays ACTIVE (the backup only
   * until six heartbeats have passed with its peer still ACTIVE: then both
   * had clients, and the primary keeps them).
   */
  | "keep-active"
  /** Dual passive: this server is the primary and becomes ACTIVE. */
  | "take-over"
  /** Dual passive: this server is the backup and stays PASSIVE; the primary takes over. */
  | "stay-passive";

/** A split brain, as the `split-brain` event reports it (once per episode). */
export interface SplitBrain {
  /** Both servers ACTIVE, or both PASSIVE. */
  readonly kind: "dual-active" | "dual-passive";
  /** What this server does about it. */
  readonly decision: SplitBrainDecision;
  /** How long since this server last accepted a client request, in ms (`Infinity` for never). */
  readonly idleMs: number;
}

/** What a peer's state did. */
export interface PeerStateOutcome {
  /** The state change it caused, if any. */
  readonly transition?: Transition;
  /** A split brain detected now (reported once per episode). */
  readonly splitBrain?: SplitBrain;
  /** True when the peer claims this server's own role (both primary, or both backup): a misconfigured pair. */
  readonly sameRole?: boolean;
  /** Set when this call found that the server had stalled; see {@link BinaryStarMachine.tick}. */
  readonly stalledMs?: number;
}

/** What a client request (a vote) did. */
export interface VoteOutcome {
  /** True when the server serves it: the application's handler runs. */
  readonly accepted: boolean;
  /** Why it was rejected, when it was. */
  readonly reason?: RejectReason;
  /** The state change it caused (failover, or a PRIMARY serving alone), if any. */
  readonly transition?: Transition;
  /** Set when this call found that the server had stalled; see {@link BinaryStarMachine.tick}. */
  readonly stalledMs?: number;
}

/** Settings of a {@link BinaryStarMachine}. */
export interface MachineConfig {
  /** Primary or backup. */
  readonly role: BinaryStarRole;
  /** The heartbeat interval, in ms; the peer expires after {@link PEER_EXPIRY_HEARTBEATS} of them. */
  readonly heartbeatIntervalMs: number;
}

interface Episode {
  readonly kind: "dual-active" | "dual-passive";
  readonly since: number;
  /** Dual active: whether this server had clients when it was detected. */
  readonly busy: boolean;
}

/**
 * The Binary Star state machine of one server.
 *
 * The Guide's table, exactly (`-` changes nothing):
 *
 * | state \ event | PEER_PRIMARY | PEER_BACKUP | PEER_ACTIVE | PEER_PASSIVE | CLIENT_REQUEST |
 * |---|---|---|---|---|---|
 * | PRIMARY | - | ACTIVE | PASSIVE | - | ACTIVE if the peer expired, else reject |
 * | BACKUP | - | - | PASSIVE | - | reject |
 * | ACTIVE | - | - | split brain | - | accept |
 * | PASSIVE | ACTIVE | ACTIVE | - | split brain | ACTIVE (failover) if the peer expired, else reject |
 *
 * Every peer state sets the peer expiry to now + 2 heartbeats; the expiry
 * also starts at now + 2 heartbeats, so a PRIMARY waits that long for its
 * backup before it serves anyone (the Guide's `bstar` class; its
 * hand-written `bstarsrv` does not, and two actives can follow).
 *
 * Where the Guide aborts, zkit resolves, by this rule, and never takes both
 * servers down:
 * - **Dual active** (ACTIVE sees PEER_ACTIVE). The server that has clients
 *   (it accepted a request in the last peer expiry) keeps them. A backup
 *   without clients steps down at once; a primary without clients rejects
 *   requests and steps down if its peer is still ACTIVE one peer expiry
 *   later (by then an idle backup has stepped down). When both have
 *   clients, the backup steps down after six heartbeats (three peer
 *   expiries: time for an idle primary to step down first). A server still
 *   recovering from its own stall (below) steps down at once: it has
 *   served nobody since, and its peer took over meanwhile.
 * - **Dual passive** (PASSIVE sees PEER_PASSIVE): the primary becomes
 *   ACTIVE; the backup stays PASSIVE.
 *
 * And one rule the Guide does not have: when its own clock shows that it
 * stalled for a peer expiry or more (no heartbeat tick for that long: a
 * frozen process, a blocked event loop), a server accepts no request and
 * takes nothing over for one peer expiry, long enough to hear what its
 * peer did meanwhile. Requests that waited in its socket during the stall
 * are rejected rather than served behind the back of a peer that took over.
 */
export class BinaryStarMachine {
  /** This server's role. */
  readonly role: BinaryStarRole;
  /** The heartbeat interval, in ms. */
  readonly heartbeatIntervalMs: number;
  /** The peer's silence after which it counts as gone: 2 heartbeats, in ms. */
  readonly peerExpiryMs: number;
  #state: BinaryStarState;
  #peerExpiry: number;
  #peerState: BinaryStarState | undefined;
  #lastServedAt = -Infinity;
  #lastTickAt: number;
  #quietUntil = -Infinity;
  #episode: Episode | undefined;

  /**
   * @param config - the role and the heartbeat interval
   * @param now - the time it starts, in ms (the peer expiry counts from it)
   */
  constructor(config: MachineConfig, now: number) {
    this.role = config.role;
    this.heartbeatIntervalMs = config.heartbeatIntervalMs;
    this.peerExpiryMs = PEER_EXPIRY_HEARTBEATS * config.heartbeatIntervalMs;
    this.#state = config.role;
    this.#peerExpiry = now + this.peerExpiryMs;
    this.#lastTickAt = now;
  }

  /** The current state. */
  get state(): BinaryStarState {
    return this.#state;
  }

  /** When the peer counts as gone unless it speaks: a time in ms. */
  get peerExpiry(): number {
    return this.#peerExpiry;
  }

  /** The peer's last state, or `undefined` before it spoke. */
  get peerState(): BinaryStarState | undefined {
    return this.#peerState;
  }

  /** The split brain in progress, if any. */
  get splitBrain(): "dual-active" | "dual-passive" | undefined {
    return this.#episode?.kind;
  }

  /** True while it rejects requests after a stall (until `quietUntil`). */
  quiet(now: number): boolean {
    return now < this.#quietUntil;
  }

  /** True when the peer spoke within the peer expiry. */
  peerAlive(now: number): boolean {
    return now < this.#peerExpiry;
  }

  /**
   * The heartbeat timer fired (every heartbeat interval): lets the machine
   * see its own stalls. Call it before publishing the state.
   * @returns how long it stalled, when it stalled for a peer expiry or more
   */
  tick(now: number): number | undefined {
    const stalled = this.#checkStall(now);
    this.#lastTickAt = now;
    if (this.#episode !== undefined && now > this.#peerExpiry) this.#episode = undefined;
    return stalled;
  }

  /**
   * The peer published its state (event PEER_PRIMARY ... PEER_PASSIVE).
   * @returns the state change, split brain and misconfiguration it caused
   */
  peer(peerState: BinaryStarState, now: number): PeerStateOutcome {
    const stalledMs = this.#checkStall(now);
    if (now > this.#peerExpiry) this.#episode = undefined; // it was gone: a new start
    this.#peerExpiry = now + this.peerExpiryMs;
    this.#peerState = peerState;
    const sameRole = peerState === this.#state && (peerState === "primary" || peerState === "backup");
    let transition: Transition | undefined;
    let splitBrain: SplitBrain | undefined;
    switch (this.#state) {
      case "primary":
        if (peerState === "backup") transition = this.#go("active", "peer-backup");
        else if (peerState === "active") transition = this.#go("passive", "peer-active");
        break;
      case "backup":
        if (peerState === "active") transition = this.#go("passive", "peer-active");
        break;
      case "active":
        if (peerState === "active") ({ transition, splitBrain } = this.#dualActive(now));
        else this.#episode = undefined;
        break;
      case "passive":
        if (peerState === "primary" || peerState === "backup") transition = this.#go("active", "peer-restarting");
        else if (peerState === "passive") ({ transition, splitBrain } = this.#dualPassive(now));
        else this.#episode = undefined;
        break;
    }
    return { ...(transition && { transition }), ...(splitBrain && { splitBrain }), ...(sameRole && { sameRole }), ...(stalledMs !== undefined && { stalledMs }) };
  }

  /**
   * A client request arrived on the voter socket (event CLIENT_REQUEST).
   * @returns whether to serve it, why not, and the state change it caused
   */
  vote(now: number): VoteOutcome {
    const stalledMs = this.#checkStall(now);
    const stall = stalledMs !== undefined ? { stalledMs } : {};
    if (this.#episode !== undefined && now > this.#peerExpiry) this.#episode = undefined;
    const quiet = now < this.#quietUntil;
    const expired = now >= this.#peerExpiry;
    let transition: Transition | undefined;
    switch (this.#state) {
      case "primary":
        if (quiet) return { accepted: false, reason: "recovering", ...stall };
        if (!expired) return { accepted: false, reason: "waiting-for-peer", ...stall };
        transition = this.#go("active", "no-peer");
        break;
      case "backup":
        return { accepted: false, reason: "backup", ...stall };
      case "active":
        if (quiet) return { accepted: false, reason: "recovering", ...stall };
        if (this.#episode?.kind === "dual-active" && !this.#episode.busy) return { accepted: false, reason: "split-brain", ...stall };
        break;
      case "passive":
        if (quiet) return { accepted: false, reason: "recovering", ...stall };
        if (!expired) return { accepted: false, reason: "peer-alive", ...stall };
        transition = this.#go("active", "failover");
        break;
    }
    this.#lastServedAt = now;
    return { accepted: true, ...(transition && { transition }), ...stall };
  }

  #go(to: BinaryStarState, reason: TransitionReason): Transition {
    const from = this.#state;
    this.#state = to;
    this.#episode = undefined;
    return { from, to, reason };
  }

  /** ACTIVE saw PEER_ACTIVE: zkit's rule (see the class). */
  #dualActive(now: number): { transition?: Transition; splitBrain?: SplitBrain } {
    const idleMs = now - this.#lastServedAt;
    let episode = this.#episode;
    let detected = false;
    if (episode?.kind !== "dual-active") {
      episode = { kind: "dual-active", since: now, busy: idleMs < this.peerExpiryMs };
      this.#episode = episode;
      detected = true;
    }
    // Recovering from its own stall, it has served nobody since: the peer
    // took over meanwhile and keeps the service.
    const recovering = now < this.#quietUntil;
    const deadline = recovering
      ? now
      : this.role === "backup"
        ? episode.busy
          ? episode.since + BACKUP_TIE_BREAK_EXPIRIES * this.peerExpiryMs
          : episode.since
        : episode.busy
          ? Infinity
          : episode.since + this.peerExpiryMs;
    const stepDown = now >= deadline;
    const transition = stepDown ? this.#go("passive", "split-brain") : undefined;
    if (!detected) return transition ? { transition } : {};
    const decision: SplitBrainDecision = stepDown ? "step-down" : episode.busy ? "keep-active" : "step-down-later";
    return { ...(transition && { transition }), splitBrain: { kind: "dual-active", decision, idleMs } };
  }

  /** PASSIVE saw PEER_PASSIVE: the primary takes over, the backup waits. */
  #dualPassive(now: number): { transition?: Transition; splitBrain?: SplitBrain } {
    const idleMs = now - this.#lastServedAt;
    if (this.role === "primary") {
      const transition = this.#go("active", "split-brain");
      return { transition, splitBrain: { kind: "dual-passive", decision: "take-over", idleMs } };
    }
    if (this.#episode?.kind === "dual-passive") return {};
    this.#episode = { kind: "dual-passive", since: now, busy: false };
    return { splitBrain: { kind: "dual-passive", decision: "stay-passive", idleMs } };
  }

  /** A gap of a peer expiry or more since the last tick: it stalled; listen for one peer expiry. */
  #checkStall(now: number): number | undefined {
    const gap = now - this.#lastTickAt;
    if (gap < this.peerExpiryMs) return undefined;
    this.#lastTickAt = now;
    this.#quietUntil = now + this.peerExpiryMs;
    return gap;
  }
}
