// The lifecycle contract every zkit server, worker and client keeps:
// idempotent start and close, done that settles once closed (and rejects on
// a fatal error), close before start, interrupts, await using, listeners
// that throw, and the diagnostics channel.
import { afterEach, describe, expect, it } from "vitest";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { ClosedError, handleInterrupts, setLogSink } from "@zkit/core";
import { CHANNELS, Lifecycle, type DiagnosticsMessage } from "../src/index.js";

afterEach(() => setLogSink(undefined));

interface ThingEvents {
  tick: [info: { n: number }];
}

class Thing extends Lifecycle<ThingEvents> {
  starts = 0;
  closes = 0;
  constructor(readonly opts: { failStart?: unknown; startMs?: number; closeOnInterrupt?: boolean } = {}) {
    super({ owner: "Thing", channel: "zkit:mdp:broker", closeOnInterrupt: opts.closeOnInterrupt });
  }
  protected async onStart(): Promise<void> {
    this.starts++;
    if (this.opts.startMs) await new Promise((r) => setTimeout(r, this.opts.startMs));
    if (this.opts.failStart !== undefined) throw this.opts.failStart;
  }
  protected onClose(): void {
    this.closes++;
  }
  tick(n: number): void {
    this.notify("tick", { n });
  }
  crash(err: unknown): void {
    this.fail(err);
  }
}

describe("Lifecycle", () => {
  it("start and close are idempotent: each runs its work once, every call shares one promise", async () => {
    const t = new Thing();
    expect(t.state).toBe("new");
    const [a, b] = [t.start(), t.start()];
    expect(a).toBe(b);
    await a;
    expect(t.state).toBe("running");
    expect(t.running).toBe(true);
    const [c, d] = [t.close(), t.close()];
    expect(c).toBe(d);
    await c;
    expect(t).toMatchObject({ starts: 1, closes: 1, state: "closed", closed: true, running: false });
    await expect(t.done).resolves.toBeUndefined();
    await expect(t.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("start and close events, in that order", async () => {
    const t = new Thing();
    const seen: string[] = [];
    t.on("start", () => seen.push("start"));
    t.on("close", ({ error }) => seen.push(`close ${String(error)}`));
    await t.start();
    await t.close();
    expect(seen).toEqual(["start", "close undefined"]);
  });

  it("a start that fails closes the object: start() and done reject with the error", async () => {
    const boom = new Error("bind failed");
    const t = new Thing({ failStart: boom });
    await expect(t.start()).rejects.toBe(boom);
    await expect(t.done).rejects.toBe(boom);
    expect(t.state).toBe("closed");
    expect(t.closes).toBe(1); // onClose cleans up a partial start
  });

  it("close() during start waits for the start, then closes", async () => {
    const t = new Thing({ startMs: 50 });
    const started = t.start();
    const closed = t.close();
    await started;
    await closed;
    expect(t).toMatchObject({ starts: 1, closes: 1, state: "closed" });
  });

  it("close() before start() closes without running anything; start() is then refused", async () => {
    const t = new Thing();
    await t.close();
    expect(t).toMatchObject({ starts: 0, closes: 0, state: "closed" });
    await expect(t.start()).rejects.toThrow(/Thing.start: it is closed/);
    await expect(t.done).resolves.toBeUndefined();
  });

  it("fail() closes it and done rejects with the first error", async () => {
    setLogSink(() => {});
    const t = new Thing();
    await t.start();
    const first = new Error("first");
    t.crash(first);
    t.crash(new Error("second"));
    await expect(t.done).rejects.toBe(first);
    expect(t.state).toBe("closed");
  });

  it("await using closes it", async () => {
    let t: Thing | undefined;
    {
      await using u = new Thing();
      t = u;
      await u.start();
    }
    expect(t.state).toBe("closed");
  });

  it("a listener that throws never reaches the object's code; it is logged", async () => {
    const errors: string[] = [];
    setLogSink((level, _ns, msg) => void (level === "error" && errors.push(msg)));
    const t = new Thing();
    t.on("tick", () => {
      throw new Error("bad listener");
    });
    expect(() => t.tick(1)).not.toThrow();
    expect(errors.some((e) => e.includes("a tick listener threw") && e.includes("bad listener"))).toBe(true);
    await t.close();
  });

  it("events go to the diagnostics channel when someone subscribes, with their source", async () => {
    expect(CHANNELS["zkit:mdp:broker"]).toBe("MajordomoBroker");
    const got: DiagnosticsMessage[] = [];
    const listener = (m: unknown): void => void got.push(m as DiagnosticsMessage);
    subscribe("zkit:mdp:broker", listener);
    try {
      const t = new Thing();
      await t.start();
      t.tick(7);
      await t.close();
      expect(got.map((m) => m.event)).toEqual(["start", "tick", "close"]);
      expect(got[1]).toMatchObject({ source: t, event: "tick", info: { n: 7 } });
    } finally {
      unsubscribe("zkit:mdp:broker", listener);
    }
  });

  it("closes itself on an interrupt (after handleInterrupts), unless told not to; 32 of them share one listener (no MaxListenersExceededWarning)", async () => {
    // the interrupt is process-wide and cannot be undone: run it in a child
    const { startNode } = await import("@zkit/testkit");
    const { fileURLToPath } = await import("node:url");
    const child = startNode(fileURLToPath(new URL("./fixtures/interrupted.ts", import.meta.url)), [], { name: "interrupted" });
    await child.waitFor(/^running$/m, 30_000);
    child.kill("SIGINT");
    await child.waitFor(/^closed: yes, kept: running, many: 30 closed$/m, 10_000);
    expect((await child.waitForExit(10_000)).code).toBe(0);
    expect(child.stderr()).not.toContain("MaxListenersExceededWarning");
    void handleInterrupts; // used by the fixture
  });
});
