// Freelance under fire, with real processes (test/fixtures/server.ts): the
// client in this process, each server a child that the test SIGKILLs,
// restarts, freezes (SIGSTOP) or starts as a server that answers PINGs and
// drops every request. What model 3 promises: no request fails while one
// server lives; with none left, a typed timeout within the deadline; a
// server that comes back is used again; a useless server costs a resend,
// not an answer. The kills also run over CURVE (testkit's security matrix,
// SECURITY_MODES; ZKIT_TEST_SECURITY=curve runs only that): the servers
// with one key pair and a ZAuth each that lets in the client's key, the
// client with its own; the same body.
import { afterEach, describe, expect, it } from "vitest";
import { TimeoutError, shutdown } from "@zkit/core";
import * as security from "@zkit/security";
import { SECURITY_MODES, closeTracked, matrixSecurity, startNode, stopAll, tempDir, track, waitFor, within, type Child } from "@zkit/testkit";
import { FreelanceClient, type DemotedInfo, type FreelanceClientOptions, type ServerInfo, type ServerLostInfo } from "@zkit/flclient";
import { ANY, here } from "./helpers.js";

const START_MS = 30_000; // a tsx child on a loaded machine
const WAIT = 60_000;
const SERVER = here("fixtures/server.ts");
const cleanups: (() => void)[] = [];

// short timing so that faults show quickly; generous deadlines around it
const TIMING: FreelanceClientOptions = { pingIntervalMs: 250, serverTtlMs: 1500, attemptTimeoutMs: 1000, timeoutMs: 15_000, demotionMs: 60_000 };

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function spawnServer(bind: string, name: string, mode: "echo" | "drop" = "echo", env?: Record<string, string>): Promise<{ child: Child; endpoint: string }> {
  const child = startNode(SERVER, [bind, name, mode], { name: `server ${name}`, ...(env !== undefined && { env }) });
  const endpoint = (await child.waitFor(/^serving (\S+)$/m, START_MS))[1]!;
  return { child, endpoint };
}

interface Client {
  client: FreelanceClient;
  connected: ServerInfo[];
  lost: ServerLostInfo[];
  demoted: DemotedInfo[];
}

async function startClient(endpoints: string[], options: FreelanceClientOptions = TIMING): Promise<Client> {
  const client = track(new FreelanceClient({ ...options, endpoints }));
  const out: Client = { client, connected: [], lost: [], demoted: [] };
  client.on("connected", (e) => out.connected.push(e));
  client.on("disconnected", (e) => out.lost.push(e));
  client.on("server-demoted", (e) => out.demoted.push(e));
  await client.start();
  await waitFor(() => client.stats.liveServers === endpoints.length, START_MS, `${endpoints.length} live servers`);
  return out;
}

/**
 * `lanes` loops sending requests one after the other until stopped; each
 * reply must be [server name][the request's body]. Counts answers per
 * server, keeps every failure.
 */
function stream(client: FreelanceClient, lanes: number): { answered: () => number; by: Map<string, number>; failures: unknown[]; stop: () => Promise<void> } {
  let running = true;
  let answered = 0;
  const by = new Map<string, number>();
  const failures: unknown[] = [];
  let n = 0;
  const lane = async (): Promise<void> => {
    // a closed client (a failed test's cleanup) ends the lanes too
    while (running && !client.closed) {
      const body = `req-${++n}`;
      try {
        const reply = await client.request(body);
        if (reply.text(1) !== body) failures.push(new Error(`request ${body} got ${reply.texts().join(",")}`));
        by.set(reply.text(0), (by.get(reply.text(0)) ?? 0) + 1);
        answered++;
      } catch (err) {
        failures.push(err);
      }
    }
  };
  const all = Promise.all(Array.from({ length: lanes }, lane));
  return {
    answered: () => answered,
    by,
    failures,
    stop: async () => {
      running = false;
      await within(all, WAIT, "the lanes to finish");
    },
  };
}

