// ZProxy over real sockets: every supported pairing of socket types over
// tcp, ipc and inproc with a capture socket that must see every message;
// steering (PAUSE, RESUME, VERBOSE, TERMINATE) while traffic flows; peers
// on pyzmq through the proxy; and a process that must end by itself once
// the proxy is terminated.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ZSocket, openSocketCount, setLogSink, shutdown } from "@zkit/core";
import { ZProxy, type ProxySocketType, type ZProxyOptions } from "@zkit/socket-tools";
import { requirePyzmq, startPython, stopAll, waitFor, within } from "@zkit/testkit";
import { TRANSPORTS, bindEndpoint, peerPath, removeTempDirs, runFixture, type Transport } from "./helpers.js";

// Generous: the machine is shared and loaded.
const DEADLINE_MS = 15_000;
const N = 25;

const proxies: ZProxy[] = [];
afterEach(async () => {
  setLogSink(undefined);
  for (const p of proxies.splice(0)) await p.close({ lingerMs: 0 });
  shutdown();
  expect(openSocketCount()).toBe(0);
  removeTempDirs();
  await stopAll();
});

async function startProxy(options: ZProxyOptions): Promise<ZProxy> {
  const proxy = new ZProxy(options);
  proxies.push(proxy);
  await proxy.start();
  return proxy;
}

const key = (frames: readonly Buffer[]): string => frames.map((f) => f.toString("hex")).join(".");

/** A message of three frames: text, binary, and the index. */
const message = (tag: string, i: number): Buffer[] => [Buffer.from(tag), Buffer.from([0, i, 255]), Buffer.from(String(i))];

/**
 * Reads the capture socket until it holds as many copies as the proxy
 * forwarded, then checks that each message `delivered` (what the far ends
 * received, in order) is among the copies in the same order.
 */
async function checkCapture(proxy: ZProxy, capture: ZSocket<"PULL">, delivered: Buffer[][]): Promise<Buffer[][]> {
  const copies: Buffer[][] = [];
  const total = (): number => proxy.stats.frontendToBackend + proxy.stats.backendToFrontend;
  await waitFor(
    async () => {
      while (capture.readable) copies.push(await capture.receive());
      return copies.length >= total() && total() > 0;
    },
    DEADLINE_MS,
    "every forwarded message at the capture",
  );
  expect(copies.length).toBe(total());
  expect(proxy.stats.captured).toBe(total());
  expect(proxy.stats.captureDropped).toBe(0);
  // each delivered message is among the copies, in delivery order (a copy
  // may carry an envelope in front: a ROUTER's identity frame)
  const endsWith = (copy: Buffer[], d: Buffer[]): boolean => copy.length >= d.length && key(copy.slice(copy.length - d.length)) === key(d);
  let at = 0;
  for (const d of delivered) {
    let found = at;
    while (found < copies.length && !endsWith(copies[found]!, d)) found++;
    expect(found, `delivered message ${d.map(String).join("|")} among the captured copies, in order`).toBeLessThan(copies.length);
    at = found + 1;
  }
  return copies;
}

/** Receives `count` messages from `sock`, skipping those `skip` says are noise (pub-sub probes). */
async function receiveN(sock: ZSocket, count: number, skip: (m: Buffer[]) => boolean = () => false): Promise<Buffer[][]> {
  const out: Buffer[][] = [];
  while (out.length < count) {
    const m = await within(sock.receive(), DEADLINE_MS, `message ${out.length + 1} of ${count} at the ${sock.type}`);
    if (!skip(m)) out.push(m);
  }
  return out;
}

/**
 * Publishes probes until `sub` hears one (a subscription travels up the
 * proxy to the publisher asynchronously), so that what follows is not lost
 * to the slow-joiner effect.
 */
async function untilSubscribed(pub: ZSocket, sub: ZSocket): Promise<void> {
  let heard = false;
  const listening = (async () => {
    const m = await within(sub.receive(), DEADLINE_MS, "a probe through the proxy");
    expect(String(m[0])).toBe("probe");
    heard = true;
  })();
  while (!heard) {
    await pub.send(["probe"]);
    await Promise.race([listening, new Promise((r) => setTimeout(r, 20))]);
  }
  await listening;
}

