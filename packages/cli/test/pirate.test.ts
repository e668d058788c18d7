// `zkit lpp|spp|ppp ...` as real processes: queues, workers and the Lazy
// Pirate client exchange requests; --help, bad flags (exit 2), and a clean
// exit 0 on SIGTERM/SIGINT.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { count, stopAll, tempDir, waitFor, within, type Child } from "@zkit/testkit";
import { START_MS, exitCode, zkit } from "./helpers.js";

const ANY = "tcp://127.0.0.1:*";
const WAIT_MS = 30_000;
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

const cleanups: (() => void)[] = [];

afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function startQueue(pattern: "spp" | "ppp", ...extra: string[]): Promise<{ queue: Child; frontend: string; backend: string }> {
  const queue = zkit(pattern, "queue", "--frontend", ANY, "--backend", ANY, ...extra);
  const frontend = (await queue.waitFor(/^listening on (\S+) \(frontend\)$/m, START_MS))[1]!;
  const backend = (await queue.waitFor(/^listening on (\S+) \(backend\)$/m, START_MS))[1]!;
  return { queue, frontend, backend };
}

describe("zkit spp", () => {
  it("queue + worker + lpp client: every request answered, summary printed, SIGTERM exits 0", async () => {
    const { queue, frontend, backend } = await startQueue("spp");
    const worker = zkit("spp", "worker", "--connect", backend);
    await worker.waitFor(/^I: READY sent; Simple Pirate has no heartbeat/m, START_MS);
    expect(worker.stdout()).toMatch(new RegExp(`^I: connecting to ${escapeRegExp(backend)}\n`));
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const client = zkit("lpp", "client", "--connect", frontend, "--requests", "5", "--timeout-ms", "5000");
    expect(await exitCode(client)).toBe(0);
    expect(count(client.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(5);
    expect(client.stdout()).toContain("I: 5 requests, 5 replies, 0 retries, 0 failed");
    expect(count(worker.stdout(), /^I: first request from the queue: serving$/gm)).toBe(1);

    worker.kill("SIGTERM");
    expect(await exitCode(worker)).toBe(0);
    expect(worker.stdout()).toContain("I: 5 requests answered");
    queue.kill("SIGTERM");
    expect(await exitCode(queue)).toBe(0);
    // the worker's SIGTERM closed its connection: the queue saw it leave, holding nothing
    expect(queue.stdout()).toMatch(/^W: worker [0-9a-f]+ gone \(disconnected\)$/m);
    expect(queue.stdout()).toContain("I: 5 requests, 5 replies, 1 workers lost, 0 requests re-dispatched, 0 requests lost, 0 bad messages dropped");
  });

  it("a worker killed holding a request (SIGKILL): the queue says so and passes the request on; the client never retries", async () => {
    const { queue, frontend, backend } = await startQueue("spp");
    // the stuck worker is ready first, so it gets the first request, and never answers
    const stuck = zkit("spp", "worker", "--connect", backend, "--work-ms", "600000");
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    const steady = zkit("spp", "worker", "--connect", backend);
    await queue.waitFor(/(I: worker [0-9a-f]+ ready\n[\s\S]*){2}/, START_MS);
    const client = zkit("lpp", "client", "--connect", frontend, "--requests", "3", "--timeout-ms", "20000");
    await stuck.waitFor(/^I: first request from the queue: serving$/m, START_MS);
    stuck.kill("SIGKILL");
    expect(await exitCode(client)).toBe(0);
    expect(client.stdout()).toContain("I: 3 requests, 3 replies, 0 retries, 0 failed");
    expect(queue.stdout()).toMatch(/^W: worker [0-9a-f]+ gone \(disconnected\), its request goes to the next worker$/m);
    queue.kill("SIGTERM");
    expect(await exitCode(queue)).toBe(0);
    expect(queue.stdout()).toContain("I: 3 requests, 3 replies, 1 workers lost, 1 requests re-dispatched, 0 requests lost");
    steady.kill("SIGTERM");
    expect(await exitCode(steady)).toBe(0);
    expect(steady.stdout()).toContain("I: 3 requests answered, 0 reconnects");
  });
});

describe("zkit spp worker", () => {
  it("a malformed request: says it starts over, sends READY on a fresh socket, and serves the next request", async () => {
    const E = Buffer.alloc(0);
    const backend = await ZSocket.router(`@${ANY}`); // a queue played frame by frame
    const worker = zkit("spp", "worker", "--connect", backend.endpoint);
    const [id, , ready] = await within(backend.receive(), WAIT_MS, "a message from the worker");
    expect(ready).toEqual(Buffer.from([0x01]));
    await backend.send([id!, E, Buffer.from("no client envelope")]);
    const [id2, , ready2] = await within(backend.receive(), WAIT_MS, "a message from the worker");
    expect(ready2).toEqual(Buffer.from([0x01]));
    expect(id2).not.toEqual(id);
    await worker.waitFor(/^W: starting over on a fresh socket \(a malformed request\)$/m, START_MS);
    const client = Buffer.from("c1");
    await backend.send([id2!, E, client, E, Buffer.from("hello")]);
    expect(await within(backend.receive(), WAIT_MS, "a message from the worker")).toEqual([id2, E, client, E, Buffer.from("hello")]);
    worker.kill("SIGTERM");
    expect(await exitCode(worker)).toBe(0);
    expect(worker.stdout()).toContain("I: 1 requests answered, 1 reconnects");
  });
});

describe("zkit ppp", () => {
  it("queue + workers + lpp client, -v dumps frames; SIGINT and SIGTERM exit 0", async () => {
    const { queue, frontend, backend } = await startQueue("ppp", "--heartbeat-ms", "250", "-v");
    const w1 = zkit("ppp", "worker", "--connect", backend, "--heartbeat-ms", "250");
    const w2 = zkit("ppp", "worker", "--connect", backend, "--heartbeat-ms", "250", "-v");
    await Promise.all([w1.waitFor(/^I: worker ready: the queue at \S+ answered$/m, START_MS), w2.waitFor(/^I: worker ready: the queue at \S+ answered$/m, START_MS)]);
    await queue.waitFor(/(I: worker [0-9a-f]+ ready\n[\s\S]*){2}/, START_MS);
    const client = zkit("lpp", "client", "--connect", frontend, "--requests", "6", "--timeout-ms", "5000");
    expect(await exitCode(client)).toBe(0);
    expect(count(client.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(6);
    // -v: the queue shows a request going to a worker, [w-id][client-id][""][seq]
    expect(queue.stdout()).toMatch(/I: sending to backend \(4 frames\)\n\[005\] [0-9A-F]{10}\n\[005\] [0-9A-F]{10}\n\[000\] ?\n\[001\] \d/);
    // and heartbeats both ways, [w-id][0x02]: they come every 250 ms, so
    // wait for them (a quick run may be done with the requests before)
    await queue.waitFor(/I: received from backend \(2 frames\)\n\[005\] [0-9A-F]{10}\n\[001\] 02/, START_MS);
    await w2.waitFor(/I: received from queue \(1 frame\)\n\[001\] 02/, START_MS);

    w1.kill("SIGINT");
    w2.kill("SIGTERM");
    expect(await exitCode(w1)).toBe(0);
    expect(await exitCode(w2)).toBe(0);
    queue.kill("SIGTERM");
    expect(await exitCode(queue)).toBe(0);
    expect(queue.stdout()).toContain("I: 6 requests, 6 replies");
  });

  it("a worker with no queue says so once, logs the back-off only when it changes, and says when the queue answers", async () => {
    const dir = tempDir(); // ipc: no port to lose while nobody listens
    cleanups.push(dir.remove);
    const backend = `ipc://${dir.dir}/backend`;
    const worker = zkit("ppp", "worker", "--connect", backend, "--heartbeat-ms", "100", "--reconnect-ms", "100", "--reconnect-max-ms", "200");
    await worker.waitFor(/^W: no queue answered at \S+ within \d+ ms$/m, START_MS);
    expect(worker.stdout()).toMatch(new RegExp(`^I: connecting to ${escapeRegExp(backend)}\nI: READY sent; waiting for the queue to answer\n`));
    // a silent ROUTER where the queue belongs counts the worker's attempts (a fresh READY each)
    const silent = await ZSocket.router(`@${backend}`);
    let readies = 0;
    const reading = (async () => {
      for await (const frames of silent) if (frames.length === 2 && frames[1]!.equals(Buffer.from([1]))) readies++;
    })();
    await waitFor(() => readies >= 4, WAIT_MS, "4 attempts (READYs) at the silent queue");
    await worker.waitFor(/^W: reconnecting in 200 msec\.\.\.$/m, START_MS);
    const out = worker.stdout();
    expect(count(out, /^W: no queue answered/gm)).toBe(1);
    expect(count(out, /^W: reconnecting in 100 msec\.\.\.$/gm)).toBe(1);
    expect(count(out, /^W: reconnecting in 200 msec\.\.\.$/gm)).toBe(1); // then 200 again and again, not logged
    expect(out).not.toMatch(/worker ready|heartbeat failure/);
    silent.close();
    await reading;
    const queue = zkit("ppp", "queue", "--frontend", ANY, "--backend", backend, "--heartbeat-ms", "100");
    await queue.waitFor(/^I: worker [0-9a-f]+ ready$/m, START_MS);
    await worker.waitFor(new RegExp(`^I: worker ready: the queue at ${escapeRegExp(backend)} answered$`, "m"), START_MS);
    // the queue dies: now it is a heartbeat failure (it had answered), and the back-off starts over
    const from = worker.stdout().length;
    queue.kill("SIGKILL");
    await worker.waitFor(/^W: heartbeat failure, can't reach queue\nW: reconnecting in 100 msec\.\.\.$/m, START_MS, { from });
  });
});

describe("zkit lpp client", () => {
  it("retries on a fresh socket, then gives up with exit 1 when nothing answers", async () => {
    const silent = await ZSocket.router(`@${ANY}`); // reads nothing, answers nothing
    const client = zkit("lpp", "client", "--connect", silent.endpoint, "--requests", "3", "--timeout-ms", "200", "--retries", "2");
    expect(await exitCode(client)).toBe(1);
    const out = client.stdout();
    expect(count(out, /^W: no response from server, retrying\.\.\. \(attempt \d\)$/gm)).toBe(2);
    expect(out).toContain("E: server seems to be offline, abandoning");
    expect(out).toContain("I: 1 requests, 0 replies, 2 retries, 1 failed");
  });

  it("SIGTERM while waiting for a reply exits 0", async () => {
    const silent = await ZSocket.router(`@${ANY}`);
    const client = zkit("lpp", "client", "--connect", silent.endpoint, "--timeout-ms", "60000");
    // the request has reached the server: the client is waiting
    const [id] = await silent.receive();
    expect(id).toBeDefined();
    client.kill("SIGTERM");
    expect(await exitCode(client)).toBe(0);
  });
});

describe("help and bad command lines", () => {
  for (const cmd of [
    ["lpp", "client"],
    ["spp", "queue"],
    ["spp", "worker"],
    ["ppp", "queue"],
    ["ppp", "worker"],
  ]) {
    it(`zkit ${cmd.join(" ")} --help prints its usage and exits 0`, async () => {
      const child = zkit(...cmd, "--help");
      expect(await exitCode(child)).toBe(0);
      expect(child.stdout()).toContain(`usage: zkit ${cmd.join(" ")} [options]`);
      expect(child.stdout()).toMatch(/-v, --verbose/);
    });
  }

  it("bad flags exit 2 with the problem and the usage", async () => {
    const cases: string[][] = [
      ["lpp", "client", "--requests", "abc"],
      ["lpp", "client", "--timeout-ms", "0"],
      ["spp", "queue", "--nope"],
      ["ppp", "queue", "--liveness", "-1"],
      ["ppp", "worker", "--heartbeat-ms", "1.5"],
    ];
    const children = cases.map((c) => zkit(...c));
    for (const [i, child] of children.entries()) {
      expect(await exitCode(child), `${cases[i]!.join(" ")}\n${child.describe()}`).toBe(2);
      expect(child.stderr()).toContain(`usage: zkit ${cases[i]!.slice(0, 2).join(" ")}`);
    }
  });

  it("zkit --help lists the pirate commands", async () => {
    const child = zkit("--help");
    expect(await exitCode(child)).toBe(0);
    for (const c of ["lpp client", "spp queue", "spp worker", "ppp queue", "ppp worker"]) expect(child.stdout()).toContain(c);
  });
});
