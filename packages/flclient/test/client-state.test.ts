// The Freelance client's decisions without sockets or real time: a host
// records what the state sends and emits, and a clock the test moves fires
// the timers. Each case is one rule of model 3 as zkit keeps it, including
// what the Guide's flcliapi gets wrong (resending on every wake-up, a
// server listed twice, crashing on an unknown reply, one request at a time).
import { describe, expect, it } from "vitest";
import { TimeoutError } from "@zkit/core";
import { RetriesExhaustedError, type ExpiryHandle, type Reply } from "@zkit/reliability";
import { ClientState, type ClientConfig, type ClientHost, type PendingRequest, type ServerEntry } from "../src/client-state.js";

const CONFIG: ClientConfig = { pingIntervalMs: 2000, serverTtlMs: 6000, attemptTimeoutMs: 1000, demotionMs: 2000 };
const S1 = "tcp://localhost:5555";
const S2 = "tcp://localhost:5556";
const S3 = "tcp://localhost:5557";
const b = (s: string): Buffer => Buffer.from(s);
const hex = (s: string): string => Buffer.from(s).toString("hex");
/** How events and snapshots name a server: its routing id in hex, and its endpoint. */
const id = (endpoint: string): { server: string; endpoint: string } => ({ server: hex(endpoint), endpoint });

interface Sent {
  frames: string[];
  server: ServerEntry;
  request: PendingRequest | undefined;
}

/** A host with a clock the test moves; it records sends and events. */
class Host implements ClientHost {
  t = 1000;
  sent: Sent[] = [];
  events: [string, Record<string, unknown>][] = [];
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  readonly handles = new Map<ServerEntry, ExpiryHandle<ServerEntry> & { active: boolean }>();
  state!: ClientState;

  now = (): number => this.t;
  send(frames: Buffer[], server: ServerEntry, request: PendingRequest | undefined): void {
    this.sent.push({ frames: frames.map(String), server, request });
  }
  timer(delayMs: number, fn: () => void): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + delayMs, fn });
    return id;
  }
  cancel(handle: number): void {
    this.#timers.delete(handle);
  }
  expiry = {
    add: (s: ServerEntry) => {
      const h = { peer: s, active: true };
      this.handles.set(s, h);
      return h;
    },
    touch: () => {},
    remove: (h: ExpiryHandle<ServerEntry>) => {
      (h as { active: boolean }).active = false;
    },
  };
  notify(event: string, ...args: unknown[]): void {
    this.events.push([event, args[0] as Record<string, unknown>]);
  }

  /** Moves the clock by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (due === undefined || e[1].at < due[1].at)) due = e;
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }

  /** The PeerExpiry of the server fires. */
  expire(endpoint: string): void {
    const s = [...this.handles.keys()].find((x) => x.endpoint === endpoint)!;
    this.handles.get(s)!.active = false;
    this.state.serverSilent(s);
  }

  /** Requests (not PINGs) sent since the last call, as [server, control, body...]. */
  takeRequests(): string[][] {
    const out = this.sent.filter((x) => x.request !== undefined).map((x) => x.frames);
    this.sent = [];
    return out;
  }

  named(event: string): Record<string, unknown>[] {
    return this.events.filter(([e]) => e === event).map(([, info]) => info);
  }
}

interface Outcome {
  reply?: Reply;
  error?: unknown;
}

function setup(config: ClientConfig = CONFIG): { host: Host; state: ClientState; ask: (body?: string, timeoutMs?: number) => { outcome: Outcome; req: PendingRequest } } {
  const host = new Host();
  const state = new ClientState(config, host);
  host.state = state;
  const ask = (body = "x", timeoutMs = 3000): { outcome: Outcome; req: PendingRequest } => {
    const outcome: Outcome = {};
    const req = state.submit(
      [b(body)],
      timeoutMs,
      (reply) => (outcome.reply = reply),
      (error) => (outcome.error = error),
    );
    return { outcome, req };
  };
  return { host, state, ask };
}

