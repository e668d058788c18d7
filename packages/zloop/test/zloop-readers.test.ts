// ZLoop readers over real sockets: every message reaches every handler in
// order, and nothing is lost by removing/re-adding readers or by stopping
// and restarting the loop (the read-ahead message stays in the socket).
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ZSocket, ZkitError, openSocketCount, type Pollable } from "@zkit/core";
import type { ZLoop } from "@zkit/zloop";
import { inprocName, waitFor, within } from "@zkit/testkit";
import { checkSequence, destroyLoops, frame, newLoop, num } from "./helpers.js";

afterEach(() => {
  destroyLoops();
  expect(openSocketCount()).toBe(0);
});

/** A PULL bound on tcp://127.0.0.1:* and a PUSH connected to it. */
async function pushPull(options: { hwm?: number } = {}): Promise<{ push: ZSocket<"PUSH">; pull: ZSocket<"PULL"> }> {
  const hwm = options.hwm === undefined ? {} : { sendHighWaterMark: options.hwm, receiveHighWaterMark: options.hwm };
  const pull = await ZSocket.pull("@tcp://127.0.0.1:*", hwm);
  const push = await ZSocket.push(`>${pull.endpoint}`, hwm);
  return { push, pull };
}

/** Sends 0..n-1 without waiting for each (the ZSocket send queue orders them). */
function sendAll(push: ZSocket, n: number, from = 0): Promise<void> {
  const sends: Promise<void>[] = [];
  for (let i = from; i < from + n; i++) sends.push(push.send(frame(i)));
  return Promise.all(sends).then(() => undefined);
}

