// ZLoop lifecycle: how start() ends (-1, stop(), a throw, an interrupt),
// restarting, options, and a real process interrupted with SIGINT.
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, ZSocket, ZkitError, setLogSink } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { stopAll, waitFor, within, type Child } from "@zkit/testkit";
import { destroyLoops, frame, newLoop, runFixture } from "./helpers.js";

afterEach(async () => {
  destroyLoops();
  setLogSink(undefined);
  await stopAll();
});

function fixture(name: string): Child {
  return runFixture(name);
}

describe("start and its end", () => {
  it("a reader handler returning -1 resolves start()", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    const loop = newLoop();
    let after = 0;
    loop.reader(pull, () => -1);
    loop.reader(pull, () => void after++); // -1 ends dispatch at once
    expect(loop.running).toBe(false);
    const ended = loop.start();
    expect(loop.running).toBe(true);
    await push.send("x");
    await within(ended, 5000, "loop end");
    expect(loop.running).toBe(false);
    expect(after).toBe(0);
  });

  it("a throwing handler rejects start() with that very error", async () => {
    const loop = newLoop();
    const boom = new Error("boom", { cause: "root cause" });
    loop.timer(1, 1, () => {
      throw boom;
    });
    const err = await within(loop.start(), 5000, "loop end").catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect((err as Error).cause).toBe("root cause");
    expect(loop.running).toBe(false);
  });

  it("a handler that calls stop() and then throws still rejects start()", async () => {
    const loop = newLoop();
    loop.timer(1, 1, (_id, l) => {
      l.stop();
      throw new RangeError("after stop");
    });
    await expect(within(loop.start(), 5000, "loop end")).rejects.toThrow(RangeError);
  });

  it("an async handler that fails after stop() rejects the run it was called in", async () => {
    const loop = newLoop();
    let entered = false;
    loop.timer(1, 1, async () => {
      entered = true;
      await new Promise((r) => setTimeout(r, 5));
      throw new RangeError("late");
    });
    const ended = loop.start();
    await waitFor(() => entered, 5000, "handler entered");
    loop.stop();
    await expect(within(ended, 5000, "loop end")).rejects.toThrow("late");
  });

  it("an async reader handler that rejects rejects start()", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    const loop = newLoop();
    loop.reader(pull, async () => {
      await new Promise((r) => setImmediate(r));
      throw new TypeError("bad message");
    });
    const ended = loop.start();
    await push.send("x");
    await expect(within(ended, 5000, "loop end")).rejects.toThrow(TypeError);
  });

  it("stop() from outside resolves start(), after async handlers settle", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = await ZSocket.push(`>${pull.endpoint}`);
    const loop = newLoop();
    let entered = false;
    let finished = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    loop.reader(pull, async () => {
      entered = true;
      await gate;
      finished = true;
    });
    let settled = false;
    const ended = loop.start().then(() => (settled = true));
    await push.send("x");
    await waitFor(() => entered, 5000, "handler entered");
    loop.stop();
    expect(loop.running).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // the handler is still running
    release();
    await within(ended, 5000, "loop end");
    expect(finished).toBe(true);
    loop.stop(); // no-op when not running
  });

  it("start() while running rejects with ZKIT_STATE; start() again after the end works", async () => {
    const loop = newLoop();
    let ticks = 0;
    loop.timer(1, 0, () => {
      ticks++;
      if (ticks % 3 === 0) return -1;
      return undefined;
    });
    const first = loop.start();
    const err = await loop.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkitError);
    expect((err as ZkitError).code).toBe(ErrorCode.State);
    await within(first, 5000, "first run");
    await within(loop.start(), 5000, "second run");
    await within(loop.start(), 5000, "third run");
    expect(ticks).toBe(9);
  });

  it("start() called while the previous run waits for an async handler starts once it settled", async () => {
    const loop = newLoop();
    let runs = 0;
    loop.timer(1, 0, async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 5));
      return -1;
    });
    const first = loop.start();
    await waitFor(() => runs === 1, 5000, "first firing");
    loop.stop();
    const second = loop.start(); // first run still has its handler in flight
    await within(first, 5000, "first run");
    await within(second, 5000, "second run");
    expect(runs).toBe(2);
  });

  it("destroy() removes readers, timers and tickets", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const loop = newLoop({ ticketDelayMs: 1000 });
    loop.reader(pull, () => {});
    loop.timer(1000, 0, () => {});
    loop.ticket(() => {});
    expect([loop.readerCount, loop.timerCount, loop.ticketCount]).toEqual([1, 1, 1]);
    loop.destroy();
    expect([loop.readerCount, loop.timerCount, loop.ticketCount]).toEqual([0, 0, 0]);
  });

  it("verbose logs handler calls on zkit:zloop", async () => {
    const records: string[] = [];
    setLogSink((level, ns, msg) => records.push(`${level} ${ns} ${msg}`));
    const loop = newLoop({ verbose: true });
    loop.timer(1, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(records.some((r) => r.startsWith("debug zkit:zloop call timer handler"))).toBe(true);
    records.length = 0;
    loop.verbose = false;
    loop.timer(1, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(records.filter((r) => r.includes("call timer handler"))).toEqual([]);
  });

  it("rejects bad options with InvalidArgumentError naming the option", () => {
    expect(() => new ZLoop({ nonstop: "yes" } as unknown as { nonstop: boolean })).toThrow(/nonstop must be true or false/);
    expect(() => new ZLoop({ nonStop: true } as unknown as { nonstop: boolean })).toThrow(/unknown ZLoop option "nonStop"/);
    expect(() => new ZLoop({ yieldEvery: 0 })).toThrow(/yieldEvery must be an integer >= 1/);
    expect(() => new ZLoop(null as unknown as object)).toThrow(InvalidArgumentError);
    const loop = new ZLoop({ nonstop: true, verbose: false, yieldEvery: 8, ticketDelayMs: 100 });
    expect([loop.nonstop, loop.verbose, loop.ticketDelay]).toEqual([true, false, 100]);
  });
});

