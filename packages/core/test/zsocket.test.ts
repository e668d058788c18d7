import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, ErrorCode, InvalidArgumentError, InvalidEndpointError, ZSocket, ZkitError, curveKeyPair, openSocketCount, shutdown, type SocketType } from "@zkit/core";
import { inprocName, tempDir, waitFor, within } from "@zkit/testkit";

const dirs: (() => void)[] = [];
afterEach(() => {
  shutdown();
  expect(openSocketCount()).toBe(0);
  for (const remove of dirs.splice(0)) remove();
});

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    if (err instanceof ZkitError) return err.code;
    throw err;
  }
  return undefined;
}

describe("creating sockets", () => {
  const types: SocketType[] = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"];

  it.each(types)("creates a %s socket and binds an ephemeral port", async (type) => {
    const sock = await ZSocket.new(type, "@tcp://127.0.0.1:*");
    expect(sock.type).toBe(type);
    expect(sock.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(sock.endpoint).not.toContain("*");
    expect(openSocketCount()).toBe(1);
  });

  it("applies CZMQ's default direction when the endpoint has no prefix", async () => {
    const router = await ZSocket.router("tcp://127.0.0.1:*"); // ROUTER binds by default
    expect(router.endpoint).toMatch(/:\d+$/);
    const dealer = await ZSocket.dealer(router.endpoint); // DEALER connects by default
    expect(dealer.endpoint).toBe(router.endpoint);
    await dealer.send("ping");
    const [, body] = await within(router.receive(), 5000, "ROUTER receive");
    expect(body!.toString()).toBe("ping");
  });

  it("attaches a comma list and returns every real endpoint", async () => {
    const name = inprocName();
    const pull = await ZSocket.pull(`@tcp://127.0.0.1:*,@${name}`);
    expect(pull.endpoints).toHaveLength(2);
    expect(pull.endpoints[1]).toBe(name);
    const a = await ZSocket.push(`>${pull.endpoints[0]}`);
    const b = await ZSocket.push(`>${name}`);
    await a.send("over tcp");
    await b.send("over inproc");
    const got = [(await pull.receive())[0]!.toString(), (await pull.receive())[0]!.toString()].sort();
    expect(got).toEqual(["over inproc", "over tcp"]);
  });

  it("passes typed options to the socket and reads them back", async () => {
    const dealer = await ZSocket.dealer(undefined, { routingId: "me", sendHighWaterMark: 10 });
    expect(dealer.get("routingId")).toBe("me");
    expect(dealer.get("sendHighWaterMark")).toBe(10);
    expect(dealer.get("linger")).toBe(1000);
    dealer.set("linger", 0);
    expect(dealer.get("linger")).toBe(0);
  });

  it("takes the security options (CURVE, PLAIN, ZAP domain) that @zkit/security's securitySocketOptions gives", async () => {
    const keys = curveKeyPair();
    const curve = new ZSocket("ROUTER", { curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey, curveServer: true, zapDomain: "global" });
    expect(curve.get("curveServer")).toBe(true);
    expect(curve.raw.securityMechanism).toBe("curve");
    expect(curve.get("zapDomain")).toBe("global");
    // zeromq.js 6.8 cannot read CURVE keys back: a typed error, not a raw EINVAL
    expect(() => curve.get("curveSecretKey")).toThrow(InvalidArgumentError);
    expect(() => curve.get("curveSecretKey")).toThrow(/write-only/);
    const client = new ZSocket("DEALER", { curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey, curveServerKey: keys.publicKey });
    expect(client.get("curveServer")).toBe(false);
    const plainServer = new ZSocket("ROUTER", { plainServer: true });
    expect(plainServer.get("plainServer")).toBe(true);
    const plainClient = new ZSocket("DEALER", { plainUsername: "admin", plainPassword: "secret" });
    expect([plainClient.get("plainUsername"), plainClient.get("plainPassword"), plainClient.raw.securityMechanism]).toEqual(["admin", "secret", "plain"]);
    expect(() => new ZSocket("DEALER", { curveSecretKey: "too short" })).toThrow(/option curveSecretKey = "too short" was refused/);
  });

  it("throws clear typed errors for bad arguments", async () => {
    expect(() => new ZSocket("ROUTERX" as SocketType)).toThrow(InvalidArgumentError);
    expect(() => new ZSocket("ROUTERX" as SocketType)).toThrow(/use one of PAIR, PUB/);
    await expect(ZSocket.router("@nope://x")).rejects.toThrow(InvalidEndpointError);
    await expect(ZSocket.dealer(">tcp://")).rejects.toBeInstanceOf(ZkitError);
    expect(openSocketCount()).toBe(0); // failed creations do not leak sockets
  });

  it("reports a port in use as ZKIT_ADDRESS_IN_USE", async () => {
    const a = await ZSocket.router("@tcp://127.0.0.1:*");
    expect(await codeOf(ZSocket.router(`@${a.endpoint}`))).toBe(ErrorCode.AddressInUse);
  });
});

describe.each([
  ["tcp", () => "tcp://127.0.0.1:*"],
  [
    "ipc",
    () => {
      const t = tempDir();
      dirs.push(t.remove);
      return `ipc://${t.dir}/sock`;
    },
  ],
  ["inproc", () => inprocName()],
])("request-reply over %s", (_name, address) => {
  it("REQ and REP exchange multipart messages", async () => {
    const rep = await ZSocket.rep(`@${address()}`);
    const req = await ZSocket.req(`>${rep.endpoint}`);
    for (let i = 0; i < 10; i++) {
      await req.send(["Hello", Buffer.from([i])]);
      const [a, b] = await within(rep.receive(), 5000, "request");
      expect(a!.toString()).toBe("Hello");
      expect(b![0]).toBe(i);
      await rep.send("World");
      expect((await within(req.receive(), 5000, "reply"))[0]!.toString()).toBe("World");
    }
  });
});

describe("sending", () => {
  it("keeps call order for many concurrent senders and never surfaces EBUSY", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*");
    // a small high-water mark forces sends to block, so the queue really fills
    const dealer = await ZSocket.dealer(`>${router.endpoint}`, { sendHighWaterMark: 5 });
    const producers = 20;
    const each = 500;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < each; i++) for (let p = 0; p < producers; p++) sends.push(dealer.send([String(p), String(i)]));
    expect(dealer.queuedSends).toBeGreaterThan(0);
    const received: string[] = [];
    while (received.length < producers * each) {
      const [, p, i] = await within(router.receive(), 10_000, `message ${received.length}`);
      received.push(`${p!.toString()}:${i!.toString()}`);
    }
    await within(Promise.all(sends), 10_000, "every send to resolve");
    // global order is call order: round robin over producers, i ascending
    for (let k = 0; k < received.length; k++) {
      expect(received[k]).toBe(`${k % producers}:${Math.floor(k / producers)}`);
    }
    expect(dealer.queuedSends).toBe(0);
    await dealer.flush();
  });

  it("rejects sends still queued when the socket closes, without unhandled rejections", async () => {
    const push = await ZSocket.push(); // not connected: the first send blocks in libzmq
    const first = push.send("a");
    const queued = [push.send("b"), push.send("c")];
    push.send("ignored by its caller"); // not awaited: must not crash the process
    push.close();
    for (const p of [first, ...queued]) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClosedError);
    }
    await expect(push.send("after close")).rejects.toBeInstanceOf(ClosedError);
  });

  it("refuses to send on a socket type that cannot", async () => {
    const sub = await ZSocket.sub();
    expect(await codeOf(sub.send("x"))).toBe(ErrorCode.NotSupported);
    const pub = await ZSocket.pub();
    expect(await codeOf(pub.receive())).toBe(ErrorCode.NotSupported);
  });

  it("maps ROUTER mandatory with no such peer to ZKIT_HOST_UNREACHABLE", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*", { mandatory: true, sendTimeout: 0 });
    expect(await codeOf(router.send(["nobody", "hi"]))).toBe(ErrorCode.HostUnreachable);
    // the socket is still usable afterwards
    const dealer = await ZSocket.dealer(`>${router.endpoint}`, { routingId: "somebody" });
    await dealer.send("hello");
    await within(router.receive(), 5000, "hello");
    await router.send(["somebody", "hi"]);
    expect((await within(dealer.receive(), 5000, "hi"))[0]!.toString()).toBe("hi");
  });

  it("keeps call order when send and post mix past zeromq.js's 512 synchronous sends in one turn", async () => {
    // zeromq.js hands a send to libzmq at once only 512 times in a row, then
    // makes the next one wait and throws EBUSY on the one after: ZSocket
    // must queue behind it, in order, whichever of send and post was used
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*", { receiveHighWaterMark: 0 });
    const push = await ZSocket.push(`>${pull.endpoint}`, { sendHighWaterMark: 0 });
    const n = 3000;
    const sends: Promise<void>[] = [];
    const failures: unknown[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) sends.push(push.send(String(i)));
      else push.post(String(i), (err) => failures.push(err));
    }
    expect(push.queuedSends).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) {
      const [m] = await within(pull.receive(), 10_000, `message ${i}`);
      expect(m!.toString()).toBe(String(i));
    }
    await within(Promise.all(sends), 10_000, "every send to resolve");
    await within(push.flush(), 10_000, "flush");
    expect(push.queuedSends).toBe(0);
    expect(failures).toEqual([]);
  });

  it("post reports a failure with the message to its callback, asynchronously", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*", { mandatory: true, sendTimeout: 0 });
    const failures: { code: string; to: string }[] = [];
    let inside = true;
    router.post(["nobody", "hi"], (err, message) => {
      expect(inside).toBe(false);
      failures.push({ code: err.code, to: String((message as string[])[0]) });
    });
    inside = false;
    await waitFor(() => failures.length === 1, 5000, "the failure callback");
    expect(failures).toEqual([{ code: ErrorCode.HostUnreachable, to: "nobody" }]);
    // without a callback a failure is logged, never an unhandled rejection
    router.post(["nobody either", "hi"]);
    await router.flush();
    // a reachable peer gets what is posted
    const dealer = await ZSocket.dealer(`>${router.endpoint}`, { routingId: "somebody" });
    await dealer.send("hello");
    await within(router.receive(), 5000, "hello");
    router.post(["somebody", "hi"], (err) => failures.push({ code: err.code, to: "somebody" }));
    expect((await within(dealer.receive(), 5000, "hi"))[0]!.toString()).toBe("hi");
    expect(failures).toHaveLength(1);
  });

  it("post on a closed socket, or behind a send the close cut off, reports ZKIT_CLOSED", async () => {
    const push = await ZSocket.push(); // not connected: the first send blocks in libzmq
    const codes: string[] = [];
    const first = push.send("a");
    push.post("b", (err) => codes.push(err.code)); // queued behind the blocked one
    push.close();
    push.post("c", (err) => codes.push(err.code));
    expect(await codeOf(first)).toBe(ErrorCode.Closed);
    await waitFor(() => codes.length === 2, 5000, "both failure callbacks");
    expect(codes).toEqual([ErrorCode.Closed, ErrorCode.Closed]);
  });

  it("flush waits for a send that libzmq has not taken yet", async () => {
    const push = await ZSocket.push(); // not connected: the send waits in zeromq.js
    void push.send("a");
    push.post("b");
    let flushed = false;
    const flush = push.flush().then(() => (flushed = true));
    await new Promise((r) => setImmediate(r));
    expect(flushed).toBe(false);
    const server = await ZSocket.pull("@tcp://127.0.0.1:*");
    push.connect(server.endpoint);
    await within(flush, 10_000, "flush once both messages left");
    expect((await within(server.receive(), 5000, "a"))[0]!.toString()).toBe("a");
    expect((await within(server.receive(), 5000, "b"))[0]!.toString()).toBe("b");
  });

  it("maps REQ misuse to ZKIT_STATE", async () => {
    const rep = await ZSocket.rep("@tcp://127.0.0.1:*");
    const req = await ZSocket.req(`>${rep.endpoint}`, { sendTimeout: 0 });
    await req.send("one");
    expect(await codeOf(req.send("two"))).toBe(ErrorCode.State);
  });
});

