// MajordomoWorker against a raw ROUTER playing the broker: the frames it
// sends, heartbeats (also while busy), reconnection with a fresh socket and
// READY on broker silence and on DISCONNECT, a graceful close that finishes
// the request in hand, handler errors, and `concurrency` (several handlers
// at once, replies out of order).
//
//   worker --READY-->     router
//   worker <--REQUEST--   router
//   worker --HEARTBEAT--> router   (every interval, busy or not)
//   worker --REPLY-->     router
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidEndpointError, ZSocket } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";
import { MajordomoWorker, type MajordomoWorkerOptions } from "../src/index.js";
import type { HandlerContext } from "@zkit/reliability";
import { EMPTY, WAIT_MS, b, cleanup, isAutoId, recv, recvUntil, show, track } from "./helpers.js";

afterEach(cleanup);

const isCommand = (n: number) => (f: Buffer[]) => f[3]?.length === 1 && f[3][0] === n;

async function setup(options: Partial<MajordomoWorkerOptions> = {}): Promise<{ router: ZSocket<"ROUTER">; worker: MajordomoWorker; wid: Buffer }> {
  const router = track(await ZSocket.router("@tcp://127.0.0.1:*", { linger: 0 }));
  // liveness 100 unless a test says otherwise: the raw router sends no heartbeats
  const worker = track(new MajordomoWorker({ endpoint: router.endpoint, service: "echo", heartbeatIntervalMs: 100, liveness: 100, handler: (r) => r, ...options }));
  await worker.start();
  const ready = await recv(router, "READY");
  return { router, worker, wid: ready[0]! };
}

function request(router: ZSocket<"ROUTER">, wid: Buffer, client: string, ...body: string[]): Promise<void> {
  return router.send([wid, EMPTY, b("MDPW01"), Buffer.from([2]), b(client), EMPTY, ...body.map(b)]);
}

