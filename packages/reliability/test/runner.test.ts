// HandlerRunner: concurrency and order, synchronous handlers, each request
// settled exactly once, ctx.signal aborting on close (after the grace) and
// at the deadline, discard, and the pull API.
import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError } from "@zkit/core";
import { waitFor } from "@zkit/testkit";
import { HandlerRunner, type HandlerContext, type Job } from "../src/index.js";

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

function recorder() {
  const results: [number, unknown][] = [];
  const errors: [number, unknown][] = [];
  return { results, errors, onResult: (m: number, r: unknown) => void results.push([m, r]), onError: (m: number, e: unknown) => void errors.push([m, e]) };
}

describe("HandlerRunner", () => {
  it("runs at most `concurrency` handlers at once, in submission order", async () => {
    const rec = recorder();
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const runner = new HandlerRunner<number, number, number>({
      concurrency: 3,
      handler: async (n) => {
        started.push(n);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return n * 10;
      },
      onResult: rec.onResult,
      onError: rec.onError,
    });
    for (let i = 0; i < 20; i++) runner.submit(i, i);
    expect(runner.active).toBe(3);
    expect(runner.queued).toBe(17);
    await waitFor(() => rec.results.length === 20, 10_000, "20 results");
    expect(most).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(rec.results.map(([m, r]) => [m, r])).toEqual(expect.arrayContaining([[7, 70]]));
  });

  it("synchronous handlers and throwing handlers: each request settled exactly once", async () => {
    const rec = recorder();
    const runner = new HandlerRunner<number, string, number>({
      handler: (n) => {
        if (n % 3 === 0) throw new Error(`bad ${n}`);
        return `ok ${n}`;
      },
      onResult: rec.onResult,
      onError: rec.onError,
    });
    for (let i = 0; i < 9; i++) runner.submit(i, i);
    expect(rec.results.map(([m]) => m)).toEqual([1, 2, 4, 5, 7, 8]);
    expect(rec.errors.map(([m, e]) => [m, (e as Error).message])).toEqual([
      [0, "bad 0"],
      [3, "bad 3"],
      [6, "bad 6"],
    ]);
    await runner.close();
  });

  it("ctx carries the service, the peer and the deadline; a request past its deadline fails with TimeoutError and its signal aborts", async () => {
    const rec = recorder();
    const seen: HandlerContext[] = [];
    const runner = new HandlerRunner<number, string, number>({
      timeoutMs: 50,
      handler: async (_n, ctx) => {
        seen.push(ctx);
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        return "too late";
      },
      onResult: rec.onResult,
      onError: rec.onError,
    });
    runner.submit(1, 1, { service: "echo", peer: "00abcdef01" });
    await waitFor(() => rec.errors.length === 1, 10_000, "the deadline");
    expect(rec.errors[0]![1]).toBeInstanceOf(TimeoutError);
    expect(seen[0]).toMatchObject({ service: "echo", peer: "00abcdef01" });
    expect(seen[0]!.deadline).toBeLessThan(Infinity);
    expect(seen[0]!.signal.aborted).toBe(true);
    await waitFor(() => runner.active === 0, 10_000, "the handler to return");
    expect(rec.results).toEqual([]); // the late reply is not delivered
  });

  it("close() lets running handlers finish (their replies are delivered) and drops the waiting ones", async () => {
    const rec = recorder();
    const g = gate();
    const runner = new HandlerRunner<number, string, number>({ handler: async (n) => (await g.wait, `done ${n}`), onResult: rec.onResult, onError: rec.onError });
    runner.submit(1, 1);
    runner.submit(2, 2);
    const closing = runner.close(10_000);
    expect(() => runner.submit(3, 3)).toThrow(ClosedError);
    g.open();
    await closing;
    expect(rec.results).toEqual([[1, "done 1"]]);
    expect(rec.errors).toEqual([]);
  });

  it("close(grace): a handler still running after the grace sees ctx.signal abort", async () => {
    const rec = recorder();
    const runner = new HandlerRunner<number, string, number>({
      handler: (_n, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve("stopped"), { once: true })),
      onResult: rec.onResult,
      onError: rec.onError,
    });
    runner.submit(1, 1);
    await runner.close(20);
    expect(rec.results).toEqual([[1, "stopped"]]);
  });

  it("discard() drops waiting requests of a connection that went away; running ones go on", async () => {
    const rec = recorder();
    const g = gate();
    const runner = new HandlerRunner<number, number, { conn: number; n: number }>({
      handler: async (n) => (await g.wait, n),
      onResult: (m, r) => void rec.results.push([m.n, r]),
      onError: (m, e) => void rec.errors.push([m.n, e]),
    });
    runner.submit(1, { conn: 1, n: 1 });
    runner.submit(2, { conn: 1, n: 2 });
    runner.submit(3, { conn: 2, n: 3 });
    expect(runner.discard((m) => m.conn === 1)).toBe(1);
    g.open();
    await waitFor(() => rec.results.length === 2, 10_000, "two results");
    expect(rec.results).toEqual([
      [1, 1],
      [3, 3],
    ]);
    await runner.close();
  });

  it("pull: without a handler the requests come as jobs from `for await`; each job replies once; the loop ends at close", async () => {
    const rec = recorder();
    const runner = new HandlerRunner<string, string, number>({ onResult: rec.onResult, onError: rec.onError });
    runner.submit("a", 1);
    runner.submit("b", 2);
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const job of runner as AsyncIterable<Job<string, string>>) {
        seen.push(job.request);
        if (job.request === "b") job.fail(new Error("no b"));
        else job.reply(job.request.toUpperCase());
        job.reply("twice"); // ignored
      }
    })();
    await waitFor(() => seen.length === 2, 10_000, "two jobs");
    runner.submit("c", 3);
    await waitFor(() => seen.length === 3, 10_000, "the third job");
    await runner.close();
    await consumer;
    expect(rec.results).toEqual([
      [1, "A"],
      [3, "C"],
    ]);
    expect(rec.errors.map(([m]) => m)).toEqual([2]);
  });
});