describe.each(SECURITY_MODES)("three servers, killed one after the other (SIGKILL), security %s", (mode) => {
  it("no request fails while one lives; with none left, a typed timeout within the deadline", async () => {
    const sec = await matrixSecurity(mode, security); // the servers start their own ZAuth (the fixture)
    const servers = [await spawnServer(ANY, "s1", "echo", sec.env), await spawnServer(ANY, "s2", "echo", sec.env), await spawnServer(ANY, "s3", "echo", sec.env)];
    const c = await startClient(
      servers.map((s) => s.endpoint),
      { ...TIMING, security: sec.client },
    );
    const load = stream(c.client, 10);
    await waitFor(() => load.answered() >= 200, WAIT, "200 answers from three servers");
    expect(load.failures).toEqual([]);

    servers[0]!.child.kill("SIGKILL");
    await servers[0]!.child.waitForExit(WAIT);
    const afterFirst = load.answered();
    await waitFor(() => load.answered() >= afterFirst + 200, WAIT, "200 answers after the first kill");
    servers[1]!.child.kill("SIGKILL");
    await servers[1]!.child.waitForExit(WAIT);
    const afterSecond = load.answered();
    const s3Before = load.by.get("s3") ?? 0;
    await waitFor(() => load.answered() >= afterSecond + 200, WAIT, "200 answers after the second kill");
    await load.stop();

    expect(load.failures).toEqual([]);
    expect((load.by.get("s3") ?? 0) - s3Before).toBe(load.answered() - afterSecond); // s3 alone answers now
    for (const name of ["s1", "s2", "s3"]) expect(load.by.get(name)).toBeGreaterThan(0);
    expect(c.lost.map((e) => [e.endpoint, e.reason])).toEqual([
      [servers[0]!.endpoint, "connection-lost"],
      [servers[1]!.endpoint, "connection-lost"],
    ]);
    expect(c.client.stats).toMatchObject({ timeouts: 0, pending: 0, liveServers: 1 });

    // the last one goes: a request fails with a TimeoutError, at its deadline
    servers[2]!.child.kill("SIGKILL");
    await servers[2]!.child.waitForExit(WAIT);
    await waitFor(() => c.client.stats.liveServers === 0, WAIT, "no live server left");
    const t0 = Date.now();
    const err = await c.client.request("anyone?", { timeoutMs: 2000 }).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe("ZKIT_TIMEOUT");
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(2000 + 3000); // the deadline, plus a loaded machine's lag
  });
});

describe("a server restarted on the same endpoint", () => {
  it("is found again by itself and gets requests", async () => {
    // ipc: the endpoint stays ours while the server is down
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = await spawnServer(`ipc://${dir.dir}/s1`, "s1");
    const other = await spawnServer(`ipc://${dir.dir}/s2`, "s2");
    const c = await startClient([first.endpoint, other.endpoint]);
    const load = stream(c.client, 5);
    await waitFor(() => load.answered() >= 50, WAIT, "50 answers");
    first.child.kill("SIGKILL");
    await first.child.waitForExit(WAIT);
    await waitFor(() => c.lost.length === 1, WAIT, "the dead server lost");
    const again = await spawnServer(first.endpoint, "s1-again");
    expect(again.endpoint).toBe(first.endpoint);
    await waitFor(() => c.connected.filter((e) => e.endpoint === first.endpoint).length === 2, WAIT, "the restarted server alive again");
    await waitFor(() => (load.by.get("s1-again") ?? 0) >= 20, WAIT, "20 answers from the restarted server");
    await load.stop();
    expect(load.failures).toEqual([]);
  });
});

describe("a server that answers PING and drops every request", () => {
  it("costs a resend, not an answer: every request is answered by the others, and it is demoted", async () => {
    const hole = await spawnServer(ANY, "hole", "drop");
    const a = await spawnServer(ANY, "a");
    const b = await spawnServer(ANY, "b");
    const c = await startClient([hole.endpoint, a.endpoint, b.endpoint]);
    const load = stream(c.client, 20);
    await waitFor(() => load.answered() >= 300, WAIT, "300 answers");
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(load.by.get("hole")).toBeUndefined();
    expect((load.by.get("a") ?? 0) + (load.by.get("b") ?? 0)).toBe(load.answered());
    expect(c.demoted).toEqual([{ server: Buffer.from(hole.endpoint).toString("hex"), endpoint: hole.endpoint, delayMs: 60_000 }]);
    const holeStats = c.client.servers().find((s) => s.endpoint === hole.endpoint)!;
    expect(holeStats).toMatchObject({ alive: true, demoted: true, replies: 0 });
    // it got the requests of the first second at most, then nothing
    expect(holeStats.requests).toBe(holeStats.timeouts);
    expect(c.client.stats.retries).toBe(holeStats.timeouts);
  });
});

describe("a server that freezes (SIGSTOP)", () => {
  it("its requests go elsewhere after the attempt timeout, it is lost after the TTL, and it is back when thawed", async () => {
    const frozen = await spawnServer(ANY, "frozen");
    const other = await spawnServer(ANY, "other");
    const c = await startClient([frozen.endpoint, other.endpoint]);
    const load = stream(c.client, 10);
    await waitFor(() => (load.by.get("frozen") ?? 0) >= 20, WAIT, "20 answers from the server about to freeze");
    frozen.child.kill("SIGSTOP");
    await waitFor(() => c.lost.length === 1, WAIT, "the frozen server lost");
    expect(c.lost[0]).toMatchObject({ endpoint: frozen.endpoint, reason: "silent", silentMs: expect.any(Number) });
    expect(c.lost[0]!.silentMs).toBeGreaterThan(1400); // the TTL; timers may fire a little early
    const whileFrozen = load.answered();
    await waitFor(() => load.answered() >= whileFrozen + 100, WAIT, "100 answers while it is frozen");
    frozen.child.kill("SIGCONT");
    await waitFor(() => c.connected.filter((e) => e.endpoint === frozen.endpoint).length === 2, WAIT, "the thawed server alive again");
    await load.stop();
    expect(load.failures).toEqual([]);
  });
});
