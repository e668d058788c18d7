// SimplePirateWorker against a raw ROUTER playing the queue's backend, so
// that every frame is checked as it is on the wire:
//   worker REQ --[w][""][0x01]--> backend ROUTER
//   backend --[w][""][client][""][body...]--> worker --[w][""][client][""][reply...]--> backend
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidEndpointError, ZSocket, openSocketCount, shutdown, sleep, type TraceEvent } from "@zkit/core";
import { checkLifecycle, text, waitFor, within } from "@zkit/testkit";
import { SimplePirateWorker, type SimplePirateHandler, type SimplePirateWorkerEvents } from "@zkit/spp";
import { recv } from "./helpers.js";

const WAIT = 10_000;
const E = Buffer.alloc(0);
const CLIENT = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]);
const workers: SimplePirateWorker[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  shutdown();
});

async function setup(handler: SimplePirateHandler | undefined, extra: Partial<ConstructorParameters<typeof SimplePirateWorker>[0]> = {}) {
  const backend = await ZSocket.router("@tcp://127.0.0.1:*");
  const worker = new SimplePirateWorker({ endpoint: backend.endpoint, ...(handler ? { handler } : {}), ...extra });
  workers.push(worker);
  await worker.start();
  const [id, empty, ready] = await recv(backend, WAIT, "READY");
  expect(empty).toEqual(E);
  expect(ready).toEqual(Buffer.from([0x01]));
  return { backend, worker, id: id! };
}

describe("serving", () => {
  it("sends READY, then answers each request with the handler, envelope kept, multi-frame both ways", async () => {
    const seen: string[][] = [];
    const { backend, worker, id } = await setup(async (req) => {
      seen.push(text(req));
      return [Buffer.from("got"), ...req];
    });
    expect(worker.running).toBe(true);
    await backend.send([id, E, CLIENT, E, Buffer.from("a"), E, Buffer.from("c")]);
    const reply = await recv(backend);
    expect(reply).toEqual([id, E, CLIENT, E, Buffer.from("got"), Buffer.from("a"), E, Buffer.from("c")]);
    expect(seen).toEqual([["a", "", "c"]]);
    await backend.send([id, E, CLIENT, E, Buffer.from("2")]);
    expect(text((await recv(backend)).slice(4))).toEqual(["got", "2"]);
    expect(worker.stats).toEqual({ requests: 2, replies: 2, malformed: 0, handlerErrors: 0, reconnects: 0, dropped: 0 });
  });

  it("accepts a string, a Buffer or frames from the handler, sync or async", async () => {
    const results: unknown[] = ["text", Buffer.from([1, 2]), ["x", Buffer.from("y")], new Uint8Array([7])];
    let i = 0;
    const { backend, id } = await setup(() => results[i++] as never);
    const expected = [["text"], ["\u0001\u0002"], ["x", "y"], ["\u0007"]];
    for (const want of expected) {
      await backend.send([id, E, CLIENT, E, Buffer.from("q")]);
      expect(text((await recv(backend)).slice(4))).toEqual(want);
    }
  });

  it("traces what it sends and receives", async () => {
    const events: TraceEvent[] = [];
    const { backend, id } = await setup((req) => req, { trace: (e) => events.push(e) });
    await backend.send([id, E, CLIENT, E, Buffer.from("t")]);
    await recv(backend);
    expect(events.map((e) => `${e.direction} ${e.socket} ${text(e.frames).length}`)).toEqual(["out queue 1", "in queue 3", "out queue 3"]);
    expect(events[0]!.frames).toEqual([Buffer.from([0x01])]);
  });
  it("reports its connection: connecting, ready (READY sent), then connected on the queue's first request", async () => {
    const backend = await ZSocket.router("@tcp://127.0.0.1:*");
    const worker = new SimplePirateWorker({ endpoint: backend.endpoint, handler: (r) => r });
    workers.push(worker);
    const seen: string[] = [];
    worker.on("connecting", ({ endpoint, connection }) => seen.push(`connecting ${connection} ${endpoint === backend.endpoint}`));
    worker.on("ready", ({ connection }) => seen.push(`ready ${connection}`));
    worker.on("connected", ({ connection }) => seen.push(`connected ${connection}`));
    await worker.start();
    const [id] = await recv(backend, WAIT, "READY");
    expect(seen).toEqual(["connecting 1 true", "ready 1"]); // Simple Pirate's queue says nothing until a request
    expect(worker.connected).toBe(true);
    await backend.send([id!, E, CLIENT, E, Buffer.from("1")]);
    await recv(backend, WAIT, "the reply");
    await backend.send([id!, E, CLIENT, E, Buffer.from("2")]);
    await recv(backend, WAIT, "the second reply");
    expect(seen).toEqual(["connecting 1 true", "ready 1", "connected 1"]);
  });

  it("without a handler, requests are pulled with for await; job.reply answers with the envelope, ctx names the client", async () => {
    const { backend, worker, id } = await setup(undefined);
    const pulled: string[] = [];
    const peers: (string | undefined)[] = [];
    const consumer = (async () => {
      for await (const job of worker) {
        pulled.push(String(job.request[0]));
        peers.push(job.ctx.peer);
        job.reply([Buffer.from(`re:${String(job.request[0])}`), ...job.request.slice(1)]);
      }
    })();
    await backend.send([id, E, CLIENT, E, Buffer.from("one"), Buffer.from("x")]);
    expect(await recv(backend, WAIT, "the first reply")).toEqual([id, E, CLIENT, E, Buffer.from("re:one"), Buffer.from("x")]);
    await backend.send([id, E, CLIENT, E, Buffer.from("two")]);
    expect(text((await recv(backend, WAIT, "the second reply")).slice(4))).toEqual(["re:two"]);
    expect(pulled).toEqual(["one", "two"]);
    expect(peers).toEqual([CLIENT.toString("hex"), CLIENT.toString("hex")]);
    expect(worker.stats).toMatchObject({ requests: 2, replies: 2 });
    await within(worker.close(), WAIT, "close");
    await within(consumer, WAIT, "the for await loop ends when the worker closes");
  });

  it("a pulled job that fails is a handler error: no answer, a fresh socket with READY", async () => {
    const { backend, worker, id } = await setup(undefined);
    const errors: SimplePirateWorkerEvents["handler-error"][0][] = [];
    worker.on("handler-error", (e) => errors.push(e));
    const consumer = (async () => {
      for await (const job of worker) {
        if (String(job.request[0]) === "bad") job.fail(new Error("refused"));
        else job.reply(job.request);
      }
    })();
    await backend.send([id, E, CLIENT, E, Buffer.from("bad")]);
    const [id2, , ready] = await recv(backend, WAIT, "a new READY");
    expect(ready).toEqual(Buffer.from([0x01]));
    expect(id2).not.toEqual(id);
    expect((errors[0]!.error as Error).message).toBe("refused");
    expect(text(errors[0]!.request)).toEqual(["bad"]);
    await backend.send([id2!, E, CLIENT, E, Buffer.from("good")]);
    expect(text((await recv(backend)).slice(4))).toEqual(["good"]);
    await within(worker.close(), WAIT, "close");
    await within(consumer, WAIT, "the loop ends");
  });
});