describe("interrupts (child processes)", () => {
  it("SIGINT ends a running loop cleanly: start() resolves and the process exits 0", async () => {
    const f = fixture("interrupt-loop");
    await waitFor(() => /ready tcp:\/\/\S+:\d+/.test(f.stdout()), 20_000, "fixture ready");
    const endpoint = /ready (\S+)/.exec(f.stdout())![1]!;
    const push = await ZSocket.push(`>${endpoint}`);
    await push.send(frame(1));
    f.kill("SIGINT");
    const { code } = await within(f.exited, 20_000, "process exit");
    expect(f.stderr()).toBe("");
    expect(code).toBe(0);
    expect(f.stdout()).toContain("got SIGINT");
    expect(f.stdout()).toMatch(/loop ended interrupted=true running=false ticks>0=true messages=\d/);
  });

  it("a nonstop loop keeps running after SIGINT until it stops itself", async () => {
    const f = fixture("nonstop-loop");
    await waitFor(() => f.stdout().includes("ready"), 20_000, "fixture ready");
    f.kill("SIGINT");
    const { code } = await within(f.exited, 20_000, "process exit");
    expect(f.stderr()).toBe("");
    expect(code).toBe(0);
    expect(f.stdout()).toContain("got SIGINT");
    expect(f.stdout()).toContain("still running after the interrupt");
    expect(f.stdout()).toContain("loop ended ticksAfterInterrupt=3");
  });

  it("ZPoller.wait returns null with terminated on SIGINT", async () => {
    const f = fixture("poller-interrupt");
    await waitFor(() => f.stdout().includes("ready"), 20_000, "fixture ready");
    f.kill("SIGINT");
    const { code } = await within(f.exited, 20_000, "process exit");
    expect(f.stderr()).toBe("");
    expect(code).toBe(0);
    expect(f.stdout()).toContain("wait returned null terminated=true expired=false");
  });
});
