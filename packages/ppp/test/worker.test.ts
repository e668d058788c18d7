// ParanoidPirateWorker against a raw ROUTER playing the queue's backend, so
// that every frame is checked as it is on the wire:
//   worker DEALER --[0x01]--> ROUTER ([w][0x01]), then [w][0x02] every interval
//   ROUTER --[w][client][""][body...]--> worker --[client][""][reply...]--> ([w][client][""][reply...])
//   queue silent for liveness intervals -> fresh socket (new id), READY again
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidEndpointError, ZSocket, openSocketCount, shutdown, sleep, type TraceEvent } from "@zkit/core";
import { tempDir, text, waitFor, within } from "@zkit/testkit";
import { ParanoidPirateWorker, type ParanoidPirateWorkerEvents, type ParanoidPirateWorkerOptions } from "@zkit/ppp";

type ReconnectEvent = ParanoidPirateWorkerEvents["reconnecting"][0];

const WAIT = 10_000;
const E = Buffer.alloc(0);
const READY = Buffer.from([0x01]);
const HEARTBEAT = Buffer.from([0x02]);
const CLIENT = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]);
const workers: ParanoidPirateWorker[] = [];
const queues: FakeQueue[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const q of queues.splice(0)) await q.close();
  shutdown();
  for (const f of cleanups.splice(0)) f();
});

/** A ROUTER that records what workers send and answers heartbeats only when told to. */
class FakeQueue {
  readonly messages: Buffer[][] = [];
  #loop: Promise<void>;
  #hb: NodeJS.Timeout | undefined;

  constructor(readonly router: ZSocket<"ROUTER">) {
    this.#loop = (async () => {
      for await (const msg of router) this.messages.push(msg);
    })();
  }

  static async start(endpoint = "@tcp://127.0.0.1:*"): Promise<FakeQueue> {
    const q = new FakeQueue(await ZSocket.router(endpoint));
    queues.push(q);
    return q;
  }

  readies(): Buffer[] {
    return this.messages.filter((m) => m.length === 2 && m[1]!.equals(READY)).map((m) => m[0]!);
  }

  heartbeatsFrom(id: Buffer): number {
    return this.messages.filter((m) => m.length === 2 && m[0]!.equals(id) && m[1]!.equals(HEARTBEAT)).length;
  }

  replies(): Buffer[][] {
    return this.messages.filter((m) => m.length >= 4);
  }

  /** Heartbeats worker `id` every `ms`, so it sees the queue alive. */
  heartbeat(id: Buffer, ms: number): void {
    this.stopHeartbeats();
    this.#hb = setInterval(() => void this.router.send([id, HEARTBEAT]).catch(() => {}), ms);
  }

  stopHeartbeats(): void {
    clearInterval(this.#hb);
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    this.router.close();
    await this.#loop;
  }
}

async function start(q: FakeQueue, options: Partial<ParanoidPirateWorkerOptions>): Promise<{ worker: ParanoidPirateWorker; id: Buffer }> {
  const worker = new ParanoidPirateWorker({ endpoint: q.router.endpoint, handler: (r) => r, ...options });
  workers.push(worker);
  const before = q.readies().length;
  await worker.start();
  await waitFor(() => q.readies().length === before + 1, WAIT, "READY");
  return { worker, id: q.readies()[before]! };
}

