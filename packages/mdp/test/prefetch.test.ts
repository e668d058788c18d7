// Pipelining over real sockets: a MajordomoBroker with workerPrefetch sends
// each worker several requests before its reply. Two MajordomoWorkers at
// concurrency 1 and many clients: every request answered, no worker ever
// holds more than the prefetch; a concurrent worker answering out of order;
// a worker closing with requests in hand (requeued); the default stays one
// request at a time. The broker's books are checked from its trace (every
// REQUEST out and REPLY in, per worker) and its snapshot.
//
//   client x N --REQUEST--> broker --REQUEST x prefetch--> worker (handles one, the rest wait in order)
//                                  <--REPLY-------------- worker (one credit back: the next REQUEST)
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@zkit/testkit";
import { InvalidArgumentError } from "@zkit/core";
import { MajordomoAsyncClient, MajordomoBroker, MajordomoClient, MajordomoWorker, type MajordomoWorkerOptions } from "../src/index.js";
import { WAIT_MS, cleanup, inHandTracker, show, startBroker, track } from "./helpers.js";

afterEach(cleanup);

async function startWorker(endpoint: string, options: Partial<MajordomoWorkerOptions> & Pick<MajordomoWorkerOptions, "handler">): Promise<MajordomoWorker> {
  const worker = track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 250, ...options }));
  await worker.start();
  return worker;
}

