// Reconnect back-off bounds, the Lazy Pirate retry loop, and Reply.
import { describe, expect, it } from "vitest";
import { AbortError, InvalidArgumentError, TIMED_OUT, TimeoutError } from "@zkit/core";
import { Backoff, Reply, RetriesExhaustedError, withRetries, type RetryEvent } from "../src/index.js";

describe("Backoff", () => {
  it("doubles from initialMs up to maxMs and stays there; reset starts over", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 32_000 });
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 32_000, 32_000]);
    expect(b.attempt).toBe(8);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it("a fixed delay when maxMs is left out", () => {
    const b = new Backoff({ initialMs: 2500 });
    expect([b.next(), b.next(), b.next()]).toEqual([2500, 2500, 2500]);
  });

  it("jitter takes up to that fraction off each delay, never more, never adds", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2 });
    for (let i = 0; i < 1000; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1000);
    }
    expect(new Backoff({ initialMs: 1000, jitter: 0.5 }, () => 1).next()).toBe(500);
    expect(new Backoff({ initialMs: 1000, jitter: 0.5 }, () => 0).next()).toBe(1000);
  });

  it("refuses maxMs below initialMs, jitter above 1, and unknown options", () => {
    expect(() => new Backoff({ initialMs: 100, maxMs: 50 })).toThrow(/maxMs \(50\) must be >= initialMs \(100\)/);
    expect(() => new Backoff({ initialMs: 100, jitter: 2 })).toThrow(/jitter must be a fraction/);
    expect(() => new Backoff({ initialMs: 100, max: 5 } as never)).toThrow(InvalidArgumentError);
  });
});

describe("withRetries", () => {
  it("returns the first answer; retries a timed-out attempt, reporting each retry", async () => {
    const events: RetryEvent[] = [];
    const attempts: number[] = [];
    const answer = await withRetries(
      async (n) => {
        attempts.push(n);
        return n < 3 ? TIMED_OUT : `answer ${n}`;
      },
      { retries: 5, timeoutMs: 100, what: "test", onRetry: (e) => events.push(e) },
    );
    expect(answer).toBe("answer 3");
    expect(attempts).toEqual([1, 2, 3]);
    expect(events).toEqual([
      { attempt: 1, retriesLeft: 4, timeoutMs: 100 },
      { attempt: 2, retriesLeft: 3, timeoutMs: 100 },
    ]);
  });

  it("fails with RetriesExhaustedError (a TimeoutError, code ZKIT_TIMEOUT) after 1 + retries attempts", async () => {
    let n = 0;
    const err = await withRetries(async () => (n++, TIMED_OUT), { retries: 2, timeoutMs: 50, what: 'Client.request("echo")' }).catch((e: unknown) => e);
    expect(n).toBe(3);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: "ZKIT_TIMEOUT", attempts: 3, timeoutMs: 50 });
    expect((err as Error).message).toBe('Client.request("echo"): no reply after 3 attempts of 50 ms each: the server seems to be offline');
  });

  it("an aborted signal stops it before the next attempt; what an attempt throws ends it", async () => {
    const ac = new AbortController();
    let n = 0;
    const aborted = withRetries(
      async () => {
        if (++n === 2) ac.abort(new Error("user"));
        return TIMED_OUT;
      },
      { retries: 10, timeoutMs: 10, signal: ac.signal, what: "x" },
    );
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect(n).toBe(2);
    const boom = new Error("socket failed");
    await expect(
      withRetries(
        async () => {
          throw boom;
        },
        { retries: 3, timeoutMs: 10, what: "x" },
      ),
    ).rejects.toBe(boom);
  });
});

describe("Reply", () => {
  it("is the frames, with text() and json(); derived arrays are plain", () => {
    const r = Reply.fromFrames([Buffer.from("hello"), Buffer.from('{"a":1}')]);
    expect(r).toHaveLength(2);
    const [first] = r;
    expect(first!.toString()).toBe("hello");
    expect(r.text()).toBe("hello");
    expect(r.text(5)).toBe("");
    expect(r.texts()).toEqual(["hello", '{"a":1}']);
    expect(r.json(1)).toEqual({ a: 1 });
    expect(() => r.json(0)).toThrow(/reply frame 0 is not JSON/);
    expect(r.map((f) => f.length)).not.toBeInstanceOf(Reply);
    expect(Array.isArray(r)).toBe(true);
    expect(r.frames()).toEqual([Buffer.from("hello"), Buffer.from('{"a":1}')]);
  });
});
