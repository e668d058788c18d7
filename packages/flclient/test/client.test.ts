// FreelanceClient over real sockets, in one process: our servers, and bare
// ROUTERs playing servers that misbehave (answer twice, answer with a
// control frame nobody sent, present the wrong name, PONG but never answer).
//
//   FreelanceClient (ROUTER)             servers (ROUTER, id = endpoint)
//     connect(ep) ... [ep][""] notice  <-     (connection up)
//     [ep][PING]                       ->
//                                      <-     [client][PONG]    ep is alive
//     [ep][seq][body...]               ->     (the best live server)
//                                      <-     [client][seq][reply...]
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, InvalidEndpointError, TimeoutError, shutdown, sleep } from "@zkit/core";
import { closeTracked, text, track, waitFor, within } from "@zkit/testkit";
import { RetriesExhaustedError } from "@zkit/reliability";
import {
  FreelanceClient,
  FreelanceServer,
  type DemotedInfo,
  type FreelanceClientOptions,
  type FreelanceRetryEvent,
  type MalformedInfo,
  type ServerInfo,
  type ServerLostInfo,
} from "@zkit/flclient";
import { ANY, rawServer, serveRaw } from "./helpers.js";

const WAIT = 20_000;
const hex = (s: string): string => Buffer.from(s).toString("hex");
/** For tests that count resends: a loaded machine must not make a healthy server look slow. */
const PATIENT = { attemptTimeoutMs: 15_000, timeoutMs: 30_000 } as const;

afterEach(async () => {
  await closeTracked();
  shutdown();
});

async function server(tag: string, handler?: (req: Buffer[]) => unknown): Promise<FreelanceServer> {
  const s = track(new FreelanceServer({ bind: ANY, handler: (handler ?? ((req: Buffer[]) => [tag, ...req])) as never }));
  await s.start();
  return s;
}

async function client(options: FreelanceClientOptions = {}): Promise<FreelanceClient> {
  const c = track(new FreelanceClient(options));
  await c.start();
  return c;
}

/** Waits until the client counts `n` servers alive. */
async function alive(c: FreelanceClient, n: number): Promise<void> {
  await waitFor(() => c.stats.liveServers === n, WAIT, `${n} live server(s)`);
}

describe("FreelanceClient with three servers", () => {
  it("any number of requests in flight, each with its own reply, spread over the servers", async () => {
    const servers = [await server("s1"), await server("s2"), await server("s3")];
    const connected: ServerInfo[] = [];
    const c = new FreelanceClient({ ...PATIENT, endpoints: servers.map((s) => s.endpoint) });
    track(c);
    c.on("connected", (e) => connected.push(e));
    await c.start();
    await alive(c, 3);
    expect(connected.map((e) => e.endpoint).sort()).toEqual(servers.map((s) => s.endpoint).sort());
    const replies = await within(Promise.all(Array.from({ length: 300 }, (_, i) => c.request(`r${i}`))), WAIT, "300 replies");
    replies.forEach((reply, i) => {
      expect(reply.length).toBe(2);
      expect(reply.text(1)).toBe(`r${i}`);
    });
    const by = (tag: string): number => replies.filter((r) => r.text() === tag).length;
    for (const tag of ["s1", "s2", "s3"]) expect(by(tag)).toBeGreaterThan(0);
    expect(c.stats).toMatchObject({ requests: 300, replies: 300, retries: 0, timeouts: 0, duplicates: 0, unknown: 0, pending: 0, servers: 3, liveServers: 3 });
    expect(servers.reduce((n, s) => n + s.stats.replies, 0)).toBe(300);
  });

  it("a closed server's requests go to the others at once; it is used again when it comes back", async () => {
    const endpoints: string[] = [];
    // s1 works 20 ms a request: when it closes it holds many, and drops those it has not begun
    const s1 = await server("s1", async (req) => (await sleep(20), ["s1", ...req]));
    const s2 = await server("s2");
    endpoints.push(s1.endpoint, s2.endpoint);
    const lost: ServerLostInfo[] = [];
    const retries: FreelanceRetryEvent[] = [];
    const c = await client({ endpoints, attemptTimeoutMs: 10_000, timeoutMs: 30_000 });
    c.on("disconnected", (e) => lost.push(e));
    c.on("retry", (e) => retries.push(e));
    await alive(c, 2);
    // keep requests flowing while s1 goes away: none waits for the 10 s attempt timeout
    const t0 = Date.now();
    const flow = Promise.all(Array.from({ length: 200 }, (_, i) => c.request(`r${i}`)));
    await s1.close();
    await within(flow, WAIT, "every request answered");
    expect(Date.now() - t0).toBeLessThan(9000);
    expect(retries.length).toBeGreaterThan(10);
    expect(retries.every((r) => r.endpoint === s1.endpoint && r.reason === "server-lost")).toBe(true);
    await waitFor(() => lost.length === 1, WAIT, "s1 lost");
    expect(lost[0]).toEqual({ server: hex(s1.endpoint), endpoint: s1.endpoint, reason: "connection-lost" });
    // a new server on the same endpoint is found by itself
    const back = track(new FreelanceServer({ bind: s1.endpoint, handler: (req) => ["back", ...req] }));
    await back.start();
    await alive(c, 2);
    const replies = await Promise.all(Array.from({ length: 60 }, () => c.request("again")));
    expect(replies.some((r) => r.text() === "back")).toBe(true);
  });
});

