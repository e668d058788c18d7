// ZActor in this thread (create) and in a Worker (fork): the start
// handshake, echo, the $TERM handshake, idempotent destroy, errors, and the
// start and destroy deadlines.
//
//   owner                              actor
//   ZActor.create/fork ── start ────> fn(pipe, args)
//   (resolves)          <─ signal 0 ── await signal(pipe, 0)   "ready"
//   actor.send/receive  <──────────>   pipe.receive/send
//   destroy() ── ["$TERM"] ────────>   return
//             <─ signal 0 ──────────   (zkit's shim, as in CZMQ)
//   (resolves once the function and the thread have ended; pipe closed)
import { endianness } from "node:os";
import { threadId } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, InvalidArgumentError, TimeoutError, ZSocket, openSocketCount, shutdown } from "@zkit/core";
import { ThreadError, ZActor, runningThreadCount, signal, waitSignal, type ActorFn } from "@zkit/zthread";
import { waitFor, within } from "@zkit/testkit";
import { cleanUp, fixture, strs, track } from "./helpers.js";

afterEach(cleanUp);

/** An in-thread echo actor that records what it received. */
function echoActor(seen: string[][] = []): ActorFn<unknown> {
  return async function echo(pipe) {
    await signal(pipe, 0);
    for await (const msg of pipe) {
      seen.push(strs(msg));
      if (ZActor.isTerm(msg)) break;
      await pipe.send(msg);
    }
  };
}

const SIGNAL_0 = endianness() === "LE" ? "0011223344556677" : "7766554433221100";

