// The Guide's Freelance models 1 and 2 over real REP servers:
//
//   model 1, FailoverClient: a fresh REQ per attempt, one server after the
//   other;  REQ [body] -> REP (flserver1 echoes)
//   model 2, ShotgunClient: one DEALER, a copy to every server, first reply
//   wins;   DEALER [""][seq][body] -> REP -> [""][seq][reply] (flserver2: "OK")
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, TimeoutError, ZSocket, shutdown } from "@zkit/core";
import { closeTracked, text, track, waitFor } from "@zkit/testkit";
import { RetriesExhaustedError } from "@zkit/reliability";
import { FailoverClient, ShotgunClient, type FailoverRetryEvent, type ShotgunMalformedInfo } from "@zkit/flclient";
import { ANY, freeEndpoint } from "./helpers.js";

afterEach(async () => {
  await closeTracked();
  shutdown();
});

/** A REP server: `answer(request)` for each request, until closed; how many it served. */
async function rep(answer: (request: Buffer[]) => (string | Buffer)[] | undefined, endpoint = ANY): Promise<{ endpoint: string; served: () => number; sock: ZSocket<"REP"> }> {
  const sock = track(await ZSocket.rep(`@${endpoint}`, { linger: 0 }));
  let served = 0;
  void (async () => {
    for await (const request of sock) {
      const reply = answer(request);
      if (reply === undefined) continue; // a REP that never answers holds every later request too: fine for a dead server
      served++;
      await sock.send(reply).catch(() => {});
    }
  })();
  return { endpoint: sock.endpoint, served: () => served, sock };
}

describe("FailoverClient (model 1)", () => {
  it("starts on its first request, asks the first server, fails over to the next when it is silent, and starts there next time", async () => {
    const dead = await freeEndpoint(); // nobody listens
    const echo = await rep((req) => ["echo", ...req.map(String)]);
    const retries: FailoverRetryEvent[] = [];
    const c = track(new FailoverClient({ endpoints: [dead, echo.endpoint], timeoutMs: 300 }));
    c.on("retry", (e) => retries.push(e));
    expect(c.state).toBe("new");
    expect((await c.request("Hello world")).texts()).toEqual(["echo", "Hello world"]); // no start(): the request starts it
    expect(c.running).toBe(true);
    expect(retries).toEqual([{ attempt: 1, retriesLeft: 0, timeoutMs: 300, endpoint: dead }]);
    expect((await c.request(["a", "b"])).texts()).toEqual(["echo", "a", "b"]);
    expect(retries).toHaveLength(1); // the second started with the server that answered
    expect(c.stats).toMatchObject({ requests: 2, replies: 2, retries: 1, timeouts: 0 });
  });

  it("with one server, tries it three times (the Guide's MAX_RETRIES), then gives up with RetriesExhaustedError", async () => {
    const silent = await rep(() => undefined);
    const c = track(new FailoverClient({ endpoints: silent.endpoint, timeoutMs: 200 }));
    await c.start();
    const t0 = Date.now();
    const err = await c.request("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toMatchObject({ attempts: 3, timeoutMs: 200, code: "ZKIT_TIMEOUT" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(c.stats).toMatchObject({ retries: 2, timeouts: 1 });
    // several servers: each once
    const two = track(new FailoverClient({ endpoints: [silent.endpoint, await freeEndpoint()], timeoutMs: 200 }));
    await two.start();
    await expect(two.request("x")).rejects.toMatchObject({ attempts: 2 });
  });

  it("aborts, closes, and refuses bad arguments", async () => {
    const silent = await rep(() => undefined);
    const c = new FailoverClient({ endpoints: [silent.endpoint], timeoutMs: 10_000 });
    await c.start();
    const ac = new AbortController();
    const p = c.request("x", { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    const q = c.request("y");
    await waitFor(() => c.stats.requests === 2, 10_000, "the second request under way");
    await c.close();
    await expect(q).rejects.toBeInstanceOf(ClosedError);
    await expect(c.request("z")).rejects.toBeInstanceOf(ClosedError);
    expect(c.stats).toMatchObject({ aborted: 1 });
    expect(() => new FailoverClient({} as never)).toThrow(/FailoverClient option endpoints is required/);
    expect(() => new FailoverClient({ endpoints: ["@tcp://*:1"] })).toThrow(InvalidArgumentError);
    expect(() => new FailoverClient({ endpoints: "tcp://a:1", retries: -1 })).toThrow(/option retries/);
  });
});

describe("ShotgunClient (model 2)", () => {
  it("starts on its first request, sends every request to every server and takes the first reply; the other copies are duplicates", async () => {
    const servers = [];
    for (const tag of ["a", "b", "c"]) servers.push(await rep(([seq, ...body]) => [seq!, tag, ...body]));
    const c = track(new ShotgunClient({ endpoints: servers.map((s) => s.endpoint) }));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => c.request(`r${i}`)));
    replies.forEach((r, i) => {
      expect(["a", "b", "c"]).toContain(r.text(0));
      expect(r.text(1)).toBe(`r${i}`);
    });
    await waitFor(() => c.stats.duplicates === 60, 10_000, "the 60 other copies dropped");
    expect(c.stats).toMatchObject({ requests: 30, replies: 30, copies: 90, timeouts: 0, malformed: 0 });
    for (const s of servers) expect(s.served()).toBe(30);
    expect(c.running).toBe(true);
    await c.start(); // idempotent: the same start
  });

  it("one signal shared by many requests gets one listener (both models), and aborts them all", async () => {
    const silent = await rep(() => undefined);
    const shotgun = track(new ShotgunClient({ endpoints: [silent.endpoint], timeoutMs: 30_000 }));
    const failover = track(new FailoverClient({ endpoints: [silent.endpoint], timeoutMs: 30_000 }));
    await shotgun.start();
    await failover.start();
    const ac = new AbortController();
    const all = [
      ...Array.from({ length: 20 }, () => shotgun.request("x", { signal: ac.signal }).catch((e: unknown) => e)),
      ...Array.from({ length: 20 }, () => failover.request("x", { signal: ac.signal }).catch((e: unknown) => e)),
    ];
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(2);
    ac.abort();
    for (const e of await Promise.all(all)) expect(e).toBeInstanceOf(AbortError);
    expect([shotgun.stats.aborted, failover.stats.aborted]).toEqual([20, 20]);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("answers while one server is gone, times out when all are, and drops what is not a reply", async () => {
    const ok = await rep(([seq]) => [seq!, "OK"]); // the Guide's flserver2
    const dead = await freeEndpoint();
    const c = track(new ShotgunClient({ endpoints: [dead, ok.endpoint], timeoutMs: 500 }));
    await c.start();
    expect(text(await c.request("random name"))).toEqual(["OK"]);
    const none = track(new ShotgunClient({ endpoints: [dead], timeoutMs: 300 }));
    await none.start();
    const err = await none.request("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/none of the 1 servers answered within 300 ms/);
    const odd = await rep(() => ["not", "a", "number"]);
    const c2 = track(new ShotgunClient({ endpoints: [odd.endpoint], timeoutMs: 300 }));
    const bad: ShotgunMalformedInfo[] = [];
    c2.on("malformed", (e) => bad.push(e));
    await c2.start();
    await expect(c2.request("x")).rejects.toBeInstanceOf(TimeoutError);
    expect(c2.stats).toMatchObject({ malformed: 1, timeouts: 1 });
    expect(bad).toEqual([{ reason: expect.stringMatching(/frame 1 is no sequence number this client sent/), frame: 1, peer: undefined }]);
  });
});