describe("MajordomoWorker", () => {
  it('sends READY [""][MDPW01][01][service], then answers a REQUEST with [""][MDPW01][03][client][""][reply...]', async () => {
    const router = track(await ZSocket.router("@tcp://127.0.0.1:*", { linger: 0 }));
    const worker = track(new MajordomoWorker({ endpoint: router.endpoint, service: "echo", handler: ([a, c]) => [c!, a!] }));
    await worker.start();
    const ready = await recv(router, "READY");
    expect(isAutoId(ready[0])).toBe(true);
    expect(show(ready.slice(1))).toEqual(["", "MDPW01", "0x01", "echo"]);
    await request(router, ready[0]!, "C1", "first", "second");
    expect(show(await recvUntil(router, isCommand(3), "REPLY"))).toEqual([ready[0]!.toString("latin1"), "", "MDPW01", "0x03", "C1", "", "second", "first"]);
    expect(worker.stats).toMatchObject({ requests: 1, replies: 1, connections: 1 });
  });

  it("heartbeats every interval, also while the handler is busy", async () => {
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    // liveness 100: the router sends no heartbeats, and the worker must not give up on it here
    const { router, wid, worker } = await setup({ liveness: 100, handler: async (r) => (await busy, r) });
    await recvUntil(router, isCommand(4), "an idle HEARTBEAT");
    await request(router, wid, "C1", "slow");
    await waitFor(() => worker.busy, WAIT_MS, "the handler to start");
    for (let i = 0; i < 3; i++) expect(show(await recvUntil(router, isCommand(4), "a busy HEARTBEAT")).slice(1)).toEqual(["", "MDPW01", "0x04"]);
    release();
    await recvUntil(router, isCommand(3), "the REPLY");
  });

  it("a silent broker is lost after liveness intervals: the worker reconnects with a fresh socket and READY after reconnectMs", async () => {
    const { router, wid, worker } = await setup({ liveness: 3, reconnectMs: 200 });
    const disconnected = new Promise<unknown>((r) => worker.once("disconnected", r));
    const reconnecting = new Promise<unknown>((r) => worker.once("reconnecting", r));
    // the router never answers: heartbeats only go one way
    expect(await disconnected).toMatchObject({ reason: "silent", answered: false, connection: 1, service: "echo" });
    expect(await reconnecting).toMatchObject({ delayMs: 200, reason: "silent" });
    const again = await recvUntil(router, isCommand(1), "a new READY");
    expect(again[0]).not.toEqual(wid);
    expect(show(again.slice(1))).toEqual(["", "MDPW01", "0x01", "echo"]);
    expect(worker.stats).toMatchObject({ connections: 2, reconnects: 1 });
  });

  it("says what is true: connecting, READY sent, then connected once per connection on the broker's first message", async () => {
    const router = track(await ZSocket.router("@tcp://127.0.0.1:*", { linger: 0 }));
    const worker = track(new MajordomoWorker({ endpoint: router.endpoint, service: "echo", heartbeatIntervalMs: 100, liveness: 10, reconnectMs: 100, handler: (r) => r }));
    const events: string[] = [];
    worker.on("connecting", ({ connection, endpoint }) => events.push(`connecting ${connection} ${endpoint === worker.endpoint}`));
    worker.on("ready", ({ connection }) => events.push(`ready ${connection}`));
    worker.on("connected", ({ connection }) => events.push(`connected ${connection}`));
    worker.on("disconnected", ({ reason, answered }) => events.push(`disconnected ${reason} ${answered}`));
    await worker.start();
    const ready = await recv(router, "READY");
    await waitFor(() => events.length === 2, WAIT_MS, "ready");
    expect(events).toEqual(["connecting 1 true", "ready 1"]); // READY is out, the broker has said nothing yet
    await router.send([ready[0]!, EMPTY, b("MDPW01"), Buffer.from([4])]);
    await waitFor(() => events.length === 3, WAIT_MS, "connected");
    await router.send([ready[0]!, EMPTY, b("MDPW01"), Buffer.from([4])]);
    await request(router, ready[0]!, "C1", "x");
    await recvUntil(router, isCommand(3), "the REPLY"); // later messages do not say it again
    expect(events).toEqual(["connecting 1 true", "ready 1", "connected 1"]);
    // the router falls silent: lost after liveness intervals, then a fresh connection that has not seen the broker
    await recvUntil(router, isCommand(1), "the READY of the second connection");
    await waitFor(() => events.length >= 6, WAIT_MS, "the second connection's events");
    expect(events.slice(3, 6)).toEqual(["disconnected silent true", "connecting 2 true", "ready 2"]);
    // nothing answers the second connection: its loss says the broker was never seen on it
    await waitFor(() => events.length >= 7, WAIT_MS, "the second loss");
    expect(events[6]).toBe("disconnected silent false");
  });

  it("stays connected while the broker heartbeats", async () => {
    // liveness 8: gives up after 800 ms without the router's heartbeats; the test lasts 3 s
    const { router, wid, worker } = await setup({ liveness: 8, reconnectMs: 50 });
    for (let i = 0; i < 30; i++) {
      await recvUntil(router, isCommand(4), "a HEARTBEAT");
      await router.send([wid, EMPTY, b("MDPW01"), Buffer.from([4])]);
    }
    expect(worker.stats.reconnects).toBe(0);
  });

  it("DISCONNECT from the broker: reconnects with a fresh socket and READY (at once once the connection is reconnectMs old)", async () => {
    const { router, wid, worker } = await setup({ reconnectMs: 200, liveness: 100 });
    await router.send([wid, EMPTY, b("MDPW01"), Buffer.from([5])]);
    const again = await recvUntil(router, isCommand(1), "READY after DISCONNECT", 5000);
    expect(again[0]).not.toEqual(wid);
    expect(worker.stats.reconnects).toBe(1);
    await request(router, again[0]!, "C2", "on the new connection");
    expect(show(await recvUntil(router, isCommand(3), "REPLY")).slice(4)).toEqual(["C2", "", "on the new connection"]);
  });

  it("a reply finished after its connection was dropped is discarded, not sent on the new one", async () => {
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    const { router, wid, worker } = await setup({ reconnectMs: 100, liveness: 100, handler: async (r) => (await busy, r) });
    await request(router, wid, "C1", "orphan");
    await waitFor(() => worker.busy, WAIT_MS, "the handler to start");
    await router.send([wid, EMPTY, b("MDPW01"), Buffer.from([5])]);
    const again = await recvUntil(router, isCommand(1), "READY again");
    release();
    await waitFor(() => worker.stats.repliesDropped === 1, WAIT_MS, "the orphan reply to be dropped");
    await request(router, again[0]!, "C2", "fresh");
    expect(show(await recvUntil(router, isCommand(3), "REPLY to the fresh request")).slice(4)).toEqual(["C2", "", "fresh"]);
  });

  it("the handler gets a context: the client as peer (hex), the service, and a signal that aborts when close() outlasts closeTimeoutMs", async () => {
    let seen: HandlerContext | undefined;
    const { router, wid, worker } = await setup({
      closeTimeoutMs: 50,
      handler: (_r, ctx) => {
        seen = ctx;
        return new Promise<string>((resolve) => ctx.signal.addEventListener("abort", () => resolve("stopped early"), { once: true }));
      },
    });
    await request(router, wid, "C1", "long job");
    await waitFor(() => seen !== undefined, WAIT_MS, "the handler to start");
    expect(seen).toMatchObject({ service: "echo", peer: b("C1").toString("hex") });
    expect(seen!.signal.aborted).toBe(false);
    await worker.close();
    expect(seen!.signal.aborted).toBe(true);
    // its reply still went out, before DISCONNECT
    expect(show(await recvUntil(router, isCommand(3), "the REPLY")).slice(4)).toEqual(["C1", "", "stopped early"]);
    await recvUntil(router, isCommand(5), "DISCONNECT");
    await expect(worker.done).resolves.toBeUndefined();
  });

  it("without a handler, the requests come as jobs from `for await`; each job replies to its own client; the loop ends at close", async () => {
    const { router, wid, worker } = await setup({ handler: undefined });
    const served: string[] = [];
    const loop = (async () => {
      for await (const job of worker) {
        served.push(job.request[0]!.toString());
        job.reply(job.request.map((f) => f.toString().toUpperCase()));
      }
    })();
    await request(router, wid, "C1", "one");
    await request(router, wid, "C2", "two");
    expect(show(await recvUntil(router, isCommand(3), "reply 1")).slice(4)).toEqual(["C1", "", "ONE"]);
    expect(show(await recvUntil(router, isCommand(3), "reply 2")).slice(4)).toEqual(["C2", "", "TWO"]);
    await worker.close();
    await within(loop, WAIT_MS, "the for await loop to end");
    expect(served).toEqual(["one", "two"]);
    expect(worker.stats).toMatchObject({ requests: 2, replies: 2 });
  });

  it("close() finishes the request in hand, sends its REPLY, then DISCONNECT", async () => {
    let release!: () => void;
    const busy = new Promise<void>((r) => (release = r));
    const { router, wid, worker } = await setup({ handler: async ([x]) => (await busy, [`done ${x}`]) });
    await request(router, wid, "C1", "job");
    await waitFor(() => worker.busy, WAIT_MS, "the handler to start");
    const closed = worker.close(); // while the handler works
    expect(worker.busy).toBe(true);
    release();
    await closed;
    const reply = await recvUntil(router, (f) => isCommand(3)(f) || isCommand(5)(f), "REPLY before DISCONNECT");
    expect(show(reply).slice(3)).toEqual(["0x03", "C1", "", "done job"]);
    expect(show(await recvUntil(router, (f) => !isCommand(4)(f), "DISCONNECT"))).toEqual([wid.toString("latin1"), "", "MDPW01", "0x05"]);
    expect(worker.closed).toBe(true);
    await worker.close(); // idempotent
    await expect(worker.start()).rejects.toThrow(/closed/);
  });

  it("close() while idle sends DISCONNECT at once", async () => {
    const { router, wid, worker } = await setup();
    const events: string[] = [];
    worker.on("close", () => events.push("close"));
    await worker.close();
    expect(show(await recvUntil(router, (f) => !isCommand(4)(f), "DISCONNECT"))).toEqual([wid.toString("latin1"), "", "MDPW01", "0x05"]);
    expect(events).toEqual(["close"]);
  });

  it("a handler that throws: handler-error, and an empty reply (or onError's) so the client is not left waiting", async () => {
    const errors: unknown[] = [];
    const { router, wid, worker } = await setup({
      handler: ([x]) => {
        if (x!.toString() === "bad") throw new Error("boom");
        return x!;
      },
    });
    worker.on("handler-error", ({ error }) => errors.push(error));
    await request(router, wid, "C1", "bad");
    expect(show(await recvUntil(router, isCommand(3), "an empty REPLY: one empty body frame, as 7/MDP wants")).slice(3)).toEqual(["0x03", "C1", "", ""]);
    await request(router, wid, "C2", "good");
    expect(show(await recvUntil(router, isCommand(3), "the next REPLY")).slice(4)).toEqual(["C2", "", "good"]);
    expect(errors).toEqual([new Error("boom")]);
    expect(worker.stats.handlerErrors).toBe(1);

    const custom = await setup({
      handler: () => {
        throw new Error("nope");
      },
      onError: (err) => ["ERROR", (err as Error).message],
    });
    await request(custom.router, custom.wid, "C3", "x");
    expect(show(await recvUntil(custom.router, isCommand(3), "onError's REPLY")).slice(4)).toEqual(["C3", "", "ERROR", "nope"]);
  });

  it("a handler returning something that is not a body counts as an error", async () => {
    const { router, wid, worker } = await setup({ handler: () => 42 as never });
    await request(router, wid, "C1", "x");
    expect(show(await recvUntil(router, isCommand(3), "an empty REPLY")).slice(3)).toEqual(["0x03", "C1", "", ""]);
    expect(worker.stats.handlerErrors).toBe(1);
  });

  it("handles requests one at a time, in order", async () => {
    let running = 0;
    let most = 0;
    const { router, wid } = await setup({
      handler: async ([x]) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return x!;
      },
    });
    for (const n of ["1", "2", "3"]) await request(router, wid, `C${n}`, n);
    const got: string[] = [];
    while (got.length < 3) got.push(show(await recvUntil(router, isCommand(3), "REPLY"))[6]!);
    expect(got).toEqual(["1", "2", "3"]);
    expect(most).toBe(1);
  });

  it("concurrency 3: requests are handled at once, each REPLY goes out when its handler is done, with its own client address", async () => {
    const gates = new Map<string, () => void>();
    let running = 0;
    let most = 0;
    const { router, wid, worker } = await setup({
      concurrency: 3,
      handler: async ([x]) => {
        most = Math.max(most, ++running);
        await new Promise<void>((r) => gates.set(x!.toString(), r));
        running--;
        return [`done ${x}`];
      },
    });
    expect(worker.concurrency).toBe(3);
    for (const n of ["1", "2", "3"]) await request(router, wid, `C${n}`, n);
    await waitFor(() => gates.size === 3, WAIT_MS, "three handlers running at once");
    expect(worker.inHand).toBe(3);
    for (const n of ["3", "1", "2"]) {
      gates.get(n)!();
      expect(show(await recvUntil(router, isCommand(3), `the REPLY to ${n}`)).slice(4)).toEqual([`C${n}`, "", `done ${n}`]);
    }
    expect(most).toBe(3);
    expect(worker.stats).toMatchObject({ requests: 3, replies: 3 });
    expect(worker.inHand).toBe(0);
  });

  it("concurrency 2 with three requests: the third waits, in order, for a free handler", async () => {
    const gates: (() => void)[] = [];
    const started: string[] = [];
    const { router, wid, worker } = await setup({
      concurrency: 2,
      handler: async ([x]) => {
        started.push(x!.toString());
        await new Promise<void>((r) => gates.push(r));
        return x!;
      },
    });
    for (const n of ["1", "2", "3"]) await request(router, wid, `C${n}`, n);
    await waitFor(() => worker.inHand === 3 && started.length === 2, WAIT_MS, "two handlers running, one request waiting");
    expect(started).toEqual(["1", "2"]);
    gates[1]!(); // the second finishes first: the third starts
    expect(show(await recvUntil(router, isCommand(3), "the REPLY to 2")).slice(4)).toEqual(["C2", "", "2"]);
    await waitFor(() => started.length === 3, WAIT_MS, "the third request to start");
    gates[0]!();
    gates[2]!();
    const rest = [show(await recvUntil(router, isCommand(3), "a REPLY"))[4], show(await recvUntil(router, isCommand(3), "a REPLY"))[4]];
    expect(rest.sort()).toEqual(["C1", "C3"]);
  });

  it("with requests waiting (a prefetching broker), close() finishes the one in hand, replies, then DISCONNECT; the waiting ones are left to the broker", async () => {
    let release!: () => void;
    const handled: string[] = [];
    const { router, wid, worker } = await setup({
      handler: async ([x]) => {
        handled.push(x!.toString());
        await new Promise<void>((r) => (release = r));
        return x!;
      },
    });
    for (const n of ["1", "2", "3"]) await request(router, wid, `C${n}`, n);
    await waitFor(() => worker.inHand === 3 && handled.length === 1, WAIT_MS, "one request handled, two waiting");
    const closed = worker.close();
    release();
    await closed;
    expect(show(await recvUntil(router, (f) => isCommand(3)(f) || isCommand(5)(f), "the REPLY")).slice(3)).toEqual(["0x03", "C1", "", "1"]);
    expect(show(await recvUntil(router, (f) => !isCommand(4)(f), "DISCONNECT"))).toEqual([wid.toString("latin1"), "", "MDPW01", "0x05"]);
    expect(handled).toEqual(["1"]);
    expect(worker.stats).toMatchObject({ requests: 3, replies: 1 });
  });

  it("requests that waited behind a slow one are answered in order, by a synchronous handler too", async () => {
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const { router, wid, worker } = await setup({ handler: ([x]) => (x!.toString() === "0" ? first.then(() => ["0!"]) : [`${x}!`]) });
    const n = 900; // under the ROUTER's high-water mark, which would drop the rest
    for (let i = 0; i < n; i++) void request(router, wid, `C${i}`, String(i));
    await waitFor(() => worker.inHand === n, WAIT_MS, `${n} requests at the worker`);
    release(); // the other 899 then run one after the other, synchronously
    const got: string[] = [];
    while (got.length < n) got.push(show(await recvUntil(router, isCommand(3), "a REPLY"))[6]!);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `${i}!`));
    expect(worker.stats.replies).toBe(n);
  });

  it("drops malformed messages from the broker, counted", async () => {
    const { router, wid, worker } = await setup();
    const malformed: unknown[] = [];
    worker.on("malformed", (m) => malformed.push(m));
    await router.send([wid, b("no delimiter")]);
    await router.send([wid, EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")]); // READY goes the other way
    await router.send([wid, EMPTY, b("MDPW01"), Buffer.from([2])]); // REQUEST without client
    await request(router, wid, "C1", "fine");
    await recvUntil(router, isCommand(3), "the REPLY after the bad messages");
    expect(worker.stats.malformed).toBe(3);
    expect(malformed.map((m) => (m as { frame: number }).frame)).toEqual([0, 2, 3]);
  });

  it("bad options throw InvalidArgumentError", () => {
    const ok = { endpoint: "tcp://127.0.0.1:5555", service: "echo", handler: (r: Buffer[]) => r };
    expect(() => new MajordomoWorker({ ...ok, service: "mmi.service" })).toThrow(/reserved/);
    expect(() => new MajordomoWorker({ ...ok, service: "" })).toThrow(/service is required/);
    expect(() => new MajordomoWorker({ ...ok, handler: "echo" as never })).toThrow(/option handler must be a function/);
    expect(new MajordomoWorker({ ...ok, handler: undefined }).service).toBe("echo"); // no handler: jobs are pulled with for await
    expect(() => new MajordomoWorker({ ...ok, heartbeatIntervalMs: -5 })).toThrow(InvalidArgumentError);
    expect(() => new MajordomoWorker({ ...ok, liveness: 0 })).toThrow(/liveness/);
    expect(() => new MajordomoWorker({ ...ok, concurrency: 0 })).toThrow(/option concurrency must be an integer >= 1, got 0/);
    expect(() => new MajordomoWorker({ ...ok, concurrency: 2.5 })).toThrow(InvalidArgumentError);
    expect(new MajordomoWorker({ ...ok }).concurrency).toBe(1);
    expect(() => new MajordomoWorker({ ...ok, colour: "red" } as never)).toThrow(/unknown MajordomoWorker option "colour"/);
    expect(() => new MajordomoWorker({ ...ok, endpoint: "localhost:5555" })).toThrow(InvalidEndpointError);
  });
});
