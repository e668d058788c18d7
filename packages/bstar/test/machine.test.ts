// The Binary Star state machine without sockets: every cell of the Guide's
// table (shared/protocols.md), the PRIMARY race the Guide's hand-written
// bstarsrv has, zkit's split-brain rule (one machine at a time, then two
// machines wired to each other), and the quiet period after a stall. Time
// is a number the tests move; the heartbeat ticks as the server's timer
// would, every interval.
import { describe, expect, it } from "vitest";
import { BinaryStarMachine, type BinaryStarRole, type BinaryStarState } from "../src/index.js";

const HB = 1000;
const EXPIRY = 2 * HB;

/** A machine and its clock; `at(t)` ticks every heartbeat up to `t`, as the server's timer does. */
class Sim {
  readonly m: BinaryStarMachine;
  t: number;
  #nextTick: number;
  constructor(role: BinaryStarRole, t = 10_000) {
    this.t = t;
    this.m = new BinaryStarMachine({ role, heartbeatIntervalMs: HB }, t);
    this.#nextTick = t + HB;
  }
  at(t: number): this {
    while (this.#nextTick <= t) {
      this.m.tick(this.#nextTick);
      this.#nextTick += HB;
    }
    this.t = t;
    return this;
  }
  later(ms: number): this {
    return this.at(this.t + ms);
  }
  /** Frozen for `ms` (SIGSTOP, a blocked loop): no tick meanwhile; the late one fires just after. */
  freeze(ms: number): this {
    this.t += ms;
    this.#nextTick = this.t + 1;
    return this;
  }
  peer(state: BinaryStarState) {
    return this.m.peer(state, this.t);
  }
  vote() {
    return this.m.vote(this.t);
  }
}

/** A machine in `state` (a primary when active), its peer just heard (for active and passive). */
function inState(state: BinaryStarState, role: BinaryStarRole = state === "backup" ? "backup" : "primary"): Sim {
  const s = new Sim(role);
  if (state === "active") expect(s.later(10).peer("backup").transition?.to).toBe("active");
  if (state === "passive") expect(s.later(10).peer("active").transition?.to).toBe("passive");
  expect(s.m.state).toBe(state);
  return s;
}

/** A backup that became active by failover (it is the only way a backup gets there). */
function activeBackup(): Sim {
  const s = new Sim("backup");
  s.later(10).peer("active"); // passive
  expect(s.m.state).toBe("passive");
  s.later(EXPIRY); // the primary went silent
  const v = s.vote();
  expect(v).toMatchObject({ accepted: true, transition: { from: "passive", to: "active", reason: "failover" } });
  return s;
}

describe("the Guide's state table, cell by cell", () => {
  describe("PRIMARY", () => {
    it("PEER_PRIMARY: nothing (a misconfigured pair is flagged)", () => {
      const s = inState("primary");
      const out = s.later(10).peer("primary");
      expect(out.transition).toBeUndefined();
      expect(out.sameRole).toBe(true);
      expect(s.m.state).toBe("primary");
    });
    it("PEER_BACKUP: -> ACTIVE", () => {
      expect(inState("primary").later(10).peer("backup").transition).toEqual({ from: "primary", to: "active", reason: "peer-backup" });
    });
    it("PEER_ACTIVE: -> PASSIVE", () => {
      expect(inState("primary").later(10).peer("active").transition).toEqual({ from: "primary", to: "passive", reason: "peer-active" });
    });
    it("PEER_PASSIVE: nothing", () => {
      const s = inState("primary");
      expect(s.later(10).peer("passive")).toEqual({});
      expect(s.m.state).toBe("primary");
    });
    it("CLIENT_REQUEST: rejected until the peer expiry since the start has passed, then -> ACTIVE and served", () => {
      const s = inState("primary");
      expect(s.later(1).vote()).toEqual({ accepted: false, reason: "waiting-for-peer" });
      expect(s.at(s.t + EXPIRY - 2).vote()).toEqual({ accepted: false, reason: "waiting-for-peer" });
      expect(s.m.state).toBe("primary");
      expect(s.later(1).vote()).toEqual({ accepted: true, transition: { from: "primary", to: "active", reason: "no-peer" } });
    });
    it("CLIENT_REQUEST: a peer that speaks keeps it waiting (its expiry moves on)", () => {
      const s = inState("primary");
      for (let i = 0; i < 5; i++) {
        s.later(HB).peer("passive");
        expect(s.later(HB - 1).vote()).toMatchObject({ accepted: false, reason: "waiting-for-peer" });
      }
    });
  });

  describe("BACKUP", () => {
    it("PEER_PRIMARY, PEER_PASSIVE: nothing; PEER_BACKUP: nothing, flagged", () => {
      const s = inState("backup");
      expect(s.later(10).peer("primary")).toEqual({});
      expect(s.later(10).peer("passive")).toEqual({});
      expect(s.later(10).peer("backup")).toEqual({ sameRole: true });
      expect(s.m.state).toBe("backup");
    });
    it("PEER_ACTIVE: -> PASSIVE", () => {
      expect(inState("backup").later(10).peer("active").transition).toEqual({ from: "backup", to: "passive", reason: "peer-active" });
    });
    it("CLIENT_REQUEST: always rejected, even with no peer for a long time", () => {
      const s = inState("backup");
      expect(s.later(1).vote()).toEqual({ accepted: false, reason: "backup" });
      expect(s.later(10 * EXPIRY).vote()).toEqual({ accepted: false, reason: "backup" });
      expect(s.m.state).toBe("backup");
    });
  });

  describe("ACTIVE", () => {
    for (const peer of ["primary", "backup", "passive"] as const) {
      it(`PEER_${peer.toUpperCase()}: nothing`, () => {
        const s = inState("active");
        expect(s.later(10).peer(peer)).toEqual({});
        expect(s.m.state).toBe("active");
      });
    }
    it("PEER_ACTIVE: split brain (the Guide aborts; zkit's rule decides, see below)", () => {
      const out = inState("active").later(10).peer("active");
      expect(out.splitBrain?.kind).toBe("dual-active");
    });
    it("CLIENT_REQUEST: served, whether or not the peer is there", () => {
      const s = inState("active");
      expect(s.later(1).vote()).toEqual({ accepted: true });
      expect(s.later(5 * EXPIRY).vote()).toEqual({ accepted: true });
    });
  });

  describe("PASSIVE", () => {
    it("PEER_PRIMARY, PEER_BACKUP: -> ACTIVE (the active peer restarted)", () => {
      for (const peer of ["primary", "backup"] as const) {
        expect(inState("passive").later(10).peer(peer).transition).toEqual({ from: "passive", to: "active", reason: "peer-restarting" });
      }
    });
    it("PEER_ACTIVE: nothing", () => {
      const s = inState("passive");
      expect(s.later(10).peer("active")).toEqual({});
      expect(s.m.state).toBe("passive");
    });
    it("PEER_PASSIVE: split brain (the Guide aborts; zkit's rule decides, see below)", () => {
      expect(inState("passive").later(10).peer("passive").splitBrain?.kind).toBe("dual-passive");
    });
    it("CLIENT_REQUEST: rejected while the peer is alive; at its expiry -> ACTIVE (failover) and served", () => {
      const s = inState("passive");
      s.later(HB).peer("active");
      expect(s.later(EXPIRY - 1).vote()).toEqual({ accepted: false, reason: "peer-alive" });
      expect(s.later(1).vote()).toEqual({ accepted: true, transition: { from: "passive", to: "active", reason: "failover" } });
      expect(s.later(1).vote()).toEqual({ accepted: true });
    });
  });
});

describe("the PRIMARY race of the Guide's hand-written bstarsrv", () => {
  it("a restarted primary never serves while its backup is active: it waits, hears ACTIVE and goes passive", () => {
    // bstarsrv.c lets PRIMARY accept CLIENT_REQUEST at once: a client that
    // reaches the restarted primary first would be served by two actives
    const p = new Sim("primary");
    expect(p.later(5).vote()).toMatchObject({ accepted: false, reason: "waiting-for-peer" });
    expect(p.later(HB - 10).vote()).toMatchObject({ accepted: false });
    expect(p.later(10).peer("active").transition).toMatchObject({ to: "passive", reason: "peer-active" });
    expect(p.later(10).vote()).toMatchObject({ accepted: false, reason: "peer-alive" });
  });
});

describe("zkit's split-brain rule, one server", () => {
  it("dual active, the backup has no clients: it steps down at once", () => {
    const b = activeBackup();
    b.later(EXPIRY + 10); // no request for the peer expiry: idle
    const out = b.peer("active");
    expect(out.splitBrain).toMatchObject({ kind: "dual-active", decision: "step-down" });
    expect(out.transition).toEqual({ from: "active", to: "passive", reason: "split-brain" });
  });

  it("dual active, the backup has clients: it keeps serving, and steps down only if its peer is still ACTIVE six heartbeats later", () => {
    const b = activeBackup();
    b.later(HB).vote(); // busy
    const first = b.later(10).peer("active");
    expect(first.splitBrain).toMatchObject({ kind: "dual-active", decision: "keep-active" });
    expect(first.transition).toBeUndefined();
    for (let i = 1; i < 6; i++) {
      expect(b.later(HB - 100).vote()).toEqual({ accepted: true });
      expect(b.later(100).peer("active")).toEqual({}); // reported once per episode
    }
    expect(b.later(HB).peer("active").transition).toEqual({ from: "active", to: "passive", reason: "split-brain" });
  });

  it("dual active, the primary has clients: it keeps them, however long its peer stays ACTIVE", () => {
    const p = inState("active");
    p.later(100).vote();
    expect(p.later(10).peer("active").splitBrain).toMatchObject({ decision: "keep-active" });
    for (let i = 0; i < 20; i++) {
      expect(p.later(HB / 2).vote().accepted).toBe(true);
      expect(p.later(HB / 2).peer("active").transition).toBeUndefined();
    }
    expect(p.m.state).toBe("active");
  });

  it("dual active, the primary has no clients: it rejects requests, and steps down a peer expiry later if the peer is still ACTIVE", () => {
    const p = inState("active");
    p.later(EXPIRY + 10);
    expect(p.peer("active").splitBrain).toMatchObject({ decision: "step-down-later" });
    expect(p.later(10).vote()).toEqual({ accepted: false, reason: "split-brain" });
    expect(p.later(HB).peer("active").transition).toBeUndefined();
    expect(p.later(HB - 20).peer("active").transition).toBeUndefined();
    expect(p.later(20).peer("active").transition).toEqual({ from: "active", to: "passive", reason: "split-brain" });
  });

  it("dual active, the primary has no clients, the backup steps down meanwhile: the primary stays ACTIVE and serves again", () => {
    const p = inState("active");
    p.later(EXPIRY + 10).peer("active");
    expect(p.m.splitBrain).toBe("dual-active");
    expect(p.later(HB / 2).peer("passive")).toEqual({});
    expect(p.m.splitBrain).toBeUndefined();
    expect(p.later(10).vote()).toEqual({ accepted: true });
    expect(p.m.state).toBe("active");
  });

  it("an episode ends when the peer falls silent; an ACTIVE peer after that is a new split brain", () => {
    const p = inState("active");
    p.later(EXPIRY + 10);
    expect(p.peer("active").splitBrain).toBeDefined();
    p.later(EXPIRY + 10); // silent: gone
    expect(p.vote()).toEqual({ accepted: true }); // no longer held back by the episode
    expect(p.later(10).peer("active").splitBrain).toMatchObject({ kind: "dual-active", decision: "keep-active" });
  });

  it("dual passive: the primary takes over, the backup stays passive (reported once)", () => {
    const p = inState("passive", "primary");
    expect(p.later(10).peer("passive")).toEqual({
      transition: { from: "passive", to: "active", reason: "split-brain" },
      splitBrain: { kind: "dual-passive", decision: "take-over", idleMs: Infinity },
    });
    const b = inState("passive", "backup");
    expect(b.later(10).peer("passive")).toEqual({ splitBrain: { kind: "dual-passive", decision: "stay-passive", idleMs: Infinity } });
    expect(b.later(HB).peer("passive")).toEqual({});
    expect(b.m.state).toBe("passive");
    expect(b.later(HB).peer("active")).toEqual({});
    expect(b.m.splitBrain).toBeUndefined();
  });
});

/**
 * Two machines wired to each other: every heartbeat each publishes its
 * state and the other receives it `latencyMs` later; clients vote at the
 * servers given for each step. Records every moment both were ACTIVE and
 * each server's served requests.
 */
function pair(opts: { pBusy: boolean; bBusy: boolean; latencyMs?: number; steps?: number; primaryDeafMs?: number }) {
  // start from the split: P active (stayed so while isolated), B active by failover
  const b = activeBackup();
  const p = new Sim("primary", b.t - 5000);
  p.later(10).peer("backup");
  expect(p.m.state).toBe("active");
  p.at(b.t);
  // still cut off from each other for a while; clients keep at whoever has them
  const healed = b.t + EXPIRY + 10;
  for (let t = b.t; t < healed; t += HB / 4) {
    if (opts.pBusy) p.at(t).vote();
    if (opts.bBusy) b.at(t).vote();
  }
  p.at(healed);
  b.at(healed);
  const served = { p: 0, b: 0 };
  const latency = opts.latencyMs ?? 3;
  let bothPassive = 0;
  for (let step = 0; step < (opts.steps ?? 40); step++) {
    const t = b.t + HB / 4;
    // clients: whoever has them keeps sending
    if (opts.pBusy && p.at(t).vote().accepted) served.p++;
    if (opts.bBusy && b.at(t).vote().accepted) served.b++;
    // every heartbeat, states cross (B's timer a little after P's)
    if (step % 4 === 0) {
      const pState = p.at(t).m.state;
      const bState = b.at(t).m.state;
      // the primary may hear the backup only some time after the heal (its SUB reconnects later)
      if (t >= healed + (opts.primaryDeafMs ?? 0)) p.at(t + latency).peer(bState);
      else p.at(t + latency);
      b.at(t + latency + 1).peer(pState);
    } else {
      p.at(t + latency);
      b.at(t + latency + 1);
    }
    if (p.m.state === "passive" && b.m.state === "passive") bothPassive++;
  }
  return { p, b, served, bothPassive };
}

describe("zkit's split-brain rule, two servers wired together (after a partition heals with both ACTIVE)", () => {
  it("neither has clients: the backup steps down, the primary keeps ACTIVE; never both passive", () => {
    const { p, b, bothPassive } = pair({ pBusy: false, bBusy: false });
    expect([p.m.state, b.m.state]).toEqual(["active", "passive"]);
    expect(bothPassive).toBe(0);
  });

  it("only the backup has clients (it took over while the primary was cut off): the primary steps down, the backup keeps serving throughout", () => {
    const { p, b, served, bothPassive } = pair({ pBusy: false, bBusy: true });
    expect([p.m.state, b.m.state]).toEqual(["passive", "active"]);
    expect(bothPassive).toBe(0);
    expect(served.b).toBe(40); // not one request of its clients refused
  });

  it("only the backup has clients, and the primary hears the split brain 2.5 heartbeats after the backup: still the primary steps down, never the busy backup", () => {
    const { p, b, served, bothPassive } = pair({ pBusy: false, bBusy: true, primaryDeafMs: 2.5 * HB });
    expect(p.m.splitBrain ?? "none").toBe("none");
    expect([p.m.state, b.m.state]).toEqual(["passive", "active"]);
    expect(bothPassive).toBe(0);
    expect(served.b).toBe(40);
  });

  it("only the primary has clients: the backup steps down at once", () => {
    const { p, b, served, bothPassive } = pair({ pBusy: true, bBusy: false });
    expect([p.m.state, b.m.state]).toEqual(["active", "passive"]);
    expect(bothPassive).toBe(0);
    expect(served.p).toBe(40);
  });

  it("both have clients (clients split across the partition, the case Binary Star cannot prevent): the primary keeps them, the backup steps down", () => {
    const { p, b, bothPassive } = pair({ pBusy: true, bBusy: true });
    expect([p.m.state, b.m.state]).toEqual(["active", "passive"]);
    expect(bothPassive).toBe(0);
  });
});

describe("a stalled server listens before it serves", () => {
  it("ACTIVE: after a stall of a peer expiry or more, requests are rejected for one peer expiry, then served", () => {
    const s = inState("active");
    s.later(100);
    expect(s.vote()).toEqual({ accepted: true });
    // frozen: no tick for 5 s; the first thing it handles is a request that waited in its socket
    s.freeze(5 * HB);
    const v = s.vote();
    expect(v).toMatchObject({ accepted: false, reason: "recovering" });
    expect(v.stalledMs).toBeGreaterThanOrEqual(5 * HB);
    expect(s.m.quiet(s.t)).toBe(true);
    const quietEnds = s.t + EXPIRY;
    expect(s.at(quietEnds - 1).vote()).toMatchObject({ accepted: false, reason: "recovering" });
    expect(s.at(quietEnds).vote()).toEqual({ accepted: true });
  });

  it("ACTIVE: the heartbeat tick finds the stall too", () => {
    const s = inState("active");
    s.freeze(3 * HB);
    expect(s.m.tick(s.t)).toBeGreaterThanOrEqual(3 * HB);
    expect(s.later(1).vote()).toMatchObject({ accepted: false, reason: "recovering" });
  });

  it("ACTIVE, stalled while its peer took over: it hears the peer ACTIVE during the quiet period and steps down at once, without serving", () => {
    for (const role of ["primary", "backup"] as const) {
      const s = role === "primary" ? inState("active") : activeBackup();
      s.later(10).vote(); // it had clients before the freeze
      s.freeze(10 * HB);
      expect(s.vote().accepted, role).toBe(false); // a request that waited out the freeze
      const out = s.later(HB / 2).peer("active");
      expect(out, role).toEqual({
        transition: { from: "active", to: "passive", reason: "split-brain" },
        splitBrain: { kind: "dual-active", decision: "step-down", idleMs: 10 * HB + HB / 2 },
      });
    }
  });

  it("ACTIVE, stalled, the peer ACTIVE heard only after the quiet period: the rule for a server without clients (a primary steps down a peer expiry later)", () => {
    const s = inState("active");
    s.freeze(10 * HB);
    expect(s.m.tick(s.t)).toBeGreaterThanOrEqual(10 * HB);
    s.later(EXPIRY); // quiet over, no request since the freeze
    expect(s.m.quiet(s.t)).toBe(false);
    expect(s.peer("active").splitBrain).toMatchObject({ kind: "dual-active", decision: "step-down-later" });
    expect(s.later(EXPIRY).peer("active").transition).toMatchObject({ to: "passive", reason: "split-brain" });
  });

  it("PASSIVE: a stall does not turn into a failover: the peer's states, read after the stall, keep it passive", () => {
    const s = inState("passive");
    s.freeze(5 * HB); // the peer's states wait unread
    expect(s.vote()).toMatchObject({ accepted: false, reason: "recovering" }); // the peer looks expired, but it was us
    expect(s.later(5).peer("active")).toEqual({});
    expect(s.later(HB).vote()).toMatchObject({ accepted: false, reason: "recovering" });
    expect(s.later(HB).peer("active")).toEqual({});
    expect(s.later(HB / 2).vote()).toMatchObject({ accepted: false, reason: "peer-alive" }); // quiet over: the peer is alive
  });

  it("a normal heartbeat lag is not a stall", () => {
    const s = inState("active");
    s.freeze(HB + HB / 2); // one tick 500 ms late
    expect(s.m.tick(s.t)).toBeUndefined();
    expect(s.later(1).vote()).toEqual({ accepted: true });
  });
});