describe("talking to the queue", () => {
  it("sends READY [0x01], then HEARTBEAT [0x02] every interval", async () => {
    const q = await FakeQueue.start();
    const { id } = await start(q, { heartbeatIntervalMs: 50, liveness: 100 });
    expect(q.messages[0]).toEqual([id, READY]);
    await waitFor(() => q.heartbeatsFrom(id) >= 3, WAIT, "3 heartbeats");
  });

  it('answers a request [client][""][body...] with [client][""][reply...], multi-frame both ways', async () => {
    const q = await FakeQueue.start();
    const seen: string[][] = [];
    const { worker, id } = await start(q, {
      heartbeatIntervalMs: 100,
      liveness: 50,
      handler: async (req) => {
        seen.push(text(req));
        return ["re", ...req];
      },
    });
    q.heartbeat(id, 100);
    await q.router.send([id, CLIENT, E, Buffer.from("a"), E, Buffer.from("c")]);
    await waitFor(() => q.replies().length === 1, WAIT, "the reply");
    expect(q.replies()[0]).toEqual([id, CLIENT, E, Buffer.from("re"), Buffer.from("a"), E, Buffer.from("c")]);
    expect(seen).toEqual([["a", "", "c"]]);
    expect(worker.stats).toEqual({ requests: 1, replies: 1, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 });
  });

  it("keeps heartbeating while a slow request is being handled", async () => {
    const q = await FakeQueue.start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { id } = await start(q, {
      heartbeatIntervalMs: 50,
      liveness: 100,
      handler: async (req) => {
        await gate;
        return req;
      },
    });
    await q.router.send([id, CLIENT, E, Buffer.from("slow")]);
    const h0 = q.heartbeatsFrom(id);
    await waitFor(() => q.heartbeatsFrom(id) >= h0 + 3, WAIT, "3 heartbeats during the request");
    expect(q.replies()).toHaveLength(0);
    release();
    await waitFor(() => q.replies().length === 1, WAIT, "the reply");
  });

  it("answers several requests sent at once one at a time, in order", async () => {
    const q = await FakeQueue.start();
    let running = 0;
    let most = 0;
    const { id } = await start(q, {
      heartbeatIntervalMs: 100,
      liveness: 50,
      handler: async (req) => {
        most = Math.max(most, ++running);
        await sleep(5);
        running--;
        return req;
      },
    });
    for (const n of ["1", "2", "3", "4"]) await q.router.send([id, CLIENT, E, Buffer.from(n)]);
    await waitFor(() => q.replies().length === 4, WAIT, "4 replies");
    expect(q.replies().map((r) => String(r[3]))).toEqual(["1", "2", "3", "4"]);
    expect(most).toBe(1);
  });

  it("traces READY, heartbeats, requests and replies", async () => {
    const q = await FakeQueue.start();
    const events: TraceEvent[] = [];
    const { id } = await start(q, { heartbeatIntervalMs: 50, liveness: 100, trace: (e) => events.push(e) });
    await q.router.send([id, CLIENT, E, Buffer.from("t")]);
    await waitFor(() => q.replies().length === 1, WAIT, "the reply");
    expect(events[0]).toEqual({ direction: "out", socket: "queue", frames: [READY] });
    expect(events).toContainEqual({ direction: "in", socket: "queue", frames: [CLIENT, E, Buffer.from("t")] });
    expect(events).toContainEqual({ direction: "out", socket: "queue", frames: [CLIENT, E, Buffer.from("t")] });
  });
});

