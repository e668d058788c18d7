// LazyPirateClient over real sockets: a scripted ROUTER server in this
// process plays the server, answering, dropping or delaying requests.
//
//   client (REQ) --request--> server (ROUTER: [id][""][body...])
//   client (REQ) <--reply---- server        ([id][""][reply...])
//   silence for timeoutMs -> close REQ, open a fresh one (new id), resend
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, InvalidEndpointError, TimeoutError, openSocketCount, shutdown, type TraceEvent } from "@zkit/core";
import { frames, tempDir, text, waitFor, within } from "@zkit/testkit";
import { LazyPirateClient, RetriesExhaustedError, echoMatch, encodeSequence, type RetryEvent } from "@zkit/lpp";
import { ScriptedServer } from "./helpers.js";

const WAIT = 10_000;
const clients: LazyPirateClient[] = [];
const servers: ScriptedServer[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
  shutdown();
  for (const f of cleanups.splice(0)) f();
});

function client(...args: ConstructorParameters<typeof LazyPirateClient>): LazyPirateClient {
  const c = new LazyPirateClient(...args);
  clients.push(c);
  return c;
}

async function server(...args: Parameters<typeof ScriptedServer.start>): Promise<ScriptedServer> {
  const s = await ScriptedServer.start(...args);
  servers.push(s);
  return s;
}

describe("request and reply", () => {
  it("sends a multi-frame request and returns the reply's frames", async () => {
    const srv = await server((req) => [Buffer.from("re:"), ...req.body]);
    const c = client({ endpoint: srv.endpoint });
    const reply = await within(c.request(["a", Buffer.from([0, 1]), ""]), WAIT, "reply");
    expect(reply).toEqual([Buffer.from("re:"), Buffer.from("a"), Buffer.from([0, 1]), Buffer.alloc(0)]);
    expect(text(srv.requests[0]!.body)).toEqual(["a", "\u0000\u0001", ""]);
    expect(c.stats).toEqual({ requests: 1, replies: 1, retries: 0, unmatched: 0, failed: 0, aborted: 0 });
  });

  it("keeps its socket between answered requests (one identity at the server)", async () => {
    const srv = await server();
    const c = client({ endpoint: `>${srv.endpoint}`, match: echoMatch });
    for (let i = 1; i <= 5; i++) expect(text(await within(c.request(encodeSequence(i)), WAIT, `reply ${i}`))).toEqual([String(i)]);
    expect(srv.identities()).toBe(1);
    expect(c.stats.replies).toBe(5);
  });

  it("serializes concurrent requests in call order, one in flight at a time", async () => {
    const srv = await server((req) => req.body);
    const c = client({ endpoint: srv.endpoint });
    const replies = await within(Promise.all([1, 2, 3, 4, 5, 6].map((i) => c.request(String(i)))), WAIT, "6 replies");
    expect(replies.map(text)).toEqual([["1"], ["2"], ["3"], ["4"], ["5"], ["6"]]);
    expect(srv.requests.map((r) => String(r.body[0]))).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(c.pending).toBe(0);
  });

  it("traces each message it sends and receives", async () => {
    const srv = await server();
    const events: TraceEvent[] = [];
    const c = client({ endpoint: srv.endpoint, trace: (e) => events.push(e) });
    await within(c.request(["x", "y"]), WAIT, "reply");
    expect(events.map((e) => [e.direction, e.socket, text(e.frames)])).toEqual([
      ["out", "server", ["x", "y"]],
      ["in", "server", ["x", "y"]],
    ]);
  });
});

