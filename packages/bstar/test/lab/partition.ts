// Partition trials on a real network: a Binary Star pair and a client, each
// a process in its own Linux network namespace (tools/testkit NetLab), the
// links between them cut and healed by the router. The test suite runs 10
// trials (test/partition.test.ts); `pnpm soak bstar-partition` runs 100
// (bench/src/soak/bstar-partition.ts). Each trial:
//
//   1. waits until the pair is steady (one ACTIVE, one PASSIVE) and the
//      client is being served;
//   2. cuts links as its scenario says, holds, heals everything;
//   3. waits until the pair is steady and the client served again;
//   4. checks what Binary Star promises, from what the processes printed on
//      the shared monotonic clock: no two active servers serving (the
//      client never got replies from two servers that were both ACTIVE
//      throughout the time between), no request lost (every sequence
//      number answered, in order, right), failover within its bound when
//      the client could reach only the passive side, and no takeover
//      without client votes.
//
//   primary (10.201.1.2) --\
//   backup  (10.201.2.2) ---- router: cuts are its rules
//   client  (10.201.3.2) --/
import { NetLab, type Child } from "@zkit/testkit";
import { dualServing, inNamespace, lines, mono, replies, startClient, startServer, states, waitLine, type Line, type ServerProc } from "../procs.js";

/** What a trial does to the network. */
export type Scenario =
  /** The state link is cut and the client reaches only the active server: nothing may change. */
  | "state-link-client-on-active"
  /** The state link is cut and the client reaches only the passive server: it must take over. */
  | "state-link-client-on-passive"
  /** Every link is cut: nobody is served, nobody takes over; after the heal, service resumes. */
  | "everything"
  /** The client loses the active server, the state link stays: the passive one sees its peer and must not take over. */
  | "client-from-active"
  /** The client's link to the active server goes down and up every few hundred ms. */
  | "flapping-client-link"
  /** The state link goes down and up every few hundred ms while the client is served. */
  | "flapping-state-link"
  /** Loss and delay (tc netem) on every link; only where the kernel has netem. */
  | "lossy-links";

/** The scenarios, in the order trials cycle through them. */
export const SCENARIOS: readonly Scenario[] = [
  "state-link-client-on-active",
  "state-link-client-on-passive",
  "everything",
  "client-from-active",
  "flapping-client-link",
  "flapping-state-link",
  "lossy-links",
];

/** The settings of a lab. */
export interface LabConfig {
  /** Heartbeat interval of both servers, in ms. */
  hb: number;
  /** The client's reply timeout, in ms. */
  timeoutMs: number;
  /** The client's settle delay, in ms. */
  settleMs: number;
  /** Room for a loaded machine on every time bound, in ms. */
  slackMs: number;
  /** Pause between the client's requests, in ms. */
  intervalMs?: number;
  /** Namespace prefix. */
  prefix?: string;
}

/** What one trial found. */
export interface TrialResult {
  scenario: Scenario;
  /** The server that was active before the cut, and after the heal. */
  activeBefore: string;
  activeAfter: string;
  /** How long the partition held, in ms. */
  holdMs: number;
  /**
   * Why this trial had two active servers while the client could reach
   * only one side (must be empty): replies from two servers that were both
   * ACTIVE throughout the time between them, or the passive server taking
   * over during a partition that left the client able to reach the active
   * one (or neither).
   */
  dualActive: string[];
  /** Requests never answered, or answered wrong, in this trial (must be 0). */
  lost: number;
  /** Replies in this trial. */
  replies: number;
  /** From the cut to the first reply by the other server, in ms (failover scenarios). */
  failoverMs: number | undefined;
  /** From the heal to the first reply after it, in ms. */
  recoveredMs: number;
  /** Split brains the servers reported (resolved by zkit's rule). */
  splitBrains: number;
  /** How long both servers were ACTIVE at once, in ms (a split brain in the making: informational). */
  bothActiveMs: number;
  /** What went wrong; empty when the trial passed. */
  problems: string[];
}

const ADDR = { primary: "p", backup: "b", client: "c" } as const;