describe("liveness and reconnects", () => {
  it("a silent queue: disconnected after liveness intervals, then a fresh socket and READY, backing off 2x up to the maximum", async () => {
    const q = await FakeQueue.start();
    const reconnects: ReconnectEvent[] = [];
    let disconnects = 0;
    const { worker, id } = await start(q, { heartbeatIntervalMs: 50, liveness: 2, reconnectInitialMs: 20, reconnectMaxMs: 80 });
    worker.on("reconnecting", (e) => reconnects.push(e));
    worker.on("disconnected", ({ silentMs }) => {
      disconnects++;
      expect(silentMs).toBeGreaterThan(100);
    });
    await waitFor(() => reconnects.length >= 5, WAIT, "5 reconnects");
    expect(reconnects.slice(0, 5).map((r) => [r.delayMs, r.attempt, r.reason])).toEqual([
      [20, 1, "silent"],
      [40, 2, "silent"],
      [80, 3, "silent"],
      [80, 4, "silent"],
      [80, 5, "silent"],
    ]);
    expect(disconnects).toBeGreaterThanOrEqual(5);
    await waitFor(() => q.readies().length >= 5, WAIT, "a READY per connection");
    const ids = new Set(q.readies().map((b) => b.toString("hex")));
    expect(ids.size).toBe(q.readies().length); // a fresh socket each time
    expect(ids.has(id.toString("hex"))).toBe(true);
    expect(worker.running).toBe(true);
  });

  it("a queue that heartbeats keeps it connected; the back-off starts over once the queue speaks", async () => {
    const q = await FakeQueue.start();
    const reconnects: ReconnectEvent[] = [];
    const { worker, id } = await start(q, { heartbeatIntervalMs: 100, liveness: 5, reconnectInitialMs: 10, reconnectMaxMs: 1000 });
    worker.on("reconnecting", (e) => reconnects.push(e));
    q.heartbeat(id, 40);
    await waitFor(() => q.heartbeatsFrom(id) >= 8, WAIT, "8 heartbeats from the worker");
    expect(reconnects).toHaveLength(0);
    q.stopHeartbeats();
    await waitFor(() => reconnects.length >= 2, WAIT, "2 reconnects");
    expect(reconnects.map((r) => r.delayMs).slice(0, 2)).toEqual([10, 20]);
    // the queue answers the newest connection: the next back-off is the initial one again
    await waitFor(() => q.readies().length === 3, WAIT, "the third READY");
    const newest = q.readies()[2]!;
    q.heartbeat(newest, 40);
    await waitFor(() => q.heartbeatsFrom(newest) >= 6, WAIT, "heartbeats on the newest connection");
    const before = reconnects.length;
    q.stopHeartbeats();
    await waitFor(() => reconnects.length > before, WAIT, "a reconnect after the queue fell silent again");
    expect(reconnects[before]!.delayMs).toBe(10);
    expect(reconnects[before]!.attempt).toBe(1);
  });

  it("connected: once per connection, on the queue's first well-formed message, never for a silent or garbled queue", async () => {
    const q = await FakeQueue.start();
    const seen: number[] = [];
    const { worker, id } = await start(q, { heartbeatIntervalMs: 100, liveness: 10, reconnectInitialMs: 10 });
    worker.on("connected", ({ connection }) => seen.push(connection));
    await q.router.send([id, Buffer.from([0x09])]); // malformed: not a sign of a 6/PPP queue
    await waitFor(() => worker.stats.malformed === 1, WAIT, "the malformed message");
    expect(seen).toEqual([]);
    q.heartbeat(id, 40);
    await waitFor(() => seen.length === 1, WAIT, "connected");
    await waitFor(() => q.heartbeatsFrom(id) >= 4, WAIT, "more heartbeats both ways");
    expect(seen).toEqual([1]);
    q.stopHeartbeats();
    // silent: a new connection, not seen until the queue speaks on it
    await waitFor(() => q.readies().length === 2, WAIT, "the second READY");
    expect(seen).toEqual([1]);
    q.heartbeat(q.readies()[1]!, 40);
    await waitFor(() => seen.length === 2, WAIT, "connected on the second connection");
    expect(seen).toEqual([1, 2]);
  });

  it("a handler that fails: the request is dropped and the worker starts over at once on a fresh socket", async () => {
    const q = await FakeQueue.start();
    const errors: unknown[] = [];
    const reconnects: ReconnectEvent[] = [];
    const { worker, id } = await start(q, {
      heartbeatIntervalMs: 100,
      liveness: 50,
      handler: (req) => {
        if (String(req[0]) === "bad") throw new Error("nope");
        return req;
      },
    });
    worker.on("handler-error", (e) => errors.push(e));
    worker.on("reconnecting", (e) => reconnects.push(e));
    await q.router.send([id, CLIENT, E, Buffer.from("bad")]);
    await waitFor(() => q.readies().length === 2, WAIT, "a second READY");
    const id2 = q.readies()[1]!;
    expect(id2).not.toEqual(id);
    expect((errors[0] as { error: Error }).error.message).toBe("nope");
    expect((errors[0] as { request: Buffer[] }).request.map(String)).toEqual(["bad"]);
    expect(reconnects).toEqual([{ delayMs: 0, attempt: 1, reason: "handler-error" }]);
    await q.router.send([id2, CLIENT, E, Buffer.from("good")]);
    await waitFor(() => q.replies().length === 1, WAIT, "the reply on the new connection");
    expect(q.replies()[0]![0]).toEqual(id2);
    expect(worker.stats).toMatchObject({ requests: 2, replies: 1, handlerErrors: 1, reconnects: 1 });
  });

  it("without a handler, requests are pulled with for await; job.reply answers on the connection it came from", async () => {
    const q = await FakeQueue.start();
    const worker = new ParanoidPirateWorker({ endpoint: q.router.endpoint, heartbeatIntervalMs: 100, liveness: 50 });
    workers.push(worker);
    await worker.start();
    await waitFor(() => q.readies().length === 1, WAIT, "READY");
    const id = q.readies()[0]!;
    const pulled: string[] = [];
    const consumer = (async () => {
      for await (const job of worker) {
        pulled.push(String(job.request[0]));
        job.reply([Buffer.from(`re:${String(job.request[0])}`)]);
      }
    })();
    await q.router.send([id, CLIENT, E, Buffer.from("one")]);
    await waitFor(() => q.replies().length === 1, WAIT, "the first reply");
    await q.router.send([id, CLIENT, E, Buffer.from("two")]);
    await waitFor(() => q.replies().length === 2, WAIT, "the second reply");
    expect(pulled).toEqual(["one", "two"]);
    expect(q.replies().map((m) => String(m.at(-1)))).toEqual(["re:one", "re:two"]);
    expect(q.replies().every((m) => m[0]!.equals(id) && m[1]!.equals(CLIENT))).toBe(true);
    await within(worker.close(), WAIT, "close");
    await within(consumer, WAIT, "the for await loop ends when the worker closes");
  });

  it("drops and counts malformed messages from the queue", async () => {
    const q = await FakeQueue.start();
    const { worker, id } = await start(q, { heartbeatIntervalMs: 100, liveness: 50 });
    await q.router.send([id, READY]); // READY from the queue: not a thing
    await q.router.send([id, Buffer.from([0x09])]);
    await q.router.send([id, CLIENT, Buffer.from("x"), Buffer.from("y")]);
    await q.router.send([id, CLIENT, E]);
    await waitFor(() => worker.stats.malformed === 4, WAIT, "4 malformed");
    await q.router.send([id, CLIENT, E, Buffer.from("ok")]);
    await waitFor(() => q.replies().length === 1, WAIT, "the reply");
  });

  it("connects before the queue exists and registers once it is up", async () => {
    const dir = tempDir(); // ipc: no port to lose while nobody listens
    cleanups.push(dir.remove);
    const endpoint = `ipc://${dir.dir}/backend`;
    const worker = new ParanoidPirateWorker({ endpoint, handler: (r) => r, heartbeatIntervalMs: 50, liveness: 100 });
    workers.push(worker);
    await worker.start();
    const q = await FakeQueue.start(`@${endpoint}`);
    await waitFor(() => q.readies().length === 1, WAIT, "READY once the queue is up");
  });
});

