// MajordomoClient (one request at a time, Lazy Pirate) and
// MajordomoAsyncClient (many in flight) over real sockets: against our
// broker and workers, and against a raw ROUTER that plays the broker (so
// neither client needs a zkit broker), checking frames, retries on fresh
// sockets, timeouts, aborts, and that every caller gets its own reply.
import { afterEach, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { AbortError, ClosedError, InvalidArgumentError, InvalidEndpointError, TimeoutError, ZSocket } from "@zkit/core";
import { waitFor } from "@zkit/testkit";
import { MajordomoAsyncClient, type MajordomoBroker, MajordomoClient, MajordomoWorker, RetriesExhaustedError } from "../src/index.js";
import { EMPTY, WAIT_MS, b, cleanup, isAutoId, quiet, rawWorker, recv, recvUntil, show, startBroker, track } from "./helpers.js";

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
  it("socket per request (multiplex off): 1000 requests in flight across 4 workers that answer out of order: each caller gets its own reply", async () => {
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
    const client = track(new MajordomoAsyncClient({ endpoint, maxSockets: 1000, timeoutMs: 60_000, multiplex: "off" }));
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

  it("needs no zkit broker: a raw ROUTER that answers 501 to mmi.zkit.envelope (as the Guide's brokers do) and then in reverse order still gives each caller its reply", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint }));
    const modes: string[] = [];
    client.on("mode", ({ mode }) => modes.push(mode));
    const replies = Array.from({ length: 50 }, (_, i) => client.request("svc", `q${i}`));
    // the question first, alone, as a plain 7/MDP request; nothing else until it is answered
    const question = await recv(router, "the discovery question");
    expect(show(question.slice(1))).toEqual(["", "MDPC01", "mmi.zkit.envelope", ""]);
    expect(await quiet(router, 200)).toBe(true);
    expect(client.stats).toMatchObject({ waiting: 50, inFlight: 0 });
    await answer(router, question, ["501"]);
    const requests: Buffer[][] = [];
    while (requests.length < 50) requests.push(await recv(router, `request ${requests.length}`));
    for (const r of requests) expect(show(r.slice(1, 4))).toEqual(["", "MDPC01", "svc"]);
    for (const r of requests.reverse()) await answer(router, r, [`a${r[4]!.toString().slice(1)}`]);
    expect((await Promise.all(replies)).map((f) => f[0]!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
    expect(client.mode).toBe("sockets");
    expect(modes).toEqual(["sockets"]);
    expect(new Set(requests.map((r) => r[0]!.toString("hex"))).size).toBe(50); // a socket each
  });

  it("reuses sockets, and past maxSockets requests wait their turn", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, maxSockets: 3, multiplex: "off" }));
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
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 150, maxSockets: 1, multiplex: "off" }));
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
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 150, multiplex: "off" }));
    const reply = client.request("svc", "x", { retries: 1 });
    const first = await recv(router, "attempt 1");
    const second = await recv(router, "attempt 2");
    expect(second[0]).not.toEqual(first[0]);
    await answer(router, second, ["ok"]);
    expect(show(await reply)).toEqual(["ok"]);
  });

  it("AbortSignal: only the aborted requests reject; one listener per signal however many share it", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 60_000, multiplex: "off" }));
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
    const client = new MajordomoAsyncClient({ endpoint, maxSockets: 2, multiplex: "off" });
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
    expect(() => new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:5555", multiplex: "yes" as never })).toThrow(/multiplex/);
    expect(() => new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:5555", discoveryTimeoutMs: -1 })).toThrow(/discoveryTimeoutMs/);
  });
});

/** A 7/MDP REQUEST to a worker (not a HEARTBEAT). */
const isRequest = (frames: Buffer[]): boolean => frames[2]?.length === 1 && frames[2][0] === 2;