describe("servers that misbehave", () => {
  it("a server that answers twice: the first reply wins, the copy counts as a duplicate", async () => {
    const raw = await rawServer();
    track(raw.sock);
    void serveRaw(raw.sock, ([client, control, ...body]) => [
      [client!, control!, Buffer.from("one"), ...body],
      [client!, control!, Buffer.from("two"), ...body],
    ]);
    const c = await client({ ...PATIENT, endpoints: [raw.endpoint] });
    await alive(c, 1);
    expect((await c.request("x")).texts()).toEqual(["one", "x"]);
    expect((await c.request("y")).texts()).toEqual(["one", "y"]);
    await waitFor(() => c.stats.duplicates === 2, WAIT, "two duplicates counted");
    expect(c.stats).toMatchObject({ replies: 2, unknown: 0 });
  });

  it("replies naming no request, and a server presenting another name, are dropped and counted; the request fails in time, saying why", async () => {
    const liar = await rawServer();
    track(liar.sock);
    void serveRaw(liar.sock, ([client]) => [[client!, Buffer.from("424242"), Buffer.from("?")]]);
    const misnamed = await rawServer("tcp://some-other-name:1");
    track(misnamed.sock);
    void serveRaw(misnamed.sock, () => {});
    const malformed: MalformedInfo[] = [];
    const c = new FreelanceClient({ endpoints: [liar.endpoint, misnamed.endpoint], attemptTimeoutMs: 300 });
    track(c);
    c.on("malformed", (m) => malformed.push(m));
    await c.start();
    await alive(c, 1);
    const err = await c.request("x", { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(c.stats.unknown).toBeGreaterThanOrEqual(2);
    expect(malformed).toContainEqual({ reason: expect.stringMatching(/control frame 424242, which names no request/), frame: 1, peer: hex(liar.endpoint) });
    expect(malformed).toContainEqual({
      reason: expect.stringMatching(/connected as tcp:\/\/some-other-name:1.*routing id must be the exact endpoint/),
      frame: undefined,
      peer: hex("tcp://some-other-name:1"),
    });
    // alone, the misnamed server is never alive: a request never leaves, and the error says why
    const c2 = await client({ endpoints: [misnamed.endpoint] });
    const err2 = await c2.request("x", { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(TimeoutError);
    expect(err2).not.toBeInstanceOf(RetriesExhaustedError);
    expect((err2 as Error).message).toMatch(/connected as tcp:\/\/some-other-name:1/);
  });

  it("a server that answers PING but drops requests: every request is answered by the other, and it is demoted", async () => {
    const hole = await rawServer();
    track(hole.sock);
    void serveRaw(hole.sock, () => {});
    const good = await server("good");
    const demoted: DemotedInfo[] = [];
    const retries: FreelanceRetryEvent[] = [];
    const c = await client({ endpoints: [hole.endpoint, good.endpoint], attemptTimeoutMs: 200, timeoutMs: 10_000, demotionMs: 60_000 });
    c.on("server-demoted", (e) => demoted.push(e));
    c.on("retry", (e) => retries.push(e));
    await alive(c, 2);
    const replies = await within(Promise.all(Array.from({ length: 50 }, (_, i) => c.request(`r${i}`))), WAIT, "50 replies");
    expect(replies.map((r) => r.text())).toEqual(Array(50).fill("good"));
    expect(demoted).toEqual([{ server: hex(hole.endpoint), endpoint: hole.endpoint, delayMs: 60_000 }]);
    expect(retries.every((r) => r.endpoint === hole.endpoint && r.reason === "timeout")).toBe(true);
    // demoted, it gets nothing more while the good one serves
    const before = c.servers().find((s) => s.endpoint === hole.endpoint)!.requests;
    await Promise.all(Array.from({ length: 20 }, () => c.request("more")));
    expect(c.servers().find((s) => s.endpoint === hole.endpoint)).toMatchObject({ requests: before, demoted: true, alive: true });
  });
});

describe("the request's life", () => {
  it("abort rejects with AbortError, its late reply is a duplicate; close rejects what is pending with ClosedError", async () => {
    const s = await server("s", async (req) => (await sleep(300), req));
    const c = new FreelanceClient({ endpoints: [s.endpoint] });
    await c.start();
    await alive(c, 1);
    const ac = new AbortController();
    const aborted = c.request("a", { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await waitFor(() => c.stats.duplicates === 1, WAIT, "the late reply dropped");
    await expect(c.request("b", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const pending = c.request("c");
    await c.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(c.request("d")).rejects.toBeInstanceOf(ClosedError);
    expect(c.stats).toMatchObject({ aborted: 1, pending: 0 });
    expect(() => c.connect(s.endpoint)).toThrow(ClosedError);
  });

  it("one signal shared by many requests in flight gets one abort listener, and aborts them all", async () => {
    const s = await server("s", async (req) => (await sleep(5000), req));
    const c = await client({ endpoints: [s.endpoint], timeoutMs: 30_000, attemptTimeoutMs: 30_000 });
    await alive(c, 1);
    const ac = new AbortController();
    const all = Array.from({ length: 50 }, (_, i) => c.request(`r${i}`, { signal: ac.signal }).catch((e: unknown) => e));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    for (const e of await Promise.all(all)) expect(e).toBeInstanceOf(AbortError);
    expect(c.stats).toMatchObject({ aborted: 50, pending: 0 });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("starts by itself on its first request; refuses bad bodies and options", async () => {
    const s = await server("s");
    const c = track(new FreelanceClient({ ...PATIENT, endpoints: [s.endpoint] }));
    expect(c.state).toBe("new");
    expect((await c.request("x")).texts()).toEqual(["s", "x"]); // no start(): the request starts it, and waits for a live server
    expect(c.running).toBe(true);
    await c.start(); // idempotent
    await expect(c.request(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(c.request("x", { timeoutMs: 0 })).rejects.toThrow(/FreelanceClient.request option timeoutMs/);
    await expect(c.request("x", { retries: 1 } as never)).rejects.toThrow(/unknown FreelanceClient.request option "retries"/);
  });

  it("connect() adds a server at any time, once; disconnect() removes it", async () => {
    const s1 = await server("s1");
    const s2 = await server("s2");
    const c = new FreelanceClient({ endpoints: `${s1.endpoint}, >${s1.endpoint}` });
    track(c);
    expect(c.connect(s1.endpoint)).toBe(false);
    expect(c.endpoints).toEqual([s1.endpoint]);
    await c.start();
    expect(c.connect(s2.endpoint)).toBe(true);
    expect(c.connect(s2.endpoint)).toBe(false);
    await alive(c, 2);
    expect(c.endpoints).toEqual([s1.endpoint, s2.endpoint]);
    expect(c.disconnect(s1.endpoint)).toBe(true);
    expect(c.disconnect(s1.endpoint)).toBe(false);
    const replies = await Promise.all(Array.from({ length: 10 }, () => c.request("x")));
    expect(replies.map((r) => r.text())).toEqual(Array(10).fill("s2"));
    expect(c.stats.servers).toBe(1);
  });

  it("publishes its events on the zkit:flp:client diagnostics channel", async () => {
    const seen: string[] = [];
    const listener = (m: unknown): void => void seen.push((m as { event: string }).event);
    subscribe("zkit:flp:client", listener);
    try {
      const s = await server("s");
      const c = await client({ endpoints: [s.endpoint] });
      await alive(c, 1);
      await c.close();
    } finally {
      unsubscribe("zkit:flp:client", listener);
    }
    expect(seen).toEqual(["connecting", "start", "connected", "close"]);
  });

  it("refuses bad options, naming them", () => {
    const bad: [unknown, RegExp, new (...a: never[]) => Error][] = [
      [{ pingIntervalMs: 0 }, /option pingIntervalMs must be a number of milliseconds > 0/, InvalidArgumentError],
      [{ pingIntervalMs: 1000, serverTtlMs: 1000 }, /option serverTtlMs \(1000\) must be more than pingIntervalMs \(1000\)/, InvalidArgumentError],
      [{ timeoutMs: -1 }, /option timeoutMs/, InvalidArgumentError],
      [{ attemptTimeoutMs: "fast" }, /option attemptTimeoutMs/, InvalidArgumentError],
      [{ demotionMs: NaN }, /option demotionMs/, InvalidArgumentError],
      [{ endpoints: 5555 }, /option endpoints must be an endpoint string/, InvalidArgumentError],
      [{ endpoints: ["@tcp://*:5555"] }, /binds; a Freelance client connects to servers/, InvalidArgumentError],
      [{ endpoints: ["localhost:5555"] }, /invalid endpoint/, InvalidEndpointError],
      [{ timeout: 5 }, /unknown FreelanceClient option "timeout"/, InvalidArgumentError],
    ];
    for (const [options, message, type] of bad) {
      expect(() => new FreelanceClient(options as FreelanceClientOptions), String(message)).toThrow(type);
      expect(() => new FreelanceClient(options as FreelanceClientOptions)).toThrow(message);
    }
    expect(new FreelanceClient().options).toEqual({ pingIntervalMs: 2000, serverTtlMs: 6000, timeoutMs: 3000, attemptTimeoutMs: 1000, demotionMs: 2000 });
  });
});

describe("traces", () => {
  it("hands every message in and out to `trace`, frame by frame", async () => {
    const s = await server("s");
    const seen: string[][] = [];
    const c = await client({ endpoints: [s.endpoint], trace: ({ direction, socket, frames }) => seen.push([direction, socket, ...text(frames)]) });
    await alive(c, 1);
    await c.request("hello");
    expect(seen).toContainEqual(["out", "servers", s.endpoint, "PING"]);
    expect(seen).toContainEqual(["in", "servers", s.endpoint, "PONG"]);
    expect(seen).toContainEqual(["out", "servers", s.endpoint, "1", "hello"]);
    expect(seen).toContainEqual(["in", "servers", s.endpoint, "1", "s", "hello"]);
  });
});