const pong = (state: ClientState, server: string): void => state.onMessage([b(server), b("PONG")]);
const reply = (state: ClientState, server: string, seq: number, ...body: string[]): void => state.onMessage([b(server), b(String(seq)), ...body.map(b)]);
const notice = (state: ClientState, server: string): void => state.onMessage([b(server), Buffer.alloc(0)]);

function live(...servers: string[]): ReturnType<typeof setup> {
  const s = setup();
  for (const server of servers) {
    s.state.addServer(server);
    pong(s.state, server);
  }
  s.host.sent = [];
  s.host.events = [];
  return s;
}

describe("servers", () => {
  it("a server is PINGed when added, alive once it answers, and listed once however often it is added (flcliapi lists it twice)", () => {
    const { host, state } = setup();
    expect(state.addServer(S1)).toBe(true);
    expect(state.addServer(S1)).toBe(false);
    expect(host.sent.map((x) => x.frames)).toEqual([[S1, "PING"]]);
    expect(host.named("connecting")).toEqual([id(S1)]);
    expect(state.stats).toMatchObject({ servers: 1, liveServers: 0, pings: 1 });
    pong(state, S1);
    pong(state, S1);
    expect(host.named("connected")).toEqual([id(S1)]);
    expect(state.stats).toMatchObject({ servers: 1, liveServers: 1, pongs: 2 });
    expect(state.servers()).toEqual([expect.objectContaining({ ...id(S1), alive: true, inFlight: 0, demoted: false, probation: false })]);
  });

  it("every ping interval: PINGs servers that are not alive and live ones quiet for half an interval", () => {
    const { host, state } = live(S1, S2);
    state.addServer(S3);
    host.sent = [];
    host.advance(1000);
    pong(state, S2); // S2 talked 500 ms before the tick; S1 has been quiet 1500 ms
    host.advance(500);
    state.tick();
    expect(host.sent.map((x) => x.frames)).toEqual([
      [S1, "PING"],
      [S3, "PING"],
    ]);
  });

  it("a live server's connection notice is its loss; another's is a connection: PING it", () => {
    const { host, state } = live(S1);
    state.addServer(S2);
    host.sent = [];
    notice(state, S2);
    expect(host.sent.map((x) => x.frames)).toEqual([[S2, "PING"]]);
    notice(state, S1);
    expect(host.named("disconnected")).toEqual([{ ...id(S1), reason: "connection-lost" }]);
    expect(state.stats).toMatchObject({ liveServers: 0, serversLost: 1 });
    pong(state, S1);
    expect(host.named("connected")).toEqual([id(S1)]);
  });

  it("a server silent for the TTL is lost (reason silent), and alive again when it answers", () => {
    const { host, state } = live(S1);
    host.advance(6001);
    host.expire(S1);
    expect(host.named("disconnected")).toEqual([{ ...id(S1), reason: "silent", silentMs: 6001 }]);
    expect(state.stats.liveServers).toBe(0);
    pong(state, S1);
    expect(state.stats.liveServers).toBe(1);
  });
});

