// FreelanceServer over real sockets, checked frame by frame with a bare
// ROUTER as the client:
//
//   client ROUTER                      FreelanceServer (id = its endpoint)
//     [endpoint][PING]          ->
//                               <-     [client][PONG]
//     [endpoint][ctl][body...]  ->     handler(body, ctx)
//                               <-     [client][ctl][reply...]
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, InvalidArgumentError, type ZSocket, shutdown, sleep } from "@zkit/core";
import { closeTracked, tempDir, text, track, waitFor, within } from "@zkit/testkit";
import { FreelanceServer, type FreelanceServerOptions, type ServerHandlerErrorInfo, type ServerMalformedInfo } from "@zkit/flclient";
import { ANY, gate, notifyingRouter, rawClient, recv } from "./helpers.js";

const cleanups: (() => void)[] = [];

afterEach(async () => {
  await closeTracked();
  shutdown();
  for (const f of cleanups.splice(0)) f();
});

async function server(options: Partial<FreelanceServerOptions> = {}): Promise<FreelanceServer> {
  const s = track(new FreelanceServer({ bind: ANY, handler: (req) => ["echo", ...req], ...options }));
  await s.start();
  return s;
}

async function client(endpoint: string): Promise<ZSocket<"ROUTER">> {
  const { sock, pong } = await rawClient(endpoint);
  track(sock);
  expect(text(pong)).toEqual([endpoint, "PONG"]);
  return sock;
}

