// Simple Pirate with peers zkit did not write (pyzmq, test/peers/*.py):
// Python workers and a Python Lazy Pirate client through our queue, and our
// worker behind a Python queue written after the Guide's spqueue.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { closeTracked, count, peer, requirePyzmq, startPython, stopAll, track, waitFor, type Child } from "@zkit/testkit";
import { SimplePirateQueue, SimplePirateWorker } from "@zkit/spp";
import { here } from "./helpers.js";

const START_MS = 15_000;
const WAIT = 30_000;
const ANY = "tcp://127.0.0.1:*";

beforeAll(() => {
  requirePyzmq();
});

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

async function exit0(child: Child): Promise<void> {
  const exit = await child.waitForExit(WAIT);
  expect(exit, child.describe()).toEqual({ code: 0, signal: null });
}

describe("our queue", () => {
  it("serves Python workers to a Python Lazy Pirate client", async () => {
    const q = new SimplePirateQueue({ frontend: ANY, backend: ANY });
    track(q);
    await q.start();
    const w1 = startPython(here("peers/spworker.py"), [q.backendEndpoint]);
    const w2 = startPython(here("peers/spworker.py"), [q.backendEndpoint]);
    await Promise.all([w1.waitFor(/^ready$/m, START_MS), w2.waitFor(/^ready$/m, START_MS)]);
    await waitFor(() => q.readyWorkers === 2, WAIT, "both Python workers ready");
    const client = startPython(peer("lpclient.py"), [q.frontendEndpoint, "20"]);
    await exit0(client);
    expect(count(client.stdout(), /^reply \d+ py \d+$/gm)).toBe(20);
    expect(client.stdout()).toContain("reply 20 py 20");
    expect(client.stdout()).not.toContain("retrying");
    const served = count(w1.stdout(), /^request /gm) + count(w2.stdout(), /^request /gm);
    expect(served).toBe(20);
    expect(q.stats).toMatchObject({ requests: 20, replies: 20, malformed: 0 });
  });
});

describe("our worker", () => {
  it("is served by a Python queue (the Guide's spqueue) to a Python client", async () => {
    const queue = startPython(here("peers/spqueue.py"), [ANY, ANY]);
    const frontend = (await queue.waitFor(/^frontend (\S+)$/m, START_MS))[1]!;
    const backend = (await queue.waitFor(/^backend (\S+)$/m, START_MS))[1]!;
    const bodies: string[] = [];
    const worker = new SimplePirateWorker({
      endpoint: backend,
      handler: (req) => {
        bodies.push(String(req[0]));
        return [Buffer.from("ts"), ...req];
      },
    });
    track(worker);
    await worker.start();
    await queue.waitFor(/^worker ready$/m, START_MS);
    const client = startPython(peer("lpclient.py"), [frontend, "10"]);
    await exit0(client);
    expect(count(client.stdout(), /^reply \d+ ts \d+$/gm)).toBe(10);
    expect(bodies).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    expect(worker.stats).toMatchObject({ requests: 10, replies: 10, malformed: 0 });
  });
});
