// Paranoid Pirate faults with real processes (test/fixtures/*.ts): a worker
// killed in the middle of a request, the queue killed and restarted on the
// same endpoints, a worker frozen with SIGSTOP. What 6/PPP promises: the
// client gets every answer (through its retries), workers come back by
// themselves, and a dead worker is expired within liveness x interval and
// gets no more work.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now, shutdown, type TraceEvent } from "@zkit/core";
import { SECURITY_MODES, closeTracked, count, frames, startNode, stopAll, tempDir, text, waitFor, within, type Child, type TestSecurity } from "@zkit/testkit";
import type { SecurityOptions } from "@zkit/security";
import { ParanoidPirateQueue, type ParanoidPirateQueueEvents } from "@zkit/ppp";
import { here, lazyRequest, matrixSecurity } from "./helpers.js";

type WorkerGone = ParanoidPirateQueueEvents["worker-gone"][0];

const START_MS = 20_000;
const WAIT = 30_000;
const INTERVAL = 250;
const LIVENESS = 4;
const WORKER = here("fixtures/worker.ts");
const QUEUE = here("fixtures/queue.ts");
const queues: ParanoidPirateQueue[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  await closeTracked(); // the ZAuth of the CURVE variant
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

function worker(backend: string, workMs: number, name: string, env?: Record<string, string>): Child {
  return startNode(WORKER, [backend, String(workMs), String(INTERVAL), String(LIVENESS)], { name, ...(env !== undefined ? { env } : {}) });
}

async function inProcessQueue(trace?: (e: TraceEvent) => void, security?: SecurityOptions): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({
    frontend: "tcp://127.0.0.1:*",
    backend: "tcp://127.0.0.1:*",
    heartbeatIntervalMs: INTERVAL,
    liveness: LIVENESS,
    security,
    ...(trace ? { trace } : {}),
  });
  queues.push(q);
  await q.start();
  return q;
}

async function ask(frontend: string, n: number, security?: SecurityOptions): Promise<void> {
  const { reply } = await within(lazyRequest(frontend, frames(String(n)), 2000, 15, security), WAIT, `the answer to request ${n}`);
  expect(text(reply)).toEqual([String(n)]);
}

// The worker kill and the queue restart run once with no security and once
// over CURVE with a ZAuth checking the clients' and workers' key (testkit's
// SECURITY_MODES; ZKIT_TEST_SECURITY=curve runs only the CURVE variant): the
// same bodies, the same promises. A side left without CURVE would fail every
// handshake (a mechanism mismatch), so the CURVE variant cannot pass on NULL.
describe.each(SECURITY_MODES)("security %s", (mode) => {
  let sec: TestSecurity;
  beforeEach(async () => {
    sec = await matrixSecurity(mode);
  });

  describe("a worker killed in the middle of a request (SIGKILL)", () => {
    it("the client gets every answer without retrying: the dead worker leaves at once and its request goes to the healthy one", async () => {
      const expired: WorkerGone[] = [];
      const q = await inProcessQueue(undefined, sec.server);
      q.on("worker-gone", (e) => expired.push(e));
      const stuck = worker(q.backendEndpoint, 600_000, "stuck worker", sec.env);
      await waitFor(() => q.workerCount === 1, START_MS, "the stuck worker registered");
      const healthy = worker(q.backendEndpoint, 0, "healthy worker", sec.env);
      await waitFor(() => q.workerCount === 2, START_MS, "both workers registered");

      const first = lazyRequest(q.frontendEndpoint, frames("1"), 2000, 15, sec.client);
      await stuck.waitFor(/^request 1$/m, WAIT);
      stuck.kill("SIGKILL");
      const { reply, attempts } = await within(first, WAIT, "the answer to request 1");
      expect(text(reply)).toEqual(["1"]);
      expect(attempts).toBe(1);
      for (let n = 2; n <= 10; n++) await ask(q.frontendEndpoint, n, sec.client);
      await waitFor(() => expired.length === 1, WAIT, "the dead worker gone");
      expect(expired[0]).toMatchObject({ inHand: 1, reason: "disconnected" });
      expect(q.stats).toMatchObject({ lostRequests: 0, redispatched: 1 });
      expect(q.workerCount).toBe(1);
      expect(count(healthy.stdout(), /^request \d+$/gm)).toBeGreaterThanOrEqual(10);
    });
  });

  describe("the queue killed and restarted on the same endpoints (SIGKILL)", () => {
    it("workers come back by themselves and the clients continue", async () => {
      // ipc endpoints stay ours while the queue is down (a tcp port could be
      // taken meanwhile, even by the workers' own reconnects)
      const dir = tempDir();
      cleanups.push(dir.remove);
      const q1 = startNode(QUEUE, [`ipc://${dir.dir}/frontend`, `ipc://${dir.dir}/backend`, String(INTERVAL), String(LIVENESS)], { name: "queue 1", env: sec.env });
      const frontend = (await q1.waitFor(/^frontend (\S+)$/m, START_MS))[1]!;
      const backend = (await q1.waitFor(/^backend (\S+)$/m, START_MS))[1]!;
      const w1 = worker(backend, 0, "worker 1", sec.env);
      const w2 = worker(backend, 0, "worker 2", sec.env);
      await q1.waitFor(/(worker ready \w+\n[\s\S]*){2}/, START_MS);
      for (let n = 1; n <= 5; n++) await ask(frontend, n, sec.client);

      q1.kill("SIGKILL");
      await q1.waitForExit(WAIT);
      const duringOutage = lazyRequest(frontend, frames("6"), 2000, 15, sec.client);
      // the workers notice the silence and start reconnecting
      await Promise.all([w1.waitFor(/^disconnected$/m, WAIT), w2.waitFor(/^disconnected$/m, WAIT)]);

      const q2 = startNode(QUEUE, [frontend, backend, String(INTERVAL), String(LIVENESS)], { name: "queue 2", env: sec.env });
      expect((await q2.waitFor(/^frontend (\S+)$/m, START_MS))[1]).toBe(frontend);
      // both workers register with the new queue by themselves (fresh sockets, READY)
      await q2.waitFor(/(worker ready \w+\n[\s\S]*){2}/, WAIT);
      expect(text((await within(duringOutage, WAIT, "the request sent during the outage")).reply)).toEqual(["6"]);
      for (let n = 7; n <= 12; n++) await ask(frontend, n, sec.client);
      expect(count(w1.stdout(), /^ready$/gm)).toBeGreaterThanOrEqual(2);
      expect(count(w2.stdout(), /^ready$/gm)).toBeGreaterThanOrEqual(2);
    });
  });
});

