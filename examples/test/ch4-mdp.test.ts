// Smoke tests of the chapter 4 Majordomo examples: each program runs for real
// as a child process on ephemeral tcp ports; the test reads the endpoint the
// broker prints, runs the clients and workers against it, and checks what
// they print and how they exit.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { count, startExample, stopAll, type Example } from "./helpers.js";

const START_MS = 30_000; // a tsx child on a loaded machine
const EXIT_MS = 30_000;
const ANY_PORT = "tcp://127.0.0.1:*";

afterEach(async () => {
  shutdown();
  await stopAll();
});

async function expectCleanExit(e: Example): Promise<void> {
  const exit = await e.waitForExit(EXIT_MS);
  expect(exit, `${e.name} exit\n${e.describe()}`).toEqual({ code: 0, signal: null });
}

async function brokerAndWorker(...brokerArgs: string[]): Promise<{ broker: Example; worker: Example; endpoint: string }> {
  const broker = startExample("ch4/mdbroker.ts", ["--bind", ANY_PORT, "--heartbeat-ms", "250", ...brokerArgs]);
  const endpoint = (await broker.waitFor(/^listening on (\S+)$/m, START_MS))[1]!;
  const worker = startExample("ch4/mdworker.ts", ["--connect", endpoint, "--heartbeat-ms", "250"]);
  await worker.waitFor(/^worker ready for echo at /m, START_MS);
  await broker.waitFor(/^I: worker ready for echo$/m, START_MS);
  return { broker, worker, endpoint };
}

describe("mdbroker, mdworker, mdclient (Majordomo)", () => {
  it("the client's requests all come back through the broker; the servers stop cleanly on SIGTERM and SIGINT", async () => {
    const { broker, worker, endpoint } = await brokerAndWorker();
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const client = startExample("ch4/mdclient.ts", ["--connect", endpoint, "--requests", "10"]);
    await expectCleanExit(client);
    expect(client.stdout()).toBe("10 requests/replies processed\n");

    worker.kill("SIGINT");
    await expectCleanExit(worker);
    broker.kill("SIGTERM");
    await expectCleanExit(broker);
    expect(broker.stdout()).toMatch(/^I: broker stopped after 10 requests and 10 replies$/m);
  });

  it("mdclient2 has every request in flight at once and gets each its own reply", async () => {
    const { endpoint } = await brokerAndWorker();
    const client = startExample("ch4/mdclient2.ts", ["--connect", endpoint, "--requests", "300", "--sockets", "50"]);
    await expectCleanExit(client);
    expect(client.stdout()).toBe("300 replies received\n");
  });

  it("mmiecho asks the broker whether echo has a worker: 200, or 404 for another service", async () => {
    const { endpoint } = await brokerAndWorker();
    const yes = startExample("ch4/mmiecho.ts", ["--connect", endpoint]);
    const no = startExample("ch4/mmiecho.ts", ["--connect", endpoint, "--service", "nothing"]);
    await expectCleanExit(yes);
    await expectCleanExit(no);
    expect(yes.stdout()).toBe("Lookup echo service: 200\n");
    expect(no.stdout()).toBe("Lookup nothing service: 404\n");
  });

  it("-v prints every message in the Guide's dump style", async () => {
    const { broker, endpoint } = await brokerAndWorker("-v");
    const client = startExample("ch4/mdclient.ts", ["--connect", endpoint, "--requests", "1", "-v"]);
    await expectCleanExit(client);
    expect(client.stdout()).toContain("I: sending to broker:\n[000] \n[006] MDPC01\n[004] echo\n[011] Hello world\n");
    expect(client.stdout()).toContain("I: received from broker:\n[000] \n[006] MDPC01\n[004] echo\n[011] Hello world\n");
    await broker.waitFor(/^I: received from client:\n\[005\] [0-9A-F]{10}\n\[000\] \n\[006\] MDPC01\n\[004\] echo\n\[011\] Hello world$/m, START_MS);
  });

  it("a client with no broker gives up after its retries and exits 1, saying so", async () => {
    const client = startExample("ch4/mdclient.ts", ["--connect", "tcp://127.0.0.1:9", "--requests", "3", "--timeout-ms", "100", "--retries", "1"]);
    const exit = await client.waitForExit(EXIT_MS);
    expect(exit.code).toBe(1);
    expect(client.stdout()).toBe("0 requests/replies processed\n");
    expect(client.stderr()).toMatch(/ZKIT_TIMEOUT: .*no reply after 2 attempts of 100 ms each/);
  });
});

describe("tripping (round trips through a broker, in one process)", () => {
  it("prints the synchronous and asynchronous calls per second and exits", async () => {
    const tripping = startExample("ch4/tripping.ts", ["--requests", "200", "--async-requests", "1000"]);
    await expectCleanExit(tripping);
    const out = tripping.stdout();
    expect(out).toMatch(/^Setting up test\.\.\.\nSynchronous round-trip test\.\.\.\n \d+ calls\/second\nAsynchronous round-trip test\.\.\.\n \d+ calls\/second\n$/);
    expect(count(out, /calls\/second/g)).toBe(2);
  });
});

describe("every ch4 Majordomo program", () => {
  it("prints its flags with --help and exits 0", async () => {
    const programs = ["mdbroker", "mdworker", "mdclient", "mdclient2", "mmiecho", "tripping"];
    const helps = programs.map((p) => startExample(`ch4/${p}.ts`, ["--help"]));
    for (const h of helps) await expectCleanExit(h);
    for (const [i, h] of helps.entries()) expect(h.stdout()).toMatch(new RegExp(`^usage: ${programs[i]} \\[options\\]`));
    expect(helps[0]!.stdout()).toMatch(/--bind VALUE .*\(default tcp:\/\/\*:5555\)/);
    expect(helps[2]!.stdout()).toMatch(/--requests N .*\(default 100000\)/);
  });
});
