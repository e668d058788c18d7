// ParanoidPirateQueue over real sockets, with raw DEALER workers and REQ
// clients so that every frame is checked as it is on the wire.
//
//   worker DEALER --[0x01]--> backend ROUTER ([w][0x01])       READY
//   client REQ --[""][body]--> frontend ([c][""][body])
//   backend --[w][c][""][body]--> worker ([c][""][body])         request
//   worker --[c][""][reply]--> backend --[c][""][reply]--> client
//   backend <--[0x02]--> worker, every heartbeatIntervalMs       HEARTBEAT
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidEndpointError, ZSocket, now, openSocketCount, shutdown, type TraceEvent } from "@zkit/core";
import { frames, inprocName, text, waitFor, within } from "@zkit/testkit";
import { ParanoidPirateQueue, ParanoidPirateWorker, type ParanoidPirateQueueEvents } from "@zkit/ppp";
import { RawWorker, lazyRequest, recv } from "./helpers.js";

type WorkerGone = ParanoidPirateQueueEvents["worker-gone"][0];

const WAIT = 10_000;
const ANY = "tcp://127.0.0.1:*";
const E = Buffer.alloc(0);
const queues: ParanoidPirateQueue[] = [];
const raws: RawWorker[] = [];
const workers: ParanoidPirateWorker[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const r of raws.splice(0)) await r.close();
  for (const q of queues.splice(0)) await q.close();
  shutdown();
});

async function queue(options: Partial<ConstructorParameters<typeof ParanoidPirateQueue>[0]> = {}): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatIntervalMs: 200, liveness: 3, ...options });
  queues.push(q);
  await q.start();
  return q;
}

async function raw(q: ParanoidPirateQueue, heartbeatMs?: number): Promise<RawWorker> {
  const before = q.workerCount;
  const w = await RawWorker.connect(q.backendEndpoint, heartbeatMs);
  raws.push(w);
  await waitFor(() => q.workerCount === before + 1, WAIT, "the worker registered");
  return w;
}

describe("routing", () => {
  it("READY registers a worker; requests and replies pass with their envelopes, multi-frame", async () => {
    const ready: string[] = [];
    const q = await queue();
    q.on("worker-ready", ({ worker }) => ready.push(worker));
    const w = await raw(q, 100);
    expect(q.readyWorkers).toBe(1);
    expect(ready).toHaveLength(1);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send(["a", "", "c"]);
    await waitFor(() => w.requests.length === 1, WAIT, "the request at the worker");
    const [cid, empty, ...body] = w.requests[0]!;
    expect(cid).toHaveLength(5);
    expect(empty).toEqual(E);
    expect(text(body)).toEqual(["a", "", "c"]);
    expect(q.readyWorkers).toBe(0);
    await w.reply(w.requests[0]!, frames("A", "C"));
    expect(text(await recv(client))).toEqual(["A", "C"]);
    await waitFor(() => q.readyWorkers === 1, WAIT, "the worker ready again");
    expect(q.stats).toEqual({ requests: 1, replies: 1, malformed: 0, unexpected: 0, forged: 0, workersExpired: 0, lostRequests: 0, redispatched: 0 });
  });

  it("gives requests to the least recently used worker first", async () => {
    const q = await queue();
    const ws = [await raw(q, 100), await raw(q, 100), await raw(q, 100)];
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    const order: number[] = [];
    for (let n = 0; n < 5; n++) {
      await client.send(String(n));
      let who = -1;
      await waitFor(() => (who = ws.findIndex((w) => w.requests.some((r) => String(r[2]) === String(n)))) >= 0, WAIT, `request ${n}`);
      order.push(who);
      const req = ws[who]!.requests.find((r) => String(r[2]) === String(n))!;
      await ws[who]!.reply(req, [req[2]!]);
      expect(text(await recv(client))).toEqual([String(n)]);
    }
    expect(order).toEqual([0, 1, 2, 0, 1]);
  });

  it("reads the frontend only while a worker is ready (inproc)", async () => {
    const q = await queue({ frontend: inprocName("ppp-front"), backend: inprocName("ppp-back") });
    const prober = await ZSocket.dealer(`>${q.backendEndpoint}`);
    // a malformed message to the backend, counted, proves the loop kept
    // running while the frontend message stayed unread
    const probe = async (n: number): Promise<void> => {
      await prober.send([Buffer.from("junk"), Buffer.from("x")]);
      await waitFor(() => q.stats.malformed === n, WAIT, `probe ${n}`);
    };
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("early");
    await probe(1);
    expect(q.stats.requests).toBe(0);
    const w = await raw(q, 100);
    await waitFor(() => w.requests.length === 1, WAIT, "the early request");
    const client2 = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client2.send("second");
    await probe(2);
    expect(q.stats.requests).toBe(1); // its only worker is busy
    await w.reply(w.requests[0]!, frames("one"));
    expect(text(await recv(client))).toEqual(["one"]);
    await waitFor(() => w.requests.length === 2, WAIT, "the second request");
    expect(String(w.requests[1]![2])).toBe("second");
  });

  it("traces every message on both sockets, heartbeats included", async () => {
    const events: TraceEvent[] = [];
    const q = await queue({ trace: (e) => events.push(e), heartbeatIntervalMs: 100 });
    const w = await raw(q);
    await waitFor(() => w.heartbeats >= 1, WAIT, "a heartbeat");
    const lines = events.map((e) => `${e.direction} ${e.socket} ${text(e.frames).length}`);
    expect(lines[0]).toBe("in backend 2");
    expect(lines).toContain("out backend 2");
    const hb = events.find((e) => e.direction === "out")!;
    expect(hb.frames[1]).toEqual(Buffer.from([0x02]));
  });
});