describe("a worker that freezes (SIGSTOP)", () => {
  it("is expired within liveness x interval and gets no more work; once thawed it comes back", async () => {
    const sentTo = new Map<string, number>(); // requests sent per worker id, once the frozen one expired
    let counting = false;
    const q = await inProcessQueue((e) => {
      if (counting && e.direction === "out" && e.socket === "backend" && e.frames.length > 2) {
        const id = e.frames[0]!.toString("hex");
        sentTo.set(id, (sentTo.get(id) ?? 0) + 1);
      }
    });
    const ready: string[] = [];
    const expired: { id: string; at: number }[] = [];
    q.on("worker-ready", ({ worker }) => ready.push(worker));
    q.on("worker-gone", ({ worker }) => expired.push({ id: worker, at: now() }));
    const frozen = worker(q.backendEndpoint, 0, "frozen worker");
    await waitFor(() => ready.length === 1, START_MS, "the first worker ready");
    const frozenId = ready[0]!;
    const other = worker(q.backendEndpoint, 0, "other worker");
    await waitFor(() => ready.length === 2, START_MS, "the second worker ready");

    frozen.kill("SIGSTOP");
    const stoppedAt = now();
    await waitFor(() => expired.length === 1, WAIT, "the frozen worker expired");
    counting = true;
    expect(expired[0]!.id).toBe(frozenId);
    // liveness x interval after its last message (which came before the
    // SIGSTOP), plus the reactor's lag on a loaded machine
    expect(expired[0]!.at - stoppedAt).toBeLessThanOrEqual(LIVENESS * INTERVAL + 1500);
    for (let n = 1; n <= 10; n++) await ask(q.frontendEndpoint, n);
    expect(sentTo.get(frozenId) ?? 0).toBe(0);
    expect(sentTo.get(ready[1]!)).toBeGreaterThanOrEqual(10);
    expect(q.workerCount).toBe(1);
    expect(count(other.stdout(), /^request \d+$/gm)).toBeGreaterThanOrEqual(10);

    // thawed, it finds the queue silent and comes back on a fresh socket
    frozen.kill("SIGCONT");
    await waitFor(() => ready.length === 3, WAIT, "the thawed worker back");
    expect(ready[2]).not.toBe(frozenId);
    expect(q.workerCount).toBe(2);
  });
});