describe("failures", () => {
  it("a handler that throws: the request is dropped, the worker starts over at once on a fresh socket with READY", async () => {
    const errors: SimplePirateWorkerEvents["handler-error"][0][] = [];
    const disconnects: SimplePirateWorkerEvents["disconnected"][0][] = [];
    const reconnects: SimplePirateWorkerEvents["reconnecting"][0][] = [];
    const readies: number[] = [];
    const { backend, worker, id } = await setup((req) => {
      if (String(req[0]) === "bad") throw new Error("cannot do that");
      return req;
    });
    worker.on("handler-error", (e) => errors.push(e));
    worker.on("disconnected", (e) => disconnects.push(e));
    worker.on("reconnecting", (e) => reconnects.push(e));
    worker.on("ready", ({ connection }) => readies.push(connection));
    await backend.send([id, E, CLIENT, E, Buffer.from("bad")]);
    const [id2, , ready] = await recv(backend, WAIT, "a new READY");
    expect(ready).toEqual(Buffer.from([0x01]));
    expect(id2).not.toEqual(id);
    expect((errors[0]!.error as Error).message).toBe("cannot do that");
    expect(text(errors[0]!.request)).toEqual(["bad"]);
    expect(disconnects).toEqual([expect.objectContaining({ connection: 1, reason: "handler-error" })]);
    expect(reconnects).toEqual([{ delayMs: 0, attempt: 1, reason: "handler-error" }]);
    await waitFor(() => readies.length === 1, WAIT, "ready on the new connection");
    expect(readies).toEqual([2]);
    await backend.send([id2!, E, CLIENT, E, Buffer.from("good")]);
    expect(text((await recv(backend)).slice(4))).toEqual(["good"]);
    expect(worker.stats).toMatchObject({ requests: 2, replies: 1, handlerErrors: 1, reconnects: 1 });
  });

  it("a handler result that is not a message counts as a handler error", async () => {
    const { backend, worker, id } = await setup(() => 42 as never);
    await backend.send([id, E, CLIENT, E, Buffer.from("q")]);
    const [, , ready] = await recv(backend, WAIT, "a new READY");
    expect(ready).toEqual(Buffer.from([0x01]));
    expect(worker.stats.handlerErrors).toBe(1);
  });

  it("a malformed request is dropped, counted and reported; the worker starts over", async () => {
    const reports: SimplePirateWorkerEvents["malformed"][0][] = [];
    const reconnects: SimplePirateWorkerEvents["reconnecting"][0][] = [];
    const { backend, worker, id } = await setup((req) => req);
    worker.on("malformed", (e) => reports.push(e));
    worker.on("reconnecting", (e) => reconnects.push(e));
    await backend.send([id, E, Buffer.from("no-envelope")]);
    const [id2, , ready] = await recv(backend, WAIT, "a new READY");
    expect(ready).toEqual(Buffer.from([0x01]));
    expect(worker.stats).toMatchObject({ malformed: 1, requests: 0, reconnects: 1 });
    expect(reports).toEqual([expect.objectContaining({ frame: 1, peer: undefined })]);
    expect(reconnects).toEqual([{ delayMs: 0, attempt: 1, reason: "malformed" }]);
    await backend.send([id2!, E, CLIENT, E, Buffer.from("ok")]);
    expect(text((await recv(backend)).slice(4))).toEqual(["ok"]);
  });
});

