// ZLoop tickets: thousands of per-peer expiries with one shared delay;
// resets move a ticket to the back, the rest expire in deadline order.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, now } from "@zkit/core";
import { TIMER_RESOLUTION_MS, ZLoop, type Ticket } from "@zkit/zloop";
import { within } from "@zkit/testkit";
import { destroyLoops, newLoop } from "./helpers.js";

afterEach(destroyLoops);

describe("tickets", () => {
  it("5000 tickets: the reset ones expire later, the deleted never, all in deadline order", async () => {
    const N = 5000;
    // the resets run half-way through the delay: long enough that a loaded machine's
    // event-loop stall (measured up to ~100 ms at a load average of 12) does not let
    // the first tickets expire before them
    const DELAY = 1500;
    const loop = newLoop({ ticketDelayMs: DELAY });
    const expired: number[] = [];
    const lateness: number[] = [];
    const tickets: Ticket[] = [];
    const deleted = (i: number): boolean => i % 10 === 5;
    const wanted = N - N / 10;
    for (let i = 0; i < N; i++) {
      tickets.push(
        loop.ticket((t) => {
          lateness.push(now() - t.deadline);
          expired.push(i);
          expect(t.active).toBe(false); // it is firing: not armed any more
          if (expired.length === wanted) return -1;
          return undefined;
        }),
      );
    }
    expect(loop.ticketCount).toBe(N);
    // half-way through the delay, reset the odd tickets (in order) and delete some
    loop.timer(DELAY / 2, 1, () => {
      for (let i = 1; i < N; i += 2) expect(loop.ticketReset(tickets[i]!)).toBe(true);
      for (let i = 0; i < N; i++) if (deleted(i)) expect(loop.ticketDelete(tickets[i]!)).toBe(true);
    });
    await within(loop.start(), 10_000, "expiries");
    const evens = Array.from({ length: N / 2 }, (_, k) => 2 * k);
    const odds = Array.from({ length: N / 2 }, (_, k) => 2 * k + 1).filter((i) => !deleted(i));
    expect(expired).toEqual([...evens, ...odds]);
    for (const l of lateness) expect(l).toBeGreaterThanOrEqual(-TIMER_RESOLUTION_MS - 0.1);
    expect(loop.ticketCount).toBe(0);
    for (const i of [0, 1, 5]) {
      expect(tickets[i]!.active).toBe(false);
      expect(loop.ticketReset(tickets[i]!)).toBe(false); // expired or deleted: nothing to reset
      expect(loop.ticketDelete(tickets[i]!)).toBe(false);
    }
  });

  it("a ticket kept alive by resets never expires; one left alone does", async () => {
    const loop = newLoop({ ticketDelayMs: 30 });
    let aliveExpired = false;
    let idleExpiredAt = 0;
    const t0 = now();
    const alive = loop.ticket(() => void (aliveExpired = true));
    loop.ticket(() => {
      idleExpiredAt = now() - t0;
    });
    loop.timer(5, 0, () => void loop.ticketReset(alive));
    loop.timer(150, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(aliveExpired).toBe(false);
    expect(alive.active).toBe(true);
    expect(idleExpiredAt).toBeGreaterThanOrEqual(30 - TIMER_RESOLUTION_MS - 0.1);
  });

  it("a handler may reset its own ticket (re-arming it) or delete and reset others", async () => {
    const loop = newLoop();
    loop.setTicketDelay(5);
    expect(loop.ticketDelay).toBe(5);
    const log: string[] = [];
    // created first, so it expires first: it deletes one ticket and resets another
    loop.ticket((_t, l) => {
      expect(l).toBe(loop);
      log.push("first");
      expect(loop.ticketDelete(victim)).toBe(true);
      expect(loop.ticketReset(saved)).toBe(true);
    });
    const victim = loop.ticket(() => void log.push("victim"));
    const saved = loop.ticket(() => void log.push("saved"));
    let own = 0;
    const self = loop.ticket((t) => {
      own++;
      if (own < 4) expect(loop.ticketReset(t)).toBe(true); // re-armed: fires again
    });
    loop.timer(80, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(log).toEqual(["first", "saved"]);
    expect(own).toBe(4);
    expect(self.active).toBe(false);
    expect(victim.active).toBe(false);
  });

  it("a handler returning -1 ends the loop; an async one is awaited", async () => {
    const loop = newLoop({ ticketDelayMs: 2 });
    let settled = false;
    loop.ticket(async () => {
      await new Promise((r) => setTimeout(r, 5));
      settled = true;
      return -1;
    });
    await within(loop.start(), 5000, "loop end");
    expect(settled).toBe(true);
  });

  it("keeps expiring in deadline order after the delay is lowered", async () => {
    const loop = newLoop({ ticketDelayMs: 60 });
    const order: string[] = [];
    loop.ticket(() => void order.push("long"));
    loop.setTicketDelay(10);
    loop.ticket(() => void order.push("short"));
    loop.timer(100, 1, () => -1);
    await within(loop.start(), 5000, "loop end");
    expect(order).toEqual(["short", "long"]);
  });

  it("rejects bad arguments with InvalidArgumentError saying what to pass", () => {
    const loop = newLoop();
    expect(() => loop.ticket(() => {})).toThrow(/setTicketDelay/);
    expect(() => loop.setTicketDelay(0)).toThrow(InvalidArgumentError);
    expect(() => loop.setTicketDelay(-5)).toThrow(/> 0/);
    expect(() => new ZLoop({ ticketDelayMs: Number.NaN })).toThrow(InvalidArgumentError);
    loop.setTicketDelay(100);
    expect(() => loop.ticket(null as unknown as () => void)).toThrow(/handler must be a function/);
    const other = newLoop({ ticketDelayMs: 100 });
    const foreign = other.ticket(() => {});
    expect(() => loop.ticketReset(foreign)).toThrow(/pass a ticket returned by loop.ticket\(\) of this loop/);
    expect(() => loop.ticketDelete({ active: true, deadline: 0 })).toThrow(InvalidArgumentError);
  });
});
