// `zkit mdp broker|worker|request|mmi` run for real: each command is a child
// process (the built bin, plain node) on ephemeral ports; the test reads the
// endpoint the broker prints and drives it with the other commands.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { MajordomoClient } from "@zkit/mdp";
import { count, stopAll, tempDir, waitFor, type Child } from "@zkit/testkit";
import { EXIT_MS, START_MS, zkit } from "./helpers.js";

const cleanups: (() => void)[] = [];
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Counts the READYs a silent ROUTER receives ([id][""][MDPW01][0x01][service]) until it closes. */
function countReadies(router: ZSocket<"ROUTER">): { count: number; done: Promise<void> } {
  const state = { count: 0, done: Promise.resolve() };
  state.done = (async () => {
    for await (const frames of router) if (frames[2]?.toString() === "MDPW01" && frames[3]?.[0] === 1) state.count++;
  })();
  return state;
}

afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function exitOf(child: Child): Promise<number | null> {
  return (await child.waitForExit(EXIT_MS)).code;
}

async function brokerAndWorker(...brokerFlags: string[]): Promise<{ broker: Child; worker: Child; endpoint: string }> {
  const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", ...brokerFlags);
  const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
  const worker = zkit("mdp", "worker", "--connect", endpoint, "--service", "echo", "--heartbeat-ms", "250");
  await worker.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);
  return { broker, worker, endpoint };
}

