// ZPoller over real sockets: priority by registration order, null on
// timeout or termination, and no message lost by waiting, whatever the
// timeouts, because waiting only reads one message ahead per socket.
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ZSocket, type ZkitError, now, openSocketCount, shutdown, type Pollable } from "@zkit/core";
import { ZPoller, isPollable } from "@zkit/zloop";
import { inprocName, within } from "@zkit/testkit";
import { checkSequence, frame, num } from "./helpers.js";

afterEach(() => {
  shutdown();
  expect(openSocketCount()).toBe(0);
});

async function pair(transport: "tcp" | "inproc" = "tcp"): Promise<{ push: ZSocket<"PUSH">; pull: ZSocket<"PULL"> }> {
  const pull = await ZSocket.pull(transport === "tcp" ? "@tcp://127.0.0.1:*" : `@${inprocName("zloop")}`);
  const push = await ZSocket.push(`>${pull.endpoint}`);
  return { push, pull };
}

describe("ZPoller", () => {
  it("returns the first readable socket in registration order", async () => {
    const a = await pair();
    const b = await pair();
    const poller = new ZPoller(a.pull, b.pull);
    expect(poller.sockets).toEqual([a.pull, b.pull]);
    await b.push.send("b1");
    // only b has a message: b
    expect(await within(poller.wait(5000), 5000, "wait b")).toBe(b.pull);
    await a.push.send("a1");
    // a's lookahead (started by the first wait) completes: a is readable
    expect(await within(a.pull.waitReadable(), 5000, "a readable")).toBe(true);
    // both readable: a first, because it was registered first
    expect(await poller.wait(0)).toBe(a.pull);
    expect((await a.pull.receive()).toString()).toBe("a1");
    expect(await poller.wait(0)).toBe(b.pull);
    expect((await b.pull.receive()).toString()).toBe("b1");
    expect(poller.expired).toBe(false);
    expect(poller.terminated).toBe(false);
  });

  it("after wait() returns a socket, receive() gets the message at once", async () => {
    const { push, pull } = await pair();
    const poller = new ZPoller(pull);
    const waiting = poller.wait(-1);
    await push.send(["x", "y"]);
    expect(await within(waiting, 5000, "wait")).toBe(pull);
    expect(pull.readable).toBe(true);
    expect((await pull.receive()).map(String)).toEqual(["x", "y"]);
  });

  it("returns null with expired set when the timeout passes", async () => {
    const { pull } = await pair();
    const poller = new ZPoller(pull);
    const t0 = now();
    expect(await poller.wait(40)).toBeNull();
    expect(now() - t0).toBeGreaterThanOrEqual(39);
    expect(poller.expired).toBe(true);
    expect(poller.terminated).toBe(false);
    // 0 = do not wait
    expect(await poller.wait(0)).toBeNull();
    expect(poller.expired).toBe(true);
  });

  it("returns null with terminated set when a polled socket closes, and drops it", async () => {
    const a = await pair();
    const b = await pair();
    const poller = new ZPoller(a.pull, b.pull);
    const waiting = poller.wait(-1);
    a.pull.close();
    expect(await within(waiting, 5000, "wait")).toBeNull();
    expect(poller.terminated).toBe(true);
    expect(poller.expired).toBe(false);
    expect(poller.sockets).toEqual([b.pull]);
    // the next wait watches the others
    await b.push.send("still here");
    expect(await within(poller.wait(5000), 5000, "wait b")).toBe(b.pull);
    expect(poller.terminated).toBe(false);
    // a closed socket with a message read ahead is still returned until it is taken
    b.pull.close();
    expect(await poller.wait(0)).toBe(b.pull);
    expect((await b.pull.receive()).toString()).toBe("still here");
    expect(await poller.wait(5000)).toBeNull();
    expect(poller.terminated).toBe(true);
  });

  it("remove() stops polling a socket; its read-ahead message stays in it", async () => {
    const a = await pair();
    const b = await pair();
    const poller = new ZPoller(a.pull, b.pull);
    // a wait that times out has read ahead on both sockets
    expect(await poller.wait(10)).toBeNull();
    await a.push.send("for a");
    expect(await within(a.pull.waitReadable(), 5000, "a readable")).toBe(true);
    expect(poller.remove(a.pull)).toBe(true);
    expect(poller.remove(a.pull)).toBe(false);
    expect(await poller.wait(20)).toBeNull();
    expect(poller.expired).toBe(true);
    expect((await within(a.pull.receive(), 5000, "a receive")).toString()).toBe("for a");
    // add() during a wait is seen by that wait
    const waiting = poller.wait(5000);
    poller.add(a.pull);
    poller.add(a.pull); // already there: nothing changes
    expect(poller.sockets).toEqual([b.pull, a.pull]);
    await a.push.send("again");
    expect(await within(waiting, 5000, "wait")).toBe(a.pull);
  });

  it("loses nothing: several sockets, interleaved traffic, every message of each in order", async () => {
    const N = 2000;
    const pairs = [await pair("tcp"), await pair("inproc"), await pair("tcp")];
    const poller = new ZPoller(...pairs.map((p) => p.pull));
    const seqs: number[][] = pairs.map(() => []);
    // each socket gets 0..N-1; the sends are interleaved at random
    const next = pairs.map(() => 0);
    const sends: Promise<void>[] = [];
    let remaining = N * pairs.length;
    while (remaining > 0) {
      const s = Math.floor(Math.random() * pairs.length);
      if (next[s]! >= N) continue;
      sends.push(pairs[s]!.push.send(frame(next[s]!++)));
      remaining--;
    }
    let waits = 0;
    let timeouts = 0;
    while (seqs.some((q) => q.length < N)) {
      // mix short timeouts in: a wait that expires must not lose what it read ahead
      const sock = await within(poller.wait(waits++ % 5 === 0 ? 0 : 5000), 8000, "a readable socket");
      if (sock === null) {
        timeouts++;
        continue;
      }
      const s = pairs.findIndex((p) => p.pull === sock);
      seqs[s]!.push(num(await within(sock.receive(), 5000, "the message of a readable socket")));
    }
    await Promise.all(sends);
    for (const q of seqs) expect(checkSequence(q, N)).toBeUndefined();
    expect(waits).toBeGreaterThanOrEqual(N * pairs.length);
    expect(timeouts + N * pairs.length).toBe(waits);
  });

  it("works with any Pollable", async () => {
    // a minimal Pollable over a ZSocket, as an actor would be
    const { push, pull } = await pair("inproc");
    const wrapped: Pollable = {
      receive: () => pull.receive(),
      waitReadable: () => pull.waitReadable(),
      get readable() {
        return pull.readable;
      },
      get closed() {
        return pull.closed;
      },
    };
    expect(isPollable(wrapped)).toBe(true);
    const poller = new ZPoller(wrapped);
    await push.send("via wrapper");
    expect(await within(poller.wait(5000), 5000, "wait")).toBe(wrapped);
    expect((await wrapped.receive()).toString()).toBe("via wrapper");
  });

  it("rejects bad arguments and a second concurrent wait", async () => {
    const { pull } = await pair();
    expect(isPollable({})).toBe(false);
    expect(() => new ZPoller({} as unknown as Pollable)).toThrow(InvalidArgumentError);
    const poller = new ZPoller<Pollable>(pull);
    expect(() => poller.add("tcp://x" as unknown as Pollable)).toThrow(/expected a Pollable/);
    expect(() => poller.remove(undefined as unknown as Pollable)).toThrow(InvalidArgumentError);
    await expect(poller.wait(-2)).rejects.toThrow(/-1 \(forever\), 0 \(no wait\)/);
    await expect(poller.wait(Number.NaN)).rejects.toThrow(InvalidArgumentError);
    const first = poller.wait(20);
    const err = await poller.wait(20).catch((e: unknown) => e);
    expect((err as ZkitError).code).toBe(ErrorCode.Busy);
    expect(await first).toBeNull();
  });
});