describe("FreelanceServer", () => {
  it("is named by its endpoint: PING gets PONG, a request its reply with the control frame unchanged", async () => {
    const s = await server();
    expect(s.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(s.boundEndpoint).toBe(s.endpoint);
    const c = await client(s.endpoint);
    await c.send([s.endpoint, "1", "random name"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "1", "echo", "random name"]);
    await c.send([s.endpoint, "abc-7", "x", "y"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "abc-7", "echo", "x", "y"]);
    await c.send([s.endpoint, "2"]); // no body at all: the handler gets []
    expect(text(await recv(c))).toEqual([s.endpoint, "2", "echo"]);
    await c.send([s.endpoint, "PING"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "PONG"]);
    expect(s.stats).toMatchObject({ pings: 2, requests: 3, replies: 3, malformed: 0, handlerErrors: 0, active: 0, queued: 0 });
  });

  it("an empty reply goes out as one empty frame; replies may be strings, Buffers or arrays", async () => {
    const replies: unknown[] = [[], "text", Buffer.from([1, 2]), ["a", Buffer.from("b")]];
    let i = 0;
    const s = await server({ handler: () => replies[i++] as string });
    const c = await client(s.endpoint);
    for (let n = 1; n <= replies.length; n++) await c.send([s.endpoint, String(n), "x"]);
    const got = [];
    for (let n = 1; n <= replies.length; n++) got.push((await recv(c)).slice(1).map((f) => f.toString("hex")));
    expect(got).toEqual([
      ["31", ""],
      ["32", Buffer.from("text").toString("hex")],
      ["33", "0102"],
      ["34", "61", "62"],
    ]);
  });

  it("sets its routing id before it binds: a wildcard host is named localhost (the Guide's flserver3), the endpoint option wins", async () => {
    const wildcard = await server({ bind: "tcp://*:*" });
    const port = /:(\d+)$/.exec(wildcard.boundEndpoint)![1];
    expect(wildcard.boundEndpoint).toBe(`tcp://0.0.0.0:${port}`);
    expect(wildcard.endpoint).toBe(`tcp://localhost:${port}`);
    await client(wildcard.endpoint); // reachable under that name

    const named = await server({ endpoint: "tcp://flp.example:7777" });
    const router = track(notifyingRouter());
    router.connect(named.boundEndpoint);
    // the connection notice carries the routing id the server presents
    expect(text(await recv(router, 15_000, "the connection notice"))).toEqual(["tcp://flp.example:7777", ""]);

    const dir = tempDir();
    cleanups.push(dir.remove);
    const ipc = await server({ bind: `ipc://${dir.dir}/flp` });
    expect(ipc.endpoint).toBe(`ipc://${dir.dir}/flp`);
    await client(ipc.endpoint);
  });

  it("answers PING at once while its handler is busy", async () => {
    const g = gate();
    const s = await server({ handler: async (req) => (await g.wait, req) });
    const c = await client(s.endpoint);
    await c.send([s.endpoint, "1", "slow"]);
    await waitFor(() => s.stats.active === 1, 15_000, "the handler at work");
    await c.send([s.endpoint, "PING"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "PONG"]);
    g.open();
    expect(text(await recv(c))).toEqual([s.endpoint, "1", "slow"]);
  });

  it("runs up to `concurrency` handlers at once, one by default", async () => {
    for (const concurrency of [1, 3]) {
      let running = 0;
      let most = 0;
      const g = gate();
      const s = await server({
        concurrency,
        handler: async (req) => {
          most = Math.max(most, ++running);
          await g.wait;
          running--;
          return req;
        },
      });
      const c = await client(s.endpoint);
      for (let n = 1; n <= 6; n++) await c.send([s.endpoint, String(n), "x"]);
      await waitFor(() => s.stats.active === concurrency && s.stats.queued === 6 - concurrency, 15_000, `${concurrency} at work`);
      g.open();
      for (let n = 1; n <= 6; n++) await recv(c);
      expect(most).toBe(concurrency);
    }
  });

  it("drops a malformed message (empty control frame), counts it, tells, and goes on", async () => {
    const malformed: ServerMalformedInfo[] = [];
    const s = await server();
    s.on("malformed", (m) => malformed.push(m));
    const c = await client(s.endpoint);
    await c.send([s.endpoint, "", "body"]);
    await c.send([s.endpoint, "9", "after"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "9", "echo", "after"]);
    expect(s.stats).toMatchObject({ malformed: 1, requests: 1, replies: 1 });
    expect(malformed).toEqual([{ reason: expect.stringMatching(/control frame is empty/), frame: 1, peer: expect.stringMatching(/^[0-9a-f]{10}$/) }]);
  });

  it("sends no reply when the handler throws, rejects, or returns something that is not a message, and serves the next request", async () => {
    const errors: ServerHandlerErrorInfo[] = [];
    const s = await server({
      handler: async (req) => {
        const what = req[0]!.toString();
        if (what === "throw") throw new Error("boom");
        if (what === "bad") return 42 as unknown as string;
        return req;
      },
    });
    s.on("handler-error", (e) => errors.push(e));
    const c = await client(s.endpoint);
    await c.send([s.endpoint, "1", "throw"]);
    await c.send([s.endpoint, "2", "bad"]);
    await c.send([s.endpoint, "3", "fine"]);
    expect(text(await recv(c))).toEqual([s.endpoint, "3", "fine"]);
    expect(s.stats).toMatchObject({ requests: 3, replies: 1, handlerErrors: 2 });
    expect(errors.map((e) => [(e.error as Error).message, text(e.request)])).toEqual([
      ["boom", ["throw"]],
      [expect.stringMatching(/handler result: .*must be a Buffer, Uint8Array, ArrayBuffer or string, got 42/), ["bad"]],
    ]);
  });

  it("drops the waiting requests of a client that went away; the reply in hand counts as undeliverable", async () => {
    const g = gate();
    const s = await server({ handler: async (req) => (await g.wait, req) });
    const c = await client(s.endpoint);
    for (let n = 1; n <= 4; n++) await c.send([s.endpoint, String(n), "x"]);
    await waitFor(() => s.stats.requests === 4, 15_000, "four requests in");
    c.close();
    await waitFor(() => s.stats.discarded === 3, 15_000, "the three waiting requests dropped");
    g.open();
    await waitFor(() => s.stats.undeliverable === 1, 15_000, "the reply in hand undeliverable");
    expect(s.stats).toMatchObject({ replies: 1, queued: 0, active: 0 });
  });

  it("close() finishes the request in hand and sends its reply; then it is closed for good", async () => {
    const s = new FreelanceServer({ bind: ANY, handler: async (req) => (await sleep(300), req) });
    await s.start();
    const c = await client(s.endpoint);
    await c.send([s.endpoint, "1", "last"]);
    await waitFor(() => s.stats.active === 1, 15_000, "the handler at work");
    const closing = s.close();
    expect(text(await recv(c))).toEqual([s.endpoint, "1", "last"]);
    await within(closing, 15_000, "close");
    await expect(s.done).resolves.toBeUndefined();
    await expect(s.start()).rejects.toBeInstanceOf(ClosedError);
    expect(s.closed).toBe(true);
  });

  it("a bind that fails rejects start() with the address in use, and done rejects too", async () => {
    const first = await server();
    const second = new FreelanceServer({ bind: first.boundEndpoint, handler: (r) => r });
    await expect(second.start()).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
    await expect(second.done).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
  });

  it("refuses bad options, naming them", () => {
    const h = (r: Buffer[]): Buffer[] => r;
    const bad: [unknown, RegExp][] = [
      [{ handler: h }, /option bind is required/],
      [{ bind: ANY }, /option handler is required/],
      [{ bind: ANY, handler: h, color: "red" }, /unknown FreelanceServer option "color"/],
      [{ bind: ANY, handler: h, concurrency: 0 }, /option concurrency must be an integer >= 1/],
      [{ bind: ANY, handler: h, endpoint: "tcp://127.0.0.1:*" }, /option endpoint must be one endpoint clients can connect to/],
      [{ bind: "tcp://127.0.0.1:*,tcp://127.0.0.1:*", handler: h }, /option bind must be one endpoint to bind/],
      [{ bind: ">tcp://127.0.0.1:5555", handler: h }, /option bind must be one endpoint to bind/],
      [{ bind: ANY, handler: h, maxFrameBytes: -1 }, /option maxFrameBytes/],
    ];
    for (const [options, message] of bad) {
      expect(() => new FreelanceServer(options as FreelanceServerOptions), String(message)).toThrow(InvalidArgumentError);
      expect(() => new FreelanceServer(options as FreelanceServerOptions)).toThrow(message);
    }
  });
});
