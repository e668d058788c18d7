// `zkit fl server|client` run for real: each command is a child process
// (from source, through tsx) on ephemeral ports; the test reads the
// endpoint each server prints and points clients at them.
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { shutdown } from "@zkit/core";
import { startNode, stopAll, type Child } from "@zkit/testkit";

const ZKIT = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const START_MS = 30_000; // a tsx child on a loaded machine
const EXIT_MS = 60_000;

afterEach(async () => {
  shutdown();
  await stopAll();
});

function zkit(...args: string[]): Child {
  return startNode(ZKIT, args, { name: `zkit ${args.slice(0, 2).join(" ")}` });
}

async function exitOf(child: Child): Promise<number | null> {
  return (await child.waitForExit(EXIT_MS)).code;
}

/** A `zkit fl server` on an ephemeral port, and the endpoint it serves as. */
async function flServer(...flags: string[]): Promise<{ child: Child; endpoint: string }> {
  const child = zkit("fl", "server", "--bind", "tcp://127.0.0.1:*", ...flags);
  const endpoint = (await child.waitFor(/^serving as (\S+)$/m, START_MS))[1]!;
  return { child, endpoint };
}

describe("zkit fl", () => {
  it("--help on both commands lists their flags and exits 0; `zkit --help` lists them", async () => {
    const helps = [zkit("fl", "server", "--help"), zkit("fl", "client", "--help"), zkit("--help")];
    expect(await Promise.all(helps.map(exitOf))).toEqual([0, 0, 0]);
    expect(helps[0]!.stdout()).toMatch(/usage: zkit fl server \[options\]/);
    expect(helps[0]!.stdout()).toMatch(/--bind VALUE .*\(default tcp:\/\/\*:5555\)/);
    expect(helps[0]!.stdout()).toMatch(/--endpoint VALUE/);
    expect(helps[1]!.stdout()).toMatch(/usage: zkit fl client \[options\] BODY\.\.\./);
    expect(helps[1]!.stdout()).toMatch(/--timeout-ms N .*\(default 3000\)/);
    expect(helps[1]!.stdout()).toMatch(/--ping-ms N .*\(default 2000\)/);
    expect(helps[1]!.stdout()).toMatch(/--server-ttl-ms N .*\(default 6000\)/);
    expect(helps[1]!.stdout()).toMatch(/--attempt-timeout-ms N .*\(default 1000\)/);
    expect(helps[2]!.stdout()).toMatch(/^ {2}fl server +runs a Freelance/m);
    expect(helps[2]!.stdout()).toMatch(/^ {2}fl client +sends requests to Freelance servers/m);
  });

  it("a client asks one of three servers and prints the reply; the servers stop cleanly on SIGINT and SIGTERM", async () => {
    const servers = [await flServer(), await flServer(), await flServer()];
    const connect = servers.map((s) => s.endpoint).join(",");
    const one = zkit("fl", "client", "--connect", connect, "random name", "second frame");
    expect(await exitOf(one)).toBe(0);
    expect(one.stdout()).toBe("random name\nsecond frame\n");
    servers[0]!.child.kill("SIGINT");
    servers[1]!.child.kill("SIGTERM");
    servers[2]!.child.kill("SIGTERM");
    expect(await Promise.all(servers.map((s) => exitOf(s.child)))).toEqual([0, 0, 0]);
    const served = servers.map((s) => Number(/^server stopped: (\d+) requests, \1 replies, \d+ pings, 0 failed, 0 malformed$/m.exec(s.child.stdout())?.[1]));
    expect(served.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("--requests N --inflight K prints a throughput summary, and carries on when a server is killed", async () => {
    const servers = [await flServer(), await flServer()];
    const connect = servers.map((s) => s.endpoint).join(",");
    const bench = zkit("fl", "client", "--connect", connect, "--requests", "600", "--inflight", "20", "x");
    expect(await exitOf(bench)).toBe(0);
    expect(bench.stdout()).toMatch(/^600 replies to 600 requests \(20 in flight\) in [\d.]+ s: \d+ requests\/s, latency p50 [\d.]+ ms, p99 [\d.]+ ms, 0 failed, \d+ resent$/m);
    // one server killed while a long run goes on: nothing fails
    const long = zkit("fl", "client", "--connect", connect, "--requests", "30000", "--inflight", "20", "-v", "y");
    await long.waitFor(new RegExp(`^I: server ${servers[0]!.endpoint} is alive$`, "m"), START_MS);
    servers[0]!.child.kill("SIGKILL");
    expect(await exitOf(long)).toBe(0);
    expect(long.stdout()).toContain(`W: server ${servers[0]!.endpoint} lost (connection-lost)`);
    expect(long.stdout()).toMatch(/^30000 replies to 30000 requests \(20 in flight\) .* 0 failed, \d+ resent$/m);
  });

  it("-v on the server dumps every message; --endpoint names it", async () => {
    const s = await flServer("-v");
    const client = zkit("fl", "client", "--connect", s.endpoint, "hi");
    expect(await exitOf(client)).toBe(0);
    expect(client.stdout()).toBe("hi\n");
    await s.child.waitFor(/^I: received from clients \(2 frames\)\n\[005\] [0-9A-F]{10}\n\[004\] PING$/m, START_MS);
    await s.child.waitFor(/^I: sending to clients \(3 frames\)\n\[005\] [0-9A-F]{10}\n\[001\] 1\n\[002\] hi$/m, START_MS);
    const named = await flServer("--endpoint", "tcp://flp-test:1");
    expect(named.endpoint).toBe("tcp://flp-test:1");
    s.child.kill("SIGTERM");
    expect(await exitOf(s.child)).toBe(0);
  });

  it("a client with no live server exits 1 with a typed timeout that names the servers", async () => {
    const lonely = zkit("fl", "client", "--connect", "tcp://127.0.0.1:1", "--timeout-ms", "500", "x");
    expect(await exitOf(lonely)).toBe(1);
    expect(lonely.stderr()).toMatch(/^zkit fl client: ZKIT_TIMEOUT: FreelanceClient\.request \(timeout 500 ms\): none of the servers \(tcp:\/\/127\.0\.0\.1:1\) answered a PING/m);
  });

  it("refuses a bad command line with exit 2", async () => {
    const bad = [zkit("fl", "client", "--requests", "0"), zkit("fl", "server", "--concurrency", "x"), zkit("fl", "nothing")];
    expect(await Promise.all(bad.map(exitOf))).toEqual([2, 2, 2]);
    expect(bad[0]!.stderr()).toMatch(/--requests/);
    expect(bad[2]!.stderr()).toMatch(/unknown command "fl nothing"/);
  });
});