/** A Binary Star pair and a client in network namespaces. */
export class PartitionLab {
  readonly net: NetLab;
  readonly config: Required<LabConfig>;
  readonly servers: Record<"primary" | "backup", ServerProc>;
  readonly client: Child;
  readonly #started: number;

  private constructor(net: NetLab, config: Required<LabConfig>, servers: Record<"primary" | "backup", ServerProc>, client: Child) {
    this.net = net;
    this.config = config;
    this.servers = servers;
    this.client = client;
    this.#started = mono();
  }

  /**
   * Builds the network, starts the pair (voter on 5001, state on 5003, in
   * each server's namespace) and the client, and waits until it is served.
   * @throws when namespaces cannot be made ({@link netnsSupport} says why first)
   */
  static async start(config: LabConfig): Promise<PartitionLab> {
    const cfg: Required<LabConfig> = { intervalMs: 20, prefix: "zkbs", ...config };
    const net = NetLab.create(["p", "b", "c"], cfg.prefix);
    try {
      const p = net.host("p");
      const b = net.host("b");
      const primary = await startServer("primary", { local: "tcp://*:5003", remote: `tcp://${b.address}:5003`, voter: "tcp://*:5001" }, { hb: cfg.hb, launch: inNamespace(p.ns) });
      const backup = await startServer("backup", { local: "tcp://*:5003", remote: `tcp://${p.address}:5003`, voter: "tcp://*:5001" }, { hb: cfg.hb, launch: inNamespace(b.ns) });
      const client = startClient([`tcp://${p.address}:5001`, `tcp://${b.address}:5001`], {
        timeoutMs: cfg.timeoutMs,
        settleMs: cfg.settleMs,
        intervalMs: cfg.intervalMs,
        launch: inNamespace(net.host("c").ns),
      });
      const lab = new PartitionLab(net, cfg, { primary, backup }, client);
      await waitLine(client, (l) => l.ev === "reply", 60_000, "a first reply");
      return lab;
    } catch (err) {
      net.destroy();
      throw err;
    }
  }

  /** The last state `role` printed (its role's own name before any change). */
  stateOf(role: "primary" | "backup"): string {
    const s = states(this.servers[role].child);
    return s.length === 0 ? role : s[s.length - 1]!.state;
  }

  /** Waits until one server is ACTIVE and the other PASSIVE, and the client got a reply after `since`. */
  async steady(since: number, ms: number): Promise<{ active: "primary" | "backup"; at: number }> {
    const deadline = mono() + ms;
    for (;;) {
      const p = this.stateOf("primary");
      const b = this.stateOf("backup");
      const last = replies(this.client).at(-1);
      if (last !== undefined && last.t > since && ((p === "active" && b === "passive") || (p === "passive" && b === "active"))) {
        return { active: p === "active" ? "primary" : "backup", at: last.t };
      }
      this.#checkAlive();
      if (mono() > deadline) throw new Error(`not steady after ${ms} ms: primary ${p}, backup ${b}, last reply ${last ? Math.round(mono() - last.t) : "never"} ms ago`);
      await pause(20);
    }
  }

