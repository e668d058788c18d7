// SimplePirateQueue over real sockets, with raw sockets playing clients and
// workers so that every frame is checked as it is on the wire.
//
//   client REQ --[""][body]--> frontend ROUTER   backend ROUTER <--[""][0x01]-- worker
//   backend --[w][""][client][""][body]--> worker --[""][client][""][reply]--> backend
//   frontend --[client][""][reply]--> client
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidEndpointError, ZSocket, openSocketCount, shutdown, type TraceEvent } from "@zkit/core";
import { checkLifecycle, concurrentEcho, frames, inprocName, text, waitFor, within } from "@zkit/testkit";
import { SimplePirateQueue, SimplePirateWorker, type SimplePirateQueueEvents } from "@zkit/spp";
import { lazyRequest, recv } from "./helpers.js";

type WorkerGone = SimplePirateQueueEvents["worker-gone"][0];

const WAIT = 10_000;
const ANY = "tcp://127.0.0.1:*";
const E = Buffer.alloc(0);
const queues: SimplePirateQueue[] = [];
const workers: SimplePirateWorker[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const q of queues.splice(0)) await q.close();
  shutdown();
});

async function queue(options: Partial<ConstructorParameters<typeof SimplePirateQueue>[0]> = {}): Promise<SimplePirateQueue> {
  const q = new SimplePirateQueue({ frontend: ANY, backend: ANY, ...options });
  queues.push(q);
  await q.start();
  return q;
}

/** A raw DEALER worker: sees the whole envelope [""][client][""][body...]. */
async function rawWorker(q: SimplePirateQueue): Promise<ZSocket<"DEALER">> {
  const w = await ZSocket.dealer(`>${q.backendEndpoint}`);
  await w.send([E, Buffer.from([0x01])]);
  return w;
}

describe("routing", () => {
  it("passes a request to a ready worker and the reply back, frame by frame", async () => {
    const readyIds: string[] = [];
    const q = await queue();
    q.on("worker-ready", ({ worker }) => readyIds.push(worker));
    const w = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the worker to be ready");
    expect(readyIds).toHaveLength(1);
    expect(readyIds[0]).toMatch(/^[0-9a-f]{10}$/); // libzmq's automatic routing id (5 bytes), in hex
    expect(q.workerCount).toBe(1);

    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send(["hello", "", "world"]);
    const [e1, clientId, e2, ...body] = await recv(w);
    expect(e1).toEqual(E);
    expect(clientId).toHaveLength(5);
    expect(e2).toEqual(E);
    expect(text(body)).toEqual(["hello", "", "world"]);
    expect(q.readyWorkers).toBe(0);

    await w.send([E, clientId!, E, Buffer.from("re"), Buffer.from("ply")]);
    expect(text(await recv(client))).toEqual(["re", "ply"]);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the worker back in the ready list");
    expect(q.stats).toEqual({ requests: 1, replies: 1, malformed: 0, unexpected: 0, forged: 0, workersExpired: 0, lostRequests: 0, redispatched: 0 });
  });

  it("gives requests to the least recently used worker first", async () => {
    const q = await queue();
    const ws: ZSocket<"DEALER">[] = [];
    for (let i = 0; i < 3; i++) {
      ws.push(await rawWorker(q));
      await waitFor(() => q.readyWorkers === i + 1, WAIT, `worker ${i} ready`);
    }
    const got: string[] = [];
    const serve = (i: number): Promise<void> =>
      (async () => {
        for await (const [, client, , body] of ws[i]!) {
          got.push(`w${i}:${String(body)}`);
          await ws[i]!.send([E, client!, E, body!]);
        }
      })();
    const loops = ws.map((_, i) => serve(i));
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    for (const n of ["1", "2", "3", "4", "5"]) {
      await client.send(n);
      expect(text(await recv(client))).toEqual([n]);
    }
    // 0, 1, 2 in the order they became ready; then 0 again (it answered first), 1
    expect(got).toEqual(["w0:1", "w1:2", "w2:3", "w0:4", "w1:5"]);
    for (const w of ws) w.close();
    await Promise.all(loops);
  });

  it("reads the frontend only while a worker is ready (inproc)", async () => {
    // inproc: a message is in the queue's socket once send() resolves; a
    // malformed message to the backend, counted, proves the queue's loop
    // kept running while the frontend message stayed unread
    const q = await queue({ frontend: inprocName("spp-front"), backend: inprocName("spp-back") });
    const prober = await ZSocket.dealer(`>${q.backendEndpoint}`);
    const probe = async (n: number): Promise<void> => {
      await prober.send(Buffer.from("probe"));
      await waitFor(() => q.stats.malformed === n, WAIT, `probe ${n}`);
    };
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("early");
    await probe(1);
    expect(q.stats.requests).toBe(0); // no worker: not read
    const w = await ZSocket.req(`>${q.backendEndpoint}`);
    await w.send(Buffer.from([0x01]));
    const [clientId, empty, body] = await recv(w);
    expect([clientId!.length, empty!.length, String(body)]).toEqual([5, 0, "early"]);
    expect(q.stats.requests).toBe(1);
    // the only worker is busy: a second request is not read until it answers
    const client2 = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client2.send("second");
    await probe(2);
    expect(q.stats.requests).toBe(1);
    await w.send([clientId!, E, Buffer.from("EARLY")]);
    expect(text(await recv(client))).toEqual(["EARLY"]);
    const [c2, , body2] = await recv(w);
    expect(String(body2)).toBe("second");
    expect(q.stats.requests).toBe(2);
    await w.send([c2!, E, Buffer.from("SECOND")]);
    expect(text(await recv(client2))).toEqual(["SECOND"]);
  });

  it("traces every message on both sockets", async () => {
    const events: TraceEvent[] = [];
    const q = await queue({ trace: (e) => events.push(e) });
    const w = await rawWorker(q);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("t");
    const [, cid] = await recv(w);
    await w.send([E, cid!, E, Buffer.from("T")]);
    await recv(client);
    await waitFor(() => events.length === 5, WAIT, "5 trace events");
    expect(events.map((e) => `${e.direction} ${e.socket} ${e.frames.length}`)).toEqual([
      "in backend 3", // [w][""][0x01]
      "in frontend 3", // [c][""][t]
      "out backend 5", // [w][""][c][""][t]
      "in backend 5", // [w][""][c][""][T]
      "out frontend 3", // [c][""][T]
    ]);
  });
});

