// Faults with real processes: a worker killed (SIGKILL) while it holds a
// request, or several behind a prefetching broker; a broker killed and
// restarted on the same port; a worker frozen (SIGSTOP) and thawed. Short
// heartbeats (100-250 ms), generous deadlines. The worker kill and the
// broker restart also run over CURVE (the security matrix, below).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { SECURITY_MODES, startNode, waitFor, type TestSecurity } from "@zkit/testkit";
import type { SecurityOptions } from "@zkit/security";
import { MajordomoAsyncClient, type MajordomoBroker, MajordomoClient, MajordomoWorker } from "../src/index.js";
import { WAIT_MS, cleanup, matrixSecurity, show, testDir, startBroker, track } from "./helpers.js";

afterEach(cleanup);

const START_MS = 30_000; // a tsx child on a loaded machine
const BROKER = join(testDir, "fixtures/broker.ts");
const WORKER = join(testDir, "fixtures/worker.ts");

function inProcessBroker(workerPrefetch = 1, security?: SecurityOptions): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  // expiry after 750-1000 ms of silence: quick, yet not fooled by a loaded machine
  return startBroker({ heartbeatIntervalMs: 250, liveness: 3, workerPrefetch, security });
}

describe("faults with real processes", () => {
  it("two idle workers, one SIGKILLed: a request sent right after, with no retry, goes to the live one (never to the dead)", async () => {
    const { broker, endpoint } = await inProcessBroker();
    const a = startNode(WORKER, [endpoint, "echo", "250", "0"], { name: "worker A" });
    await a.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "A at the broker");
    const b = startNode(WORKER, [endpoint, "echo", "250", "0"], { name: "worker B" });
    await b.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "B at the broker");
    a.kill("SIGKILL"); // A is first in line (least recently used)
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 20_000, retries: 0 }));
    expect(show(await client.request("echo", "job"))).toEqual(["job done"]);
    await b.waitFor(/^handling job$/m, WAIT_MS);
    expect(client.stats.timeouts).toBe(0);
    await waitFor(() => broker.stats.workersLost === 1, WAIT_MS, "A off the books");
    expect(broker.stats).toMatchObject({ workers: 1, workersExpired: 0, lost: 0 });
  });

  it("with workerPrefetch 4, a worker killed holding 4 requests: all 4 go to another worker in order, no client retries", async () => {
    const { broker, endpoint } = await inProcessBroker(4);
    const requeued: { client: string; worker: string }[] = [];
    broker.on("request-requeued", (info) => requeued.push(info));
    const readies: string[] = [];
    broker.on("worker-ready", ({ worker }) => readies.push(worker));
    const doomed = startNode(WORKER, [endpoint, "echo", "250", "600000"], { name: "doomed worker" });
    await doomed.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the doomed worker at the broker");
    const doomedId = readies[0]!;

    const clients = [0, 1, 2, 3].map(() => track(new MajordomoClient({ endpoint, timeoutMs: 20_000, retries: 0 })));
    const replies = clients.map((c, i) => c.request("echo", `job${i}`));
    await waitFor(() => broker.snapshot("echo").serviceList[0]?.workerList[0]?.inHand === 4, WAIT_MS, "the doomed worker to hold all 4");
    await doomed.waitFor(/^handling job\d$/m, WAIT_MS); // one in its handler, three waiting in its queue
    const healthy = startNode(WORKER, [endpoint, "echo", "250", "0"], { name: "healthy worker" });
    await healthy.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "both workers at the broker");

    doomed.kill("SIGKILL");
    expect((await Promise.all(replies)).map((r) => show(r))).toEqual([["job0 done"], ["job1 done"], ["job2 done"], ["job3 done"]]);
    const fromDoomed = requeued.filter((l) => l.worker === doomedId);
    expect(fromDoomed.length).toBe(4);
    expect(new Set(fromDoomed.map((l) => l.client)).size).toBe(4); // four different clients' requests
    expect(broker.stats).toMatchObject({ lost: 0, inFlight: 0 });
    expect(clients.every((c) => c.stats.timeouts === 0)).toBe(true);
    for (let i = 0; i < 4; i++) expect(healthy.stdout()).toMatch(new RegExp(`^handling job${i}$`, "m"));
  });

  it("a frozen worker (SIGSTOP) expires; thawed (SIGCONT), it is told DISCONNECT or notices, and registers again", async () => {
    const { broker, endpoint } = await inProcessBroker();
    const worker = startNode(WORKER, [endpoint, "frozen", "250", "0"], { name: "frozen worker" });
    await worker.waitFor(/^ready 1$/m, START_MS);
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    await waitFor(async () => show(await client.request("mmi.service", "frozen"))[0] === "200", WAIT_MS, "mmi.service to see the worker");

    const gone = new Promise<unknown>((r) => broker.once("worker-gone", r));
    const readyBefore = worker.stdout().match(/^ready \d+$/gm)!.length;
    const readiesBefore = broker.stats.workersReady;
    worker.kill("SIGSTOP");
    expect(await gone).toMatchObject({ service: "frozen", reason: "expired" });
    expect(show(await client.request("mmi.service", "frozen"))).toEqual(["404"]);

    worker.kill("SIGCONT");
    await worker.waitFor(new RegExp(`^ready ${readyBefore + 1}$`, "m"), WAIT_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the thawed worker to register again");
    expect(show(await client.request("frozen", "thawed"))).toEqual(["thawed done"]);
    expect(broker.stats.workersReady).toBeGreaterThan(readiesBefore);
  });
});