describe("heartbeats and expiry", () => {
  it("sends HEARTBEAT [0x02] to every worker, idle and busy, every interval", async () => {
    const q = await queue({ heartbeatIntervalMs: 100, liveness: 20 });
    const idle = await raw(q, 100);
    const busy = await raw(q, 100);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("hold");
    await waitFor(() => idle.requests.length + busy.requests.length === 1, WAIT, "the request");
    const holder = idle.requests.length === 1 ? idle : busy;
    const other = holder === idle ? busy : idle;
    const h0 = holder.heartbeats;
    const o0 = other.heartbeats;
    await waitFor(() => holder.heartbeats >= h0 + 3 && other.heartbeats >= o0 + 3, WAIT, "3 more heartbeats each");
    expect(holder.other).toEqual([]);
  });

  it("expires a silent idle worker after liveness x interval, even behind a live one", async () => {
    // the Guide's purge stops at the first live worker: here the live one
    // registers first and the silent one must still expire
    const expired: (WorkerGone & { after: number })[] = [];
    const q = await queue({ heartbeatIntervalMs: 100, liveness: 5 });
    const live = await raw(q, 50);
    const t0 = now();
    const silent = await raw(q);
    q.on("worker-gone", (e) => expired.push({ ...e, after: now() - t0 }));
    await waitFor(() => expired.length === 1, WAIT, "the silent worker expired");
    expect(expired[0]).toMatchObject({ inHand: 0, reason: "silent" });
    expect(expired[0]!.after).toBeGreaterThanOrEqual(500 - 5);
    expect(q.workerCount).toBe(1);
    expect(q.stats).toMatchObject({ workersExpired: 1, lostRequests: 0 });
    // the live one keeps serving; the expired one gets no more work
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("after");
    await waitFor(() => live.requests.length === 1, WAIT, "the request at the live worker");
    await live.reply(live.requests[0]!, frames("from live"));
    expect(text(await recv(client))).toEqual(["from live"]);
    expect(silent.requests).toHaveLength(0);
  });

  it("expires a busy worker that falls silent; its request goes to the next worker, its late reply is never forwarded", async () => {
    const expired: WorkerGone[] = [];
    const q = await queue({ heartbeatIntervalMs: 100, liveness: 3 });
    q.on("worker-gone", (e) => expired.push(e));
    const w = await raw(q, 50);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("slow");
    await waitFor(() => w.requests.length === 1, WAIT, "the request");
    w.stopHeartbeats();
    await waitFor(() => expired.length === 1, WAIT, "the busy worker expired");
    expect(expired[0]).toMatchObject({ inHand: 1, reason: "silent" });
    expect(q.stats).toMatchObject({ workersExpired: 1, lostRequests: 0, redispatched: 1 });
    expect(q.workerCount).toBe(0);
    const next = await raw(q, 50);
    await waitFor(() => next.requests.length === 1, WAIT, "the request at the next worker");
    await next.reply(next.requests[0]!, frames("from the next"));
    expect(text(await recv(client))).toEqual(["from the next"]);
    // the silent one's late reply is dropped, never forwarded
    await w.reply(w.requests[0]!, frames("late"));
    await waitFor(() => q.stats.unexpected === 1, WAIT, "the late reply dropped");
    expect(q.stats.replies).toBe(1);
  });

  it("any message from a worker refreshes its expiry: replies alone keep it alive", async () => {
    const q = await queue({ heartbeatIntervalMs: 100, liveness: 5 });
    const w = await raw(q); // never heartbeats
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    const t0 = now();
    let n = 0;
    // keep it busy with requests for 3 x liveness x interval, answering each
    while (now() - t0 < 1500) {
      await client.send(String(n));
      await waitFor(() => w.requests.length === n + 1, WAIT, `request ${n}`);
      await w.reply(w.requests[n]!, frames(String(n)));
      expect(text(await recv(client))).toEqual([String(n)]);
      n++;
    }
    expect(q.stats.workersExpired).toBe(0);
    expect(q.workerCount).toBe(1);
  });
});

