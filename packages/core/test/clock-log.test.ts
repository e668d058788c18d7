import { afterEach, describe, expect, it } from "vitest";
import { LogBurst, ZSocket, getLogger, now, setLogSink, shutdown, sleep, time, type LogLevel } from "@zkit/core";
import { waitFor } from "@zkit/testkit";

afterEach(() => {
  setLogSink(undefined);
  shutdown();
});

describe("clock", () => {
  it("now() is monotonic and in milliseconds", async () => {
    const a = now();
    await sleep(20);
    const b = now();
    expect(b - a).toBeGreaterThanOrEqual(15);
    expect(Math.abs(time() - Date.now())).toBeLessThan(1000);
  });

  it("sleep() stops early when its signal aborts", async () => {
    const ac = new AbortController();
    const t0 = now();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(now() - t0).toBeLessThan(1000);
    await expect(sleep(10, ac.signal)).rejects.toThrow("stop");
  });
});

describe("logging", () => {
  it("a plugged sink receives every zkit record with level and namespace", async () => {
    const records: [LogLevel, string, string][] = [];
    setLogSink((level, ns, msg) => records.push([level, ns, msg]));
    const log = getLogger("test");
    expect(getLogger("test")).toBe(log);
    expect(log.enabled).toBe(true);
    log.warn("dropped %d malformed messages from %s", 3, "peer");
    const s = await ZSocket.router("@tcp://127.0.0.1:*");
    s.close();
    expect(records[0]).toEqual(["warn", "zkit:test", "dropped 3 malformed messages from peer"]);
    expect(records.some(([l, ns, m]) => l === "debug" && ns === "zkit:core" && m.startsWith("ROUTER bound tcp://127.0.0.1:"))).toBe(true);
  });
});

describe("versions", () => {
  it("reports the bundled libzmq as 4.x and its capabilities", async () => {
    const { zmqCapabilities, zmqVersion } = await import("@zkit/core");
    const [major, minor, patch] = zmqVersion();
    expect(major).toBe(4);
    expect(minor).toBeGreaterThanOrEqual(3);
    expect(Number.isInteger(patch)).toBe(true);
    expect(zmqCapabilities().ipc).toBe(true);
  });
});

describe("LogBurst", () => {
  it("logs the first record at once, then one summary per window while the burst lasts, then the first again", async () => {
    const records: string[] = [];
    setLogSink((level, _ns, msg) => records.push(`${level} ${msg}`));
    const burst = new LogBurst(getLogger("test"), "requests dropped (raise maxQueueBytes)", { windowMs: 50 });
    for (let i = 0; i < 1000; i++) burst.record("request %d dropped", i);
    expect(records).toEqual(["warn request 0 dropped"]);
    await waitFor(() => records.length === 2, 5000, "the summary");
    expect(records[1]).toBe("warn 999 more in the last 50 ms: requests dropped (raise maxQueueBytes)");
    // a quiet window ends the burst: the next record is logged in full
    await waitFor(() => !burst.active, 5000, "the burst to end");
    expect(records).toHaveLength(2);
    burst.record("request %s dropped", "late");
    expect(records.at(-1)).toBe("warn request late dropped");
    burst.flush();
  });

  it("flush() writes what is pending and ends the burst", () => {
    const records: string[] = [];
    setLogSink((level, _ns, msg) => records.push(`${level} ${msg}`));
    const burst = new LogBurst(getLogger("test"), "frames too big", { level: "info", windowMs: 60_000 });
    burst.record("first");
    burst.record("second");
    burst.record("third");
    burst.flush();
    expect(records).toEqual(["info first", "info 2 more in the last 60000 ms: frames too big"]);
    burst.record("fourth");
    expect(records.at(-1)).toBe("info fourth");
    burst.flush();
  });
});