const isProbe = (m: Buffer[]): boolean => String(m[0]) === "probe";

interface Pairing {
  frontend: ProxySocketType;
  backend: ProxySocketType;
  /** Drives traffic through a running proxy whose ends are at `front` and `back`; returns what the far ends received. */
  run(front: string, back: string, proxy: ZProxy): Promise<Buffer[][]>;
}

const PAIRINGS: Record<string, Pairing> = {
  //  REQ --> [ROUTER | proxy | DEALER] --> REP, and the replies back
  "ROUTER/DEALER (request-reply broker)": {
    frontend: "ROUTER",
    backend: "DEALER",
    async run(front, back, proxy) {
      const client = await ZSocket.req(`>${front}`);
      const worker = await ZSocket.rep(`>${back}`);
      const got: Buffer[][] = [];
      for (let i = 0; i < N; i++) {
        await client.send(message("req", i));
        const request = await within(worker.receive(), DEADLINE_MS, `request ${i}`);
        expect(key(request)).toBe(key(message("req", i)));
        await worker.send(message("rep", i));
        const reply = await within(client.receive(), DEADLINE_MS, `reply ${i}`);
        expect(key(reply)).toBe(key(message("rep", i)));
        got.push(request, reply); // the proxy saw each behind [client id][""]
      }
      expect(proxy.stats).toMatchObject({ frontendToBackend: N, backendToFrontend: N });
      return got;
    },
  },
  //  PUB --> [XSUB | proxy | XPUB] --> SUB; the subscription goes up
  "XSUB/XPUB (pub-sub forwarder)": {
    frontend: "XSUB",
    backend: "XPUB",
    async run(front, back, proxy) {
      const pub = await ZSocket.pub(`>${front}`);
      const sub = await ZSocket.sub(`>${back}`, ["msg", "probe"]);
      await untilSubscribed(pub, sub);
      expect(proxy.stats.backendToFrontend).toBeGreaterThanOrEqual(1); // the subscriptions, upstream
      await pub.send(message("other", 0)); // nobody subscribed: the publisher filters it out
      for (let i = 0; i < N; i++) await pub.send(message("msg", i));
      const got = await receiveN(sub, N, isProbe);
      expect(got.map(key)).toEqual(Array.from({ length: N }, (_, i) => key(message("msg", i))));
      return got;
    },
  },
  //  PUB --> [SUB | proxy | PUB] --> SUB (a SUB frontend subscribes to everything)
  "SUB/PUB (plain forwarder)": {
    frontend: "SUB",
    backend: "PUB",
    async run(front, back) {
      const pub = await ZSocket.pub(`>${front}`);
      const sub = await ZSocket.sub(`>${back}`, "");
      await untilSubscribed(pub, sub);
      for (let i = 0; i < N; i++) await pub.send(message("msg", i));
      return receiveN(sub, N, isProbe);
    },
  },
  //  PUSH --> [PULL | proxy | PUSH] --> PULL
  "PULL/PUSH (streamer)": {
    frontend: "PULL",
    backend: "PUSH",
    async run(front, back) {
      const source = await ZSocket.push(`>${front}`);
      const sink = await ZSocket.pull(`>${back}`);
      for (let i = 0; i < N; i++) void source.send(message("task", i));
      const got = await receiveN(sink, N);
      expect(got.map(key)).toEqual(Array.from({ length: N }, (_, i) => key(message("task", i))));
      return got;
    },
  },
  //  PULL <-- [PUSH | proxy | PULL] <-- PUSH: the backend reads, the frontend sends
  "PUSH/PULL (streamer, backwards)": {
    frontend: "PUSH",
    backend: "PULL",
    async run(front, back, proxy) {
      const sink = await ZSocket.pull(`>${front}`);
      const source = await ZSocket.push(`>${back}`);
      for (let i = 0; i < N; i++) void source.send(message("up", i));
      const got = await receiveN(sink, N);
      expect(proxy.stats).toMatchObject({ frontendToBackend: 0, backendToFrontend: N });
      return got;
    },
  },
  //  PAIR <--> [PAIR | proxy | PAIR] <--> PAIR, both ways at once
  "PAIR/PAIR (both ways)": {
    frontend: "PAIR",
    backend: "PAIR",
    async run(front, back) {
      const left = await ZSocket.pair(`>${front}`);
      const right = await ZSocket.pair(`>${back}`);
      for (let i = 0; i < N; i++) {
        void left.send(message("right", i));
        void right.send(message("left", i));
      }
      const [atRight, atLeft] = await Promise.all([receiveN(right, N), receiveN(left, N)]);
      expect(atRight.map(key)).toEqual(Array.from({ length: N }, (_, i) => key(message("right", i))));
      expect(atLeft.map(key)).toEqual(Array.from({ length: N }, (_, i) => key(message("left", i))));
      return [...atRight];
    },
  },
  //  DEALER <--> [DEALER | proxy | ROUTER] <--> DEALER: a ROUTER backend addresses peers by identity
  "DEALER/ROUTER (reverse broker)": {
    frontend: "DEALER",
    backend: "ROUTER",
    async run(front, back) {
      const worker = await ZSocket.dealer(`>${back}`, { routingId: "w1" });
      const client = await ZSocket.dealer(`>${front}`);
      // the worker says hello first, so the client knows its identity
      await worker.send(["hello"]);
      const hello = await within(client.receive(), DEADLINE_MS, "the worker's hello at the client");
      expect(hello.map(String)).toEqual(["w1", "hello"]);
      for (let i = 0; i < N; i++) await client.send(["w1", ...message("job", i)]);
      const got = await receiveN(worker, N);
      expect(got.map(key)).toEqual(Array.from({ length: N }, (_, i) => key(message("job", i))));
      return got; // the proxy read them as [w1][job]...
    },
  },
};