describe("retries", () => {
  it("on silence, resends on a fresh socket until a reply comes", async () => {
    // the server ignores the first two requests it sees
    const srv = await server((req, n) => (n < 2 ? undefined : req.body));
    const c = client({ endpoint: srv.endpoint, timeoutMs: 400, retries: 3 });
    const retries: RetryEvent[] = [];
    c.on("retry", (e) => retries.push(e));
    expect(text(await within(c.request("hello"), WAIT, "reply"))).toEqual(["hello"]);
    expect(srv.requests).toHaveLength(3);
    expect(srv.identities()).toBe(3); // a fresh REQ socket for every attempt
    expect(retries.map((r) => [r.attempt, r.retriesLeft, r.timeoutMs, text(r.request)])).toEqual([
      [1, 2, 400, ["hello"]],
      [2, 1, 400, ["hello"]],
    ]);
    expect(c.stats).toMatchObject({ requests: 1, replies: 1, retries: 2, failed: 0 });
    expect(openSocketCount()).toBe(2); // the server's ROUTER and the client's current REQ
  });

  it("gives up after the last retry with RetriesExhaustedError (a TimeoutError, code ZKIT_TIMEOUT)", async () => {
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 100, retries: 2 });
    const err = await within(
      c.request("anyone?").catch((e: unknown) => e),
      WAIT,
      "the request to fail",
    );
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: "ZKIT_TIMEOUT", attempts: 3, timeoutMs: 100 });
    expect((err as Error).message).toMatch(/no reply after 3 attempts of 100 ms/);
    await waitFor(() => srv.requests.length === 3, WAIT, "3 attempts at the server");
    expect(srv.identities()).toBe(3);
    expect(c.stats).toMatchObject({ requests: 1, replies: 0, retries: 2, failed: 1 });
  });

  it("per-request timeoutMs and retries override the client's", async () => {
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 60_000, retries: 5 });
    const err = await within(
      c.request("x", { timeoutMs: 80, retries: 0 }).catch((e: unknown) => e),
      WAIT,
      "the request to fail",
    );
    expect(err).toMatchObject({ name: "RetriesExhaustedError", attempts: 1, timeoutMs: 80 });
    expect(srv.requests).toHaveLength(1);
  });

  it("a late reply to an earlier attempt never answers the request in flight", async () => {
    // attempt 1 is held by the server; attempt 2 arrives on a fresh socket;
    // the server then answers attempt 1 with a stale body and attempt 2 properly
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 1000, retries: 3 });
    const pending = c.request("seq-1");
    await waitFor(() => srv.requests.length === 2, WAIT, "the retry");
    await srv.reply(srv.requests[0]!, frames("stale"));
    await srv.reply(srv.requests[1]!, frames("fresh"));
    expect(text(await within(pending, WAIT, "reply"))).toEqual(["fresh"]);
  });

  it("the reply to a request that gave up is never returned for the next request", async () => {
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 100, retries: 0 });
    await expect(within(c.request("1"), WAIT, "failure")).rejects.toBeInstanceOf(RetriesExhaustedError);
    const second = c.request("2", { timeoutMs: 10_000 });
    await waitFor(() => srv.requests.length === 2, WAIT, "the second request");
    await srv.reply(srv.requests[0]!, frames("1")); // too late: its socket is gone
    await srv.reply(srv.requests[1]!, frames("2"));
    expect(text(await within(second, WAIT, "reply"))).toEqual(["2"]);
  });

  it("with match, a reply that does not answer is counted, dropped, and the request retried", async () => {
    // the first answer echoes the wrong sequence number
    const srv = await server((req, n) => (n === 0 ? frames("999") : req.body));
    const c = client({ endpoint: srv.endpoint, timeoutMs: 400, match: echoMatch });
    const unmatched: string[][] = [];
    c.on("unmatched", (e) => unmatched.push([...text(e.request), ...text(e.reply)]));
    expect(text(await within(c.request(encodeSequence(7)), WAIT, "reply"))).toEqual(["7"]);
    expect(unmatched).toEqual([["7", "999"]]);
    expect(c.stats).toMatchObject({ replies: 1, unmatched: 1, retries: 1 });
  });

  it("a match function that throws counts as unmatched", async () => {
    const srv = await server((req, n) => (n === 0 ? frames("boom") : req.body));
    const c = client({
      endpoint: srv.endpoint,
      timeoutMs: 400,
      match: (_req, reply) => {
        if (String(reply[0]) === "boom") throw new Error("cannot parse");
        return true;
      },
    });
    expect(text(await within(c.request("ok"), WAIT, "reply"))).toEqual(["ok"]);
    expect(c.stats.unmatched).toBe(1);
  });

  it("connects before the server exists and gets its answer once the server is up", async () => {
    // ipc: a path nobody binds yet (a tcp port found free and released could
    // be taken meanwhile, even by the client's own reconnects)
    const dir = tempDir();
    cleanups.push(dir.remove);
    const endpoint = `ipc://${dir.dir}/server`;
    const c = client({ endpoint, timeoutMs: 300, retries: 20 });
    const pending = c.request("early");
    await waitFor(() => c.stats.retries >= 1, WAIT, "a retry while the server is down");
    const srv = await server(undefined, `@${endpoint}`);
    expect(text(await within(pending, WAIT, "reply"))).toEqual(["early"]);
    expect(srv.requests.length).toBeGreaterThanOrEqual(1);
  });
});

