// MajordomoClient (one request at a time, Lazy Pirate) and
// MajordomoAsyncClient (many in flight) over real sockets: against our
// broker and workers, and against a raw ROUTER that plays the broker (so
// neither client needs a zkit broker), checking frames, retries on fresh
// sockets, timeouts, aborts, and that every caller gets its own reply.
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, InvalidEndpointError, TimeoutError, ZSocket } from "@zkit/core";
import { waitFor } from "@zkit/testkit";
import { MajordomoAsyncClient, type MajordomoBroker, MajordomoClient, MajordomoWorker, RetriesExhaustedError } from "../src/index.js";
import { EMPTY, WAIT_MS, b, cleanup, isAutoId, quiet, recv, show, startBroker, track } from "./helpers.js";

afterEach(cleanup);

/** A raw ROUTER standing in for a broker: we answer by hand. */
async function fakeBroker(): Promise<{ router: ZSocket<"ROUTER">; endpoint: string }> {
  const router = track(await ZSocket.router("@tcp://127.0.0.1:*", { linger: 0 }));
  return { router, endpoint: router.endpoint };
}

/** Replies as a broker does: [client][""][MDPC01][service][body...]. */
function answer(router: ZSocket<"ROUTER">, request: Buffer[], body: (string | Buffer)[], service?: string): Promise<void> {
  return router.send([request[0]!, EMPTY, b("MDPC01"), service !== undefined ? b(service) : request[3]!, ...body.map((f) => (typeof f === "string" ? b(f) : f))]);
}

function realBroker(): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  return startBroker({ heartbeatIntervalMs: 250 });
}