describe("readers", () => {
  it("hands each message to the handler with the socket and the loop", async () => {
    const { push, pull } = await pushPull();
    const loop = newLoop();
    const got: { msg: string[]; sock: Pollable; loop: ZLoop }[] = [];
    loop.reader(pull, (msg, sock, l) => {
      got.push({ msg: msg.map(String), sock, loop: l });
      return -1;
    });
    await push.send(["a", "b"]);
    await within(loop.start(), 5000, "loop end");
    expect(got).toEqual([{ msg: ["a", "b"], sock: pull, loop }]);
  });

  it("gives every message to every handler of a socket, in registration order", async () => {
    const { push, pull } = await pushPull();
    const loop = newLoop();
    const calls: string[] = [];
    loop.reader(pull, (msg) => void calls.push(`first ${num(msg)}`));
    loop.reader(pull, (msg) => {
      calls.push(`second ${num(msg)}`);
      if (num(msg) === 2) return -1;
    });
    await sendAll(push, 3);
    await within(loop.start(), 5000, "loop end");
    expect(calls).toEqual(["first 0", "second 0", "first 1", "second 1", "first 2", "second 2"]);
  });

  it("awaits an async handler before the socket's next message, keeping order", async () => {
    const { push, pull } = await pushPull();
    const loop = newLoop();
    const seq: number[] = [];
    let active = 0;
    let maxActive = 0;
    loop.reader(pull, async (msg) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setImmediate(r));
      if (num(msg) % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      seq.push(num(msg));
      active--;
      if (seq.length === 200) return -1;
    });
    await sendAll(push, 200);
    await within(loop.start(), 10_000, "loop end");
    expect(checkSequence(seq, 200)).toBeUndefined();
    expect(maxActive).toBe(1);
  });

  it("loses nothing when the reader is removed and re-added again and again mid-stream (10k messages)", async () => {
    const N = 10_000;
    const { push, pull } = await pushPull();
    const loop = newLoop();
    const seq: number[] = [];
    let toggles = 0;
    // alternate between two handler functions, so a message must reach the
    // handler registered when it is dispatched
    const onA = (msg: Buffer[]): number | undefined => {
      seq.push(num(msg));
      if (seq.length === N) return -1;
      // from inside the handler: remove, and add back on a later turn
      if (seq.length % 97 === 0) {
        loop.readerEnd(pull);
        toggles++;
        setImmediate(() => {
          if (!pull.closed && loop.readerCount === 0) loop.reader(pull, onB);
        });
      }
      return undefined;
    };
    const onB = (msg: Buffer[]): number | undefined => {
      seq.push(num(msg));
      if (seq.length === N) return -1;
      if (seq.length % 89 === 0) {
        // remove and re-add at once (the read loop keeps its place)
        loop.readerEnd(pull);
        loop.reader(pull, onA);
        toggles++;
      }
      return undefined;
    };
    loop.reader(pull, onA);
    // and from outside the handlers: a timer that toggles the reader,
    // hitting the read loop while it waits on the socket
    loop.timer(1, 0, () => {
      if (loop.readerCount > 0) loop.readerEnd(pull);
      else loop.reader(pull, onA);
      toggles++;
    });
    const sent = sendAll(push, N);
    // keep the reader present at the end so the loop can finish
    const ended = loop.start();
    await within(sent, 20_000, "all sent");
    await waitFor(() => seq.length >= N - 50 || !loop.running, 20_000, "most messages");
    loop.timer(2, 0, () => {
      if (loop.readerCount === 0) loop.reader(pull, onA);
    });
    await within(ended, 20_000, "all messages");
    expect(checkSequence(seq, N)).toBeUndefined();
    expect(toggles).toBeGreaterThan(50);
  });

  it("loses nothing when one socket's handlers toggle another socket's reader at every message", async () => {
    const N = 5000;
    const a = await pushPull();
    const b = await pushPull();
    const loop = newLoop();
    const seqA: number[] = [];
    let bCount = 0;
    const onA = (msg: Buffer[]): number | undefined => {
      seqA.push(num(msg));
      return seqA.length === N ? -1 : undefined;
    };
    loop.reader(a.pull, onA);
    loop.reader(b.pull, () => {
      bCount++;
      // reader of A goes away and comes back while A's read loop is anywhere:
      // waiting, between take and dispatch, or dispatching
      if (loop.readerEnd(a.pull)) queueMicrotask(() => loop.reader(a.pull, onA));
      else loop.reader(a.pull, onA);
    });
    const ended = loop.start();
    await Promise.all([sendAll(a.push, N), sendAll(b.push, N)]);
    await within(ended, 20_000, "all of A");
    expect(checkSequence(seqA, N)).toBeUndefined();
    expect(bCount).toBeGreaterThan(100);
  });

  it("loses nothing when the loop is stopped and restarted mid-stream", async () => {
    const N = 10_000;
    const { push, pull } = await pushPull();
    const loop = newLoop();
    const seq: number[] = [];
    loop.reader(pull, (msg) => {
      seq.push(num(msg));
      if (seq.length % 1000 === 0) return -1; // ends this run
      if (seq.length % 377 === 0) loop.stop();
      return undefined;
    });
    // and stops from outside, while the read loop waits on the socket
    loop.timer(3, 0, () => -1);
    const sent = sendAll(push, N);
    let runs = 0;
    while (seq.length < N) {
      runs++;
      await within(loop.start(), 10_000, `run ${runs}`);
      // messages keep arriving while the loop is stopped
      if (runs % 3 === 0) await new Promise((r) => setImmediate(r));
      if (runs > 100_000) break;
    }
    await sent;
    expect(checkSequence(seq, N)).toBeUndefined();
    expect(runs).toBeGreaterThan(20);
    // after the loop, the socket is still readable from outside and in order
    await push.send(frame(N));
    expect(num(await within(pull.receive(), 5000, "direct receive"))).toBe(N);
  });

  it("leaves a read-ahead message in the socket for a direct receive() after readerEnd", async () => {
    const name = inprocName("zloop");
    const pull = await ZSocket.pull(`@${name}`);
    const push = await ZSocket.push(`>${name}`);
    const loop = newLoop();
    const seen: number[] = [];
    loop.reader(pull, (msg) => {
      seen.push(num(msg));
      loop.readerEnd(pull); // one message only, then read by hand
    });
    const ended = loop.start();
    await sendAll(push, 5);
    await waitFor(() => seen.length === 1, 5000, "first message");
    const rest: number[] = [];
    for (let i = 0; i < 4; i++) rest.push(num(await within(pull.receive(), 5000, "direct receive")));
    loop.stop();
    await ended;
    expect(seen).toEqual([0]);
    expect(rest).toEqual([1, 2, 3, 4]);
  });

  it("lets handlers add and remove readers of other sockets while running", async () => {
    const a = await pushPull();
    const b = await pushPull();
    const loop = newLoop();
    const log: string[] = [];
    loop.reader(a.pull, (msg) => {
      log.push(`a${num(msg)}`);
      if (num(msg) === 0) loop.reader(b.pull, (m) => void log.push(`b${num(m)}`));
      if (num(msg) === 1) loop.readerEnd(b.pull);
      if (num(msg) === 2) return -1;
    });
    const ended = loop.start();
    await a.push.send(frame(0));
    await waitFor(() => loop.readerCount === 2, 5000, "reader of b");
    await b.push.send(frame(7));
    await waitFor(() => log.includes("b7"), 5000, "b7");
    await a.push.send(frame(1));
    await waitFor(() => log.includes("a1"), 5000, "a1");
    await b.push.send(frame(8));
    await a.push.send(frame(2));
    await within(ended, 5000, "loop end");
    expect(log).toEqual(["a0", "b7", "a1", "a2"]);
    // b's message 8 is still in b, not lost
    expect(num(await within(b.pull.receive(), 5000, "b8"))).toBe(8);
  });

  it("removes the reader of a socket that closes, and keeps running", async () => {
    const { push, pull } = await pushPull();
    const loop = newLoop();
    let ticks = 0;
    loop.reader(pull, () => {});
    loop.timer(2, 0, () => void ticks++);
    const ended = loop.start();
    await push.send("x");
    pull.close();
    await waitFor(() => loop.readerCount === 0, 5000, "reader removed");
    const at = ticks;
    await waitFor(() => ticks > at + 2, 5000, "timer still firing");
    expect(loop.running).toBe(true);
    loop.stop();
    await within(ended, 5000, "loop end");
  });

  it("a read error ends the loop with the error unless the reader is tolerant", async () => {
    const { pull } = await pushPull();
    pull.set("receiveTimeout", 10);
    const loop = newLoop();
    loop.reader(pull, () => {});
    const err = await within(loop.start(), 5000, "loop end").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkitError);
    expect((err as ZkitError).code).toBe(ErrorCode.Timeout);
    expect((err as ZkitError).cause).toBeDefined();
    // a non-tolerant reader that failed is removed
    expect(loop.readerCount).toBe(0);
  });

  it("a tolerant reader survives read errors and keeps reading", async () => {
    const { push, pull } = await pushPull();
    pull.set("receiveTimeout", 5);
    const loop = newLoop();
    const got: number[] = [];
    loop.reader(pull, (msg) => {
      got.push(num(msg));
      if (got.length === 3) return -1;
    });
    loop.readerSetTolerant(pull);
    let ticks = 0;
    loop.timer(5, 0, () => void ticks++);
    const ended = loop.start();
    // let several receive timeouts pass first
    await waitFor(() => ticks >= 10, 5000, "timeouts to pass");
    await sendAll(push, 3);
    await within(ended, 5000, "loop end");
    expect(got).toEqual([0, 1, 2]);
  });

  it("a socket that cannot receive ends the loop with ZKIT_NOT_SUPPORTED", async () => {
    const { push } = await pushPull();
    const loop = newLoop();
    loop.reader(push, () => {});
    const err = await within(loop.start(), 5000, "loop end").catch((e: unknown) => e);
    expect((err as ZkitError).code).toBe(ErrorCode.NotSupported);
  });

  it("rejects bad arguments with InvalidArgumentError saying what to pass", async () => {
    const { pull } = await pushPull();
    const loop = newLoop();
    expect(() => loop.reader({} as unknown as Pollable, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.reader(null as unknown as Pollable, () => {})).toThrow(/expected a Pollable/);
    expect(() => loop.reader(pull, "nope" as unknown as () => void)).toThrow(/handler must be a function/);
    expect(() => loop.readerEnd(42 as unknown as Pollable)).toThrow(InvalidArgumentError);
    expect(() => loop.readerSetTolerant(pull)).toThrow(/call loop.reader\(sock, handler\) first/);
    expect(loop.readerEnd(pull)).toBe(false);
    const closed = await ZSocket.pull(`@${inprocName("zloop")}`);
    closed.close();
    expect(() => loop.reader(closed, () => {})).toThrow(/closed/);
  });
});