/** The file descriptors this process has open now (every libzmq socket holds some, every connection one). */
function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("MajordomoAsyncClient multiplexed (zkit's envelope extension)", () => {
  it('asks mmi.zkit.envelope once, then sends [corr][""][MDPC01][service][body] on one socket; the worker sees one opaque client address (0x00, id length, id, corr) and its REPLY comes back to the right caller', async () => {
    const { broker, endpoint } = await realBroker();
    const worker = await rawWorker(endpoint, "svc");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the raw worker");
    const out: Buffer[][] = [];
    const client = track(new MajordomoAsyncClient({ endpoint, trace: (e) => e.direction === "out" && out.push(e.frames as Buffer[]) }));
    const first = client.request("svc", ["a", "b"]);
    const request = await recvUntil(worker, isRequest, "the first REQUEST");
    expect(client.mode).toBe("multiplexed");
    expect(show(out[0]!)).toEqual(["", "MDPC01", "mmi.zkit.envelope", ""]);
    const corr = out[1]![0]!;
    expect(corr.length).toBe(4);
    expect(show(out[1]!.slice(1))).toEqual(["", "MDPC01", "svc", "a", "b"]);
    // the worker's wire is 7/MDP: [""][MDPW01][02][address][""][body...]
    expect(show(request.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
    const address = request[3]!;
    expect(address[0]).toBe(0);
    expect(address[1]).toBe(5); // a libzmq routing id
    expect(isAutoId(address.subarray(2, 7))).toBe(true);
    expect(address.subarray(7)).toEqual(corr);
    expect(show(request.slice(4))).toEqual(["", "a", "b"]);
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), address, EMPTY, b("A"), b("B")]);
    expect(show(await first)).toEqual(["A", "B"]);
    // the next request: the same socket, the next correlation
    const second = client.request("svc", "c");
    const next = await recvUntil(worker, isRequest, "the second REQUEST");
    expect(next[3]!.subarray(0, 7)).toEqual(address.subarray(0, 7));
    expect(next[3]!.subarray(7)).not.toEqual(corr);
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), next[3]!, EMPTY, b("C")]);
    expect(show(await second)).toEqual(["C"]);
    // MMI through the multiplexed socket too
    expect(show(await client.request("mmi.service", "svc"))).toEqual(["200"]);
    expect(client.stats).toMatchObject({ socketsOpened: 1, sockets: 1, replies: 3, unmatched: 0, late: 0, inFlight: 0 });
    expect(broker.stats).toMatchObject({ malformed: 0, forged: 0, mmiRequests: 2 });
  });

  it("10,000 requests in flight on one socket, answered out of order by 4 workers: each caller gets its own reply, and the process's open file descriptors barely move", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 500, liveness: 10, workerPrefetch: 16 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    for (let w = 0; w < 4; w++) {
      const worker = track(
        new MajordomoWorker({
          endpoint,
          service: "work",
          heartbeatIntervalMs: 500,
          liveness: 10,
          concurrency: 16,
          handler: async ([body]) => {
            await gate;
            if (Math.random() < 0.5) await new Promise((r) => setImmediate(r));
            return [`reply to ${body}`, `worker ${w}`];
          },
        }),
      );
      await worker.start();
    }
    await waitFor(() => broker.stats.workers === 4, WAIT_MS, "4 workers");
    const before = openFds();
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 120_000, maxInFlight: 10_000 }));
    const replies = Array.from({ length: 10_000 }, (_, i) => client.request("work", String(i)));
    await waitFor(() => broker.stats.requests === 10_000, 60_000, "10,000 requests at the broker");
    expect(client.stats).toMatchObject({ inFlight: 10_000, waiting: 0, sockets: 1, socketsOpened: 1 });
    const during = openFds();
    // one DEALER and its connection (and the broker's end of it): a handful, where a socket per request would take thousands
    expect(during - before).toBeLessThanOrEqual(8);
    open();
    const results = await Promise.all(replies);
    for (const [i, frames] of results.entries()) expect(frames[0]!.toString()).toBe(`reply to ${i}`);
    expect(new Set(results.map((f) => f[1]!.toString())).size).toBe(4);
    expect(client.stats).toMatchObject({ replies: 10_000, unmatched: 0, late: 0, inFlight: 0, sockets: 1 });
    expect(broker.stats).toMatchObject({ replies: 10_000, forged: 0, malformed: 0, repliesUndeliverable: 0 });
  }, 180_000);

  it("a timed-out request is resent with a new correlation: the late reply to the first attempt is dropped and counted (late), never delivered; the resend's reply is", async () => {
    const { broker, endpoint } = await realBroker();
    const worker = await rawWorker(endpoint, "svc");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the raw worker");
    const client = track(new MajordomoAsyncClient({ endpoint }));
    expect(show(await client.request("mmi.service", "svc"))).toEqual(["200"]); // discovery done
    const retries: number[] = [];
    client.on("retry", ({ attempt }) => retries.push(attempt));
    const reply = client.request("svc", "x", { timeoutMs: 300, retries: 1 });
    const attempt1 = await recvUntil(worker, isRequest, "attempt 1");
    await waitFor(() => retries.length === 1, WAIT_MS, "the retry");
    // the worker answers the first attempt late; only then does the broker give it the second
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), attempt1[3]!, EMPTY, b("late answer")]);
    await waitFor(() => client.stats.late === 1, WAIT_MS, "the late reply to be dropped");
    const attempt2 = await recvUntil(worker, isRequest, "attempt 2");
    expect(attempt2[3]!.subarray(0, 7)).toEqual(attempt1[3]!.subarray(0, 7)); // same client
    expect(attempt2[3]!.subarray(7)).not.toEqual(attempt1[3]!.subarray(7)); // a new correlation
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), attempt2[3]!, EMPTY, b("answer")]);
    expect(show(await reply)).toEqual(["answer"]);
    expect(client.stats).toMatchObject({ timeouts: 1, late: 1, replies: 2, sockets: 1, socketsOpened: 1, inFlight: 0 });
    // with no retries left, a TimeoutError
    await expect(client.request("svc", "y", { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("with multiplex on, no question is asked; replies are matched by correlation whatever their order; a stray or malformed reply is dropped and counted; abort and close reject only what they concern", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, multiplex: "on", timeoutMs: 60_000 }));
    expect(client.mode).toBe("multiplexed");
    const ac = new AbortController();
    const aborted = client.request("svc", "gone", { signal: ac.signal });
    const replies = Array.from({ length: 20 }, (_, i) => client.request("svc", `q${i}`));
    const requests: Buffer[][] = [];
    while (requests.length < 21) requests.push(await recv(router, `request ${requests.length}`));
    expect(new Set(requests.map((r) => r[0]!.toString("hex"))).size).toBe(1); // one socket
    for (const r of requests) expect(show(r.slice(2, 5))).toEqual(["", "MDPC01", "svc"]);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    const reply = (r: Buffer[], body: string): Promise<void> => router.send([r[0]!, r[1]!, EMPTY, b("MDPC01"), b("svc"), b(body)]);
    for (const r of requests.reverse()) await reply(r, `a${r[5]!.toString()}`);
    // strays: an unknown correlation (late), a plain reply and a malformed one (unmatched)
    await router.send([requests[0]![0]!, b("zzzz"), EMPTY, b("MDPC01"), b("svc"), b("stray")]);
    await router.send([requests[0]![0]!, EMPTY, b("MDPC01"), b("svc"), b("plain")]);
    await router.send([requests[0]![0]!, b("zzzz"), b("not empty")]);
    expect((await Promise.all(replies)).map((f) => f[0]!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `aq${i}`));
    await waitFor(() => client.stats.late === 2 && client.stats.unmatched === 2, WAIT_MS, "the strays to be counted"); // the aborted one's reply is late too
    const pending = [client.request("svc", "p1"), client.request("svc", "p2")];
    await recv(router, "p1");
    await client.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(ClosedError);
    expect(client.stats).toMatchObject({ replies: 20, aborted: 1, sockets: 0, inFlight: 0 });
  });

  it("maxInFlight caps the requests on the wire: more wait in call order, and each is sent as an answer makes room", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, multiplex: "on", maxInFlight: 3, timeoutMs: 60_000 }));
    const replies = Array.from({ length: 7 }, (_, i) => client.request("svc", `q${i}`));
    expect(client.stats).toMatchObject({ inFlight: 3, waiting: 4, sockets: 1 });
    let answered = 0;
    while (answered < 7) {
      const r = await recv(router, `request ${answered}`);
      expect(client.stats.inFlight).toBeLessThanOrEqual(3);
      await router.send([r[0]!, r[1]!, EMPTY, b("MDPC01"), b("svc"), b(`a${r[5]!.toString().slice(1)}`)]);
      answered++;
    }
    expect((await Promise.all(replies)).map((f) => f[0]!.toString())).toEqual(Array.from({ length: 7 }, (_, i) => `a${i}`));
    expect(client.stats).toMatchObject({ socketsOpened: 1, waiting: 0, inFlight: 0, replies: 7 });
  });

  it("auto, against a broker that never answers the question: after discoveryTimeoutMs it falls back to a socket per request, and the requests that waited are sent then", async () => {
    const { router, endpoint } = await fakeBroker();
    const client = track(new MajordomoAsyncClient({ endpoint, discoveryTimeoutMs: 300, timeoutMs: 30_000 }));
    const reasons: string[] = [];
    client.on("mode", ({ mode, reason }) => reasons.push(`${mode}: ${reason}`));
    const reply = client.request("svc", "x");
    const question = await recv(router, "the question");
    expect(show(question.slice(3, 4))).toEqual(["mmi.zkit.envelope"]);
    const request = await recv(router, "the request, after the fallback");
    expect(request[0]).not.toEqual(question[0]); // a socket of its own
    expect(reasons).toEqual(["sockets: no answer to mmi.zkit.envelope within 300 ms"]);
    await answer(router, question, ["200"]); // too late: the question's socket is closed
    await answer(router, request, ["ok"]);
    expect(show(await reply)).toEqual(["ok"]);
    expect(client.mode).toBe("sockets");
  });
});
