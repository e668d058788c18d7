// Liveness on a real ZLoop with short intervals: a Heartbeat beats while
// the peer talks and reports it lost once after `liveness` silent
// intervals; PeerExpiry expires silent peers, keeps touched ones, forgets
// removed ones, at O(1) per message with thousands of peers. Deadlines are
// generous; nothing asserts exact timing.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, now } from "@zkit/core";
import { waitFor } from "@zkit/testkit";
import { ZLoop } from "@zkit/zloop";
import { Heartbeat, PeerExpiry } from "../src/index.js";

const loops: ZLoop[] = [];
function loop(): ZLoop {
  const l = new ZLoop({ nonstop: true });
  loops.push(l);
  void l.start();
  return l;
}
afterEach(() => {
  for (const l of loops.splice(0)) l.destroy();
});

describe("Heartbeat", () => {
  it("beats every interval while the peer talks, never reports it lost", async () => {
    let beats = 0;
    let lost = 0;
    const hb = new Heartbeat({ intervalMs: 20, liveness: 3, onBeat: () => beats++, onLost: () => lost++ });
    hb.start(loop());
    const talk = setInterval(() => hb.heard(), 10);
    try {
      await waitFor(() => beats >= 10, 10_000, "ten beats");
    } finally {
      clearInterval(talk);
      hb.stop();
    }
    expect(lost).toBe(0);
    expect(hb.lost).toBe(false);
  });

  it("reports a silent peer lost once, after more than liveness x interval, and stops beating until it is heard", async () => {
    const lostAfter: number[] = [];
    let beats = 0;
    const hb = new Heartbeat({ intervalMs: 20, liveness: 3, onBeat: () => beats++, onLost: (ms) => lostAfter.push(ms) });
    const t0 = now();
    hb.start(loop());
    await waitFor(() => lostAfter.length === 1, 10_000, "lost");
    expect(now() - t0).toBeGreaterThan(60);
    expect(lostAfter[0]).toBeGreaterThan(60);
    expect(hb.lost).toBe(true);
    const beatsThen = beats;
    const silentTicks = beats;
    await waitFor(() => now() - t0 > 300, 10_000, "more intervals");
    expect(lostAfter).toHaveLength(1); // once
    expect(beats).toBe(beatsThen);
    hb.heard(); // it is back
    expect(hb.lost).toBe(false);
    await waitFor(() => beats > silentTicks, 10_000, "beating again");
    hb.stop();
  });

  it("with beatWhileLost, reports the peer lost once and beats on every interval while it stays silent", async () => {
    const events: string[] = [];
    const hb = new Heartbeat({ intervalMs: 20, liveness: 2, beatWhileLost: true, onBeat: () => events.push("beat"), onLost: () => events.push("lost") });
    hb.start(loop());
    await waitFor(() => events.includes("lost"), 10_000, "lost");
    const at = events.indexOf("lost");
    await waitFor(() => events.length >= at + 6, 10_000, "beats after the loss");
    hb.stop();
    expect(events.filter((e) => e === "lost")).toHaveLength(1);
    expect(events.slice(at + 1).every((e) => e === "beat")).toBe(true);
    expect(hb.lost).toBe(true);
  });

  it("refuses bad options, naming them", () => {
    expect(() => new Heartbeat({ intervalMs: 10, liveness: 3, beatWhileLost: 1, onBeat: () => {}, onLost: () => {} } as never)).toThrow(/beatWhileLost/);
    expect(() => new Heartbeat({ intervalMs: 0, liveness: 3, onBeat: () => {}, onLost: () => {} })).toThrow(/intervalMs/);
    expect(() => new Heartbeat({ intervalMs: 10, liveness: 0.5, onBeat: () => {}, onLost: () => {} })).toThrow(InvalidArgumentError);
    expect(() => new Heartbeat({ intervalMs: 10, liveness: 3, onBeat: () => {} } as never)).toThrow(/onLost/);
  });
});

describe("PeerExpiry", () => {
  it("expires a silent peer, keeps a touched one, forgets a removed one", async () => {
    const expired: string[] = [];
    const l = loop();
    const expiry = new PeerExpiry<string>(l, 60, (p) => expired.push(p));
    const silent = expiry.add("silent");
    const talker = expiry.add("talker");
    const leaver = expiry.add("leaver");
    expiry.remove(leaver);
    const talk = setInterval(() => expiry.touch(talker), 10);
    try {
      await waitFor(() => expired.length === 1, 10_000, "the silent one to expire");
      const t = now();
      await waitFor(() => now() - t > 200, 10_000, "three more expiry periods");
    } finally {
      clearInterval(talk);
    }
    expect(expired).toEqual(["silent"]);
    expect(silent.active).toBe(false);
    expect(talker.active).toBe(true);
    expect(leaver.active).toBe(false);
    expiry.remove(talker);
    expiry.touch(silent); // no effect after expiry
  });

  it("10,000 peers, half of them talking: exactly the silent half expires", async () => {
    const l = loop();
    const expired = new Set<number>();
    // a long expiry: making 10,000 tickets takes a while on a loaded machine
    const expiry = new PeerExpiry<number>(l, 3000, (p) => expired.add(p));
    const handles = Array.from({ length: 10_000 }, (_, i) => expiry.add(i));
    const touchEvens = (): void => {
      for (let i = 0; i < 10_000; i += 2) expiry.touch(handles[i]!);
    };
    touchEvens();
    const talk = setInterval(touchEvens, 200);
    try {
      await waitFor(() => expired.size >= 5000, 20_000, "the 5000 silent ones to expire");
      const t = now();
      await waitFor(() => now() - t > 1000, 10_000, "a while longer");
    } finally {
      clearInterval(talk);
    }
    expect(expired.size).toBe(5000);
    expect([...expired].every((p) => p % 2 === 1)).toBe(true);
    for (let i = 0; i < 10_000; i += 2) expiry.remove(handles[i]!);
  });

  it("refuses a bad expiry", () => {
    expect(() => new PeerExpiry(new ZLoop(), 0, () => {})).toThrow(InvalidArgumentError);
  });
});
