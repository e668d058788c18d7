// `zkit clone server`, `zkit clone set`, `zkit clone get` and `zkit clone
// watch` as real processes: a value set through one client is printed by a
// watcher and read back by get; an ephemeral key is deleted when its ttl
// expires; -v prints each update as the Guide's clonesrv does; bad command
// lines exit 2; SIGTERM exits 0. A Binary Star pair (--primary, --backup)
// fails over when the primary is SIGKILLed, with the update only the
// backup held, and serves --metrics.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { stopAll, type Child } from "@zkit/testkit";
import { START_MS, exitCode, zkit } from "./helpers.js";

const WAIT = 30_000;

afterEach(async () => {
  shutdown();
  await stopAll();
});

async function startServer(...extra: string[]): Promise<{ server: Child; connect: string }> {
  const server = zkit("clone", "server", "--port", "0", "--host", "127.0.0.1", "--hugz-ms", "100", ...extra);
  const port = (await server.waitFor(/^clone server ready: snapshots tcp:\/\/127\.0\.0\.1:(\d+), updates \S+, collector \S+$/m, START_MS))[1]!;
  return { server, connect: `tcp://127.0.0.1:${port}` };
}

/** True when 127.0.0.1:`port` can be listened on now (closed again at once). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * A pair of `zkit clone server` processes on 8 ports in a row found free
 * (primary P..P+2, backup P+3..P+5, their Binary Star states P+6, P+7): a
 * random base, another one when a port turns out taken.
 */
