// Smoke tests of the chapter 4 Pirate examples (lpclient, lpserver,
// spqueue, spworker, ppqueue, ppworker): each runs for real as a child
// process on ephemeral tcp ports; the tests read the endpoints they print,
// make them talk, crash some of them on purpose (--crash-at), and check what
// they print and how they exit.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { tempDir } from "@zkit/testkit";
import { count, startExample, stopAll, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process.
const START_MS = 20_000;
const EXIT_MS = 30_000;
const ANY = "tcp://127.0.0.1:*";
const QUIET = ["--chaos", "0", "--work-ms", "0"];

const cleanups: (() => void)[] = [];

afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function exitOf(e: Example): Promise<number | null> {
  const exit = await e.waitForExit(EXIT_MS);
  expect(exit.signal, e.describe()).toBeNull();
  return exit.code;
}

async function listening(e: Example, which?: "frontend" | "backend"): Promise<string> {
  const re = which ? new RegExp(`^listening on (\\S+) \\(${which}\\)$`, "m") : /^listening on (\S+)$/m;
  return (await e.waitFor(re, START_MS))[1]!;
}

describe("lpclient and lpserver (Lazy Pirate)", () => {
  it("the client gets its sequence numbers echoed", async () => {
    const server = startExample("ch4/lpserver.ts", ["--bind", ANY, ...QUIET]);
    const endpoint = await listening(server);
    const client = startExample("ch4/lpclient.ts", ["--connect", endpoint, "--requests", "5"]);
    expect(await exitOf(client)).toBe(0);
    const out = client.stdout();
    expect(out).toMatch(/^I: connecting to server\.\.\.$/m);
    for (let n = 1; n <= 5; n++) expect(out).toContain(`I: server replied OK (${n})`);
    expect(out).not.toContain("retrying");
    expect(count(server.stdout(), /^I: normal request \(\d\)$/gm)).toBe(5);
    server.kill("SIGTERM");
    expect(await exitOf(server)).toBe(0);
  });

  it("the server crashes; the client retries on a fresh socket and carries on with a restarted server", async () => {
    // ipc: the endpoint stays ours while the server is down (a tcp port could
    // be taken meanwhile, even by the client's own reconnects)
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = startExample("ch4/lpserver.ts", ["--bind", `ipc://${dir.dir}/lpserver`, ...QUIET, "--crash-at", "3"]);
    const endpoint = await listening(first);
    const client = startExample("ch4/lpclient.ts", ["--connect", endpoint, "--requests", "6", "--timeout-ms", "700", "--retries", "30"]);
    await first.waitFor(/^I: simulating a crash$/m, START_MS);
    expect(await exitOf(first)).toBe(0);
    await client.waitFor(/^W: no response from server, retrying\.\.\.$/m, START_MS);
    const second = startExample("ch4/lpserver.ts", ["--bind", endpoint, ...QUIET]);
    await listening(second);
    expect(await exitOf(client)).toBe(0);
    const out = client.stdout();
    for (let n = 1; n <= 6; n++) expect(out).toContain(`I: server replied OK (${n})`);
    expect(out).toMatch(/^I: reconnecting to server\.\.\.$/m);
  });

  it("the client abandons when the server stays away, and exits 1", async () => {
    const server = startExample("ch4/lpserver.ts", ["--bind", ANY, ...QUIET, "--crash-at", "2"]);
    const endpoint = await listening(server);
    const client = startExample("ch4/lpclient.ts", ["--connect", endpoint, "--timeout-ms", "300", "--retries", "2"]);
    expect(await exitOf(client)).toBe(1);
    const out = client.stdout();
    expect(out).toContain("I: server replied OK (1)");
    expect(count(out, /^W: no response from server, retrying\.\.\.$/gm)).toBe(2);
    expect(out).toMatch(/E: server seems to be offline, abandoning\n$/);
  });

  it("an overloaded server answers too late: the client resends on a fresh socket and gets the answer", async () => {
    const server = startExample("ch4/lpserver.ts", ["--bind", ANY, ...QUIET, "--overload-at", "2", "--overload-ms", "1500"]);
    const endpoint = await listening(server);
    const client = startExample("ch4/lpclient.ts", ["--connect", endpoint, "--requests", "3", "--timeout-ms", "500", "--retries", "10"]);
    expect(await exitOf(client)).toBe(0);
    const out = client.stdout();
    for (let n = 1; n <= 3; n++) expect(out).toContain(`I: server replied OK (${n})`);
    expect(out).toContain("W: no response from server, retrying...");
    expect(server.stdout()).toContain("I: simulating CPU overload");
    // the late answer to the first send of 2 went to a closed socket: 2 was served twice
    expect(count(server.stdout(), /^I: normal request \(2\)$/gm)).toBeGreaterThanOrEqual(2);
  });
});

describe("spqueue and spworker (Simple Pirate)", () => {
  it("the queue passes requests to workers and back", async () => {
    const queue = startExample("ch4/spqueue.ts", ["--frontend", ANY, "--backend", ANY]);
    const frontend = await listening(queue, "frontend");
    const backend = await listening(queue, "backend");
    const worker = startExample("ch4/spworker.ts", ["--connect", backend, ...QUIET]);
    await worker.waitFor(/^I: \([0-9A-F]{4}-[0-9A-F]{4}\) worker ready$/m, START_MS);
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const client = startExample("ch4/lpclient.ts", ["--connect", frontend, "--requests", "4"]);
    expect(await exitOf(client)).toBe(0);
    expect(count(client.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(4);
    expect(count(worker.stdout(), /^I: \([0-9A-F-]+\) normal reply$/gm)).toBe(4);
    for (const e of [worker, queue]) e.kill("SIGINT");
    expect(await exitOf(worker)).toBe(0);
    expect(await exitOf(queue)).toBe(0);
  });

  it("a worker crashes in the middle of a request; the queue gives the request to another worker, no client retry needed", async () => {
    const queue = startExample("ch4/spqueue.ts", ["--frontend", ANY, "--backend", ANY]);
    const frontend = await listening(queue, "frontend");
    const backend = await listening(queue, "backend");
    const crasher = startExample("ch4/spworker.ts", ["--connect", backend, ...QUIET, "--crash-at", "2"]);
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const steady = startExample("ch4/spworker.ts", ["--connect", backend, ...QUIET]);
    await queue.waitFor(/(I: worker [0-9a-f]+ ready\n[\s\S]*){2}/, START_MS);
    const client = startExample("ch4/lpclient.ts", ["--connect", frontend, "--requests", "8", "--timeout-ms", "1500", "--retries", "5"]);
    expect(await exitOf(client)).toBe(0);
    expect(count(client.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(8);
    expect(client.stdout()).not.toContain("retrying");
    expect(crasher.stdout()).toMatch(/simulating a crash/);
    expect(queue.stdout()).toMatch(/^W: worker [0-9a-f]+ gone \(disconnected\): its request goes to the next worker$/m);
    expect(await exitOf(crasher)).toBe(0);
    expect(count(steady.stdout(), /normal reply/g)).toBeGreaterThanOrEqual(4);
  });
});

describe("ppqueue and ppworker (Paranoid Pirate)", () => {
  const HB = ["--heartbeat-ms", "250"];

  it("requests pass; a crashed worker leaves at once, its request goes to the other worker, and the client gets every answer", async () => {
    const queue = startExample("ch4/ppqueue.ts", ["--frontend", ANY, "--backend", ANY, ...HB]);
    const frontend = await listening(queue, "frontend");
    const backend = await listening(queue, "backend");
    const crasher = startExample("ch4/ppworker.ts", ["--connect", backend, ...HB, ...QUIET, "--crash-at", "2"]);
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const steady = startExample("ch4/ppworker.ts", ["--connect", backend, ...HB, ...QUIET]);
    await steady.waitFor(/^I: worker ready$/m, START_MS);
    await queue.waitFor(/(I: worker [0-9a-f]+ ready\n[\s\S]*){2}/, START_MS);
    const client = startExample("ch4/lpclient.ts", ["--connect", frontend, "--requests", "8", "--timeout-ms", "1500", "--retries", "5"]);
    expect(await exitOf(client)).toBe(0);
    expect(count(client.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(8);
    expect(await exitOf(crasher)).toBe(0);
    expect(crasher.stdout()).toContain("I: simulating a crash");
    await queue.waitFor(/^W: worker [0-9a-f]+ gone \(disconnected\): its request goes to the next worker$/m, EXIT_MS);
    expect(client.stdout()).not.toContain("retrying");
    for (const e of [steady, queue]) e.kill("SIGTERM");
    expect(await exitOf(steady)).toBe(0);
    expect(await exitOf(queue)).toBe(0);
  });

  it("an overloaded worker keeps heartbeating: it is not expired and its answer arrives", async () => {
    const queue = startExample("ch4/ppqueue.ts", ["--frontend", ANY, "--backend", ANY, ...HB]);
    const frontend = await listening(queue, "frontend");
    const backend = await listening(queue, "backend");
    // 2 s of work against a queue that expires workers silent for 750 ms
    const worker = startExample("ch4/ppworker.ts", ["--connect", backend, ...HB, ...QUIET, "--overload-at", "1", "--overload-ms", "2000"]);
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const client = startExample("ch4/lpclient.ts", ["--connect", frontend, "--requests", "2", "--timeout-ms", "10000"]);
    expect(await exitOf(client)).toBe(0);
    expect(client.stdout()).toContain("I: server replied OK (2)");
    expect(client.stdout()).not.toContain("retrying");
    expect(worker.stdout()).toContain("I: simulating CPU overload");
    expect(queue.stdout()).not.toContain("gone");
  });

  it("a worker without its queue reports heartbeat failures, backs off, and registers once the queue is up", async () => {
    const dir = tempDir(); // ipc: no port to lose while nobody listens
    cleanups.push(dir.remove);
    const backend = `ipc://${dir.dir}/backend`;
    const worker = startExample("ch4/ppworker.ts", ["--connect", backend, "--heartbeat-ms", "100", "--reconnect-ms", "100", ...QUIET]);
    await worker.waitFor(/W: heartbeat failure, can't reach queue\nW: reconnecting in 100 msec\.\.\.\n/, START_MS);
    await worker.waitFor(/W: reconnecting in 200 msec\.\.\./, START_MS);
    const queue = startExample("ch4/ppqueue.ts", ["--frontend", ANY, "--backend", backend, "--heartbeat-ms", "100"]);
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
  });
});

describe("every program", () => {
  const programs: [string, string[]][] = [
    ["ch4/lpserver.ts", ["--bind", ANY]],
    ["ch4/spqueue.ts", ["--frontend", ANY, "--backend", ANY]],
    ["ch4/ppqueue.ts", ["--frontend", ANY, "--backend", ANY]],
    ["ch4/spworker.ts", ["--connect", "tcp://127.0.0.1:9"]],
    ["ch4/ppworker.ts", ["--connect", "tcp://127.0.0.1:9"]],
    ["ch4/lpclient.ts", ["--connect", "tcp://127.0.0.1:9", "--timeout-ms", "60000"]],
  ];

  it("exits 0 on SIGTERM and on SIGINT", async () => {
    const started = programs.flatMap(([p, args]) => [startExample(p, args), startExample(p, args)]);
    // each is up once it printed its first line (a listening line, ready, or connecting)
    await Promise.all(started.map((e) => e.waitFor(/^(listening on|I: )/m, START_MS)));
    for (const [i, e] of started.entries()) e.kill(i % 2 === 0 ? "SIGTERM" : "SIGINT");
    for (const e of started) expect(await exitOf(e), e.describe()).toBe(0);
  });

  it("--help prints the flags and exits 0; a bad flag exits 2", async () => {
    const helps = programs.map(([p]) => startExample(p, ["--help"]));
    const bads = programs.map(([p]) => startExample(p, ["--no-such-flag"]));
    for (const e of helps) {
      expect(await exitOf(e)).toBe(0);
      expect(e.stdout()).toMatch(/^usage: \w+ \[options\]/);
    }
    for (const e of bads) {
      expect(await exitOf(e)).toBe(2);
      expect(e.stderr()).toContain("no-such-flag");
    }
  });
});