  /** Runs one trial: cut as `scenario` says, hold `holdMs`, heal, check. */
  async trial(scenario: Scenario, holdMs: number, random: () => number = Math.random): Promise<TrialResult> {
    const cfg = this.config;
    const { active } = await this.steady(mono() - 1, 60_000);
    const passive = active === "primary" ? "backup" : "primary";
    const A = ADDR[active];
    const P = ADDR[passive];
    const C = ADDR.client;
    const firstSeq = (replies(this.client).at(-1)?.seq ?? 0) + 1;
    const flaps: Promise<void>[] = [];
    let stopFlapping = false;
    const flap = async (a: string, b: string): Promise<void> => {
      while (!stopFlapping) {
        this.net.cut(a, b);
        await pause(150 + random() * 500);
        this.net.heal(a, b);
        if (stopFlapping) break;
        await pause(150 + random() * 500);
      }
    };
    switch (scenario) {
      case "state-link-client-on-active":
        this.net.cut(A, P);
        this.net.cut(C, P);
        break;
      case "state-link-client-on-passive":
        this.net.cut(A, P);
        this.net.cut(C, A);
        break;
      case "everything":
        this.net.isolate(A);
        this.net.isolate(P);
        break;
      case "client-from-active":
        this.net.cut(C, A);
        break;
      case "flapping-client-link":
        flaps.push(flap(C, A));
        break;
      case "flapping-state-link":
        flaps.push(flap(A, P));
        break;
      case "lossy-links":
        if (!this.net.netem) throw new Error(this.net.netemError);
        for (const h of ["p", "b", "c"]) this.net.impair(h, { lossPercent: 20, delayMs: 20, jitterMs: 10 });
        break;
    }
    // the partition is complete now (each rule takes an `ip` command)
    const tCut = mono();
    // a failover needs the time to happen within the partition
    if (scenario === "state-link-client-on-passive") holdMs = Math.max(holdMs, this.failoverBoundMs + cfg.slackMs);
    await pause(holdMs);
    stopFlapping = true;
    await Promise.all(flaps);
    // the partition holds until here: the heal takes an `ip` command per
    // rule, slow on a loaded machine, and links come back one by one
    const tHealing = mono();
    this.net.healAll();
    if (scenario === "lossy-links") for (const h of ["p", "b", "c"]) this.net.impair(h, {});
    const tHeal = mono();
    const problems: string[] = [];
    let after: { active: "primary" | "backup"; at: number } | undefined;
    try {
      after = await this.steady(tHeal, 60_000);
    } catch (err) {
      problems.push(`after the heal: ${(err as Error).message}`);
    }
    const tEnd = mono();

    // --- what happened, from the processes' own lines
    const all = replies(this.client);
    const inTrial = all.filter((r) => r.seq >= firstSeq);
    const window = all.filter((r) => r.seq >= firstSeq - 1); // with the last reply before the cut
    const history = (role: string): { t: number; state: string }[] => states(this.servers[role as "primary" | "backup"].child);
    const dual = dualServing(window, history);
    let lost = 0;
    inTrial.forEach((r, i) => {
      if (r.seq !== firstSeq + i || !r.ok) lost++;
    });
    const changed = (role: "primary" | "backup", from: number, to: number): Line[] => lines(this.servers[role].child).filter((l) => l.ev === "state" && l.t > from && l.t <= to);
    const splitBrains = (["primary", "backup"] as const).reduce(
      (n, role) => n + lines(this.servers[role].child).filter((l) => l.ev === "split-brain" && l.t > tCut && l.t <= tEnd).length,
      0,
    );
    const bothActiveMs = overlapMs(history("primary"), history("backup"), tCut, tEnd);
    const during = inTrial.filter((r) => r.t > tCut && r.t <= tHealing);
    const sentBeforeCut = (r: { sent: number }): boolean => r.sent < tCut;
    let failoverMs: number | undefined;

    const dualActive = dual.map((d) => `two active servers served: ${d}`);
    if (lost > 0) problems.push(`${lost} request(s) lost or answered wrong`);
    switch (scenario) {
      case "state-link-client-on-active":
      case "client-from-active":
      case "flapping-client-link":
      case "flapping-state-link":
        // the passive server got no vote it could take over on (it could not be reached, or it heard its peer)
        if (changed(passive, tCut, tHealing).some((l) => l.state === "active")) {
          const why = {
            "state-link-client-on-active": `though the client could reach only the active ${active}`,
            "client-from-active": `while the state link to the active ${active} was up`,
            "flapping-client-link": `while the state link to the active ${active} was up`,
            "flapping-state-link": `while the client was served by the active ${active}`,
          }[scenario];
          dualActive.push(`the passive ${passive} took over ${why}`);
        }
        if (scenario === "state-link-client-on-active" && during.some((r) => r.by === passive)) problems.push(`the client was served by the unreachable ${passive}`);
        break;
      case "state-link-client-on-passive": {
        const first = during.find((r) => r.by === passive);
        const took = changed(passive, tCut, tHealing).find((l) => l.state === "active");
        if (first === undefined || took === undefined) problems.push(`the passive ${passive} did not take over within the ${holdMs} ms hold`);
        else {
          failoverMs = first.t - tCut;
          if (took.reason !== "failover") problems.push(`the ${passive} became active for ${String(took.reason)}, not failover`);
          const bound = this.failoverBoundMs;
          if (failoverMs > bound + cfg.slackMs) problems.push(`failover took ${Math.round(failoverMs)} ms (bound ${bound} + ${cfg.slackMs})`);
        }
        break;
      }
      case "everything": {
        // Nothing crosses the router once the cut is in place: a request
        // sent after it cannot be answered before the heal. A reply to a
        // request sent before it may have crossed before it and be read by
        // the client a little later (a loaded machine delays the client's
        // loop, not the network): allowed up to the slack.
        const leak = during.find((r) => !sentBeforeCut(r) || r.t > tCut + cfg.slackMs);
        if (leak !== undefined) {
          problems.push(
            `the client was served while every link was cut (request ${leak.seq} sent ${Math.round(leak.sent - tCut)} ms after the cut, answered ${Math.round(leak.t - tCut)} ms after it)`,
          );
        }
        if (changed(passive, tCut, tHealing).some((l) => l.state === "active")) dualActive.push(`the passive ${passive} took over with every link cut`);
        break;
      }
      case "lossy-links":
        break;
    }
    problems.unshift(...dualActive);
    const firstAfter = inTrial.find((r) => r.t > tHeal);
    return {
      scenario,
      activeBefore: active,
      activeAfter: after?.active ?? "none",
      holdMs,
      dualActive,
      lost,
      replies: inTrial.length,
      failoverMs,
      recoveredMs: firstAfter === undefined ? NaN : firstAfter.t - tHeal,
      splitBrains,
      bothActiveMs,
      problems,
    };
  }