describe.each(TRANSPORTS)("every pairing over %s, captured", (transport: Transport) => {
  it.each(Object.keys(PAIRINGS))("%s", async (name) => {
    const pairing = PAIRINGS[name]!;
    const capture = await ZSocket.pull(bindEndpoint(transport));
    const proxy = await startProxy({
      frontend: { type: pairing.frontend, endpoints: bindEndpoint(transport) },
      backend: { type: pairing.backend, endpoints: bindEndpoint(transport) },
      capture: `>${capture.endpoint}`,
    });
    expect(proxy.running).toBe(true);
    const delivered = await pairing.run(proxy.frontendEndpoint, proxy.backendEndpoint, proxy);
    await checkCapture(proxy, capture, delivered);
    await proxy.close();
    expect(proxy.running).toBe(false);
    expect(proxy.frontend?.closed).toBe(true);
    expect(proxy.backend?.closed).toBe(true);
  });
});

describe("steering while traffic flows", () => {
  //  producer --PUSH--> [PULL | proxy | PUSH] --PULL--> consumer
  //            PAUSE: the consumer hears nothing new; RESUME: everything, in order
  it("PAUSE stops forwarding, RESUME carries on in order with nothing lost", async () => {
    const proxy = await startProxy({
      frontend: { type: "PULL", endpoints: "@tcp://127.0.0.1:*" },
      backend: { type: "PUSH", endpoints: "@tcp://127.0.0.1:*" },
    });
    const source = await ZSocket.push(`>${proxy.frontendEndpoint}`);
    const sink = await ZSocket.pull(`>${proxy.backendEndpoint}`);
    const TOTAL = 600;
    const received: number[] = [];
    const reading = (async () => {
      while (received.length < TOTAL) received.push(Number(String((await sink.receive())[0]))); // ends with the test's shutdown at worst
    })();
    reading.catch(() => {});
    let sent = 0;
    const producing = (async () => {
      while (sent < TOTAL) {
        await source.send(String(sent++));
        if (sent % 20 === 0) await new Promise((r) => setImmediate(r));
      }
    })();

    await waitFor(() => received.length >= 100, DEADLINE_MS, "100 messages before the pause");
    await proxy.command("PAUSE");
    expect(proxy.paused).toBe(true);
    const atPause = proxy.stats.frontendToBackend;
    // what was already forwarded arrives; nothing more is forwarded while paused
    await waitFor(() => received.length === atPause, DEADLINE_MS, "the messages forwarded before the pause");
    await producing; // the producer goes on: its messages wait in the sockets
    await new Promise((r) => setTimeout(r, 300)); // a window in which nothing may move
    expect(proxy.stats.frontendToBackend).toBe(atPause);
    expect(received.length).toBe(atPause);
    expect(atPause).toBeLessThan(TOTAL);

    await proxy.command("RESUME");
    expect(proxy.paused).toBe(false);
    await within(reading, DEADLINE_MS, "every message after the resume");
    expect(received).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    expect(proxy.stats.frontendToBackend).toBe(TOTAL);
  });

  it("VERBOSE logs each message in zmsg_print form while on, and nothing once off", async () => {
    const lines: string[] = [];
    setLogSink((level, ns, msg) => {
      if (ns === "zkit:proxy") lines.push(`${level} ${msg}`);
    });
    const proxy = await startProxy({
      frontend: { type: "PULL", endpoints: "@inproc://verbose-front" },
      backend: { type: "PUSH", endpoints: "@inproc://verbose-back" },
    });
    const source = await ZSocket.push(">inproc://verbose-front");
    const sink = await ZSocket.pull(">inproc://verbose-back");
    await source.send(["quiet"]);
    await within(sink.receive(), DEADLINE_MS, "the quiet message");
    await proxy.command("VERBOSE");
    expect(proxy.verbose).toBe(true);
    await source.send(["loud", Buffer.from([1, 2])]);
    await within(sink.receive(), DEADLINE_MS, "the loud message");
    proxy.verbose = false;
    await source.send(["quiet again"]);
    await within(sink.receive(), DEADLINE_MS, "the last message");
    const traffic = lines.filter((l) => l.startsWith("info frontend -> backend"));
    expect(traffic).toEqual(["info frontend -> backend\n  [004] loud\n  [002] 0102"]);
  });

  it("TERMINATE while a send waits for a peer that never comes: close resolves, nothing stays open", async () => {
    let taken = 0;
    const proxy = await startProxy({
      frontend: { type: "PULL", endpoints: "@tcp://127.0.0.1:*" },
      backend: { type: "PUSH", endpoints: "@tcp://127.0.0.1:*" }, // nobody connects: a PUSH send waits
      trace: ({ direction }) => {
        if (direction === "in") taken++;
      },
    });
    const source = await ZSocket.push(`>${proxy.frontendEndpoint}`);
    for (let i = 0; i < 5; i++) await source.send(String(i));
    await waitFor(() => taken === 1, DEADLINE_MS, "the proxy to take a message (and wait to send it)");
    const before = openSocketCount();
    await within(proxy.command("TERMINATE"), DEADLINE_MS, "TERMINATE");
    expect(proxy.running).toBe(false);
    expect(openSocketCount()).toBe(before - 2);
    await within(proxy.done, DEADLINE_MS, "done");
    await proxy.close(); // idempotent
    expect(() => proxy.pause()).toThrow(/the proxy is closed/);
  });

  it("a terminated proxy leaves nothing that keeps the process alive (a real process ends by itself)", async () => {
    const f = runFixture("proxy-terminate");
    const exit = await within(f.exited, 30_000, "the fixture to exit");
    expect(exit, f.describe()).toEqual({ code: 0, signal: null });
    expect(f.stdout()).toMatch(/^forwarded 100\nterminated\n$/);
  });
});