describe("receiving", () => {
  it("allows one reader: a second concurrent receive is ZKIT_BUSY", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const first = pull.receive();
    expect(await codeOf(pull.receive())).toBe(ErrorCode.Busy);
    const push = await ZSocket.push(`>${pull.endpoint}`);
    await push.send("x");
    expect((await within(first, 5000, "first receive"))[0]!.toString()).toBe("x");
  });

  it("rejects a pending receive with ZKIT_CLOSED when the socket closes", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const pending = pull.receive();
    pull.close();
    pull.close(); // idempotent
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(pull.receive()).rejects.toBeInstanceOf(ClosedError);
  });

  it("reports receiveTimeout as ZKIT_TIMEOUT and stays usable", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*", { receiveTimeout: 20 });
    expect(await codeOf(pull.receive())).toBe(ErrorCode.Timeout);
    const push = await ZSocket.push(`>${pull.endpoint}`);
    await push.send("late");
    pull.set("receiveTimeout", -1);
    expect((await within(pull.receive(), 5000, "message"))[0]!.toString()).toBe("late");
  });

  it("for await yields every message and ends when the socket closes", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    for (let i = 0; i < 100; i++) void push.send(String(i));
    const got: number[] = [];
    const loop = (async () => {
      for await (const [frame] of pull) {
        got.push(Number(frame!.toString()));
        if (got.length === 100) setImmediate(() => pull.close());
      }
      return "ended";
    })();
    expect(await within(loop, 10_000, "loop to end")).toBe("ended");
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("subscribes SUB sockets by prefix", async () => {
    const pub = await ZSocket.pub("@tcp://127.0.0.1:*");
    const sub = await ZSocket.sub(`>${pub.endpoint}`, "10001 ");
    // the subscription travels asynchronously: publish until one arrives
    const first = sub.receive();
    let arrived = false;
    void first.then(() => (arrived = true));
    while (!arrived) {
      await pub.send("99999 other");
      await pub.send("10001 wanted");
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await first)[0]!.toString()).toBe("10001 wanted");
  });

  it("waitReadable reads ahead without losing or reordering messages", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    expect(pull.readable).toBe(false);
    const ready = pull.waitReadable();
    expect(pull.waitReadable()).toBe(ready); // shared while pending
    for (let i = 0; i < 50; i++) void push.send(String(i));
    expect(await within(ready, 5000, "readable")).toBe(true);
    expect(pull.readable).toBe(true);
    const got: string[] = [];
    for (let i = 0; i < 50; i++) {
      if (i % 3 === 0) await pull.waitReadable();
      got.push((await within(pull.receive(), 5000, `message ${i}`))[0]!.toString());
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it("receive waits on a pending waitReadable instead of losing its message", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    const ready = pull.waitReadable();
    const msg = pull.receive();
    await push.send("one");
    await push.send("two");
    expect((await within(msg, 5000, "one"))[0]!.toString()).toBe("one");
    expect(await ready).toBe(true);
    expect((await within(pull.receive(), 5000, "two"))[0]!.toString()).toBe("two");
  });

  it("reading readable while a receive is pending never stalls that receive", async () => {
    // zeromq.js 6.8: polling the native readable flag during a pending receive
    // can eat libzmq's wake-up; ZSocket.readable must not touch it then.
    for (let i = 0; i < 30; i++) {
      const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
      const push = await ZSocket.push(`>${pull.endpoint}`);
      const ready = pull.waitReadable();
      let done = false;
      void ready.then(() => (done = true));
      await push.send("x");
      const deadline = Date.now() + 5000;
      while (!done && Date.now() < deadline) {
        void pull.readable;
        await new Promise((r) => setImmediate(r));
      }
      expect(await within(ready, 1000, `waitReadable in round ${i}`)).toBe(true);
      expect(pull.readable).toBe(true);
      pull.close();
      push.close();
    }
  });

  it("receiveReady takes the read-ahead message without a promise, and nothing else", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    expect(pull.receiveReady()).toBeUndefined(); // nothing read ahead
    const ready = pull.waitReadable();
    expect(pull.receiveReady()).toBeUndefined(); // still waiting
    push.post("one");
    push.post("two");
    expect(await within(ready, 5000, "readable")).toBe(true);
    expect(pull.receiveReady()![0]!.toString()).toBe("one");
    expect(pull.receiveReady()).toBeUndefined(); // taken: "two" is still in libzmq
    expect((await within(pull.receive(), 5000, "two"))[0]!.toString()).toBe("two");
  });

  it("waitReadable resolves false when the socket closes", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const ready = pull.waitReadable();
    pull.close();
    expect(await within(ready, 5000, "waitReadable")).toBe(false);
  });
});

