// 6/PPP with peers zkit did not write (pyzmq, test/peers/*.py): a Python
// worker served by our queue, our worker served by a Python queue written
// after the Guide's ppqueue, and a Python Lazy Pirate client against our
// queue.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { closeTracked, count, frames, peer, requirePyzmq, startPython, stopAll, text, track, waitFor, within, type Child } from "@zkit/testkit";
import { ParanoidPirateQueue, ParanoidPirateWorker, type ParanoidPirateQueueEvents } from "@zkit/ppp";
import { here, lazyRequest } from "./helpers.js";

type WorkerGone = ParanoidPirateQueueEvents["worker-gone"][0];

const START_MS = 15_000;
const WAIT = 30_000;
const ANY = "tcp://127.0.0.1:*";
const INTERVAL = 200;
const LIVENESS = 4;

beforeAll(() => {
  requirePyzmq();
});

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

async function ourQueue(): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatIntervalMs: INTERVAL, liveness: LIVENESS });
  track(q);
  await q.start();
  return q;
}

async function ourWorker(backend: string): Promise<ParanoidPirateWorker> {
  const w = new ParanoidPirateWorker({
    endpoint: backend,
    heartbeatIntervalMs: INTERVAL,
    liveness: LIVENESS,
    handler: (req) => [Buffer.from("ts"), ...req],
  });
  track(w);
  await w.start();
  return w;
}

async function exit0(child: Child): Promise<void> {
  const exit = await child.waitForExit(WAIT);
  expect(exit, child.describe()).toEqual({ code: 0, signal: null });
}

describe("a Python worker served by our queue", () => {
  it("registers, gets requests (multi-frame) and heartbeats, and stays alive", async () => {
    const expired: WorkerGone[] = [];
    let heartbeatsIn = 0;
    const q = new ParanoidPirateQueue({
      frontend: ANY,
      backend: ANY,
      heartbeatIntervalMs: INTERVAL,
      liveness: LIVENESS,
      trace: ({ direction, frames: f }) => {
        if (direction === "in" && f.length === 2 && f[1]!.equals(Buffer.from([0x02]))) heartbeatsIn++;
      },
    });
    track(q);
    await q.start();
    q.on("worker-gone", (e) => expired.push(e));
    const py = startPython(here("peers/ppworker.py"), [q.backendEndpoint, String(INTERVAL), String(LIVENESS)]);
    await waitFor(() => q.workerCount === 1, START_MS, "the Python worker registered");
    for (let n = 1; n <= 10; n++) {
      const { reply } = await within(lazyRequest(q.frontendEndpoint, frames(String(n), "x"), 3000, 3), WAIT, `reply ${n}`);
      expect(text(reply)).toEqual(["py", String(n), "x"]);
    }
    // with no traffic, heartbeats alone keep both sides content for three expiry periods
    await py.waitFor(/^request 10,x$/m, WAIT);
    const h0 = heartbeatsIn;
    await waitFor(() => heartbeatsIn >= h0 + 3 * LIVENESS, WAIT, "three expiry periods of heartbeats from the Python worker");
    expect(expired).toEqual([]);
    expect(py.stdout()).not.toMatch(/heartbeat failure|invalid/);
    expect(q.stats).toMatchObject({ requests: 10, replies: 10, malformed: 0, unexpected: 0 });
  });
});

describe("our worker served by a Python queue", () => {
  it("answers a Python Lazy Pirate client through the Guide-style queue", async () => {
    const queue = startPython(here("peers/ppqueue.py"), [ANY, ANY, String(INTERVAL), String(LIVENESS)]);
    const frontend = (await queue.waitFor(/^frontend (\S+)$/m, START_MS))[1]!;
    const backend = (await queue.waitFor(/^backend (\S+)$/m, START_MS))[1]!;
    const w = await ourWorker(backend);
    await queue.waitFor(/^worker ready$/m, START_MS);
    const client = startPython(peer("lpclient.py"), [frontend, "15", "3000", "3"]);
    await exit0(client);
    expect(count(client.stdout(), /^reply \d+ ts \d+$/gm)).toBe(15);
    expect(queue.stdout()).not.toContain("invalid");
    expect(w.stats).toMatchObject({ requests: 15, replies: 15, malformed: 0, reconnects: 0 });
  });
});

describe("a Python Lazy Pirate client against our queue", () => {
  it("gets every answer from our workers", async () => {
    const q = await ourQueue();
    await ourWorker(q.backendEndpoint);
    await ourWorker(q.backendEndpoint);
    await waitFor(() => q.readyWorkers === 2, START_MS, "two workers ready");
    const client = startPython(peer("lpclient.py"), [q.frontendEndpoint, "25", "3000", "3"]);
    await exit0(client);
    expect(count(client.stdout(), /^reply \d+ ts \d+$/gm)).toBe(25);
    expect(client.stdout()).not.toContain("retrying");
    expect(q.stats).toMatchObject({ requests: 25, replies: 25, malformed: 0, unexpected: 0 });
  });
});