describe("lifecycle", () => {
  it("close() lets the request in progress finish and its reply leave, then closes; idempotent", async () => {
    const q = await FakeQueue.start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const { worker, id } = await start(q, {
      heartbeatIntervalMs: 100,
      liveness: 50,
      handler: async (req) => {
        started = true;
        await gate;
        return req;
      },
    });
    await q.router.send([id, CLIENT, E, Buffer.from("last")]);
    await waitFor(() => started, WAIT, "the handler to start");
    const closing = worker.close();
    release();
    await within(closing, WAIT, "close");
    await waitFor(() => q.replies().length === 1, WAIT, "the last reply");
    await worker.close();
    await within(worker.done, WAIT, "done");
    expect(worker.running).toBe(false);
    expect(openSocketCount()).toBe(1); // the fake queue's
  });

  it("close() gives up on a stuck handler after closeTimeoutMs", async () => {
    const q = await FakeQueue.start();
    let started = false;
    const { worker, id } = await start(q, {
      closeTimeoutMs: 100,
      handler: async () => {
        started = true;
        await sleep(60_000);
        return "never";
      },
    });
    await q.router.send([id, CLIENT, E, Buffer.from("stuck")]);
    await waitFor(() => started, WAIT, "the handler to start");
    await within(worker.close(), WAIT, "close");
    expect(openSocketCount()).toBe(1);
  });

  it("start() again is the same start; after close it is a ClosedError; bad options throw InvalidArgumentError naming the option", async () => {
    const q = await FakeQueue.start();
    const { worker } = await start(q, {});
    await worker.start(); // the shared lifecycle: start() is idempotent
    expect(q.readies()).toHaveLength(1);
    await within(worker.close(), WAIT, "close");
    await expect(worker.start()).rejects.toMatchObject({ code: "ZKIT_CLOSED" });
    const ok = { endpoint: "tcp://127.0.0.1:5556", handler: (r: Buffer[]) => r };
    expect(() => new ParanoidPirateWorker(null as never)).toThrow(InvalidArgumentError);
    expect(() => new ParanoidPirateWorker({ handler: ok.handler } as never)).toThrow(/option endpoint is required/);
    expect(() => new ParanoidPirateWorker({ endpoint: ok.endpoint, handler: "echo" } as never)).toThrow(/option handler must be/);
    expect(new ParanoidPirateWorker({ endpoint: ok.endpoint }).running).toBe(false); // no handler: jobs are pulled with for await
    expect(() => new ParanoidPirateWorker({ ...ok, endpoint: "localhost" })).toThrow(InvalidEndpointError);
    expect(() => new ParanoidPirateWorker({ ...ok, heartbeatIntervalMs: -1 })).toThrow(/heartbeatIntervalMs/);
    expect(() => new ParanoidPirateWorker({ ...ok, liveness: 0 })).toThrow(/liveness must be an integer >= 1/);
    expect(() => new ParanoidPirateWorker({ ...ok, reconnectInitialMs: Number.NaN })).toThrow(/reconnectInitialMs/);
    expect(() => new ParanoidPirateWorker({ ...ok, reconnectInitialMs: 5000, reconnectMaxMs: 1000 })).toThrow(/reconnectMaxMs \(1000\) must be >= reconnectInitialMs \(5000\)/);
    expect(() => new ParanoidPirateWorker({ ...ok, closeTimeoutMs: -5 })).toThrow(/closeTimeoutMs/);
    expect(() => new ParanoidPirateWorker({ ...ok, trace: "x" as never })).toThrow(/option trace must be a function/);
  });
});