describe("lifecycle", () => {
  it("close() lets the request in progress finish and its reply leave; idempotent; done resolves", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const { backend, worker, id } = await setup(async (req) => {
      started = true;
      await gate;
      return req;
    });
    await backend.send([id, E, CLIENT, E, Buffer.from("slow")]);
    await waitFor(() => started, WAIT, "the handler to start");
    const closing = worker.close();
    release();
    await within(closing, WAIT, "close");
    expect(text((await recv(backend)).slice(4))).toEqual(["slow"]);
    expect(worker.running).toBe(false);
    expect(openSocketCount()).toBe(1); // the test's backend
    await worker.close();
    await within(worker.done, WAIT, "done");
  });

  it("close() aborts a stuck handler's ctx.signal after closeTimeoutMs, and closes", async () => {
    let started = false;
    let aborted = false;
    const { backend, worker, id } = await setup(
      async (_req, ctx) => {
        started = true;
        await sleep(60_000, ctx.signal).catch(() => {
          aborted = ctx.signal.aborted;
        });
        return "too late";
      },
      { closeTimeoutMs: 100 },
    );
    await backend.send([id, E, CLIENT, E, Buffer.from("stuck")]);
    await waitFor(() => started, WAIT, "the handler to start");
    await within(worker.close(), WAIT, "close");
    expect(aborted).toBe(true);
    expect(openSocketCount()).toBe(1);
  });

  it("close() gives up on a handler that ignores its signal", async () => {
    let started = false;
    const { backend, worker, id } = await setup(
      async () => {
        started = true;
        await sleep(60_000);
        return "never";
      },
      { closeTimeoutMs: 100 },
    );
    await backend.send([id, E, CLIENT, E, Buffer.from("stuck")]);
    await waitFor(() => started, WAIT, "the handler to start");
    await within(worker.close(), WAIT, "close");
    expect(openSocketCount()).toBe(1);
  });

  it("start() again is the same start; after close it is a ClosedError; bad options throw InvalidArgumentError naming the option", async () => {
    const { worker } = await setup((r) => r);
    await worker.start(); // the shared lifecycle: start() is idempotent
    expect(openSocketCount()).toBe(2); // the test's backend and one worker socket: the second start() connected nothing
    await checkLifecycle(worker, WAIT);
    expect(openSocketCount()).toBe(1);
    const endpoint = "tcp://127.0.0.1:5556";
    expect(() => new SimplePirateWorker(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => new SimplePirateWorker({ handler: (r: Buffer[]) => r } as never)).toThrow(/option endpoint is required/);
    expect(() => new SimplePirateWorker({ endpoint, handler: "echo" } as never)).toThrow(/option handler must be/);
    expect(new SimplePirateWorker({ endpoint }).running).toBe(false); // no handler: jobs are pulled with for await
    expect(() => new SimplePirateWorker({ endpoint: "nowhere", handler: (r) => r })).toThrow(InvalidEndpointError);
    expect(() => new SimplePirateWorker({ endpoint, handler: (r) => r, closeTimeoutMs: -1 })).toThrow(/closeTimeoutMs/);
    expect(() => new SimplePirateWorker({ endpoint, handler: (r) => r, trace: {} as never })).toThrow(/option trace/);
  });
});
