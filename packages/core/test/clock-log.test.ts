import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, getLogger, now, setLogSink, shutdown, sleep, time, type LogLevel } from "@zkit/core";

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
