// Smoke tests of the chapter 4 Freelance examples (flserver1-3,
// flclient1-3): each runs for real as a child process on ephemeral tcp
// ports; the tests read the endpoints the servers print, point the clients
// at them (and at a port where nobody listens), and check what they print
// and how they exit.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { count, startExample, stopAll, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process.
const START_MS = 30_000;
const EXIT_MS = 60_000;
const ANY = "tcp://127.0.0.1:*";
/** Nobody listens on port 1: connections are refused, requests go unanswered. */
const DEAD = "tcp://127.0.0.1:1";

afterEach(async () => {
  shutdown();
  await stopAll();
});

async function exitOf(e: Example): Promise<number | null> {
  const exit = await e.waitForExit(EXIT_MS);
  expect(exit.signal, e.describe()).toBeNull();
  return exit.code;
}

async function ready(e: Example): Promise<string> {
  return (await e.waitFor(/^I: (?:echo )?service is ready at (\S+)$/m, START_MS))[1]!;
}

describe("flserver1 and flclient1 (model 1: simple retry and failover)", () => {
  it("the client fails over from a dead server to a live one", async () => {
    const server = startExample("ch4/flserver1.ts", ["--bind", ANY]);
    const endpoint = await ready(server);
    const client = startExample("ch4/flclient1.ts", ["--connect", `${DEAD},${endpoint}`, "--timeout-ms", "500", "--requests", "3"]);
    expect(await exitOf(client)).toBe(0);
    const out = client.stdout();
    expect(out).toMatch(new RegExp(`^I: trying echo service at ${DEAD}\\.\\.\\.\\nW: no response from ${DEAD}\\nI: trying echo service at ${endpoint}\\.\\.\\.\\n`, "m"));
    expect(count(out, /^I: trying echo service at /gm)).toBe(4); // the next requests start with the server that answered
    expect(out).toMatch(/Service is running OK\n$/);
    server.kill("SIGINT");
    expect(await exitOf(server)).toBe(0);
  });

  it("with one server that never answers, it tries three times and gives up (exit 1)", async () => {
    const client = startExample("ch4/flclient1.ts", ["--connect", DEAD, "--timeout-ms", "300"]);
    expect(await exitOf(client)).toBe(1);
    const out = client.stdout();
    expect(count(out, /^I: trying echo service at /gm)).toBe(3);
    expect(count(out, /^W: no response from tcp:\/\/127\.0\.0\.1:1, retrying\.\.\.$/gm)).toBe(2);
    expect(out).toMatch(/E: no server answered, giving up\n$/);
  });
});

describe("flserver2 and flclient2 (model 2: shotgun)", () => {
  it("every request to every server, the first reply wins; the average round trip is printed", async () => {
    const servers = [startExample("ch4/flserver2.ts", ["--bind", ANY]), startExample("ch4/flserver2.ts", ["--bind", ANY])];
    const endpoints = await Promise.all(servers.map(ready));
    const client = startExample("ch4/flclient2.ts", ["--connect", endpoints.join(","), "--requests", "300"]);
    expect(await exitOf(client)).toBe(0);
    expect(client.stdout()).toMatch(/^Average round trip cost: \d+ usec$/m);
    servers[0]!.kill("SIGINT");
    servers[1]!.kill("SIGTERM");
    expect(await Promise.all(servers.map(exitOf))).toEqual([0, 0]);
  });

  it("with no server, aborts (exit 1)", async () => {
    const client = startExample("ch4/flclient2.ts", ["--connect", DEAD, "--timeout-ms", "300"]);
    expect(await exitOf(client)).toBe(1);
    expect(client.stdout()).toBe("E: name service not available, aborting\n");
  });
});

describe("flserver3 and flclient3 (model 3: the Freelance client)", () => {
  it("three servers named by their endpoints; requests in flight over them; a server killed meanwhile costs nothing", async () => {
    const servers = [0, 1, 2].map(() => startExample("ch4/flserver3.ts", ["--bind", ANY]));
    const endpoints = await Promise.all(servers.map(ready));
    for (const e of endpoints) expect(e).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const client = startExample("ch4/flclient3.ts", ["--connect", endpoints.join(","), "--requests", "5000", "--inflight", "10", "-v"]);
    await client.waitFor(new RegExp(`^I: server ${endpoints[0]} is alive$`, "m"), START_MS);
    servers[0]!.kill("SIGKILL"); // while the 5000 requests run
    expect(await exitOf(client)).toBe(0);
    const out = client.stdout();
    expect(out).toContain(`W: server ${endpoints[0]} lost (connection-lost)`);
    for (const e of endpoints) expect(out).toContain(`I: connecting to ${e}...`);
    expect(out).toMatch(/^Average round trip cost: \d+ usec$/m);
    expect(out).not.toContain("E: name service not available");
    for (const s of servers.slice(1)) {
      s.kill("SIGTERM");
      expect(await exitOf(s)).toBe(0);
      expect(s.stdout()).toMatch(/W: interrupted\n$/);
    }
  });

  it("-v on the server dumps every message; a client with no live server aborts (exit 1)", async () => {
    const server = startExample("ch4/flserver3.ts", ["--bind", ANY, "-v"]);
    const endpoint = await ready(server);
    const client = startExample("ch4/flclient3.ts", ["--connect", endpoint, "--requests", "2"]);
    expect(await exitOf(client)).toBe(0);
    await server.waitFor(/^\[004\] PING$/m, START_MS);
    await server.waitFor(/^\[004\] PONG$/m, START_MS);
    await server.waitFor(/^\[002\] OK$/m, START_MS);
    server.kill("SIGINT");
    expect(await exitOf(server)).toBe(0);
    const lonely = startExample("ch4/flclient3.ts", ["--connect", DEAD, "--timeout-ms", "500"]);
    expect(await exitOf(lonely)).toBe(1);
    expect(lonely.stdout()).toMatch(/E: name service not available, aborting\n$/);
  });
});

describe("every Freelance program", () => {
  it("prints its flags with --help and exits 0", async () => {
    const programs = ["flserver1", "flclient1", "flserver2", "flclient2", "flserver3", "flclient3"];
    const helps = programs.map((p) => startExample(`ch4/${p}.ts`, ["--help"]));
    for (const h of helps) expect(await exitOf(h)).toBe(0);
    for (const [i, h] of helps.entries()) expect(h.stdout()).toMatch(new RegExp(`^usage: ${programs[i]} \\[options\\]`));
    expect(helps[0]!.stdout()).toMatch(/--bind VALUE .*\(default tcp:\/\/\*:5555\)/);
    expect(helps[1]!.stdout()).toMatch(/--timeout-ms N .*\(default 1000\)/);
    expect(helps[3]!.stdout()).toMatch(/--requests N .*\(default 10000\)/);
    expect(helps[5]!.stdout()).toMatch(/--connect VALUE .*\(default tcp:\/\/localhost:5555,tcp:\/\/localhost:5556,tcp:\/\/localhost:5557\)/);
  });
});
