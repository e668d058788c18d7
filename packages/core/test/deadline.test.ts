// raceDeadline and DeadlineSignal: the one way zkit waits with a timeout and
// an AbortSignal.
import { describe, expect, it } from "vitest";
import { AbortError, DeadlineSignal, TIMED_OUT, abortError, raceDeadline } from "@zkit/core";
import { waitFor } from "@zkit/testkit";

describe("raceDeadline", () => {
  it("resolves like the promise when it wins, TIMED_OUT when the time wins", async () => {
    expect(await raceDeadline(Promise.resolve(5), { timeoutMs: 1000 })).toBe(5);
    expect(await raceDeadline(new Promise(() => {}), { timeoutMs: 10 })).toBe(TIMED_OUT);
    expect(await raceDeadline(new Promise((r) => setTimeout(() => r("late"), 5)), { timeoutMs: Infinity })).toBe("late");
    await expect(raceDeadline(Promise.reject(new Error("x")), { timeoutMs: 1000 })).rejects.toThrow("x");
  });

  it("rejects with an AbortError naming what was awaited when the signal aborts, or has", async () => {
    const ac = new AbortController();
    const p = raceDeadline(new Promise(() => {}), { timeoutMs: 10_000, signal: ac.signal, what: "the reply" });
    ac.abort(new Error("bye"));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as Error).message).toBe("the reply: aborted");
    expect((err as Error).cause).toMatchObject({ message: "bye" });
    await expect(raceDeadline(Promise.resolve(1), { timeoutMs: 10, signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
    expect(abortError("x", ac.signal)).toBeInstanceOf(AbortError);
  });
});

describe("DeadlineSignal", () => {
  it("aborts when the time is up, saying so", async () => {
    const d = new DeadlineSignal(10);
    await waitFor(() => d.signal.aborted, 5000, "the deadline");
    expect(d.timedOut).toBe(true);
    expect(d.remainingMs).toBe(0);
  });

  it("aborts when any given signal aborts, with its reason; undefined signals are skipped", () => {
    const a = new AbortController();
    const d = new DeadlineSignal(Infinity, undefined, a.signal);
    expect(d.deadline).toBe(Infinity);
    a.abort("closing");
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe("closing");
    expect(d.timedOut).toBe(false);
    const already = new DeadlineSignal(1000, a.signal);
    expect(already.signal.aborted).toBe(true);
    already.dispose();
  });

  it("dispose() drops the timer: it never aborts afterwards", async () => {
    const d = new DeadlineSignal(5);
    d.dispose();
    const t = performance.now();
    await waitFor(() => performance.now() - t > 50, 5000, "50 ms");
    expect(d.signal.aborted).toBe(false);
  });
});