describe("bad input and unreachable workers", () => {
  it("drops and counts malformed and out-of-order messages, and keeps serving", async () => {
    const q = await queue();
    const w = await raw(q, 100);
    const stranger = await ZSocket.dealer(`>${q.backendEndpoint}`);
    await stranger.send(Buffer.from([0x02])); // HEARTBEAT before READY
    await stranger.send([Buffer.from("c"), E, Buffer.from("r")]); // reply before READY
    await stranger.send(Buffer.from([0x07])); // unknown command
    await stranger.send([Buffer.from("c"), Buffer.from("x"), Buffer.from("r")]); // no delimiter
    await w.sock.send([Buffer.from("c"), E, Buffer.from("r")]); // reply while holding no request: forged
    await w.sock.send(Buffer.from([0x01])); // a second READY
    const badClient = await ZSocket.dealer(`>${q.frontendEndpoint}`);
    await badClient.send("no delimiter");
    await badClient.send(E);
    await waitFor(() => q.stats.malformed === 4 && q.stats.unexpected === 3 && q.stats.forged === 1, WAIT, "4 malformed, 3 unexpected, 1 forged");
    expect(q.workerCount).toBe(1);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("still serving");
    await waitFor(() => w.requests.length === 1, WAIT, "the request");
    await w.reply(w.requests[0]!, frames("yes"));
    expect(text(await recv(client))).toEqual(["yes"]);
  });

  it("a second READY from a busy worker: it starts over, and gets its request again", async () => {
    const q = await queue();
    const w = await raw(q, 100);
    const client = await ZSocket.req(`>${q.frontendEndpoint}`);
    await client.send("again");
    await waitFor(() => w.requests.length === 1, WAIT, "the request");
    await w.sock.send(Buffer.from([0x01]));
    await waitFor(() => w.requests.length === 2, WAIT, "the request given again");
    expect(q.stats).toMatchObject({ unexpected: 1, lostRequests: 0, redispatched: 1 });
    await w.reply(w.requests[1]!, frames("done"));
    expect(text(await recv(client))).toEqual(["done"]);
  });

  it("a worker that disconnects leaves at once: the next request goes to a live worker", async () => {
    const expired: WorkerGone[] = [];
    const q = await queue({ heartbeatIntervalMs: 200, liveness: 50 }); // no silent expiry in this test
    q.on("worker-gone", (e) => expired.push(e));
    const gone = await raw(q, 100);
    const next = await raw(q, 100);
    await gone.close();
    await waitFor(() => expired.length === 1, WAIT, "the first worker gone");
    expect(expired).toEqual([expect.objectContaining({ inHand: 0, reason: "disconnected" })]);
    const pending = lazyRequest(q.frontendEndpoint, frames("for the first worker"), 5000, 3);
    await waitFor(() => next.requests.length === 1, WAIT, "the request at the next worker");
    await next.reply(next.requests[0]!, frames("served"));
    const { reply, attempts } = await within(pending, WAIT, "reply");
    expect(text(reply)).toEqual(["served"]);
    expect(attempts).toBe(1);
    expect(q.stats).toMatchObject({ redispatched: 0, workersExpired: 1, lostRequests: 0 });
  });

  it("a worker that disconnects holding a request: the request goes to the next worker at once", async () => {
    const q = await queue({ heartbeatIntervalMs: 200, liveness: 50 });
    const doomed = await raw(q, 100);
    const next = await raw(q, 100);
    const pending = lazyRequest(q.frontendEndpoint, frames("job"), 10_000, 1);
    await waitFor(() => doomed.requests.length + next.requests.length === 1, WAIT, "the request at a worker");
    const [holder, other] = doomed.requests.length === 1 ? [doomed, next] : [next, doomed];
    await holder.close();
    await waitFor(() => other.requests.length === 1, WAIT, "the request at the other worker");
    await other.reply(other.requests[0]!, frames("done"));
    const { reply, attempts } = await within(pending, WAIT, "reply");
    expect(text(reply)).toEqual(["done"]);
    expect(attempts).toBe(1);
    expect(q.stats).toMatchObject({ redispatched: 1, lostRequests: 0 });
  });

  it("a reply naming a client the worker was never given is dropped as forged, never forwarded", async () => {
    const q = await queue();
    const honest = await raw(q, 100);
    const rogue = await raw(q, 100);
    const victim = await ZSocket.req(`>${q.frontendEndpoint}`);
    await victim.send("mine");
    await waitFor(() => honest.requests.length + rogue.requests.length === 1, WAIT, "the request at a worker");
    const [holder, other] = honest.requests.length === 1 ? [honest, rogue] : [rogue, honest];
    // the other worker learned the client's id and forges ten replies with it
    for (let i = 0; i < 10; i++) await other.reply(holder.requests[0]!, frames(`forged ${i}`));
    await waitFor(() => q.stats.forged === 10, WAIT, "ten forged replies dropped");
    await holder.reply(holder.requests[0]!, frames("real"));
    expect(text(await recv(victim))).toEqual(["real"]);
    expect(q.stats).toMatchObject({ replies: 1, forged: 10 });
  });
});