describe("bad input and lost workers", () => {
  it("drops and counts malformed messages from clients and workers, reports each, and keeps serving", async () => {
    const q = await queue();
    const reports: SimplePirateQueueEvents["malformed"][0][] = [];
    q.on("malformed", (e) => reports.push(e));
    const badClient = await ZSocket.dealer(`>${q.frontendEndpoint}`);
    const badWorker = await ZSocket.dealer(`>${q.backendEndpoint}`);
    // a worker must be ready for the frontend to be read at all
    const w = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "a ready worker");
    await badClient.send("no-delimiter"); // [c][no-delimiter]
    await badClient.send(E); // [c][""]: no body
    await badWorker.send([E, Buffer.from([0x02])]); // unknown command
    await badWorker.send(Buffer.from("junk")); // no delimiter
    await badWorker.send([E, Buffer.from("c"), Buffer.from("x"), Buffer.from("b")]); // reply without its empty frame
    await waitFor(() => q.stats.malformed === 5, WAIT, "5 malformed messages counted");
    expect(reports.map((r) => [r.socket, r.frame])).toEqual(
      expect.arrayContaining([
        ["frontend", 1],
        ["frontend", 2],
        ["backend", 2],
        ["backend", 1],
        ["backend", 3],
      ]),
    );
    expect(reports).toHaveLength(5);
    for (const r of reports) expect(r.peer).toMatch(/^[0-9a-f]{10}$/);
    expect(q.readyWorkers).toBe(1);
    expect(q.workerCount).toBe(1); // a malformed sender is not a worker
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("still there?");
    const [, cid, , body] = await recv(w);
    await w.send([E, cid!, E, body!]);
    expect(text(await recv(client))).toEqual(["still there?"]);
  });

  it("a worker that disconnects leaves the ready list at once; the request goes to the next ready worker", async () => {
    const gone: WorkerGone[] = [];
    const q = await queue();
    q.on("worker-gone", (e) => gone.push(e));
    const ids: string[] = [];
    q.on("worker-ready", ({ worker }) => ids.push(worker));
    const first = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "worker 1 ready");
    const w2 = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 2, WAIT, "worker 2 ready");
    first.close();
    await waitFor(() => q.readyWorkers === 1, WAIT, "worker 1 off the ready list");
    expect(gone).toEqual([{ worker: ids[0], reason: "disconnected", inHand: 0 }]);
    expect(q.workerCount).toBe(1);
    const pending = lazyRequest(q.frontendEndpoint, frames("for the first worker"), 5000, 3);
    const [, cid, , body] = await recv(w2, WAIT, "the request at worker 2");
    await w2.send([E, cid!, E, body!]);
    const { reply, attempts } = await within(pending, WAIT, "reply");
    expect(text(reply)).toEqual(["for the first worker"]);
    expect(attempts).toBe(1);
    expect(q.stats).toMatchObject({ requests: 1, replies: 1, workersExpired: 1, redispatched: 0 });
    expect(q.readyWorkers).toBe(1); // worker 2 again
  });

  it("a worker that disconnects holding a request: the request goes to the next worker, no client retry", async () => {
    const gone: WorkerGone[] = [];
    const requeued: SimplePirateQueueEvents["request-requeued"][0][] = [];
    const q = await queue();
    q.on("worker-gone", (e) => gone.push(e));
    q.on("request-requeued", (e) => requeued.push(e));
    const doomed = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "worker 1 ready");
    const w2 = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 2, WAIT, "worker 2 ready");
    const pending = lazyRequest(q.frontendEndpoint, frames("job"), 10_000, 1);
    const [, clientId] = await recv(doomed, WAIT, "the request at worker 1 (least recently used)");
    doomed.close();
    const [, cid, , body] = await recv(w2, WAIT, "the request at worker 2");
    expect(cid).toEqual(clientId);
    await w2.send([E, cid!, E, body!]);
    const { reply, attempts } = await within(pending, WAIT, "reply");
    expect(text(reply)).toEqual(["job"]);
    expect(attempts).toBe(1);
    expect(gone).toEqual([expect.objectContaining({ reason: "disconnected", inHand: 1 })]);
    expect(requeued).toEqual([{ client: clientId!.toString("hex"), worker: gone[0]!.worker }]);
    expect(q.stats).toMatchObject({ workersExpired: 1, redispatched: 1, lostRequests: 0 });
  });

  it("a request whose workers all leave holding it is dropped after maxDeliveries workers, and the queue goes on", async () => {
    const dropped: SimplePirateQueueEvents["request-dropped"][0][] = [];
    const q = await queue({ maxDeliveries: 2 });
    q.on("request-dropped", (e) => dropped.push(e));
    const client = await ZSocket.req(`>${q.frontendEndpoint}`, { linger: 0 });
    await client.send("poison");
    let clientId: Buffer | undefined;
    // each worker that gets it disconnects without answering
    for (let i = 1; i <= 2; i++) {
      const w = await rawWorker(q);
      const [, cid, , body] = await recv(w, WAIT, `the request at worker ${i}`);
      expect(String(body)).toBe("poison");
      clientId = cid;
      w.close();
      await waitFor(() => q.stats.workersExpired === i, WAIT, `worker ${i} gone`);
    }
    expect(dropped).toEqual([{ client: clientId!.toString("hex"), reason: "max-deliveries" }]);
    expect(q.stats).toMatchObject({ requests: 1, workersExpired: 2, redispatched: 1, lostRequests: 1 });
    // a third worker gets nothing of it, and serves the next request
    const w3 = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "worker 3 ready");
    const next = await ZSocket.req(`>${q.frontendEndpoint}`);
    await next.send("fine");
    const [, cid, , body] = await recv(w3, WAIT, "the next request at worker 3");
    expect(String(body)).toBe("fine");
    await w3.send([E, cid!, E, Buffer.from("FINE")]);
    expect(text(await recv(next))).toEqual(["FINE"]);
    expect(q.stats).toMatchObject({ requests: 2, replies: 1, lostRequests: 1 });
  });

  it("a worker that sends READY again while holding a request starts over and gets its request again", async () => {
    const requeued: SimplePirateQueueEvents["request-requeued"][0][] = [];
    const ready: string[] = [];
    const q = await queue();
    q.on("request-requeued", (e) => requeued.push(e));
    q.on("worker-ready", ({ worker }) => ready.push(worker));
    const w = await rawWorker(q);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("again");
    const [, cid] = await recv(w, WAIT, "the request");
    await w.send([E, Buffer.from([0x01])]);
    const [, cid2, , body] = await recv(w, WAIT, "the request given again");
    expect(cid2).toEqual(cid);
    expect(String(body)).toBe("again");
    expect(requeued).toEqual([{ client: cid!.toString("hex"), worker: ready[0] }]);
    expect(ready).toHaveLength(1); // the same worker: not registered twice
    expect(q.stats).toMatchObject({ unexpected: 1, redispatched: 1, lostRequests: 0 });
    await w.send([E, cid!, E, Buffer.from("done")]);
    expect(text(await recv(client))).toEqual(["done"]);
  });

  it("a reply naming a client the worker was never given is dropped as forged; one from a worker that never sent READY as unexpected; neither is forwarded", async () => {
    const forged: SimplePirateQueueEvents["reply-forged"][0][] = [];
    const q = await queue();
    q.on("reply-forged", (e) => forged.push(e));
    const honest = await rawWorker(q);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the honest worker ready");
    const rogue = await ZSocket.dealer(`>${q.backendEndpoint}`); // a REQ could not do this: a DEALER can
    await rogue.send([E, Buffer.from([1])]);
    await waitFor(() => q.readyWorkers === 2, WAIT, "the rogue ready");
    const stranger = await ZSocket.dealer(`>${q.backendEndpoint}`); // never sent READY
    const victim = await ZSocket.req(`>${q.frontendEndpoint}`);
    await victim.send("mine");
    const [, cid] = await recv(honest, WAIT, "the request at the honest worker (least recently used)");
    for (let i = 0; i < 10; i++) await rogue.send([E, cid!, E, Buffer.from(`forged ${i}`)]);
    await stranger.send([E, cid!, E, Buffer.from("forged by a stranger")]);
    await waitFor(() => q.stats.forged === 10 && q.stats.unexpected === 1, WAIT, "ten forged replies and one unexpected dropped");
    expect(forged).toHaveLength(10);
    expect(forged.every((f) => f.client === cid!.toString("hex"))).toBe(true);
    expect(new Set(forged.map((f) => f.worker)).size).toBe(1); // the rogue
    await honest.send([E, cid!, E, Buffer.from("real")]);
    expect(text(await recv(victim))).toEqual(["real"]);
    expect(q.stats).toMatchObject({ replies: 1, forged: 10, unexpected: 1 });
    expect(q.workerCount).toBe(2); // the stranger is not a worker
  });
});

