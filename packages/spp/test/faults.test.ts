// Simple Pirate faults with real processes: workers run as child processes
// (test/fixtures/worker.ts) and are killed with SIGKILL in the middle of a
// request. What the queue promises: a worker whose process dies leaves at
// once and the request it held goes to the next worker, so the client gets
// its answer without a retry; a request that kills every worker it meets is
// dropped after maxDeliveries workers, and the rest keep being served.
// The worker kill also runs over CURVE (testkit's security matrix,
// SECURITY_MODES; ZKIT_TEST_SECURITY=curve runs only that): the same body,
// the queue with the server key pair and a ZAuth that checks the clients'
// key, the workers and the clients with theirs. A side left without CURVE
// would fail every handshake, so the CURVE variant cannot pass on NULL.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import * as security from "@zkit/security";
import { SECURITY_MODES, closeTracked, count, frames, matrixSecurity, startNode, stopAll, text, waitFor, within, type Child, type TestSecurity } from "@zkit/testkit";
import { SimplePirateQueue, type SimplePirateQueueEvents, type SimplePirateQueueOptions } from "@zkit/spp";
import { here, lazyRequest } from "./helpers.js";

const START_MS = 20_000;
const WAIT = 30_000;
const WORKER = here("fixtures/worker.ts");
const queues: SimplePirateQueue[] = [];

afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  await closeTracked();
  shutdown();
  await stopAll();
});

async function inProcessQueue(options: Partial<SimplePirateQueueOptions> = {}): Promise<SimplePirateQueue> {
  const q = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", ...options });
  queues.push(q);
  await q.start();
  return q;
}

describe.each(SECURITY_MODES)("a worker killed in the middle of a request (SIGKILL), security %s", (mode) => {
  let sec: TestSecurity;
  beforeEach(async () => {
    sec = await matrixSecurity(mode, security);
  });

  it("the client gets every answer without a retry: the dead worker leaves at once and its request goes to the healthy one", async () => {
    const q = await inProcessQueue({ security: sec.server });
    const gone: SimplePirateQueueEvents["worker-gone"][0][] = [];
    const requeued: SimplePirateQueueEvents["request-requeued"][0][] = [];
    q.on("worker-gone", (e) => gone.push(e));
    q.on("request-requeued", (e) => requeued.push(e));
    // the stuck worker becomes ready first, so it gets the first request
    const stuck = startNode(WORKER, [q.backendEndpoint, "600000"], { name: "stuck worker", env: sec.env });
    await stuck.waitFor(/^ready$/m, START_MS);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the stuck worker ready");
    // the healthy one pulls its requests with for await
    const healthy = startNode(WORKER, [q.backendEndpoint, "0", "", "pull"], { name: "healthy worker (pull)", env: sec.env });
    await healthy.waitFor(/^ready$/m, START_MS);
    await waitFor(() => q.readyWorkers === 2, WAIT, "both workers ready");

    const first = lazyRequest(q.frontendEndpoint, frames("1"), 20_000, 1, sec.client);
    await stuck.waitFor(/^request 1$/m, WAIT);
    stuck.kill("SIGKILL");
    const { reply, attempts } = await within(first, WAIT, "the answer to request 1");
    expect(text(reply)).toEqual(["1"]);
    expect(attempts).toBe(1);
    expect(gone).toEqual([expect.objectContaining({ reason: "disconnected", inHand: 1 })]);
    expect(requeued).toEqual([expect.objectContaining({ worker: gone[0]!.worker })]);
    expect(q.stats).toMatchObject({ workersExpired: 1, redispatched: 1, lostRequests: 0 });
    expect(q.workerCount).toBe(1);
    await healthy.waitFor(/^request 1$/m, WAIT);
    for (let n = 2; n <= 10; n++) {
      expect(text((await within(lazyRequest(q.frontendEndpoint, frames(String(n)), 1500, 10, sec.client), WAIT, `reply ${n}`)).reply)).toEqual([String(n)]);
    }
    expect(count(healthy.stdout(), /^request \d+$/gm)).toBe(10);
    expect((await stuck.exited).signal).toBe("SIGKILL");
  });
});

describe("a request that kills every worker it meets (SIGKILL)", () => {
  it("is dropped after maxDeliveries workers; the surviving worker serves the next requests", async () => {
    const q = await inProcessQueue({ maxDeliveries: 2 });
    const dropped: SimplePirateQueueEvents["request-dropped"][0][] = [];
    q.on("request-dropped", (e) => dropped.push(e));
    // one after the other, so that they are ready in this order (LRU)
    const ws: Child[] = [];
    for (let i = 1; i <= 3; i++) {
      const w = startNode(WORKER, [q.backendEndpoint, "0", "poison"], { name: `worker ${i}` });
      ws.push(w);
      await w.waitFor(/^ready$/m, START_MS);
      await waitFor(() => q.readyWorkers === i, WAIT, `worker ${i} ready`);
    }
    const client = await ZSocket.req(`>${q.frontendEndpoint}`, { linger: 0 });
    await client.send("poison");
    await waitFor(() => dropped.length === 1, WAIT, "the poison request dropped");
    expect(dropped[0]!.reason).toBe("max-deliveries");
    expect(q.stats).toMatchObject({ requests: 1, replies: 0, workersExpired: 2, redispatched: 1, lostRequests: 1 });
    // the two least recently used workers took it and died; the third never saw it
    expect((await within(ws[0]!.exited, WAIT, "worker 1 dead")).signal).toBe("SIGKILL");
    expect((await within(ws[1]!.exited, WAIT, "worker 2 dead")).signal).toBe("SIGKILL");
    expect(ws[2]!.exit).toBeUndefined();
    expect(ws[2]!.stdout()).not.toContain("request poison");
    client.close();
    for (let n = 1; n <= 5; n++) {
      expect(text((await within(lazyRequest(q.frontendEndpoint, frames(String(n)), 5000, 3), WAIT, `reply ${n}`)).reply)).toEqual([String(n)]);
    }
    expect(count(ws[2]!.stdout(), /^request \d+$/gm)).toBe(5);
    expect(q.workerCount).toBe(1);
  });
});