/** A gate: handlers wait on it until it opens. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("workerPrefetch over real sockets", () => {
  it("prefetch 8, two sequential workers, 40 requests held back: each worker gets exactly 8 before it replies, the rest wait in the broker; then all 40 are answered", async () => {
    const tracker = inHandTracker();
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, workerPrefetch: 8, trace: tracker.trace });
    const held = gate();
    const workers = await Promise.all([1, 2].map(() => startWorker(endpoint, { handler: async ([x]) => (await held.wait, [`${x} ok`]) })));
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "both workers at the broker");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000 }));
    const replies = Promise.all(Array.from({ length: 40 }, (_, i) => client.request("echo", `r${i}`)));

    await waitFor(() => workers.every((w) => w.inHand === 8), WAIT_MS, "each worker to hold 8 requests");
    // each request travels on its own connection: the last ones may still be on their way
    await waitFor(() => broker.stats.requests === 40, WAIT_MS, "all 40 requests at the broker");
    expect(broker.stats).toMatchObject({ inFlight: 16, queued: 24 });
    expect(broker.snapshot("echo").serviceList[0]!.workerList.map((w) => w.inHand)).toEqual([8, 8]);
    expect(workers.map((w) => w.busy)).toEqual([true, true]); // one handler each, seven waiting
    held.open();
    expect((await replies).map(([f]) => f!.toString())).toEqual(Array.from({ length: 40 }, (_, i) => `r${i} ok`));

    expect(tracker.highest()).toBe(8);
    expect([...tracker.most.values()]).toEqual([8, 8]);
    expect(broker.stats).toMatchObject({ requests: 40, replies: 40, inFlight: 0, queued: 0, lost: 0, forged: 0 });
    expect(workers.map((w) => w.stats.replies).reduce((a, b) => a + b)).toBe(40);
  });

  it("prefetch 8, two workers, 400 requests from 50 clients at once with work that takes time: all answered, no worker ever above 8, both busy", async () => {
    const tracker = inHandTracker();
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, workerPrefetch: 8, trace: tracker.trace });
    const workers = await Promise.all([1, 2].map(() => startWorker(endpoint, { handler: async ([x]) => (await new Promise((r) => setTimeout(r, 1)), [`${x} ok`]) })));
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "both workers at the broker");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000, maxSockets: 50 }));
    const replies = await Promise.all(Array.from({ length: 400 }, (_, i) => client.request("echo", `r${i}`)));
    expect(replies.map(([f]) => f!.toString())).toEqual(Array.from({ length: 400 }, (_, i) => `r${i} ok`));
    expect(tracker.highest()).toBeLessThanOrEqual(8);
    expect(tracker.highest()).toBeGreaterThan(1); // pipelined: more than one at a time
    expect(workers.every((w) => w.stats.replies > 0)).toBe(true);
    expect(broker.stats).toMatchObject({ replies: 400, inFlight: 0, lost: 0, forged: 0 });
  });

  it("a concurrent worker (concurrency 4) behind prefetch 4 answers out of order; every client gets its own reply", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, workerPrefetch: 4 });
    const gates = new Map<string, () => void>();
    await startWorker(endpoint, {
      concurrency: 4,
      handler: async ([x]) => {
        await new Promise<void>((r) => gates.set(x!.toString(), r));
        return [`${x} ok`];
      },
    });
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker");
    const clients = [0, 1, 2, 3].map(() => track(new MajordomoClient({ endpoint, timeoutMs: 30_000, retries: 0 })));
    const order: string[] = [];
    const replies = clients.map((c, i) => c.request("echo", `r${i}`).then(([f]) => (order.push(f!.toString()), f!.toString())));
    await waitFor(() => gates.size === 4, WAIT_MS, "four handlers running at once");
    for (const n of ["r2", "r0", "r3", "r1"]) {
      gates.get(n)!();
      await waitFor(() => order.length === ["r2", "r0", "r3", "r1"].indexOf(n) + 1, WAIT_MS, `the reply to ${n}`);
    }
    expect(await Promise.all(replies)).toEqual(["r0 ok", "r1 ok", "r2 ok", "r3 ok"]);
    expect(order).toEqual(["r2 ok", "r0 ok", "r3 ok", "r1 ok"]);
    expect(broker.stats).toMatchObject({ replies: 4, inFlight: 0, forged: 0 });
  });

  it("a worker closed while it holds several requests: its reply goes out, the others are requeued (not lost) and another worker serves them", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, workerPrefetch: 4 });
    const held = gate();
    const leaving = await startWorker(endpoint, { handler: async ([x]) => (await held.wait, [`${x} first`]) });
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the first worker");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000 }));
    // one at a time: each request travels on its own connection, so sent at
    // once they could reach the broker in any order
    const sent: Promise<Buffer[]>[] = [];
    for (let i = 0; i < 4; i++) {
      sent.push(client.request("echo", `r${i}`));
      await waitFor(() => leaving.inHand === i + 1, WAIT_MS, `the first worker to hold ${i + 1}`);
    }
    const replies = Promise.all(sent);
    const requeued = new Promise<unknown>((r) => broker.once("worker-gone", r));
    const closing = leaving.close();
    held.open();
    await closing;
    expect(await requeued).toMatchObject({ reason: "disconnected", inHand: 3 });
    expect(broker.stats).toMatchObject({ requeued: 3, lost: 0, queued: 3 });
    await startWorker(endpoint, { handler: ([x]) => [`${x} second`] });
    expect((await replies).map(([f]) => f!.toString())).toEqual(["r0 first", "r1 second", "r2 second", "r3 second"]);
    expect(broker.stats).toMatchObject({ replies: 4, lost: 0, inFlight: 0 });
  });

  it("the default is 7/MDP's one request at a time: a busy worker gets nothing more, the idle one does", async () => {
    const tracker = inHandTracker();
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, trace: tracker.trace });
    expect(broker.options.workerPrefetch).toBe(1);
    const held = gate();
    const slow = await startWorker(endpoint, { handler: async ([x]) => (await held.wait, [`${x} slow`]) });
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the slow worker");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000 }));
    const first = client.request("echo", "r0");
    await waitFor(() => slow.busy, WAIT_MS, "the slow worker to start");
    const rest = Promise.all(Array.from({ length: 5 }, (_, i) => client.request("echo", `r${i + 1}`)));
    await waitFor(() => broker.stats.queued === 5, WAIT_MS, "five requests queued at the broker");
    expect(slow.inHand).toBe(1);
    await startWorker(endpoint, { handler: ([x]) => [`${x} fast`] });
    expect((await rest).map(([f]) => f!.toString())).toEqual(["r1 fast", "r2 fast", "r3 fast", "r4 fast", "r5 fast"]);
    held.open();
    expect(show(await first)).toEqual(["r0 slow"]);
    expect(tracker.highest()).toBe(1);
  });

  it("workerPrefetch must be an integer >= 1", () => {
    for (const bad of [0, -1, 2.5, Infinity, "8"]) {
      expect(() => track(new MajordomoBroker({ workerPrefetch: bad as number }))).toThrow(InvalidArgumentError);
    }
    expect(() => track(new MajordomoBroker({ workerPrefetch: 0 }))).toThrow(/option workerPrefetch must be an integer >= 1, got 0/);
    expect(track(new MajordomoBroker({ workerPrefetch: 64 })).options.workerPrefetch).toBe(64);
  });
});
