// The decisions of a Titanic server without sockets or files: TitanicState
// (which uuids exist, pending vs replied, forwarding order, sequence
// numbers) and the Dispatcher's scheduling (ask mmi.service once per service
// per round, forward only to services that are up, at most `concurrency` at
// a time, never the same request twice at once, retry later what timed out,
// stop when the broker does not answer). Hooks are plain functions here.
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@zkit/testkit";
import { Dispatcher, type DispatcherHooks, type ForwardResult } from "../src/dispatcher.js";
import { TitanicState, type Entry } from "../src/state.js";

const WAIT_MS = 10_000;
const id = (n: number): string => n.toString(16).padStart(32, "0");

describe("TitanicState", () => {
  it("loads a directory's requests: pending vs replied, order, next sequence number", () => {
    const s = new TitanicState();
    const pending = s.load([
      { uuid: id(1), service: "a", seq: 3, storedAtMs: 0, replied: false },
      { uuid: id(2), service: "b", seq: 5, storedAtMs: 0, replied: true },
      { uuid: id(3), service: "a", seq: 9, storedAtMs: 0, replied: false },
    ]);
    expect(pending).toBe(2);
    expect(s.size).toBe(3);
    expect([...s.pending()].map((e) => e.uuid)).toEqual([id(1), id(3)]);
    expect(s.nextSeq()).toBe(10);
    expect(s.decideReply(id(1))).toBe("pending");
    expect(s.decideReply(id(2))).toBe("replied");
    expect(s.decideReply(id(4))).toBe("unknown");
  });

  it("add, markReplied, remove, restore; replyLost puts a request back, or forgets a reply-only entry", () => {
    const s = new TitanicState();
    expect(s.nextSeq()).toBe(1);
    const e = s.add(id(1), "echo", 1);
    expect(s.isPending(e)).toBe(true);
    s.markReplied(e);
    expect(s.isPending(e)).toBe(false);
    expect(s.pendingCount).toBe(0);
    expect(s.replyLost(e)).toBe(true);
    expect(s.decideReply(id(1))).toBe("pending");
    expect(s.remove(id(1))).toBe(e);
    expect(s.isPending(e)).toBe(false); // a removed entry is never pending again
    expect(s.replyLost(e)).toBe(false);
    s.restore(e);
    expect(s.decideReply(id(1))).toBe("pending");

    s.load([{ uuid: id(2), service: undefined, seq: 4, storedAtMs: 0, replied: true }]);
    expect(s.replyLost(s.get(id(2))!)).toBe(false); // nothing to forward again
    expect(s.decideReply(id(2))).toBe("unknown");
  });
});

interface Harness {
  state: TitanicState;
  dispatcher: Dispatcher<Entry>;
  asked: string[];
  forwarded: string[];
  /** Resolves the forward of `uuid` with `result` (replied marks it replied). */
  finish(uuid: string, result: ForwardResult): void;
  up: Map<string, boolean | undefined>;
  /** Called while mmi.service is "on the wire", before its answer. */
  beforeAnswer: ((service: string) => void) | undefined;
}

const running: { dispatcher: Dispatcher<Entry>; open: Map<string, (r: ForwardResult) => void> }[] = [];
afterEach(async () => {
  for (const { dispatcher, open } of running.splice(0)) {
    const stopping = dispatcher.stop();
    for (const f of open.values()) f("failed"); // forwards a test left open
    await stopping;
  }
});

function harness(concurrency: number, intervalMs = 50): Harness {
  const state = new TitanicState();
  const asked: string[] = [];
  const forwarded: string[] = [];
  const open = new Map<string, (r: ForwardResult) => void>();
  const up = new Map<string, boolean | undefined>();
  const hooks: DispatcherHooks<Entry> = {
    pending: () => state.pending(),
    stillPending: (e) => state.isPending(e),
    serviceUp: async (service) => {
      asked.push(service);
      await new Promise((r) => setImmediate(r));
      h.beforeAnswer?.(service);
      return up.get(service);
    },
    forward: (e) =>
      new Promise<ForwardResult>((resolve) => {
        forwarded.push(e.uuid);
        open.set(e.uuid, (r) => {
          if (r === "replied") state.markReplied(e);
          resolve(r);
        });
      }),
  };
  const dispatcher = new Dispatcher<Entry>({ intervalMs, concurrency }, hooks);
  running.push({ dispatcher, open });
  const h: Harness = {
    beforeAnswer: undefined,
    state,
    dispatcher,
    asked,
    forwarded,
    up,
    finish(uuid, result) {
      const f = open.get(uuid);
      if (!f) throw new Error(`${uuid} is not being forwarded`);
      open.delete(uuid);
      f(result);
    },
  };
  return h;
}