describe("with SimplePirateWorker", () => {
  it("serves 200 requests from 4 concurrent clients over 3 workers, one of which pulls its jobs with for await", async () => {
    const q = await queue();
    const served = [0, 0, 0];
    const echo = (i: number, request: Buffer[]): Buffer[] => {
      served[i]!++;
      return [Buffer.from(`w${i}`), ...request];
    };
    const ws = [0, 1, 2].map((i) => new SimplePirateWorker({ endpoint: q.backendEndpoint, ...(i < 2 ? { handler: (request: Buffer[]) => echo(i, request) } : {}) }));
    workers.push(...ws);
    const pulling = (async () => {
      for await (const job of ws[2]!) job.reply(echo(2, job.request));
    })();
    for (const w of ws) await w.start();
    await waitFor(() => q.readyWorkers === 3, WAIT, "3 workers ready");
    const servedBy = await within(
      concurrentEcho(() => ZSocket.req(`>${q.frontendEndpoint}`), 4, 50),
      30_000,
      "200 replies",
    );
    expect(servedBy).toHaveLength(200);
    for (const who of servedBy) expect(who).toEqual([expect.stringMatching(/^w[012]$/)]);
    expect(q.stats).toMatchObject({ requests: 200, replies: 200, malformed: 0, unexpected: 0, workersExpired: 0 });
    expect(served.reduce((a, b) => a + b)).toBe(200);
    for (const n of served) expect(n).toBeGreaterThan(0);
    await ws[2]!.close();
    await within(pulling, WAIT, "the for await loop ends when its worker closes");
  });
});