describe("capture that cannot keep up", () => {
  it("drops copies (counted) rather than slowing the proxy", async () => {
    const proxy = await startProxy({
      frontend: { type: "PULL", endpoints: "@inproc://slowcap-front" },
      backend: { type: "PUSH", endpoints: "@inproc://slowcap-back" },
      capture: ">inproc://nobody-reads-this-capture", // connected, never read
      captureOptions: { sendHighWaterMark: 10 },
    });
    const source = await ZSocket.push(">inproc://slowcap-front");
    const sink = await ZSocket.pull(">inproc://slowcap-back");
    for (let i = 0; i < 200; i++) void source.send(String(i));
    const got = await receiveN(sink, 200);
    expect(got.map((m) => Number(String(m[0])))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await waitFor(() => proxy.stats.captured + proxy.stats.captureDropped === 200, DEADLINE_MS, "every copy accounted for");
    expect(proxy.stats.captureDropped).toBeGreaterThan(0);
    expect(proxy.stats.captured).toBeLessThan(200);
  });
});

describe("options and misuse", () => {
  it("refuses socket types and pairings a proxy cannot use, with what to pass", () => {
    const ok = { type: "DEALER" as const, endpoints: "@inproc://x" };
    expect(() => new ZProxy({ frontend: { type: "REQ" as never, endpoints: "@inproc://x" }, backend: ok })).toThrow(/REQ and REP go in lockstep/);
    expect(() => new ZProxy({ frontend: { type: "PUB", endpoints: "@inproc://a" }, backend: { type: "PUSH", endpoints: "@inproc://b" } })).toThrow(
      /a PUB frontend and a PUSH backend have nothing to forward/,
    );
    expect(() => new ZProxy({ backend: ok } as never)).toThrow(/ZProxy option frontend is required/);
    expect(() => new ZProxy({ frontend: ok, backend: ok, capture: 7 } as never)).toThrow(/ZProxy option capture must be a CZMQ endpoint list/);
    expect(() => new ZProxy({ frontend: { ...ok, endpoints: "nonsense" }, backend: ok })).toThrow(/nonsense/);
    expect(() => new ZProxy({ frontend: ok, backend: ok, speed: 11 } as never)).toThrow(/unknown ZProxy option "speed"/);
    expect(() => new ZProxy({ frontend: ok, backend: ok }).pause()).toThrow(expect.objectContaining({ code: ErrorCode.State }));
  });

  it("a bind that fails leaves nothing open, and the proxy cannot start again", async () => {
    const taken = await ZSocket.pull("@tcp://127.0.0.1:*");
    const proxy = new ZProxy({
      frontend: { type: "PULL", endpoints: "@tcp://127.0.0.1:*" },
      backend: { type: "PUSH", endpoints: `@${taken.endpoint}` },
    });
    await expect(proxy.start()).rejects.toMatchObject({ code: ErrorCode.AddressInUse });
    expect(openSocketCount()).toBe(1);
    await expect(proxy.start()).rejects.toMatchObject({ code: ErrorCode.State });
    await expect(proxy.command("JUMP" as never)).rejects.toThrow(InvalidArgumentError);
  });
});

describe("peers we did not write", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("a pyzmq REQ client and a pyzmq REP worker talk through a ROUTER/DEALER proxy, frame for frame", async () => {
    const proxy = await startProxy({
      frontend: { type: "ROUTER", endpoints: "@tcp://127.0.0.1:*" },
      backend: { type: "DEALER", endpoints: "@tcp://127.0.0.1:*" },
    });
    const worker = startPython(peerPath("echo_worker.py"), [proxy.backendEndpoint]);
    const client = startPython(peerPath("req_client.py"), [proxy.frontendEndpoint, "5"]);
    const exit = await client.waitForExit(DEADLINE_MS * 2);
    expect(exit, client.describe()).toEqual({ code: 0, signal: null });
    const hex = (t: string): string => Buffer.from(t).toString("hex");
    expect(client.stdout()).toBe([0, 1, 2, 3, 4].map((i) => `reply ${hex("echo")} ${hex("request")} ${hex(String(i))} 00ff\n`).join(""));
    expect(proxy.stats).toMatchObject({ frontendToBackend: 5, backendToFrontend: 5 });
    worker.kill("SIGKILL");
  });
});