// The fault tests that matter most, once with no security and once over
// CURVE with a ZAuth checking the clients' key (testkit's SECURITY_MODES;
// ZKIT_TEST_SECURITY=curve runs only the CURVE variant): the same bodies,
// the same promises. A side left without CURVE would fail every handshake
// (a mechanism mismatch), so the CURVE variant cannot pass on NULL.
describe.each(SECURITY_MODES)("faults with real processes, security %s", (mode) => {
  let sec: TestSecurity;
  beforeEach(async () => {
    sec = await matrixSecurity(mode);
  });

  it("a worker killed mid-request: the broker knows at once and gives the request to another worker; the client never has to retry", async () => {
    const { broker, endpoint } = await inProcessBroker(1, sec.server);
    const requeued = new Promise<unknown>((r) => broker.once("request-requeued", r));
    const doomed = startNode(WORKER, [endpoint, "echo", "250", "600000"], { name: "doomed worker", env: sec.env });
    await doomed.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the doomed worker at the broker");
    const healthy = startNode(WORKER, [endpoint, "echo", "250", "0"], { name: "healthy worker", env: sec.env });
    await healthy.waitFor(/^ready 1$/m, START_MS);
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "both workers at the broker");

    const client = track(new MajordomoClient({ endpoint, timeoutMs: 20_000, retries: 0, security: sec.client }));
    const reply = client.request("echo", "job"); // the least recently used worker is the doomed one
    await doomed.waitFor(/^handling job$/m, WAIT_MS);
    doomed.kill("SIGKILL");
    expect(await requeued).toMatchObject({ service: "echo", reason: "connection-lost" });
    expect(show(await reply)).toEqual(["job done"]);
    await healthy.waitFor(/^handling job$/m, WAIT_MS);
    expect(broker.stats).toMatchObject({ replies: 1, requeued: 1, lost: 0, workersLost: 1 });
    expect(client.stats.timeouts).toBe(0);
  });

  it("a broker killed and restarted: workers re-register by themselves, clients retry", async () => {
    let broker = startNode(BROKER, ["tcp://127.0.0.1:*", "100"], { name: "broker 1", env: sec.env });
    const endpoint = (await broker.waitFor(/^listening on (.*)$/m, START_MS))[1]!;
    const worker = track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 100, liveness: 3, reconnectMs: 200, handler: ([x]) => [`${x} ok`], security: sec.client }));
    await worker.start();
    await broker.waitFor(/^worker ready for echo$/m, WAIT_MS);
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 500, retries: 60, security: sec.client }));
    expect(show(await client.request("echo", "before"))).toEqual(["before ok"]);

    broker.kill("SIGKILL");
    await broker.waitForExit(WAIT_MS);
    const during = client.request("echo", "during"); // retries until a broker answers
    await waitFor(() => worker.stats.reconnects >= 1, WAIT_MS, "the worker to notice the broker is gone");
    broker = startNode(BROKER, [endpoint, "100"], { name: "broker 2", env: sec.env });
    await broker.waitFor(/^listening on /m, START_MS);
    await broker.waitFor(/^worker ready for echo$/m, WAIT_MS);
    expect(show(await during)).toEqual(["during ok"]);
    expect(show(await client.request("echo", "after"))).toEqual(["after ok"]);
    expect(worker.stats.connections).toBeGreaterThanOrEqual(2);
    expect(client.stats.timeouts).toBeGreaterThanOrEqual(1);
  });
});

