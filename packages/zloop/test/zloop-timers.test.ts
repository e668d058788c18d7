// ZLoop timers: exact firing counts, drift-free repetition, timerEnd from
// anywhere, and timers that keep firing while readers are flooded.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ZSocket, now, openSocketCount } from "@zkit/core";
import { TIMER_RESOLUTION_MS, type ZLoop } from "@zkit/zloop";
import { inprocName, within } from "@zkit/testkit";
import { destroyLoops, frame, newLoop } from "./helpers.js";

afterEach(() => {
  destroyLoops();
  expect(openSocketCount()).toBe(0);
});

/** Busy-waits `ms` inside a handler, as a slow handler would. */
function block(ms: number): void {
  const end = now() + ms;
  while (now() < end);
}

describe("timers", () => {
  it("fires exactly `times` times, then ends by itself", async () => {
    const loop = newLoop();
    let three = 0;
    let once = 0;
    const id = loop.timer(2, 3, () => void three++);
    loop.timer(1, 1, () => void once++);
    expect(loop.timerCount).toBe(2);
    // ends well after the 3rd firing is due; it gives extra firings a chance to show
    loop.timer(60, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(three).toBe(3);
    expect(once).toBe(1);
    expect(loop.timerCount).toBe(0);
    expect(loop.timerEnd(id)).toBe(false); // already done: known id, nothing to end
  });

  it("passes the timer id and the loop to the handler", async () => {
    const loop = newLoop();
    const seen: [number, ZLoop][] = [];
    const id = loop.timer(1, 1, (timerId, l) => {
      seen.push([timerId, l]);
      return -1;
    });
    await within(loop.start(), 5000, "loop end");
    expect(seen).toEqual([[id, loop]]);
  });

  it("is drift-free: 50 x 10 ms ends near 500 ms even when handlers take 8 ms", async () => {
    const loop = newLoop();
    const firings: number[] = [];
    let t0 = 0;
    const done = new Promise<void>((resolve) => {
      loop.timer(0, 1, () => {
        t0 = now();
        loop.timer(10, 50, () => {
          firings.push(now());
          // slow handlers: a timer that rescheduled from "now" would drift 8 ms each time
          if (firings.length % 2 === 0) block(8);
          if (firings.length === 50) resolve();
        });
      });
    });
    const ended = loop.start();
    await within(done, 10_000, "50 firings");
    loop.stop();
    await ended;
    expect(firings).toHaveLength(50);
    // never early (beyond the millisecond resolution), k-th firing at or after t0 + 10k
    for (const [k, t] of firings.entries()) expect(t - t0).toBeGreaterThanOrEqual(10 * (k + 1) - TIMER_RESOLUTION_MS - 0.1);
    // a drifting timer needs >= 500 + 25 x 8 = 700 ms; loose bound for a loaded machine
    expect(firings[49]! - t0).toBeLessThan(500 + 150);
  });

  it("timerEnd from inside the timer's own handler stops it at once", async () => {
    const loop = newLoop();
    let fired = 0;
    const id = loop.timer(1, 0, (timerId) => {
      fired++;
      if (fired === 3) expect(loop.timerEnd(timerId)).toBe(true);
    });
    loop.timer(50, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(fired).toBe(3);
    expect(loop.timerEnd(id)).toBe(false);
  });

  it("timerEnd from another handler, and from outside, cancels before it fires", async () => {
    const loop = newLoop();
    let victim = 0;
    let outsider = 0;
    const v = loop.timer(30, 0, () => void victim++);
    const o = loop.timer(30, 0, () => void outsider++);
    loop.timer(1, 1, () => void loop.timerEnd(v));
    expect(loop.timerEnd(o)).toBe(true);
    loop.timer(80, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(victim).toBe(0);
    expect(outsider).toBe(0);
  });

  it("a timer handler can add timers, and a new timer with delay 0 fires on a later turn", async () => {
    const loop = newLoop();
    const order: string[] = [];
    loop.timer(1, 1, () => {
      order.push("outer");
      loop.timer(0, 1, () => {
        order.push("inner");
        return -1;
      });
      order.push("outer done");
    });
    await within(loop.start(), 5000, "loop end");
    expect(order).toEqual(["outer", "outer done", "inner"]);
  });

  it("an async timer handler is not fired again before it settles", async () => {
    const loop = newLoop();
    let active = 0;
    let maxActive = 0;
    let fired = 0;
    loop.timer(1, 5, async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (++fired === 5) return -1;
      return undefined;
    });
    await within(loop.start(), 5000, "loop end");
    expect(fired).toBe(5);
    expect(maxActive).toBe(1);
  });

  it("keeps firing while readers are flooded", async () => {
    const SOCKETS = 5;
    const PER_SOCKET = 20_000;
    const loop = newLoop();
    const pulls: ZSocket<"PULL">[] = [];
    let received = 0;
    // fill the sockets first (no high-water mark), so every reader is busy
    // from the first message to the last
    for (let s = 0; s < SOCKETS; s++) {
      const name = inprocName("zloop");
      const pull = await ZSocket.pull(`@${name}`, { receiveHighWaterMark: 0 });
      const push = await ZSocket.push(`>${name}`, { sendHighWaterMark: 0 });
      const sends: Promise<void>[] = [];
      for (let i = 0; i < PER_SOCKET; i++) sends.push(push.send(frame(i)));
      await Promise.all(sends);
      pulls.push(pull);
    }
    let firstAt = 0;
    let lastAt = 0;
    for (const pull of pulls) {
      loop.reader(pull, () => {
        if (received++ === 0) firstAt = now();
        if (received === SOCKETS * PER_SOCKET) {
          lastAt = now();
          return -1;
        }
        return undefined;
      });
    }
    const ticks: number[] = [];
    loop.timer(5, 0, () => void ticks.push(now()));
    await within(loop.start(), 30_000, "flood end");
    const during = ticks.filter((t) => t >= firstAt && t <= lastAt);
    // loose: the point is that they fire at all while every socket is busy
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(during.length).toBeGreaterThanOrEqual(Math.floor((lastAt - firstAt) / 5 / 10));
  });

  it("keeps firing while a reader's handlers are slow (a turn is cut after MAX_TURN_MS)", async () => {
    const N = 150;
    const name = inprocName("zloop");
    const pull = await ZSocket.pull(`@${name}`);
    const push = await ZSocket.push(`>${name}`);
    await Promise.all(Array.from({ length: N }, (_, i) => push.send(frame(i))));
    const loop = newLoop();
    let handled = 0;
    let firstAt = 0;
    let lastAt = 0;
    loop.reader(pull, () => {
      if (handled === 0) firstAt = now();
      block(3); // 3 ms per message: 64 in a row would hold the event loop 192 ms
      if (++handled === N) {
        lastAt = now();
        return -1;
      }
      return undefined;
    });
    const ticks: number[] = [];
    loop.timer(5, 0, () => void ticks.push(now()));
    await within(loop.start(), 30_000, "all handled");
    const during = ticks.filter((t) => t >= firstAt && t <= lastAt).length;
    // ~450 ms of handlers: about one firing per 2 messages (6 ms); loose bound
    expect(during).toBeGreaterThanOrEqual(Math.floor((lastAt - firstAt) / 5 / 4));
  });

  it("keeps deadlines across a stop and a restart, and starts new timers at start()", async () => {
    const loop = newLoop();
    let fired = 0;
    loop.timer(5, 4, () => {
      fired++;
      if (fired === 2) return -1;
      return undefined;
    });
    await within(loop.start(), 5000, "first run");
    expect(fired).toBe(2);
    const t = now();
    let late = 0;
    loop.timer(20, 1, () => {
      late = now() - t;
      return -1;
    });
    await within(loop.start(), 5000, "second run");
    expect(fired).toBe(4);
    expect(late).toBeGreaterThanOrEqual(20 - TIMER_RESOLUTION_MS - 0.1);
  });

  it("rejects bad arguments with InvalidArgumentError saying what to pass", () => {
    const loop = newLoop();
    expect(() => loop.timer(-1, 1, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.timer(-1, 1, () => {})).toThrow(/delayMs must be a finite number of milliseconds >= 0/);
    expect(() => loop.timer(Number.NaN, 1, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.timer(Infinity, 1, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.timer("5" as unknown as number, 1, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.timer(5, -1, () => {})).toThrow(/times must be an integer >= 0/);
    expect(() => loop.timer(5, 1.5, () => {})).toThrow(InvalidArgumentError);
    expect(() => loop.timer(5, 1, undefined as unknown as () => void)).toThrow(/handler must be a function/);
    expect(() => loop.timerEnd(1)).toThrow(/unknown timer id 1/);
    const id = loop.timer(5, 1, () => {});
    expect(() => loop.timerEnd(id + 1)).toThrow(InvalidArgumentError);
    expect(() => loop.timerEnd(0)).toThrow(InvalidArgumentError);
    expect(() => loop.timerEnd(1.5)).toThrow(InvalidArgumentError);
    expect(loop.timerEnd(id)).toBe(true);
  });
});