describe("sending requests", () => {
  it("each request goes to the live server with the fewest in flight, least recently used among equals; any number in flight", () => {
    const { host, state, ask } = live(S1, S2, S3);
    for (let i = 0; i < 6; i++) ask(`r${i}`);
    expect(host.takeRequests()).toEqual([
      [S1, "1", "r0"],
      [S2, "2", "r1"],
      [S3, "3", "r2"],
      [S1, "4", "r3"],
      [S2, "5", "r4"],
      [S3, "6", "r5"],
    ]);
    reply(state, S2, 2, "ok");
    ask("r6"); // S2 now holds one, the others two
    expect(host.takeRequests()).toEqual([[S2, "7", "r6"]]);
    expect(state.stats).toMatchObject({ requests: 7, replies: 1, pending: 6 });
  });

  it("with no live server a request waits, and goes as soon as one answers a PING", () => {
    const { host, state, ask } = setup();
    state.addServer(S1);
    const { outcome } = ask("hello");
    expect(host.takeRequests()).toEqual([]);
    expect(state.stats).toMatchObject({ waiting: 1, pending: 1 });
    host.advance(500);
    pong(state, S1);
    expect(host.takeRequests()).toEqual([[S1, "1", "hello"]]);
    reply(state, S1, 1, "world");
    expect(outcome.reply?.texts()).toEqual(["world"]);
    expect(state.stats).toMatchObject({ waiting: 0, pending: 0, replies: 1 });
  });

  it("a request that never left fails at its deadline with a TimeoutError naming the servers; the reason of an unknown server is given", () => {
    const { host, state, ask } = setup();
    state.addServer(S1);
    notice(state, "tcp://127.0.0.1:5555"); // the server calls itself by another name
    const { outcome } = ask("hello", 3000);
    host.advance(2990);
    expect(outcome.error).toBeUndefined();
    host.advance(20);
    expect(outcome.error).toBeInstanceOf(TimeoutError);
    expect(outcome.error).not.toBeInstanceOf(RetriesExhaustedError);
    expect((outcome.error as Error).message).toMatch(/timeout 3000 ms.*none of the servers \(tcp:\/\/localhost:5555\) answered a PING/);
    expect((outcome.error as Error).message).toMatch(/connected as tcp:\/\/127\.0\.0\.1:5555.*routing id must be the exact endpoint/);
    expect(state.stats).toMatchObject({ timeouts: 1, pending: 0, unknown: 1 });
    const none = setup();
    const r = none.ask("x", 100);
    none.host.advance(100);
    expect((r.outcome.error as Error).message).toMatch(/no server to send it to; call connect\(endpoint\) first/);
  });
});

describe("replies", () => {
  it("the first reply wins; later copies are duplicates; unknown controls and identities are dropped and counted (flcliapi crashes)", () => {
    const { host, state, ask } = live(S1, S2);
    const { outcome } = ask("hello");
    reply(state, S1, 1, "first");
    reply(state, S1, 1, "again");
    reply(state, S2, 1, "copy");
    expect(outcome.reply?.texts()).toEqual(["first"]);
    expect(state.stats).toMatchObject({ replies: 1, duplicates: 2, unknown: 0 });
    reply(state, S1, 99, "never asked");
    state.onMessage([b(S1), b("not-a-number"), b("x")]);
    state.onMessage([b("tcp://stranger:1"), b("1"), b("x")]);
    state.onMessage([Buffer.from([0, 1, 2, 3, 4]), b("PONG")]);
    expect(state.stats).toMatchObject({ replies: 1, duplicates: 2, unknown: 4 });
    const malformed = host.named("malformed");
    expect(malformed).toHaveLength(4);
    expect(malformed[0]).toMatchObject({ peer: hex(S1), frame: 1, reason: expect.stringMatching(/control frame 99, which names no request/) });
    expect(malformed[2]).toMatchObject({ peer: hex("tcp://stranger:1"), frame: undefined, reason: expect.stringMatching(/none of the servers/) });
    expect(malformed[3]).toMatchObject({ peer: "0001020304" });
  });

  it("a late reply from the first server answers a request resent to another", () => {
    const { host, state, ask } = live(S1, S2);
    const { outcome } = ask("hello");
    expect(host.takeRequests()).toEqual([[S1, "1", "hello"]]);
    host.advance(1000);
    expect(host.takeRequests()).toEqual([[S2, "1", "hello"]]);
    reply(state, S1, 1, "late but fine");
    expect(outcome.reply?.texts()).toEqual(["late but fine"]);
    reply(state, S2, 1, "second");
    expect(state.stats).toMatchObject({ replies: 1, duplicates: 1, pending: 0 });
    expect(state.servers().map((s) => s.inFlight)).toEqual([0, 0]);
  });
});