describe("MajordomoAsyncClient multiplexed: a broker killed and restarted with requests in flight", () => {
  it("200 requests in flight on the one multiplexed socket when the broker is SIGKILLed: after the restart every one is answered (resent with new correlations), each with its own reply, still on one socket", async () => {
    let broker = startNode(BROKER, ["tcp://127.0.0.1:*", "100"], { name: "broker 1" });
    const endpoint = (await broker.waitFor(/^listening on (.*)$/m, START_MS))[1]!;
    const worker = track(
      new MajordomoWorker({
        endpoint,
        service: "echo",
        heartbeatIntervalMs: 100,
        liveness: 3,
        reconnectMs: 200,
        handler: async ([x]) => {
          await new Promise((r) => setImmediate(r));
          return [`${x} ok`];
        },
      }),
    );
    await worker.start();
    await broker.waitFor(/^worker ready for echo$/m, WAIT_MS);
    // a timeout well above the time the burst takes: an attempt given up is still served on this path (see the README)
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 2000, discoveryTimeoutMs: 10_000 }));
    expect(show(await client.request("echo", "before", { retries: 10 }))).toEqual(["before ok"]);
    expect(client.mode).toBe("multiplexed");

    const during = Array.from({ length: 200 }, (_, i) => client.request("echo", `r${i}`, { retries: 30 }));
    await waitFor(() => worker.stats.replies >= 3, WAIT_MS, "the worker to be busy with the burst");
    broker.kill("SIGKILL");
    await broker.waitForExit(WAIT_MS);
    await waitFor(() => worker.stats.reconnects >= 1, WAIT_MS, "the worker to notice the broker is gone");
    broker = startNode(BROKER, [endpoint, "100"], { name: "broker 2" });
    await broker.waitFor(/^listening on /m, START_MS);
    const replies = await Promise.all(during);
    expect(replies.map((r) => show(r)[0])).toEqual(Array.from({ length: 200 }, (_, i) => `r${i} ok`));
    expect(client.stats.timeouts).toBeGreaterThanOrEqual(1);
    expect(client.stats).toMatchObject({ sockets: 1, socketsOpened: 1, inFlight: 0, unmatched: 0 });
    expect(client.mode).toBe("multiplexed");
  }, 120_000);
});

describe("MajordomoAsyncClient under a storm (its own process: nothing may escape to it)", () => {
  it.each(["off", "auto"])(
    "1000 requests in flight with a 20 ms timeout and one retry against a 50 ms worker (multiplex %s): the process survives, every request settles with a reply or a TimeoutError",
    async (multiplex) => {
      const { endpoint } = await inProcessBroker();
      const worker = startNode(WORKER, [endpoint, "slow", "250", "50"], { name: "slow worker" });
      await worker.waitFor(/^ready 1$/m, START_MS);
      const storm = startNode(join(testDir, "fixtures/async-storm.ts"), [endpoint, "1000", "1000", "20", "1", multiplex], { name: "async storm" });
      const exit = await storm.waitForExit(120_000);
      expect(storm.stdout()).not.toMatch(/uncaught/);
      expect(exit, storm.describe()).toEqual({ code: 0, signal: null });
      const m = /settled (\d+) replies (\d+) timeouts (\d+) other (\d+)/.exec(storm.stdout());
      expect(m, storm.describe()).not.toBeNull();
      expect(Number(m![1])).toBe(1000);
      expect(Number(m![4])).toBe(0); // no other error: out of sockets means waiting, not failing
      expect(Number(m![2]) + Number(m![3])).toBe(1000);
      expect(storm.stdout()).toContain(`mode ${multiplex === "off" ? "sockets" : "multiplexed"}`);
    },
  );
});