describe("abort and close", () => {
  it("an AbortSignal cancels the request in flight and the ones waiting their turn", async () => {
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 60_000 });
    const ac = new AbortController();
    const inFlight = c.request("1", { signal: ac.signal }).catch((e: unknown) => e);
    const queued = c.request("2", { signal: ac.signal }).catch((e: unknown) => e);
    const other = c.request("3"); // no signal: it goes next
    await waitFor(() => srv.requests.length === 1, WAIT, "the first request");
    ac.abort(new Error("user gave up"));
    expect(await within(inFlight, WAIT, "abort")).toBeInstanceOf(AbortError);
    const q = (await within(queued, WAIT, "abort")) as AbortError;
    expect(q).toBeInstanceOf(AbortError);
    expect((q.cause as Error).message).toBe("user gave up");
    await waitFor(() => srv.requests.length === 2, WAIT, "request 3 on a fresh socket");
    expect(text(srv.requests[1]!.body)).toEqual(["3"]);
    expect(srv.identities()).toBe(2);
    await srv.reply(srv.requests[1]!, frames("three"));
    expect(text(await within(other, WAIT, "reply"))).toEqual(["three"]);
    expect(c.stats).toMatchObject({ requests: 3, replies: 1, aborted: 2 });
  });

  it("an already aborted signal rejects at once, nothing is sent", async () => {
    const srv = await server();
    const c = client({ endpoint: srv.endpoint });
    await expect(c.request("x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(srv.requests).toHaveLength(0);
    expect(text(await within(c.request("y"), WAIT, "reply"))).toEqual(["y"]);
  });

  it("close() rejects the request in flight and the queued ones with ClosedError, and is idempotent", async () => {
    const srv = await server(() => undefined);
    const c = client({ endpoint: srv.endpoint, timeoutMs: 60_000 });
    const a = c.request("1").catch((e: unknown) => e);
    const b = c.request("2").catch((e: unknown) => e);
    await waitFor(() => srv.requests.length === 1, WAIT, "the first request");
    await within(c.close(), WAIT, "close");
    await c.close();
    expect(await a).toBeInstanceOf(ClosedError);
    expect(await b).toBeInstanceOf(ClosedError);
    expect(c.closed).toBe(true);
    expect(c.pending).toBe(0);
    await expect(c.request("3")).rejects.toBeInstanceOf(ClosedError);
    expect(openSocketCount()).toBe(1); // only the server's
  });

  it("works with await using", async () => {
    const srv = await server();
    {
      await using c = new LazyPirateClient({ endpoint: srv.endpoint });
      expect(text(await within(c.request("z"), WAIT, "reply"))).toEqual(["z"]);
    }
    expect(openSocketCount()).toBe(1);
  });
});

describe("bad arguments", () => {
  it("the constructor names the bad option", () => {
    expect(() => new LazyPirateClient(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => new LazyPirateClient({} as never)).toThrow(/option endpoint is required/);
    expect(() => new LazyPirateClient({ endpoint: "localhost:5555" })).toThrow(InvalidEndpointError);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", timeoutMs: 0 })).toThrow(/timeoutMs must be a number of milliseconds > 0/);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", timeoutMs: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", retries: -1 })).toThrow(/retries must be an integer >= 0/);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", retries: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", match: "yes" as never })).toThrow(/option match must be a function/);
    expect(() => new LazyPirateClient({ endpoint: "tcp://localhost:5555", trace: 1 as never })).toThrow(/option trace must be a function/);
  });

  it("request() rejects a bad body or option with InvalidArgumentError, sending nothing", async () => {
    const srv = await server();
    const c = client({ endpoint: srv.endpoint });
    await expect(c.request([])).rejects.toThrow(/at least one frame/);
    await expect(c.request(42 as never)).rejects.toThrow(InvalidArgumentError);
    await expect(c.request("x", { timeoutMs: -5 })).rejects.toThrow(/timeoutMs/);
    await expect(c.request("x", { retries: Infinity })).rejects.toThrow(/retries/);
    await expect(c.request("x", { signal: {} as never })).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(c.request("x", null as never)).rejects.toThrow(InvalidArgumentError);
    expect(srv.requests).toHaveLength(0);
    expect(c.stats.requests).toBe(0);
  });
});