describe("with ParanoidPirateWorker", () => {
  it("serves 200 requests from 4 concurrent clients over 3 workers", async () => {
    const q = await queue();
    const served = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const w = new ParanoidPirateWorker({
        endpoint: q.backendEndpoint,
        heartbeatIntervalMs: 200,
        handler: (req) => {
          served[i]!++;
          return [Buffer.from(`w${i}`), ...req];
        },
      });
      workers.push(w);
      await w.start();
    }
    await waitFor(() => q.readyWorkers === 3, WAIT, "3 workers ready");
    const clients = await Promise.all([0, 1, 2, 3].map(() => ZSocket.req(`>${q.frontendEndpoint}`)));
    await within(
      Promise.all(
        clients.map(async (c, ci) => {
          for (let n = 0; n < 50; n++) {
            await c.send([`c${ci}`, String(n)]);
            const [who, c2, n2] = text(await c.receive());
            expect(who).toMatch(/^w[012]$/);
            expect([c2, n2]).toEqual([`c${ci}`, String(n)]);
          }
        }),
      ),
      30_000,
      "200 replies",
    );
    expect(q.stats).toMatchObject({ requests: 200, replies: 200, malformed: 0, unexpected: 0, workersExpired: 0 });
    for (const n of served) expect(n).toBeGreaterThan(0);
  });
});

describe("lifecycle", () => {
  it("close() stops serving, closes both sockets, is idempotent; done resolves", async () => {
    const q = await queue();
    expect(q.running).toBe(true);
    expect([q.heartbeatIntervalMs, q.liveness]).toEqual([200, 3]);
    expect(q.frontendEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(openSocketCount()).toBe(2);
    await within(q.close(), WAIT, "close");
    await q.close();
    await within(q.done, WAIT, "done");
    expect(q.running).toBe(false);
    expect(openSocketCount()).toBe(0);
    await expect(q.start()).rejects.toMatchObject({ code: "ZKIT_CLOSED" });
  });

  it("a bind failure rejects start() and leaves nothing open", async () => {
    const taken = await ZSocket.router(`@${ANY}`);
    const q = new ParanoidPirateQueue({ frontend: ANY, backend: taken.endpoint });
    await expect(q.start()).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
    expect(openSocketCount()).toBe(1);
  });

  it("await using closes it", async () => {
    {
      await using q = new ParanoidPirateQueue({ frontend: ANY, backend: ANY });
      await q.start();
      expect(openSocketCount()).toBe(2);
    }
    expect(openSocketCount()).toBe(0);
  });

  it("bad options throw InvalidArgumentError naming the option", () => {
    const ok = { frontend: ANY, backend: ANY };
    expect(() => new ParanoidPirateQueue(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => new ParanoidPirateQueue({ backend: ANY } as never)).toThrow(/option frontend is required/);
    expect(() => new ParanoidPirateQueue({ frontend: ANY } as never)).toThrow(/option backend is required/);
    expect(() => new ParanoidPirateQueue({ ...ok, backend: "*:5556" })).toThrow(InvalidEndpointError);
    expect(() => new ParanoidPirateQueue({ ...ok, heartbeatIntervalMs: 0 })).toThrow(/heartbeatIntervalMs must be a number of milliseconds > 0/);
    expect(() => new ParanoidPirateQueue({ ...ok, liveness: 0 })).toThrow(/liveness must be an integer >= 1/);
    expect(() => new ParanoidPirateQueue({ ...ok, liveness: 2.5 })).toThrow(InvalidArgumentError);
    expect(() => new ParanoidPirateQueue({ ...ok, trace: 3 as never })).toThrow(/option trace must be a function/);
  });
});
