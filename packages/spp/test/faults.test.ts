// Simple Pirate faults with real processes: workers run as child processes
// (test/fixtures/worker.ts) and are killed with SIGKILL in the middle of a
// request; the client's Lazy Pirate retry must still get every answer.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { frames, startNode, stopAll, text, waitFor, within } from "@zkit/testkit";
import { SimplePirateQueue } from "@zkit/spp";
import { here, lazyRequest } from "./helpers.js";

const START_MS = 20_000;
const WAIT = 30_000;
const WORKER = here("fixtures/worker.ts");
const queues: SimplePirateQueue[] = [];

afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  shutdown();
  await stopAll();
});

describe("a worker killed in the middle of a request", () => {
  it("the client gets every answer without a retry: the killed worker's request goes to the healthy one", async () => {
    const q = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
    queues.push(q);
    await q.start();
    // the stuck worker becomes ready first, so it gets the first request
    const stuck = startNode(WORKER, [q.backendEndpoint, "600000"], { name: "stuck worker" });
    await stuck.waitFor(/^ready$/m, START_MS);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the stuck worker ready");
    const healthy = startNode(WORKER, [q.backendEndpoint, "0"], { name: "healthy worker" });
    await healthy.waitFor(/^ready$/m, START_MS);
    await waitFor(() => q.readyWorkers === 2, WAIT, "both workers ready");

    const first = lazyRequest(q.frontendEndpoint, frames("1"), 20_000, 1);
    await stuck.waitFor(/^request 1$/m, WAIT);
    stuck.kill("SIGKILL");
    const { reply, attempts } = await within(first, WAIT, "the answer to request 1");
    expect(text(reply)).toEqual(["1"]);
    expect(attempts).toBe(1);
    expect(q.stats).toMatchObject({ workersLost: 1, redispatched: 1 });
    await healthy.waitFor(/^request 1$/m, WAIT);
    for (let n = 2; n <= 10; n++) {
      expect(text((await within(lazyRequest(q.frontendEndpoint, frames(String(n)), 1500, 10), WAIT, `reply ${n}`)).reply)).toEqual([String(n)]);
    }
    expect((await stuck.exited).signal).toBe("SIGKILL");
  });
});