describe("lifecycle", () => {
  it("keeps the lifecycle contract: start() idempotent, close() idempotent and complete, done, ZKIT_CLOSED after close, await using", async () => {
    const never = new SimplePirateQueue({ frontend: ANY, backend: `ipc:///tmp/zkit-spp-never-used-${process.pid}` });
    await never.close(); // never started: nothing to do
    await within(never.done, WAIT, "done of a queue never started");
    const q = await queue();
    expect(q.frontendEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(openSocketCount()).toBe(2);
    await checkLifecycle(q, WAIT);
    expect(openSocketCount()).toBe(0);
    // and await using closes it at the end of its block
    {
      await using scoped = new SimplePirateQueue({ frontend: ANY, backend: ANY });
      await scoped.start();
      expect(openSocketCount()).toBe(2);
    }
    expect(openSocketCount()).toBe(0);
  });

  it("a bind failure rejects start() and done, and leaves nothing open", async () => {
    const taken = await ZSocket.router(`@${ANY}`);
    const q = new SimplePirateQueue({ frontend: ANY, backend: taken.endpoint });
    await expect(q.start()).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
    await expect(q.done).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
    expect(openSocketCount()).toBe(1);
    expect(q.running).toBe(false);
  });

  it("bad options throw InvalidArgumentError naming the option", () => {
    const ok = { frontend: ANY, backend: ANY };
    expect(() => new SimplePirateQueue(null as never)).toThrow(InvalidArgumentError);
    expect(() => new SimplePirateQueue({ backend: ANY } as never)).toThrow(/option frontend is required/);
    expect(() => new SimplePirateQueue({ frontend: ANY } as never)).toThrow(/option backend is required/);
    expect(() => new SimplePirateQueue({ frontend: "5555", backend: ANY })).toThrow(InvalidEndpointError);
    expect(() => new SimplePirateQueue({ ...ok, maxDeliveries: 0 })).toThrow(/maxDeliveries must be an integer >= 1/);
    expect(() => new SimplePirateQueue({ ...ok, maxFrameBytes: -1 })).toThrow(/maxFrameBytes/);
    expect(() => new SimplePirateQueue({ ...ok, trace: "yes" as never })).toThrow(/option trace must be a function/);
  });
});