describe("MajordomoClient", () => {
  it('sends [""][MDPC01][service][body...] and resolves with the reply body', async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint }));
    const reply = client.request("echo", ["Hello", Buffer.from([0, 1])]);
    const request = await recv(router, "the request");
    expect(isAutoId(request[0])).toBe(true);
    expect(show(request.slice(1, 5))).toEqual(["", "MDPC01", "echo", "Hello"]);
    expect(request.slice(5)).toEqual([Buffer.from([0, 1])]);
    await answer(router, request, ["World", ""]);
    expect(show(await reply)).toEqual(["World", ""]);
    expect(client.stats).toMatchObject({ requests: 1, replies: 1, timeouts: 0 });
  });

  it("retries on a fresh socket after each timeout (Lazy Pirate), and the retry's reply is the answer", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 200, retries: 3 }));
    const reply = client.request("echo", "again");
    const first = await recv(router, "attempt 1");
    const second = await recv(router, "attempt 2");
    const third = await recv(router, "attempt 3");
    expect(new Set([first[0]!.toString("hex"), second[0]!.toString("hex"), third[0]!.toString("hex")]).size).toBe(3); // three sockets
    for (const r of [first, second, third]) expect(show(r.slice(1))).toEqual(["", "MDPC01", "echo", "again"]);
    await answer(router, first, ["too late"]); // its socket is closed: dropped by the ROUTER
    await answer(router, third, ["third time lucky"]);
    expect(show(await reply)).toEqual(["third time lucky"]);
    expect(client.stats).toMatchObject({ timeouts: 2, replies: 1 });
  });

  it("gives up with RetriesExhaustedError (a TimeoutError) after retries + 1 attempts, with a retry event before each resend", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 100, retries: 2 }));
    const retries: unknown[] = [];
    client.on("retry", (e) => retries.push(e));
    const err = await client.request("echo", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ attempts: 3, timeoutMs: 100, code: "ZKIT_TIMEOUT" });
    expect((err as Error).message).toMatch(/^MajordomoClient.request\("echo"\): no reply after 3 attempts of 100 ms each/);
    expect(retries).toEqual([
      { attempt: 1, retriesLeft: 1, timeoutMs: 100, service: "echo" },
      { attempt: 2, retriesLeft: 0, timeoutMs: 100, service: "echo" },
    ]);
    let sends = 0;
    while (!(await quiet(router, 50))) {
      await router.receive();
      sends++;
    }
    expect(sends).toBe(3);
    expect(client.stats).toMatchObject({ timeouts: 3, failures: 1 });
    // per-request options win over the client's
    await expect(client.request("echo", "y", { timeoutMs: 50, retries: 0 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("drops a message that is not its reply (another service, malformed) and keeps waiting", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    const reply = client.request("echo", "x");
    const request = await recv(router, "the request");
    await answer(router, request, ["wrong"], "other");
    await router.send([request[0]!, EMPTY, b("MDPW01"), b("garbage")]);
    await answer(router, request, ["right"]);
    expect(show(await reply)).toEqual(["right"]);
    expect(client.stats.unmatched).toBe(2);
  });

  it("AbortSignal: rejects with AbortError at once; the next request starts on a fresh socket", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 60_000 }));
    const ac = new AbortController();
    const pending = client.request("echo", "never", { signal: ac.signal });
    const first = await recv(router, "the request to abort");
    ac.abort(new Error("user gave up"));
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error("user gave up"));
    await expect(client.request("echo", "x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const next = client.request("echo", "next");
    const second = await recv(router, "the next request");
    expect(second[0]).not.toEqual(first[0]);
    await answer(router, first, ["stale"]);
    await answer(router, second, ["fresh"]);
    expect(show(await next)).toEqual(["fresh"]);
  });

  it("runs concurrent calls one at a time, in call order", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    const one = client.request("echo", "one");
    const two = client.request("echo", "two");
    const r1 = await recv(router, "request one");
    expect(show(r1.slice(4))).toEqual(["one"]);
    expect(await quiet(router, 100)).toBe(true); // two waits for one's reply
    await answer(router, r1, ["1"]);
    const r2 = await recv(router, "request two");
    expect(show(r2.slice(4))).toEqual(["two"]);
    await answer(router, r2, ["2"]);
    expect([show(await one), show(await two)]).toEqual([["1"], ["2"]]);
  });

  it("close(): a waiting request rejects with ClosedError, later ones too", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = new MajordomoClient({ endpoint, timeoutMs: 60_000 });
    const pending = client.request("echo", "x");
    await recv(router, "the request");
    await client.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(client.request("echo", "y")).rejects.toBeInstanceOf(ClosedError);
    await client.close();
    expect(client.closed).toBe(true);
  });

  it("works through a real broker and worker, MMI included", async () => {
    const { endpoint } = await realBroker();
    const worker = track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 250, handler: (r) => r }));
    await worker.start();
    await using client = new MajordomoClient({ endpoint });
    expect(show(await client.request("echo", ["a", "b"]))).toEqual(["a", "b"]);
    expect(show(await client.request("mmi.service", "echo"))).toEqual(["200"]);
    expect(show(await client.request("mmi.service", "nope"))).toEqual(["404"]);
  });

  it("bad arguments throw InvalidArgumentError", async () => {
    expect(() => new MajordomoClient({} as never)).toThrow(/endpoint is required/);
    expect(() => new MajordomoClient({ endpoint: "tcp://x:1", timeoutMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MajordomoClient({ endpoint: "tcp://x:1", retries: -1 })).toThrow(/retries must be an integer >= 0/);
    expect(() => new MajordomoClient({ endpoint: "x:1" })).toThrow(InvalidEndpointError);
    expect(() => new MajordomoAsyncClient({ endpoint: "x:1" })).toThrow(InvalidEndpointError);
    const client = track(new MajordomoClient({ endpoint: "tcp://127.0.0.1:1" }));
    await expect(client.request("", "x")).rejects.toThrow(/service name is empty/);
    await expect(client.request(42 as never, "x")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.request("echo", 42 as never)).rejects.toThrow(/body must be a frame/);
    await expect(client.request("echo", "x", { timeout: 5 } as never)).rejects.toThrow(/unknown MajordomoClient.request option "timeout"/);
  });
});

