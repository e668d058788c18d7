// Whole-process behaviour, in child processes started with
// `node --conditions=@zkit/source --import tsx` (no vitest): zkit's threads
// work from plain Node, and the issue-411 check (zeromq.js aborts the whole
// process when a thread ends with a socket operation pending) runs where an
// abort fails a test instead of killing the test runner.
import { afterEach, describe, expect, it } from "vitest";
import { stopAll, within } from "@zkit/testkit";
import { runFixture } from "./helpers.js";

afterEach(() => stopAll());

describe("from a plain node process", () => {
  it("stop() drops what the thread's sockets had not delivered: the process exits without waiting", async () => {
    const f = runFixture("stop-undeliverable");
    const { code, signal } = await within(f.exited, 60_000, "stop-undeliverable to exit");
    expect({ code, signal }, f.describe()).toEqual({ code: 0, signal: null });
    expect(f.stdout()).toBe("stopped\n");
    expect(f.stderr()).toBe("");
  });

  it("fork, new, an in-thread actor and a Worker actor all work", async () => {
    const f = runFixture("plain-node");
    const { code, signal } = await within(f.exited, 60_000, "plain-node to exit");
    expect({ code, signal }, f.describe()).toEqual({ code: 0, signal: null });
    expect(f.stdout().split("\n")).toEqual([
      'fork args args {"from":"plain node"}',
      "fork echo hello pipe",
      "new detached hi in another thread: true",
      "actor in-thread",
      "actor worker",
      "threads 0 sockets 0",
      "ok",
      "",
    ]);
  }, 90_000);
});

describe("zeromq.js issue 411: no abort when threads end with receives pending", () => {
  // up to 100 cycles, as many as 90 s allow (about 0.3 s each on a quiet 2-core machine,
  // 2 s at a load average of 16); at least 20 must have run
  it("up to 100 start/destroy cycles of a Worker actor with receives pending in the child (at least 20)", async () => {
    const f = runFixture("cycles", ["100", "destroy", "90000"]);
    const { code, signal } = await within(f.exited, 170_000, "the cycles");
    expect({ code, signal }, f.describe()).toEqual({ code: 0, signal: null });
    const m = /^cycles (\d+) mode destroy in \d+ ms \(\d+ ms each\); threads left 0; sockets left 0\n$/.exec(f.stdout());
    expect(m, f.describe()).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(20);
    console.log(f.stdout().trim());
  }, 180_000);

  it("20 start/stop cycles of a forked thread, its sockets closed under pending receives", async () => {
    const f = runFixture("cycles", ["20", "stop"]);
    const { code, signal } = await within(f.exited, 80_000, "20 cycles");
    expect({ code, signal }, f.describe()).toEqual({ code: 0, signal: null });
    expect(f.stdout()).toMatch(/^cycles 20 mode stop in \d+ ms \(\d+ ms each\); threads left 0; sockets left 0\n$/);
    console.log(f.stdout().trim());
  }, 90_000);
});