async function startPair(...extra: string[]): Promise<{ primary: Child; backup: Child; connect: string; backupEndpoint: string }> {
  for (let attempt = 1; ; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all(Array.from({ length: 8 }, (_, i) => portFree(base + i)));
    if (free.includes(false)) continue;
    const common = ["--host", "127.0.0.1", "--hugz-ms", "200", "--heartbeat-ms", "500"];
    const primary = zkit(
      "clone",
      "server",
      "--primary",
      "--port",
      String(base),
      "--peer",
      `127.0.0.1:${base + 3}`,
      "--local",
      `tcp://127.0.0.1:${base + 6}`,
      "--remote",
      `tcp://127.0.0.1:${base + 7}`,
      ...common,
      ...extra,
    );
    const backup = zkit(
      "clone",
      "server",
      "--backup",
      "--port",
      String(base + 3),
      "--peer",
      `127.0.0.1:${base}`,
      "--local",
      `tcp://127.0.0.1:${base + 7}`,
      "--remote",
      `tcp://127.0.0.1:${base + 6}`,
      ...common,
    );
    try {
      await primary.waitFor(/^I: active /m, START_MS);
      await backup.waitFor(/^I: passive: copy of the active's map/m, START_MS);
      return { primary, backup, connect: `tcp://127.0.0.1:${base},tcp://127.0.0.1:${base + 3}`, backupEndpoint: `tcp://127.0.0.1:${base + 3}` };
    } catch (err) {
      primary.kill("SIGKILL");
      backup.kill("SIGKILL");
      if (attempt >= 5 || !/in use/i.test(primary.stderr() + backup.stderr())) throw err;
    }
  }
}

describe("zkit clone", () => {
  it("set, get and watch through a server; a ttl expires; -v prints the updates; SIGTERM exits 0", async () => {
    const { server, connect } = await startServer("-v");
    const watch = zkit("clone", "watch", "--connect", connect, "--subtree", "/demo/", "--count", "4");
    await watch.waitFor(/^synced at sequence 0 \(0 keys\)$/m, START_MS);

    const set = zkit("clone", "set", "--connect", connect, "/demo/colour", "blue");
    expect(await exitCode(set)).toBe(0);
    expect(set.stdout()).toBe("/demo/colour set at sequence 1\n");
    const eph = zkit("clone", "set", "--connect", connect, "--ttl", "0.5", "/demo/flash", "now");
    expect(await exitCode(eph)).toBe(0);
    const other = zkit("clone", "set", "--connect", connect, "/elsewhere", "x");
    expect(await exitCode(other)).toBe(0);
    const change = zkit("clone", "set", "--connect", connect, "/demo/colour", "green");
    expect(await exitCode(change)).toBe(0);

    expect(await exitCode(watch)).toBe(0);
    // the ttl may expire before or after the later sets: sequences say which
    const lines = watch.stdout().split("\n").slice(1, 5);
    const seqs = lines.map((l) => Number(l.split(" ")[0]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(lines.map((l) => l.replace(/^\d+ /, "")).sort()).toEqual(["/demo/colour = blue", "/demo/colour = green", "/demo/flash = now", "/demo/flash deleted"]);
    expect(lines.slice(0, 2)).toEqual(["1 /demo/colour = blue", "2 /demo/flash = now"]);
    const expiredAt = Number(/^(\d+) \/demo\/flash deleted$/m.exec(watch.stdout())![1]);

    const get = zkit("clone", "get", "--connect", connect, "/demo/colour");
    expect(await exitCode(get)).toBe(0);
    expect(get.stdout()).toBe("green\n");
    const missing = zkit("clone", "get", "--connect", connect, "/demo/flash");
    expect(await exitCode(missing)).toBe(1);
    expect(missing.stderr()).toContain("E: no key /demo/flash");

    // a late watcher of the whole map gets the snapshot first
    const late = zkit("clone", "watch", "--connect", connect, "--count", "1");
    await late.waitFor(/^synced at sequence 5 \(2 keys\)$/m, START_MS);
    expect(late.stdout()).toMatch(/^\/demo\/colour = green\n\/elsewhere = x\nsynced/);
    const del = zkit("clone", "set", "--connect", connect, "/elsewhere", "");
    expect(await exitCode(del)).toBe(0);
    expect(del.stdout()).toBe("/elsewhere deleted at sequence 6\n");
    expect(await exitCode(late)).toBe(0);
    expect(late.stdout()).toContain("6 /elsewhere deleted");

    expect(server.stdout()).toContain("I: publishing update=1 /demo/colour");
    expect(server.stdout()).toContain(`I: publishing delete=${expiredAt} /demo/flash (ttl expired)`);
    server.kill("SIGTERM");
    expect(await exitCode(server)).toBe(0);
    expect(server.stdout()).toContain("clone server stopped at sequence 6: 1 keys, 5 updates, 1 expired");
  });

  it("no server: get and set give up after --timeout-ms with exit 1", async () => {
    const get = zkit("clone", "get", "--connect", "tcp://127.0.0.1:1", "--timeout-ms", "500", "/k");
    expect(await exitCode(get)).toBe(1);
    expect(get.stderr()).toMatch(/^E: no snapshot from the server within 500 ms/m);
    const set = zkit("clone", "set", "--connect", "tcp://127.0.0.1:1", "--timeout-ms", "500", "/k", "v");
    expect(await exitCode(set)).toBe(1);
    expect(set.stderr()).toMatch(/^E: /m);
  });

  it("a pair: -p and -b; the primary SIGKILLed, the backup takes over with the map and serves sets and gets; --metrics serves the server's counters", async () => {
    const { primary, backup, connect } = await startPair("--metrics", "127.0.0.1:0");
    const url = (await primary.waitFor(/^I: metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m, START_MS))[1]!;
    const set = zkit("clone", "set", "--connect", connect, "--server-ttl-ms", "2000", "/pair/a", "1");
    expect(await exitCode(set)).toBe(0);
    expect(set.stdout()).toBe("/pair/a set at sequence 1\n");
    const metrics = await (await fetch(url)).text();
    expect(metrics).toMatch(/^zkit_clone_server_updates_total 1$/m);
    expect(metrics).toMatch(/^zkit_clone_server_active 1$/m);
    expect(metrics).toMatch(/^zkit_clone_server_keys 1$/m);

    primary.kill("SIGKILL");
    await primary.waitForExit(WAIT);
    // a set through the pair reaches the backup alone; it takes over when the client asks it for a snapshot
    const after = zkit("clone", "set", "--connect", connect, "--server-ttl-ms", "2000", "--timeout-ms", String(WAIT), "/pair/b", "2");
    expect(await exitCode(after, WAIT + 10_000), after.describe()).toBe(0);
    expect(after.stdout()).toMatch(/^\/pair\/b set at sequence 2$/m);
    await backup.waitFor(/^I: active \(failover, was passive\)/m, WAIT);
    const get = zkit("clone", "get", "--connect", connect, "--server-ttl-ms", "2000", "/pair/a");
    expect(await exitCode(get, WAIT + 10_000)).toBe(0);
    expect(get.stdout()).toBe("1\n");
    backup.kill("SIGTERM");
    expect(await exitCode(backup)).toBe(0);
    expect(backup.stdout()).toMatch(/clone server stopped at sequence 2: 2 keys, 1 updates, 0 expired, \d+ snapshots, 0 republished, 0 held/);
  });

  it("bad command lines exit 2 with the usage", async () => {
    for (const args of [
      ["clone", "set", "/only-key"],
      ["clone", "get"],
      ["clone", "set", "--connect", "localhost:5556", "/k", "v"],
      ["clone", "server", "--dialect", "c"],
      ["clone", "server", "--port", "65534"],
      ["clone", "server", "--primary", "--backup"],
      ["clone", "server", "--peer", "localhost:5566"],
      ["clone", "server", "--primary", "--peer", "localhost"],
      ["clone", "server", "--backup", "--local", "nowhere"],
      ["clone", "watch", "extra"],
    ]) {
      const c = zkit(...args);
      expect(await exitCode(c), args.join(" ")).toBe(2);
    }
  });
});
