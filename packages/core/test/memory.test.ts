// Giving memory back when a server goes quiet: collectGarbage() runs a real
// full collection (the native memory behind dropped Buffers is freed), and
// IdleCollector decides when: a quiet tick after a burst.
import { describe, expect, it } from "vitest";
import { IdleCollector, collectGarbage } from "@zkit/core";
import { waitFor } from "@zkit/testkit";

describe("collectGarbage", () => {
  it("runs a full collection: the memory behind Buffers nobody holds is freed", async () => {
    const before = process.memoryUsage().arrayBuffers;
    let garbage: Buffer[] | undefined = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 1));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThan(60 * 1024 * 1024);
    garbage = undefined;
    expect(garbage).toBeUndefined();
    expect(collectGarbage()).toBe(true);
    // the backing stores are freed by the collection or just after it
    await waitFor(() => process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 5000, "the 64 MB to be freed");
  });
});

describe("IdleCollector", () => {
  it("collects at the first quiet tick after a burst of at least the threshold, once", () => {
    const c = new IdleCollector({ thresholdBytes: 1000 });
    c.received(600);
    expect(c.tick()).toBe(false); // busy
    c.received(600);
    expect(c.tick()).toBe(false); // busy
    expect(c.tick()).toBe(true); // quiet, 1200 >= 1000
    expect(c.collections).toBe(1);
    expect(c.tick()).toBe(false); // nothing since
  });

  it("a trickle (under threshold / 256 per tick) does not count as busy, and is not a burst", () => {
    const c = new IdleCollector({ thresholdBytes: 256_000 });
    for (let i = 0; i < 10; i++) {
      c.received(500);
      expect(c.tick()).toBe(false);
    }
    expect(c.collections).toBe(0);
  });

  it("memory let go of without traffic (expired requests) counts toward the next collection", () => {
    const c = new IdleCollector({ thresholdBytes: 1000 });
    c.released(1500);
    expect(c.tick()).toBe(true);
  });
});