describe("lifecycle", () => {
  it("shutdown closes every open socket and ends their loops", async () => {
    const a = await ZSocket.pull("@tcp://127.0.0.1:*");
    const b = await ZSocket.router("@tcp://127.0.0.1:*");
    const loops = [a, b].map(async (s) => {
      for await (const _ of s) void _;
      return true;
    });
    expect(openSocketCount()).toBe(2);
    expect(shutdown()).toBe(2);
    expect(await within(Promise.all(loops), 5000, "loops to end")).toEqual([true, true]);
    expect(a.closed && b.closed).toBe(true);
    expect(shutdown()).toBe(0);
  });

  it("supports await using", async () => {
    let sock: ZSocket | undefined;
    {
      await using s = await ZSocket.dealer();
      sock = s;
      expect(s.closed).toBe(false);
    }
    expect(sock.closed).toBe(true);
  });

  it("bind, connect and options on a closed socket throw ZKIT_CLOSED", async () => {
    const s = await ZSocket.dealer();
    s.close();
    await expect(s.bind("tcp://127.0.0.1:*")).rejects.toBeInstanceOf(ClosedError);
    expect(() => s.connect("tcp://127.0.0.1:1")).toThrow(ClosedError);
    expect(() => s.set("linger", 0)).toThrow(ClosedError);
  });

  it("unbinds and disconnects", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const ep = pull.endpoint;
    const push = await ZSocket.push(`>${ep}`);
    push.disconnect(ep);
    expect(push.endpoints).toEqual([]);
    await pull.unbind(ep);
    expect(pull.endpoints).toEqual([]);
  });
});
