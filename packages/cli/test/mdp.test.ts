// `zkit mdp broker|worker|request|mmi` run for real: each command is a child
// process (from source, through tsx) on ephemeral ports; the test reads the
// endpoint the broker prints and drives it with the other commands.
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { shutdown } from "@zkit/core";
import { MajordomoClient } from "@zkit/mdp";
import { startNode, stopAll, waitFor, type Child } from "@zkit/testkit";

const ZKIT = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const START_MS = 30_000; // a tsx child on a loaded machine
const EXIT_MS = 30_000;

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

async function brokerAndWorker(...brokerFlags: string[]): Promise<{ broker: Child; worker: Child; endpoint: string }> {
  const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", ...brokerFlags);
  const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
  const worker = zkit("mdp", "worker", "--connect", endpoint, "--service", "echo", "--heartbeat-ms", "250");
  await worker.waitFor(/^worker ready for echo at /m, START_MS);
  return { broker, worker, endpoint };
}

describe("zkit mdp", () => {
  it("--help on every command lists its flags and exits 0", async () => {
    const helps = [
      zkit("mdp", "broker", "--help"),
      zkit("mdp", "worker", "--help"),
      zkit("mdp", "request", "--help"),
      zkit("mdp", "mmi", "--help"),
    ];
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

  it("broker --worker-prefetch and worker --concurrency: pipelined requests all answered, mmi.stats shows the prefetch and what workers hold", async () => {
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", "--worker-prefetch", "8");
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const worker = zkit("mdp", "worker", "--connect", endpoint, "--heartbeat-ms", "250", "--work-ms", "20", "--concurrency", "4");
    await worker.waitFor(/^worker ready for echo at /m, START_MS);
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

  it("a request nobody answers fails after its retries with exit code 1", async () => {
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*");
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const request = zkit("mdp", "request", "--connect", endpoint, "--service", "nobody", "--timeout-ms", "200", "--retries", "1", "x");
    expect(await exitOf(request)).toBe(1);
    expect(request.stderr()).toMatch(/ZKIT_TIMEOUT: .*no reply after 2 attempt\(s\) of 200 ms/);
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
