// Whole-process behaviour: exit after close, interrupts, debuglog.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, interruptSignal, shutdown } from "@zkit/core";
import { stopAll, waitFor, within, type Child } from "@zkit/testkit";
import { runFixture } from "./helpers.js";

afterEach(async () => {
  shutdown();
  await stopAll();
});

function start(name: string, env: NodeJS.ProcessEnv = {}): Child {
  return runFixture(name, [], env);
}

describe("process lifecycle", () => {
  it("a process with undeliverable messages exits by itself after close (bounded linger)", async () => {
    const f = start("linger-exit");
    const t0 = Date.now();
    const { code } = await within(f.exited, 30_000, "process exit");
    expect(code).toBe(0);
    expect(f.stdout()).toContain("closed");
    // zeromq.js says why exit waits; nothing else may appear
    expect(f.stderr().replace(/.*Waiting for queued ZeroMQ messages.*\n?/g, "")).toBe("");
    // default linger is 1000 ms; startup (tsx) takes the rest
    expect(Date.now() - t0).toBeLessThan(25_000);
  });

  it("a socket refused for a bad option leaves a process that exits cleanly (no SIGSEGV)", async () => {
    const f = start("bad-option");
    const exit = await within(f.exited, 30_000, "process exit");
    expect(exit, f.stderr()).toEqual({ code: 0, signal: null });
    expect(f.stdout()).toMatch(/^refused: .*option routingId = "" was refused.*\nrefused: .*option sendHighWaterMark = -5 was refused/);
    expect(f.stdout()).not.toContain("created");
  });

  it.each(["SIGINT", "SIGTERM"] as const)("handleInterrupts stops a server loop cleanly on %s", async (signal) => {
    const f = start("interrupt");
    await waitFor(() => /ready tcp:\/\/\S+:\d+/.test(f.stdout()), 20_000, "fixture ready");
    const endpoint = /ready (\S+)/.exec(f.stdout())![1]!;
    const push = await ZSocket.push(`>${endpoint}`);
    await push.send("one");
    await push.send("two");
    // wait until both are in flight before interrupting: poll the fixture via a reply-less check
    push.close();
    f.kill(signal);
    const { code } = await within(f.exited, 20_000, "process exit");
    expect(code).toBe(0);
    expect(f.stdout()).toContain(`got ${signal}`);
    expect(f.stdout()).toMatch(/loop ended interrupted=true aborted=true messages=\d/);
  });

  it("an interrupt drops undelivered messages (linger 0): no wait, no zeromq.js warning", async () => {
    const f = start("interrupt-undeliverable");
    await waitFor(() => f.stdout().includes("ready"), 20_000, "fixture ready");
    f.kill("SIGINT");
    const exit = await within(f.exited, 20_000, "process exit");
    expect(exit.code, f.stderr()).toBe(0);
    expect(f.stdout()).toContain("closed=true");
    expect(f.stderr()).toBe("");
  });

  it("an interrupt with lingerMs keeps that linger: zeromq.js says it waits for the queued messages", async () => {
    const f = start("interrupt-undeliverable", { LINGER_MS: "1500" });
    await waitFor(() => f.stdout().includes("ready"), 20_000, "fixture ready");
    f.kill("SIGINT");
    const exit = await within(f.exited, 20_000, "process exit");
    expect(exit.code, f.stderr()).toBe(0);
    expect(f.stderr()).toMatch(/Waiting for queued ZeroMQ messages to be delivered/);
  });

  it("logs through node:util debuglog under NODE_DEBUG=zkit:core", async () => {
    const f = start("debuglog", { NODE_DEBUG: "zkit:core" });
    const { code } = await within(f.exited, 20_000, "process exit");
    expect(code).toBe(0);
    expect(f.stderr()).toMatch(/ZKIT:CORE \d+: debug ROUTER bound tcp:\/\/127\.0\.0\.1:\d+/);
  });

  it("is silent without NODE_DEBUG", async () => {
    const f = start("debuglog", { NODE_DEBUG: "" });
    await within(f.exited, 20_000, "process exit");
    expect(f.stderr()).toBe("");
  });
});

describe("interruptSignal", () => {
  it("takes any number of listeners without Node's MaxListenersExceededWarning (every loop and lifecycle of a process listens to it)", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === "MaxListenersExceededWarning") warnings.push(w);
    };
    process.on("warning", onWarning);
    const signal = interruptSignal();
    const listeners = Array.from({ length: 50 }, () => (): void => undefined);
    try {
      for (const l of listeners) signal.addEventListener("abort", l);
      // Node emits the warning on the next tick: give it two
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      for (const l of listeners) signal.removeEventListener("abort", l);
      process.off("warning", onWarning);
    }
  });
});