  /** Stops the processes and removes the namespaces. */
  async close(): Promise<void> {
    for (const c of [this.client, this.servers.primary.child, this.servers.backup.child]) c.kill("SIGTERM");
    await Promise.all([this.client, this.servers.primary.child, this.servers.backup.child].map((c) => Promise.race([c.exited, pause(5000)])));
    this.net.destroy();
  }

  /**
   * The failover bound when the client can reach only the passive server:
   * the request in flight times out, then the settle delay, which also
   * covers the peer expiry (2 heartbeats) when it is at least that long:
   * with the Guide's settle of 2 heartbeats, 2 x heartbeat + the client's
   * timeout.
   */
  get failoverBoundMs(): number {
    return this.config.timeoutMs + Math.max(this.config.settleMs, 2 * this.config.hb);
  }

  /** Milliseconds since the lab started. */
  get uptimeMs(): number {
    return mono() - this.#started;
  }

  #checkAlive(): void {
    for (const c of [this.client, this.servers.primary.child, this.servers.backup.child]) {
      if (c.exit !== undefined) throw new Error(`${c.name} exited (${c.exit.code ?? c.exit.signal})\n${c.describe()}`);
    }
  }
}

/** How long both histories were in ACTIVE at once within [from, to], in ms. */
function overlapMs(a: { t: number; state: string }[], b: { t: number; state: string }[], from: number, to: number): number {
  const intervals = (h: { t: number; state: string }[]): [number, number][] => {
    const out: [number, number][] = [];
    let start: number | undefined;
    for (const s of h) {
      if (s.state === "active" && start === undefined) start = s.t;
      else if (s.state !== "active" && start !== undefined) {
        out.push([start, s.t]);
        start = undefined;
      }
    }
    if (start !== undefined) out.push([start, Infinity]);
    return out;
  };
  let total = 0;
  for (const [a0, a1] of intervals(a)) {
    for (const [b0, b1] of intervals(b)) {
      const lo = Math.max(a0, b0, from);
      const hi = Math.min(a1, b1, to);
      if (hi > lo) total += hi - lo;
    }
  }
  return total;
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A small seeded random generator (mulberry32), so a failing run can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}