describe("MajordomoAsyncClient", () => {
  it("1000 requests in flight across 4 workers that answer out of order: each caller gets its own reply", async () => {
    // heartbeats 500 ms x 6: opening 1000 sockets in this one process must not expire the workers
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 500, liveness: 6 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const order: number[] = [];
    for (let w = 0; w < 4; w++) {
      const worker = track(
        new MajordomoWorker({
          endpoint,
          service: "work",
          heartbeatIntervalMs: 500,
          liveness: 6,
          handler: async ([body]) => {
            await gate;
            await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
            const n = Number(body!.toString());
            order.push(n);
            return [`reply to ${n}`, `worker ${w}`];
          },
        }),
      );
      await worker.start();
    }
    await waitFor(() => broker.stats.workers === 4, WAIT_MS, "4 workers");
    const client = track(new MajordomoAsyncClient({ endpoint, maxSockets: 1000, timeoutMs: 60_000 }));
    const replies = Array.from({ length: 1000 }, (_, i) => client.request("work", String(i)));
    // every request is on the wire at once: 4 held by workers, 996 queued at the broker
    await waitFor(() => broker.stats.requests === 1000, 30_000, "1000 requests at the broker");
    expect(client.stats).toMatchObject({ inFlight: 1000, waiting: 0, sockets: 1000 });
    expect(broker.stats).toMatchObject({ inFlight: 4, queued: 996 });
    open();
    const results = await Promise.all(replies);
    for (const [i, frames] of results.entries()) expect(frames[0]!.toString()).toBe(`reply to ${i}`);
    const workersUsed = new Set(results.map((frames) => frames[1]!.toString()));
    expect(workersUsed.size).toBe(4);
    expect(order).not.toEqual([...order].sort((x, y) => x - y)); // answered out of order
    expect(client.stats).toMatchObject({ replies: 1000, unmatched: 0, socketsOpened: 1000, inFlight: 0 });
  });

  it("needs no zkit broker: a raw ROUTER answering in reverse order still gives each caller its reply", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint }));
    const replies = Array.from({ length: 50 }, (_, i) => client.request("svc", `q${i}`));
    const requests: Buffer[][] = [];
    while (requests.length < 50) requests.push(await recv(router, `request ${requests.length}`));
    for (const r of requests) expect(show(r.slice(1, 4))).toEqual(["", "MDPC01", "svc"]);
    for (const r of requests.reverse()) await answer(router, r, [`a${r[4]!.toString().slice(1)}`]);
    expect((await Promise.all(replies)).map((f) => f[0]!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
  });

  it("reuses sockets, and past maxSockets requests wait their turn", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, maxSockets: 3 }));
    const replies = Array.from({ length: 7 }, (_, i) => client.request("svc", `q${i}`));
    expect(client.stats).toMatchObject({ inFlight: 3, waiting: 4, sockets: 3 });
    let answered = 0;
    while (answered < 7) {
      const r = await recv(router, `request ${answered}`);
      await answer(router, r, [`a${r[4]!.toString().slice(1)}`]);
      answered++;
    }
    expect((await Promise.all(replies)).map((f) => f[0]!.toString())).toEqual(Array.from({ length: 7 }, (_, i) => `a${i}`));
    expect(client.stats).toMatchObject({ socketsOpened: 3, sockets: 3, waiting: 0 });
  });

  it("a timed-out request never receives a late reply, and it never reaches another request", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 150, maxSockets: 1 }));
    const slow = client.request("svc", "slow");
    const first = await recv(router, "the slow request");
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    const next = client.request("svc", "next", { timeoutMs: 5000 });
    const second = await recv(router, "the next request");
    expect(second[0]).not.toEqual(first[0]); // its socket was closed and replaced
    await answer(router, first, ["late reply to slow"]);
    await answer(router, second, ["reply to next"]);
    expect(show(await next)).toEqual(["reply to next"]);
    expect(client.stats).toMatchObject({ timeouts: 1, replies: 1, socketsOpened: 2 });
  });

  it("retries, when asked, on a fresh socket", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 150 }));
    const reply = client.request("svc", "x", { retries: 1 });
    const first = await recv(router, "attempt 1");
    const second = await recv(router, "attempt 2");
    expect(second[0]).not.toEqual(first[0]);
    await answer(router, second, ["ok"]);
    expect(show(await reply)).toEqual(["ok"]);
  });

  it("AbortSignal: only the aborted requests reject; one listener per signal however many share it", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 60_000 }));
    const ac = new AbortController();
    const aborted = Array.from({ length: 20 }, (_, i) => client.request("svc", `a${i}`, { signal: ac.signal }));
    const kept = client.request("svc", "kept");
    const requests: Buffer[][] = [];
    while (requests.length < 21) requests.push(await recv(router, "requests"));
    ac.abort();
    for (const p of aborted) await expect(p).rejects.toBeInstanceOf(AbortError);
    for (const r of requests) await answer(router, r, [`re ${r[4]!.toString()}`]);
    expect(show(await kept)).toEqual(["re kept"]);
    expect(client.stats).toMatchObject({ aborted: 20, replies: 1, sockets: 1 });
    await expect(client.request("svc", "x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it("close(): every pending request rejects with ClosedError", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = new MajordomoAsyncClient({ endpoint, maxSockets: 2 });
    const pending = Array.from({ length: 4 }, (_, i) => client.request("svc", `${i}`));
    await recv(router, "a request");
    await client.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(ClosedError);
    await expect(client.request("svc", "x")).rejects.toBeInstanceOf(ClosedError);
    expect(client.stats.sockets).toBe(0);
  });

  it("bad options throw InvalidArgumentError", () => {
    expect(() => new MajordomoAsyncClient({ endpoint: "@tcp://127.0.0.1:5555" })).toThrow(/only connects/);
    expect(() => new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:5555", maxSockets: 0 })).toThrow(/maxSockets must be an integer >= 1/);
    expect(() => new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:5555", retries: 1 } as never)).toThrow(/unknown MajordomoAsyncClient option "retries"/);
  });
});