describe("Dispatcher", () => {
  it("forwards only to services that are up, in order, at most `concurrency` at once", async () => {
    const h = harness(2);
    h.up.set("a", true);
    h.up.set("b", false);
    for (let i = 1; i <= 5; i++) h.state.add(id(i), i === 2 ? "b" : "a", i);
    h.dispatcher.start();
    await waitFor(() => h.forwarded.length === 2, WAIT_MS, "two forwards");
    expect(h.forwarded).toEqual([id(1), id(3)]);
    expect(h.dispatcher.inFlight).toBe(2);
    expect(h.dispatcher.isInFlight(id(1))).toBe(true);
    h.finish(id(1), "replied");
    await waitFor(() => h.forwarded.length === 3, WAIT_MS, "the third forward");
    expect(h.forwarded[2]).toBe(id(4));
    h.finish(id(3), "replied");
    h.finish(id(4), "replied");
    await waitFor(() => h.forwarded.length === 4, WAIT_MS, "the last forward for a");
    h.finish(id(5), "replied");
    // b's request waits: b has no worker
    await waitFor(() => h.asked.filter((s) => s === "b").length >= 3, WAIT_MS, "b asked again on later rounds");
    expect(h.forwarded).not.toContain(id(2));
    h.up.set("b", true);
    await waitFor(() => h.forwarded.includes(id(2)), WAIT_MS, "b's request once b is up");
    h.finish(id(2), "replied");
    await waitFor(() => h.dispatcher.inFlight === 0, WAIT_MS, "nothing in flight");
    expect(h.state.pendingCount).toBe(0);
  });

  it("asks mmi once per service per round, and trusts a 200 for an interval", async () => {
    const h = harness(10, 60_000);
    h.up.set("a", true);
    for (let i = 1; i <= 4; i++) h.state.add(id(i), "a", i);
    h.dispatcher.start();
    await waitFor(() => h.forwarded.length === 4, WAIT_MS, "four forwards");
    expect(h.asked).toEqual(["a"]);
    h.state.add(id(5), "a", 5);
    h.dispatcher.wake();
    await waitFor(() => h.forwarded.length === 5, WAIT_MS, "the fifth forward");
    expect(h.asked).toEqual(["a"]); // the 200 is still trusted
    // a timeout makes it ask again
    h.finish(id(1), "timeout");
    h.dispatcher.forgetService("a");
    h.state.add(id(6), "a", 6);
    h.dispatcher.wake();
    await waitFor(() => h.forwarded.includes(id(6)), WAIT_MS, "the sixth forward");
    expect(h.asked).toEqual(["a", "a"]);
  });

  it("a request that timed out goes again on a later round, never twice at once", async () => {
    const h = harness(4, 40);
    h.up.set("a", true);
    h.state.add(id(1), "a", 1);
    h.dispatcher.start();
    await waitFor(() => h.forwarded.length === 1, WAIT_MS, "the forward");
    const rounds = h.dispatcher.rounds;
    await waitFor(() => h.dispatcher.rounds >= rounds + 3, WAIT_MS, "more rounds");
    expect(h.forwarded).toEqual([id(1)]); // in flight: not again
    h.finish(id(1), "timeout");
    await waitFor(() => h.forwarded.length === 2, WAIT_MS, "the second forward");
    expect(h.forwarded).toEqual([id(1), id(1)]);
    h.finish(id(1), "replied");
  });

  it("stops a round when the broker does not answer, and tries again later", async () => {
    const h = harness(4, 30);
    h.up.set("a", undefined); // no answer
    h.state.add(id(1), "a", 1);
    h.state.add(id(2), "b", 2);
    h.dispatcher.start();
    await waitFor(() => h.asked.length >= 3, WAIT_MS, "several rounds");
    expect(h.asked.every((s) => s === "a")).toBe(true); // b is not asked in a round where a got no answer
    h.up.set("a", true);
    await waitFor(() => h.forwarded.includes(id(1)), WAIT_MS, "a's request once the broker answers");
    h.finish(id(1), "replied");
  });

  it("skips a request closed while its round waited for mmi", async () => {
    const h = harness(4, 60_000);
    h.up.set("a", true);
    h.state.add(id(1), "a", 1);
    h.state.add(id(2), "a", 2);
    h.beforeAnswer = () => h.state.remove(id(1)); // titanic.close arrives meanwhile
    h.dispatcher.start();
    await waitFor(() => h.forwarded.length === 1, WAIT_MS, "one forward");
    expect(h.forwarded).toEqual([id(2)]);
    h.finish(id(2), "replied");
  });

  it("stop() ends the rounds and waits for the forwards in flight", async () => {
    const h = harness(2, 20);
    h.up.set("a", true);
    h.state.add(id(1), "a", 1);
    h.dispatcher.start();
    await waitFor(() => h.forwarded.length === 1, WAIT_MS, "the forward");
    let stopped = false;
    const stopping = h.dispatcher.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    h.finish(id(1), "failed");
    await stopping;
    const rounds = h.dispatcher.rounds;
    h.state.add(id(2), "a", 2);
    h.dispatcher.wake();
    await new Promise((r) => setImmediate(r)); // the loop has ended: no round can start any more
    expect(h.dispatcher.rounds).toBe(rounds);
    expect(h.forwarded).toEqual([id(1)]);
  });
});