describe("timeouts, demotion, failover", () => {
  it("an attempt that times out goes to a server it has not tried; the silent server is demoted once for the requests it held (flcliapi resends to the same first server on every wake-up)", () => {
    const { host, state, ask } = live(S1, S2);
    const a = ask("a");
    const c = ask("c");
    const d = ask("d");
    expect(host.takeRequests()).toEqual([
      [S1, "1", "a"],
      [S2, "2", "c"],
      [S1, "3", "d"],
    ]);
    reply(state, S2, 2, "C");
    host.advance(1000); // S1 answers PINGs but not requests
    expect(host.takeRequests()).toEqual([
      [S2, "1", "a"],
      [S2, "3", "d"],
    ]);
    expect(host.named("server-demoted")).toEqual([{ ...id(S1), delayMs: 2000 }]);
    expect(host.named("retry")).toEqual([
      { attempt: 1, retriesLeft: 1, timeoutMs: 1000, ...id(S1), reason: "timeout" },
      { attempt: 1, retriesLeft: 1, timeoutMs: 1000, ...id(S1), reason: "timeout" },
    ]);
    reply(state, S2, 1, "A");
    reply(state, S2, 3, "D");
    expect([a.outcome.reply?.text(), c.outcome.reply?.text(), d.outcome.reply?.text()]).toEqual(["A", "C", "D"]);
    expect(state.stats).toMatchObject({ retries: 2, demotions: 1, replies: 3 });
    // while demoted, S1 gets nothing even though it holds nothing
    for (let i = 0; i < 3; i++) ask(`e${i}`);
    expect(host.takeRequests().map((f) => f[0])).toEqual([S2, S2, S2]);
  });

  it("back from demotion a server holds one request at a time; failing again doubles the demotion, answering in time ends it", () => {
    const { host, state, ask } = live(S1, S2);
    ask("a");
    host.advance(1000); // S1 demoted for 2000 ms; "a" goes to S2
    reply(state, S2, 1, "A");
    host.takeRequests();
    host.advance(2000); // the demotion is over: S1 is on probation
    expect(state.servers()[0]).toMatchObject({ demoted: false, probation: true });
    for (let i = 0; i < 4; i++) ask(`p${i}`);
    expect(host.takeRequests()).toEqual([
      [S1, "2", "p0"],
      [S2, "3", "p1"],
      [S2, "4", "p2"],
      [S2, "5", "p3"],
    ]);
    for (const seq of [3, 4, 5]) reply(state, S2, seq, "ok");
    host.advance(1000); // S1 fails again
    const demotions = (): unknown[] =>
      host
        .named("server-demoted")
        .filter((e) => e.endpoint === S1)
        .map((e) => e.delayMs);
    expect(demotions()).toEqual([2000, 4000]);
    expect(host.takeRequests()).toEqual([[S2, "2", "p0"]]);
    reply(state, S2, 2, "ok");
    host.advance(4000);
    ask("q");
    expect(host.takeRequests()).toEqual([[S1, "6", "q"]]);
    reply(state, S1, 6, "Q"); // in time: trusted again
    expect(state.servers()[0]).toMatchObject({ demoted: false, probation: false });
    for (let i = 0; i < 2; i++) ask(`r${i}`);
    expect(
      host
        .takeRequests()
        .map((f) => f[0])
        .sort(),
    ).toEqual([S1, S2]);
    // and its next failure starts from the first delay again
    host.advance(1000);
    expect(demotions()).toEqual([2000, 4000, 2000]);
  });

  it("when every live server is demoted, the demoted ones still serve, one request each at a time", () => {
    const { host, state, ask } = live(S1);
    const a = ask("a");
    expect(host.takeRequests()).toEqual([[S1, "1", "a"]]);
    host.advance(1000); // S1 demoted; it is the only one, so "a" goes to it again
    expect(host.takeRequests()).toEqual([[S1, "1", "a"]]);
    const b2 = ask("b");
    expect(host.takeRequests()).toEqual([]); // S1 holds "a" on probation
    reply(state, S1, 1, "A");
    expect(a.outcome.reply?.text()).toBe("A");
    expect(host.takeRequests()).toEqual([[S1, "2", "b"]]);
    reply(state, S1, 2, "B");
    expect(b2.outcome.reply?.text()).toBe("B");
  });

  it("a lost server's requests go to another at once, not after their timeout", () => {
    const { host, state, ask } = live(S1, S2);
    const a = ask("a");
    ask("b");
    host.takeRequests();
    host.advance(10);
    notice(state, S1); // its connection ended
    expect(host.takeRequests()).toEqual([[S2, "1", "a"]]);
    expect(host.named("retry")).toEqual([{ attempt: 1, retriesLeft: 2, timeoutMs: 10, ...id(S1), reason: "server-lost" }]);
    reply(state, S2, 1, "A");
    expect(a.outcome.reply?.text()).toBe("A");
  });

  it("a request that was sent but never answered fails at its deadline with RetriesExhaustedError", () => {
    const { host, state, ask } = live(S1, S2);
    const { outcome } = ask("a", 2500);
    host.advance(1000);
    host.advance(1000);
    expect(host.takeRequests().map((f) => f[0])).toEqual([S1, S2, S1]);
    host.advance(499);
    expect(outcome.error).toBeUndefined();
    host.advance(1);
    expect(outcome.error).toBeInstanceOf(RetriesExhaustedError);
    expect(outcome.error).toMatchObject({ code: "ZKIT_TIMEOUT", attempts: 3, timeoutMs: 1000 });
    expect(state.stats).toMatchObject({ timeouts: 1, pending: 0 });
    expect(state.servers().map((s) => s.inFlight)).toEqual([0, 0]);
  });

  it("a send that fails makes its server unreachable: the request goes elsewhere, the server is PINGed until it answers", () => {
    const { host, state, ask } = live(S1, S2);
    ask("a");
    const [sent] = host.sent;
    host.sent = [];
    state.sendFailed(sent!.server, sent!.request);
    expect(host.named("disconnected")).toEqual([{ ...id(S1), reason: "unreachable" }]);
    expect(host.takeRequests()).toEqual([[S2, "1", "a"]]);
    state.tick();
    expect(host.sent.map((x) => x.frames)).toContainEqual([S1, "PING"]);
    state.sendFailed(sent!.server, undefined); // a failed PING changes nothing
    expect(state.stats.serversLost).toBe(1);
  });

  it("a removed server's requests go to the others; it gets no PINGs", () => {
    const { host, state, ask } = live(S1, S2);
    ask("a");
    host.takeRequests();
    expect(state.removeServer(S1)).toBe(true);
    expect(state.removeServer(S1)).toBe(false);
    expect(host.named("disconnected")).toEqual([{ ...id(S1), reason: "removed" }]);
    expect(host.takeRequests()).toEqual([[S2, "1", "a"]]);
    state.tick();
    expect(host.sent.map((x) => x.frames[0])).not.toContain(S1);
  });
});

describe("abort and close", () => {
  it("an aborted request rejects at once; its late reply counts as a duplicate", () => {
    const { state, ask } = live(S1);
    const { outcome, req } = ask("a");
    state.abort(req, new Error("stop"));
    expect((outcome.error as Error).message).toBe("stop");
    reply(state, S1, 1, "late");
    expect(state.stats).toMatchObject({ aborted: 1, duplicates: 1, pending: 0 });
    expect(state.servers()[0]!.inFlight).toBe(0);
  });

  it("close rejects every pending request, waiting or in flight, and takes nothing more", () => {
    const { host, state, ask } = live(S1);
    const a = ask("a");
    state.addServer(S2);
    state.removeServer(S1);
    const b2 = ask("b");
    state.close(() => new Error("closed"));
    expect([(a.outcome.error as Error).message, (b2.outcome.error as Error).message]).toEqual(["closed", "closed"]);
    host.sent = [];
    pong(state, S2);
    state.tick();
    expect(host.sent).toEqual([]);
    expect(state.stats.pending).toBe(0);
  });
});
