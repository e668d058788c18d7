// ROUTER notifications (libzmq's ZMQ_ROUTER_NOTIFY, a draft option zkit
// exposes as `routerNotify`): a ROUTER learns at once that a peer's
// connection ended, after every message that peer sent, whether the peer
// closed its socket or its process was SIGKILLed.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ROUTER_NOTIFY_CONNECT, ROUTER_NOTIFY_DISCONNECT, ZSocket, isRouterNotification, openSocketCount, shutdown } from "@zkit/core";
import { stopAll, within } from "@zkit/testkit";
import { runFixture } from "./helpers.js";

afterEach(async () => {
  shutdown();
  await stopAll();
  expect(openSocketCount()).toBe(0);
});

const hex = (b: Buffer | undefined): string => b?.toString("hex") ?? "";

describe("routerNotify", () => {
  it('disconnect: [id][""] arrives after the last message of a peer that closed', async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*", { routerNotify: ROUTER_NOTIFY_DISCONNECT });
    expect(router.get("routerNotify")).toBe(ROUTER_NOTIFY_DISCONNECT);
    const dealer = await ZSocket.dealer(`>${router.endpoint}`);
    await dealer.send(["", "one"]);
    await dealer.send(["", "two"]);
    const one = await within(router.receive(), 5000, "one");
    const two = await within(router.receive(), 5000, "two");
    expect(isRouterNotification(one)).toBe(false);
    expect(two[2]!.toString()).toBe("two");
    dealer.close();
    const gone = await within(router.receive(), 5000, "the disconnect notification");
    expect(isRouterNotification(gone)).toBe(true);
    expect(hex(gone[0])).toBe(hex(one[0]));
  });

  it("connect and disconnect: both notifications, in order, around the data", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*", { routerNotify: ROUTER_NOTIFY_CONNECT | ROUTER_NOTIFY_DISCONNECT });
    const dealer = await ZSocket.dealer(`>${router.endpoint}`);
    await dealer.send("data");
    const hello = await within(router.receive(), 5000, "connect notification");
    expect(isRouterNotification(hello)).toBe(true);
    const data = await within(router.receive(), 5000, "data");
    expect(data[1]!.toString()).toBe("data");
    dealer.close();
    const bye = await within(router.receive(), 5000, "disconnect notification");
    expect(isRouterNotification(bye)).toBe(true);
    expect(hex(bye[0])).toBe(hex(hello[0]));
  });

  it("a peer process SIGKILLed: the notification comes at once, long before any heartbeat could tell", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*", { routerNotify: ROUTER_NOTIFY_DISCONNECT });
    const peer = runFixture("dealer-peer", [router.endpoint]);
    await peer.waitFor(/sent/, 20_000);
    const hello = await within(router.receive(), 5000, "hello");
    expect(hello[1]!.toString()).toBe("hello");
    const killedAt = performance.now();
    peer.kill("SIGKILL");
    const gone = await within(router.receive(), 5000, "the disconnect notification");
    expect(isRouterNotification(gone)).toBe(true);
    expect(hex(gone[0])).toBe(hex(hello[0]));
    // 5 s is the deadline above; what matters is that it came without a heartbeat protocol at all
    expect(performance.now() - killedAt).toBeLessThan(5000);
  });

  it("without routerNotify, nothing arrives when a peer goes", async () => {
    const router = await ZSocket.router("@tcp://127.0.0.1:*");
    const dealer = await ZSocket.dealer(`>${router.endpoint}`);
    await dealer.send("x");
    await within(router.receive(), 5000, "x");
    dealer.close();
    const sentinel = await ZSocket.dealer(`>${router.endpoint}`);
    await sentinel.send("after");
    const next = await within(router.receive(), 5000, "the sentinel");
    expect(next[1]!.toString()).toBe("after");
  });

  it("is refused on other socket types and for values outside 0-3, naming the option", async () => {
    expect(() => new ZSocket("DEALER", { routerNotify: 2 } as never)).toThrow(InvalidArgumentError);
    expect(() => new ZSocket("DEALER", { routerNotify: 2 } as never)).toThrow(/routerNotify is an option of ROUTER sockets only/);
    expect(() => new ZSocket("ROUTER", { routerNotify: 4 })).toThrow(/routerNotify must be a combination/);
    const router = new ZSocket("ROUTER");
    expect(() => router.set("routerNotify", 7)).toThrow(InvalidArgumentError);
    router.set("routerNotify", ROUTER_NOTIFY_DISCONNECT);
    expect(router.get("routerNotify")).toBe(2);
  });

  it("isRouterNotification: exactly two frames, the second empty", () => {
    const id = Buffer.from([0, 1, 2, 3, 4]);
    expect(isRouterNotification([id, Buffer.alloc(0)])).toBe(true);
    expect(isRouterNotification([id, Buffer.from("x")])).toBe(false);
    expect(isRouterNotification([id, Buffer.alloc(0), Buffer.alloc(0)])).toBe(false);
    expect(isRouterNotification([id])).toBe(false);
  });
});

describe("running out of sockets", () => {
  it("past libzmq's socket limit, creating a socket throws ZKIT_TOO_MANY_SOCKETS with advice, not an argument error", () => {
    const made: ZSocket[] = [];
    let error: unknown;
    try {
      for (let i = 0; i < 5000; i++) made.push(new ZSocket("DEALER", { linger: 0 }));
    } catch (err) {
      error = err;
    }
    for (const s of made) s.close();
    expect(error).toMatchObject({ code: "ZKIT_TOO_MANY_SOCKETS" });
    expect(error).not.toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/cannot create DEALER socket: too many open sockets or files .*raise the limit/);
    // and nothing is left half made: a socket can be created again
    const again = new ZSocket("DEALER");
    again.close();
  });
});