describe("ZActor.create (in this thread)", () => {
  it("resolves only after the actor has signalled ready", async () => {
    let entered = false;
    let ready = false;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let created = false;
    const creating = ZActor.create(async (pipe) => {
      entered = true;
      await gate;
      ready = true; // just before the signal
      await signal(pipe, 0);
      for await (const msg of pipe) if (ZActor.isTerm(msg)) break;
    }).then((a) => {
      created = true;
      return track(a);
    });
    await waitFor(() => entered, 5_000, "the actor to start");
    expect(created).toBe(false); // it has not signalled: create must still be waiting
    openGate();
    const actor = await within(creating, 5_000, "create");
    expect(ready).toBe(true);
    expect(actor.threadId).toBe(threadId);
    expect(actor.running).toBe(true);
  });

  it("passes args and echoes; works as a socket (send, receive, waitReadable, readable, for await)", async () => {
    let got: unknown;
    const actor = track(
      await ZActor.create(
        async (pipe, args: { n: number }) => {
          got = args;
          await echoActor()(pipe, args);
        },
        { n: 7 },
      ),
    );
    expect(got).toEqual({ n: 7 });
    await actor.send(["a", "b"]);
    expect(await within(actor.waitReadable(), 5_000, "readable")).toBe(true);
    expect(actor.readable).toBe(true);
    expect(strs(await actor.receive())).toEqual(["a", "b"]);
    for (let i = 0; i < 100; i++) void actor.send(String(i));
    const echoed: string[] = [];
    for await (const msg of actor) {
      echoed.push(strs(msg)[0]!);
      if (echoed.length === 100) break;
    }
    expect(echoed).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(actor.pipe).toBeInstanceOf(ZSocket);
  });

  it("destroy sends ['$TERM'], waits for the signal and the end, then closes the pipe", async () => {
    const seen: string[][] = [];
    const actor = await ZActor.create(echoActor(seen));
    await actor.send("before");
    expect(strs(await actor.receive())).toEqual(["before"]);
    await within(actor.destroy(), 5_000, "destroy");
    expect(seen).toEqual([["before"], ["$TERM"]]);
    expect(actor.running).toBe(false);
    expect(actor.closed).toBe(true);
    await actor.done;
    await expect(actor.send("after")).rejects.toBeInstanceOf(ClosedError);
  });

  it("answers ['$TERM'] with CZMQ's signal 0 frame when the actor returns", async () => {
    const actor = track(await ZActor.create(echoActor()));
    await actor.send("$TERM");
    const [frame, ...rest] = await within(actor.receive(), 5_000, "the final signal");
    expect(rest).toEqual([]);
    expect(frame!.toString("hex")).toBe(SIGNAL_0);
    await actor.done;
    // everything the actor sent has been read: the pipe closed by itself
    await expect(actor.receive()).rejects.toBeInstanceOf(ClosedError);
  });

  it("the owner's pending receive gets everything an ending actor sent, then the pipe closes (50 rounds)", async () => {
    for (let round = 0; round < 50; round++) {
      const count = round % 5;
      const actor = await ZActor.create(async (pipe) => {
        await signal(pipe, 0);
        await pipe.receive(); // "go"
        for (let i = 0; i < count; i++) void pipe.send(String(i));
      });
      const got: string[] = [];
      const reading = (async () => {
        for await (const msg of actor) got.push(strs(msg)[0]!);
      })(); // a receive is pending when the actor ends
      await actor.send("go");
      await within(reading, 5_000, `round ${round}: the owner's loop to end`);
      // what the actor sent, then zkit's final signal
      expect(got.slice(0, count)).toEqual(Array.from({ length: count }, (_, i) => String(i)));
      expect(got.length).toBe(count + 1);
      await actor.done;
    }
  });

  it("asking readable while a waitReadable is pending does not starve it", async () => {
    const actor = track(await ZActor.create(echoActor()));
    const waiting = actor.waitReadable();
    expect(actor.readable).toBe(false);
    await actor.send("wake");
    expect(await within(waiting, 5_000, "waitReadable")).toBe(true);
    expect(actor.readable).toBe(true);
    expect(strs(await actor.receive())).toEqual(["wake"]);
  });

  it("destroy is idempotent", async () => {
    const actor = await ZActor.create(echoActor());
    const first = actor.destroy();
    const second = actor.destroy();
    expect(second).toBe(first);
    await within(first, 5_000, "destroy");
    await actor.destroy();
    await actor[Symbol.asyncDispose]();
  });

  it("destroy works while the owner itself is reading the actor in a for-await loop", async () => {
    const actor = await ZActor.create(echoActor());
    const seen: string[][] = [];
    const reading = (async () => {
      for await (const msg of actor) seen.push(strs(msg));
    })();
    await actor.send("x");
    await waitFor(() => seen.length === 1, 5_000, "the echo");
    await within(actor.destroy(), 5_000, "destroy");
    await within(reading, 5_000, "the owner's loop to end");
    expect(seen[0]).toEqual(["x"]);
  });

  it("an actor that throws: error event, done and destroy reject with a ThreadError whose cause is the error", async () => {
    const boom = new Error("actor failed on purpose");
    const actor = await ZActor.create(async function failing(pipe) {
      await signal(pipe, 0);
      await pipe.receive();
      throw boom;
    });
    const events: ThreadError[] = [];
    actor.on("error", (err) => events.push(err));
    await actor.send("go");
    const err = await within(
      actor.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      5_000,
      "done",
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect((err as ThreadError).cause).toBe(boom);
    expect((err as ThreadError).message).toContain("failing");
    expect(events).toEqual([err]);
    await expect(actor.destroy()).rejects.toBe(err);
    expect(actor.closed).toBe(true);
  });

  it("an actor that throws before it is ready makes create reject with the ThreadError", async () => {
    const before = openSocketCount();
    const err = await ZActor.create(() => {
      throw new SyntaxError("not today");
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect(((err as ThreadError).cause as Error).message).toBe("not today");
    expect(openSocketCount()).toBe(before);
  });

  it("fails to start with a TimeoutError when no ready signal comes, and ends the actor", async () => {
    let ended = false;
    const before = openSocketCount();
    const err = await ZActor.create(
      async (pipe) => {
        try {
          await pipe.receive(); // never signals; rejects when zkit closes the pipe
        } finally {
          ended = true;
        }
      },
      undefined,
      { startTimeoutMs: 200 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/did not signal ready within 200 ms.*it ended/);
    expect(ended).toBe(true);
    expect(openSocketCount()).toBe(before);
  });

  it("destroy fails with a TimeoutError when the actor ignores $TERM, then closes its pipe", async () => {
    const actor = await ZActor.create(async function deaf(pipe) {
      await signal(pipe, 0);
      for await (const _ of pipe) {
        // $TERM ignored
      }
    });
    const err = await actor.destroy({ timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/deaf did not answer \$TERM with a signal within 300 ms; zkit closed its sockets and it ended/);
    expect(actor.running).toBe(false);
    expect(actor.closed).toBe(true);
  });

  it("checks its arguments", async () => {
    await expect(ZActor.create(42 as unknown as ActorFn)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(ZActor.create(echoActor(), undefined, { startTimeoutMs: 0 })).rejects.toThrow(/startTimeoutMs/);
    const actor = track(await ZActor.create(echoActor()));
    await expect(actor.destroy({ timeoutMs: Number.NaN })).rejects.toThrow(/ZActor.destroy option timeoutMs must be a number of milliseconds > 0, got NaN/);
  });

  it("ZActor.isTerm looks at the first frame", () => {
    expect(ZActor.isTerm([Buffer.from("$TERM")])).toBe(true);
    expect(ZActor.isTerm([Buffer.from("$TERM"), Buffer.from("x")])).toBe(true);
    expect(ZActor.isTerm([Buffer.from("$TERMINATE")])).toBe(false);
    expect(ZActor.isTerm([])).toBe(false);
    expect(ZActor.TERM).toBe("$TERM");
  });
});

describe("ZActor.fork (in a Worker)", () => {
  it("resolves only after the actor has signalled ready", async () => {
    const state = new SharedArrayBuffer(8);
    const view = new Int32Array(state);
    let created = false;
    const creating = ZActor.fork(fixture("gated-actor"), { state }).then((a) => {
      created = true;
      return track(a);
    });
    await waitFor(() => Atomics.load(view, 0) === 1, 15_000, "the actor to start");
    expect(created).toBe(false); // it waits at the gate and has not signalled
    Atomics.store(view, 1, 1); // open the gate
    const actor = await within(creating, 10_000, "fork");
    expect(Atomics.load(view, 0)).toBe(2); // it passed the gate, then signalled
    expect(actor.threadId).not.toBe(threadId);
    await actor.send("ping");
    expect(strs(await within(actor.receive(), 5_000, "echo"))).toEqual(["ping"]);
  });

  it("echoes, then destroy runs the $TERM handshake and the thread ends", async () => {
    const flag = new SharedArrayBuffer(4);
    const actor = await ZActor.fork(fixture("echo-actor"), { flag });
    expect(Atomics.load(new Int32Array(flag), 0)).toBe(1);
    for (let i = 0; i < 20; i++) void actor.send(["n", String(i)]);
    for (let i = 0; i < 20; i++) expect(strs(await within(actor.receive(), 5_000, "echo"))).toEqual(["n", String(i)]);
    expect(runningThreadCount()).toBe(1);
    await within(actor.destroy(), 10_000, "destroy");
    expect(actor.running).toBe(false);
    expect(actor.closed).toBe(true);
    expect(runningThreadCount()).toBe(0);
    await actor.done;
    await actor.destroy(); // idempotent
  });

  it("an actor that throws surfaces the error, with the Worker's stack, through done, the error event and destroy", async () => {
    const actor = await ZActor.fork(fixture("echo-actor"));
    const events: ThreadError[] = [];
    actor.on("error", (err) => events.push(err));
    await actor.send(["fail", "the worker actor gave up"]);
    const err = await within(
      actor.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      "done",
    );
    expect(err).toBeInstanceOf(ThreadError);
    const cause = (err as ThreadError).cause as Error;
    expect(cause.message).toBe("the worker actor gave up");
    expect(cause.stack).toContain("echo-actor.ts");
    expect(events).toEqual([err]);
    await expect(actor.destroy()).rejects.toBe(err);
  });

  it("a module that fails to load makes fork reject with a ThreadError", async () => {
    const err = await ZActor.fork(fixture("fails-at-import")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect(((err as ThreadError).cause as Error).message).toBe("this module refuses to load");
    expect(runningThreadCount()).toBe(0);
  });

  it("fails to start with a TimeoutError when no ready signal comes, and the thread ends", async () => {
    const err = await ZActor.fork(fixture("never-ready"), undefined, { startTimeoutMs: 1_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/never-ready\.ts did not signal ready within 1000 ms/);
    await waitFor(() => runningThreadCount() === 0, 15_000, "the thread to end");
  });

  it("destroy fails with a TimeoutError when the actor ignores $TERM, and still ends the thread", async () => {
    const actor = await ZActor.fork(fixture("deaf-actor"));
    const err = await actor.destroy({ timeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/deaf-actor\.ts did not answer \$TERM with a signal within 500 ms; zkit closed its sockets and it ended/);
    expect(runningThreadCount()).toBe(0);
  });

  it("shutdown() in the owner closes the pipe, which ends a Worker actor", async () => {
    const actor = await ZActor.fork(fixture("echo-actor"));
    expect(shutdown()).toBeGreaterThanOrEqual(1);
    expect(actor.closed).toBe(true);
    await within(actor.done, 10_000, "done");
    await actor.destroy(); // nothing left but it must not fail
  });
});

describe("signal and waitSignal", () => {
  it("send CZMQ's 8-byte frame and wait for it, skipping other messages", async () => {
    const a = await ZSocket.pair("@inproc://zthread-signal-test");
    const b = await ZSocket.pair(">inproc://zthread-signal-test");
    await signal(a, 0);
    const [frame] = await b.receive();
    expect(frame!.toString("hex")).toBe(SIGNAL_0);
    await a.send("not a signal");
    await signal(a, 3);
    expect(await within(waitSignal(b), 5_000, "signal")).toBe(3);
    expect(() => signal(a, 256)).toThrow(InvalidArgumentError);
  });

  it("waitSignal times out without losing the next message, and fails on close", async () => {
    const a = await ZSocket.pair("@inproc://zthread-signal-test-2");
    const b = await ZSocket.pair(">inproc://zthread-signal-test-2");
    const err = await waitSignal(b, { timeoutMs: 50 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    await a.send("late");
    expect(strs(await within(b.receive(), 5_000, "late message"))).toEqual(["late"]);
    const waiting = waitSignal(b);
    b.close();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
  });
});