describe("zkit mdp", () => {
  it("--help on every command lists its flags and exits 0", async () => {
    const helps = [zkit("mdp", "broker", "--help"), zkit("mdp", "worker", "--help"), zkit("mdp", "request", "--help"), zkit("mdp", "mmi", "--help")];
    const codes = await Promise.all(helps.map(exitOf));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(helps[0]!.stdout()).toMatch(/usage: zkit mdp broker \[options\]/);
    expect(helps[0]!.stdout()).toMatch(/--bind VALUE .*\(default tcp:\/\/\*:5555\)/);
    expect(helps[0]!.stdout()).toMatch(/--heartbeat-ms N .*\(default 2500\)/);
    expect(helps[0]!.stdout()).toMatch(/--worker-prefetch N .*\(default 1\)/);
    expect(helps[1]!.stdout()).toMatch(/--concurrency N .*\(default 1\)/);
    expect(helps[1]!.stdout()).toMatch(/--connect VALUE .*\(default tcp:\/\/localhost:5555\)/);
    expect(helps[1]!.stdout()).toMatch(/--service VALUE .*\(default echo\)/);
    expect(helps[2]!.stdout()).toMatch(/usage: zkit mdp request \[options\] BODY\.\.\./);
    expect(helps[2]!.stdout()).toMatch(/--inflight N/);
    expect(helps[3]!.stdout()).toMatch(/usage: zkit mdp mmi \[options\] SERVICE/);
  });

  it("broker, worker, request and mmi work together; SIGINT and SIGTERM stop the servers cleanly", async () => {
    const { broker, worker, endpoint } = await brokerAndWorker();

    const request = zkit("mdp", "request", "--connect", endpoint, "--service", "echo", "Hello world", "second frame");
    expect(await exitOf(request)).toBe(0);
    expect(request.stdout()).toBe("Hello world\nsecond frame\n");

    const found = zkit("mdp", "mmi", "--connect", endpoint, "echo");
    const missing = zkit("mdp", "mmi", "--connect", endpoint, "nothing");
    const stats = zkit("mdp", "mmi", "--connect", endpoint, "mmi.stats");
    expect([await exitOf(found), await exitOf(missing), await exitOf(stats)]).toEqual([0, 1, 0]);
    expect(found.stdout()).toBe("200\n");
    expect(missing.stdout()).toBe("404\n");
    const [code, json] = stats.stdout().trim().split("\n");
    expect(code).toBe("200");
    expect(JSON.parse(json!)).toMatchObject({ workers: 1, requests: 1, replies: 1 });

    worker.kill("SIGINT");
    expect(await exitOf(worker)).toBe(0);
    expect(worker.stdout()).toMatch(/^worker stopped: 1 replies$/m);
    broker.kill("SIGTERM");
    expect(await exitOf(broker)).toBe(0);
    expect(broker.stdout()).toMatch(/^broker stopped: 1 requests, 1 replies, 0 requeued, 0 expired, 0 dropped, 0 abandoned, 0 lost, 0 forged, 0 malformed$/m);
  });

  it("request --requests N --inflight K prints a throughput summary", async () => {
    const { endpoint } = await brokerAndWorker();
    const bench = zkit("mdp", "request", "--connect", endpoint, "--requests", "300", "--inflight", "10", "x");
    expect(await exitOf(bench)).toBe(0);
    expect(bench.stdout()).toMatch(/^300 replies to 300 requests \(10 in flight\) in [\d.]+ s: \d+ requests\/s, latency p50 [\d.]+ ms, p99 [\d.]+ ms, 0 failed$/m);
    const sync = zkit("mdp", "request", "--connect", endpoint, "--requests", "20", "y");
    expect(await exitOf(sync)).toBe(0);
    expect(sync.stdout()).toMatch(/^20 replies to 20 requests \(1 in flight\)/m);
  });

  it("request --inflight 1000 --timeout-ms 20 --retries 1 against a 50 ms worker (issue 8): one multiplexed socket, requests fail with TimeoutErrors, the process never crashes", async () => {
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250");
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const worker = zkit("mdp", "worker", "--connect", endpoint, "--service", "echo", "--heartbeat-ms", "250", "--work-ms", "50");
    await worker.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);
    const storm = zkit("mdp", "request", "--connect", endpoint, "--requests", "1000", "--inflight", "1000", "--timeout-ms", "20", "--retries", "1", "x");
    const exit = await storm.waitForExit(120_000);
    expect(exit, storm.describe()).toEqual({ code: 1, signal: null }); // some failed: exit 1, not a crash
    expect(storm.stdout()).toMatch(/^requests travel on one socket \(multiplexed\): the broker answered 200 to mmi.zkit.envelope$/m);
    const summary = /^(\d+) replies to 1000 requests \(1000 in flight\) in [\d.]+ s: .* (\d+) failed$/m.exec(storm.stdout());
    expect(summary, storm.describe()).not.toBeNull();
    const failed = Number(summary![2]);
    expect(Number(summary![1]) + failed).toBe(1000);
    expect(failed).toBeGreaterThan(0);
    // every failure is a typed timeout of its own request, nothing else
    expect(count(storm.stderr(), /^request \d+: MajordomoAsyncClient.request\("echo"\): no reply after 2 attempt\(s\) of 20 ms each$/gm)).toBe(failed);
    expect(storm.stderr()).not.toMatch(/Too many open files|uncaught|at .*\.ts:\d+/i);
  });

  it("broker --worker-prefetch and worker --concurrency: pipelined requests all answered, mmi.stats shows the prefetch and what workers hold", async () => {
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", "--worker-prefetch", "8");
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const worker = zkit("mdp", "worker", "--connect", endpoint, "--heartbeat-ms", "250", "--work-ms", "20", "--concurrency", "4");
    await worker.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);
    // 20 ms of work, 4 at a time: 400 requests take about 2 s, with the worker holding 8 (4 worked on, 4 waiting)
    const load = zkit("mdp", "request", "--connect", endpoint, "--requests", "400", "--inflight", "20", "--timeout-ms", "30000", "x");
    const probe = new MajordomoClient({ endpoint, timeoutMs: 5000 });
    try {
      const held = async (): Promise<number> => {
        const [, json] = await probe.request("mmi.stats", "echo");
        return (JSON.parse(json!.toString()) as { serviceList: { workerList: { inHand: number }[] }[] }).serviceList[0]?.workerList[0]?.inHand ?? 0;
      };
      await waitFor(async () => (await held()) === 8, START_MS, "the worker to hold 8 requests during the load");
    } finally {
      await probe.close();
    }
    expect(await exitOf(load)).toBe(0);
    expect(load.stdout()).toMatch(/^400 replies to 400 requests \(20 in flight\) .* 0 failed$/m);
    const stats = zkit("mdp", "mmi", "--connect", endpoint, "mmi.stats");
    expect(await exitOf(stats)).toBe(0);
    const json = JSON.parse(stats.stdout().trim().split("\n")[1]!) as { workerPrefetch: number; replies: number; serviceList: { name: string; workerList: { inHand: number }[] }[] };
    expect(json.workerPrefetch).toBe(8);
    expect(json.replies).toBeGreaterThanOrEqual(400);
    expect(json.serviceList).toEqual([expect.objectContaining({ name: "echo", inFlight: 0, workerList: [{ worker: expect.any(String), inHand: 0 }] })]);
    worker.kill("SIGTERM");
    expect(await exitOf(worker)).toBe(0);
    expect(worker.stdout()).toMatch(/^worker stopped: 400 replies$/m);
  });

  it("-v prints the traffic frame by frame in the Guide's dump style", async () => {
    const { endpoint, broker } = await brokerAndWorker("-v");
    const request = zkit("mdp", "request", "--connect", endpoint, "-v", "Hello");
    expect(await exitOf(request)).toBe(0);
    expect(request.stdout()).toContain("I: sending to broker (4 frames)\n[000] \n[006] MDPC01\n[004] echo\n[005] Hello\n");
    await broker.waitFor(/^I: worker [0-9a-f]{10} ready for echo$/m, START_MS);
    await broker.waitFor(/^I: received from client \(5 frames\)\n\[005\] [0-9A-F]{10}\n\[000\] \n\[006\] MDPC01\n\[004\] echo\n\[005\] Hello$/m, START_MS);
    await broker.waitFor(/^I: sending to worker \(7 frames\)\n\[005\] [0-9A-F]{10}\n\[000\] \n\[006\] MDPW01\n\[001\] 02\n/m, START_MS);
  });

  it("a worker with nothing listening says what is true: connecting, READY sent, no broker (once), then the broker's first answer", async () => {
    const dir = tempDir(); // ipc: no port to lose while nobody listens
    cleanups.push(dir.remove);
    const endpoint = `ipc://${dir.dir}/broker`;
    const worker = zkit("mdp", "worker", "--connect", endpoint, "--heartbeat-ms", "100", "--liveness", "2", "--reconnect-ms", "100");
    await worker.waitFor(/^no broker answered at \S+ within \d+ ms; reconnecting every 100 ms until one does$/m, START_MS);
    expect(worker.stdout()).toMatch(new RegExp(`^connecting to ${escapeRegExp(endpoint)}\nREADY sent; waiting for the broker to answer\nno broker answered`));
    // a silent ROUTER where the broker belongs counts the attempts: a fresh READY each
    let silent = await ZSocket.router(`@${endpoint}`);
    const readies = countReadies(silent);
    await waitFor(() => readies.count >= 4, START_MS, "4 attempts (READYs) at the silent broker");
    expect(count(worker.stdout(), /no broker answered/g)).toBe(1);
    expect(worker.stdout()).not.toMatch(/ready|answered:|lost/);
    silent.close();
    await readies.done;

    const broker = zkit("mdp", "broker", "--bind", endpoint, "--heartbeat-ms", "100");
    await worker.waitFor(new RegExp(`^broker at ${escapeRegExp(endpoint)} answered: serving echo$`, "m"), START_MS);
    const request = zkit("mdp", "request", "--connect", endpoint, "works");
    expect(await exitOf(request)).toBe(0);
    expect(request.stdout()).toBe("works\n");

    // the broker dies: lost once, however many attempts follow
    const from = worker.stdout().length;
    broker.kill("SIGKILL");
    await worker.waitFor(/^lost the broker at \S+ \(silent for \d+ ms\); reconnecting every 100 ms until it answers$/m, START_MS, { from });
    silent = await ZSocket.router(`@${endpoint}`);
    const again = countReadies(silent);
    await waitFor(() => again.count >= 4, START_MS, "4 more attempts");
    const after = worker.stdout().slice(from);
    expect(count(after, /^lost the broker/gm)).toBe(1);
    expect(count(after, /^no broker answered/gm)).toBe(0);
    expect(after.trim().split("\n")).toHaveLength(1);
    silent.close();
    await again.done;
    worker.kill("SIGINT");
    expect(await exitOf(worker)).toBe(0);
  });

  it("-v shows every reconnection attempt", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const worker = zkit("mdp", "worker", "--connect", `ipc://${dir.dir}/nobody`, "--heartbeat-ms", "100", "--liveness", "2", "--reconnect-ms", "100", "-v");
    await worker.waitFor(/(^I: still no answer; reconnecting in 100 ms\n[\s\S]*){3}/m, START_MS);
    expect(worker.stdout()).toMatch(/^I: connecting to \S+ again \(connection 2\)$/m);
    expect(worker.stdout()).toMatch(/^I: READY sent on connection 2$/m);
  });

  it("a request nobody answers fails after its retries with exit code 1", async () => {
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*");
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const request = zkit("mdp", "request", "--connect", endpoint, "--service", "nobody", "--timeout-ms", "200", "--retries", "1", "x");
    expect(await exitOf(request)).toBe(1);
    expect(request.stderr()).toMatch(/ZKIT_TIMEOUT: .*no reply after 2 attempts of 200 ms each/);
  });

  it("bad command lines exit 2 with the usage", async () => {
    const noService = zkit("mdp", "mmi");
    const badNumber = zkit("mdp", "request", "--requests", "many");
    const unknown = zkit("mdp", "broker", "--colour", "red");
    const noPrefetch = zkit("mdp", "broker", "--worker-prefetch", "0");
    const badConcurrency = zkit("mdp", "worker", "--concurrency", "1.5");
    expect([await exitOf(noService), await exitOf(badNumber), await exitOf(unknown), await exitOf(noPrefetch), await exitOf(badConcurrency)]).toEqual([2, 2, 2, 2, 2]);
    expect(noPrefetch.stderr()).toMatch(/--worker-prefetch must be an integer >= 1, got "0"/);
    expect(badConcurrency.stderr()).toMatch(/--concurrency must be an integer >= 1, got "1.5"/);
    expect(noService.stderr()).toMatch(/expected one SERVICE/);
    expect(badNumber.stderr()).toMatch(/--requests must be an integer >= 1, got "many"/);
    expect(unknown.stderr()).toMatch(/usage: zkit mdp broker/);
  });
});
