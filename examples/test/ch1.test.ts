// Smoke tests of the chapter 1 examples: each program runs for real as a
// child process on ephemeral tcp ports; the test reads the endpoint it
// prints, drives it (with other examples, or with sockets of its own), and
// checks what it prints and how it exits.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { count, startExample, stopAll, within, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process.
const START_MS = 20_000;
const EXIT_MS = 15_000;
const LISTENING = /listening on (\S+)/;
const ANY_PORT = "tcp://127.0.0.1:*";

afterEach(async () => {
  shutdown(); // the test's own sockets
  await stopAll();
});

async function listening(e: Example): Promise<string> {
  return (await e.waitFor(LISTENING, START_MS))[1]!;
}

async function expectCleanExit(e: Example, ms = EXIT_MS): Promise<void> {
  const exit = await e.waitForExit(ms);
  expect(exit, `${e.name} exit\n${e.stderr()}`).toEqual({ code: 0, signal: null });
}

describe("version", () => {
  it("prints the libzmq version, 4.x.y", async () => {
    const version = startExample("ch1/version.ts");
    await expectCleanExit(version);
    expect(version.stdout()).toMatch(/^Current ZeroMQ version is 4\.\d+\.\d+\n$/);
    expect(version.stderr()).toBe("");
  });
});

describe("hwserver and hwclient (request-reply)", () => {
  it("the client gets one World per Hello, then exits; the server stops on SIGTERM", async () => {
    const server = startExample("ch1/hwserver.ts", ["--bind", ANY_PORT, "--work-ms", "0"]);
    const endpoint = await listening(server);
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);

    const client = startExample("ch1/hwclient.ts", ["--connect", endpoint, "--requests", "5"]);
    await expectCleanExit(client);
    const out = client.stdout();
    expect(out).toContain("Connecting to hello world server...");
    expect(count(out, /^Sending Hello \d\.\.\.$/gm)).toBe(5);
    expect(count(out, /^Received World \d$/gm)).toBe(5);
    expect(out).toContain("Received World 4");

    await server.waitFor(/(Received Hello\n){5}/, START_MS);
    server.child.kill("SIGTERM");
    await expectCleanExit(server);
    expect(count(server.stdout(), /^Received Hello$/gm)).toBe(5);
  });

  it("takes its flags from the environment too (ZKIT_CONNECT, ZKIT_REQUESTS)", async () => {
    const server = startExample("ch1/hwserver.ts", [], { env: { ZKIT_BIND: ANY_PORT, ZKIT_WORK_MS: "0" } });
    const endpoint = await listening(server);
    const client = startExample("ch1/hwclient.ts", [], { env: { ZKIT_CONNECT: endpoint, ZKIT_REQUESTS: "2" } });
    await expectCleanExit(client);
    expect(count(client.stdout(), /^Received World \d$/gm)).toBe(2);
  });

  it("a Ctrl-C during the server's work ends it at once, not after the work", async () => {
    const server = startExample("ch1/hwserver.ts", ["--bind", ANY_PORT, "--work-ms", "120000"]);
    const endpoint = await listening(server);
    const client = await ZSocket.req(`>${endpoint}`);
    await client.send("Hello");
    await server.waitFor(/^Received Hello$/m, START_MS);
    server.child.kill("SIGINT");
    await expectCleanExit(server);
  });
});

describe("wuserver and wuclient (publish-subscribe)", () => {
  it("the client averages the temperature of its zipcode from the server's updates", async () => {
    const server = startExample("ch1/wuserver.ts", ["--bind", ANY_PORT, "--zipcodes", "100"]);
    const endpoint = await listening(server);
    const client = startExample("ch1/wuclient.ts", ["--connect", endpoint, "--zipcode", "42", "--updates", "20"]);
    await expectCleanExit(client);
    expect(client.stdout()).toContain("Collecting updates from weather server...");
    const m = /^Average temperature for zipcode '00042' was (-?\d+)F$/m.exec(client.stdout());
    expect(m, client.stdout()).not.toBeNull();
    const average = Number(m![1]);
    expect(average).toBeGreaterThanOrEqual(-80);
    expect(average).toBeLessThanOrEqual(134);

    server.child.kill("SIGTERM");
    await expectCleanExit(server);
    const published = Number(/^published (\d+) updates$/m.exec(server.stdout())?.[1]);
    expect(published).toBeGreaterThanOrEqual(20);
  });

  it("the server publishes '%05d %d %d' updates with the Guide's ranges", async () => {
    const server = startExample("ch1/wuserver.ts", ["--bind", ANY_PORT, "--zipcodes", "10"]);
    const endpoint = await listening(server);
    const sub = await ZSocket.sub(`>${endpoint}`, "");
    const zipcodes = new Set<string>();
    for (let n = 0; n < 200; n++) {
      const [update] = await within(sub.receive(), START_MS, () => "no weather update");
      const m = /^(\d{5}) (-?\d+) (\d+)$/.exec(String(update));
      expect(m, String(update)).not.toBeNull();
      zipcodes.add(m![1]!);
      expect(Number(m![1])).toBeLessThan(10);
      expect(Number(m![2])).toBeGreaterThanOrEqual(-80);
      expect(Number(m![2])).toBeLessThanOrEqual(134);
      expect(Number(m![3])).toBeGreaterThanOrEqual(10);
      expect(Number(m![3])).toBeLessThanOrEqual(59);
    }
    expect(zipcodes.size).toBeGreaterThan(1);
  });

  it("the client hears only its zipcode ('10001 ', not '100015') and averages exactly", async () => {
    // Our own publisher: 10001 is always 50F, every other update is 999F.
    const pub = await ZSocket.pub(`@${ANY_PORT}`);
    const client = startExample("ch1/wuclient.ts", ["--connect", pub.endpoint, "--updates", "10"]);
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await pub.send("10002 999 40");
        await pub.send("100015 999 40");
        await pub.send("10001 50 40");
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      await expectCleanExit(client);
    } finally {
      publishing = false;
      await publisher;
    }
    expect(client.stdout()).toMatch(/^Average temperature for zipcode '10001' was 50F$/m);
  });
});

describe("taskvent, taskwork and tasksink (pipeline)", () => {
  it("three workers process a batch of 100 tasks; the sink reports all of them", async () => {
    const sink = startExample("ch1/tasksink.ts", ["--bind", ANY_PORT]);
    const sinkEndpoint = await listening(sink);
    // The ventilator binds first (its port is ephemeral) and waits for Enter.
    const vent = startExample("ch1/taskvent.ts", ["--bind", ANY_PORT, "--sink", sinkEndpoint], { stdin: "pipe" });
    const ventEndpoint = await listening(vent);
    await vent.waitFor(/^Press Enter when the workers are ready/m, START_MS);

    const workers = [1, 2, 3].map(() => startExample("ch1/taskwork.ts", ["--vent", ventEndpoint, "--sink", sinkEndpoint]));
    for (const w of workers) await w.waitFor(/^ready: tasks from /m, START_MS);
    expect(vent.stdout()).not.toContain("Sending tasks"); // still waiting for Enter
    vent.write("\n");

    await expectCleanExit(vent);
    expect(vent.stdout()).toContain("Sending tasks to workers...");
    expect(vent.stdout()).toMatch(/^Total expected cost: \d+ msec$/m);

    await expectCleanExit(sink, 45_000);
    expect(sink.stdout()).toMatch(/^Received 100 results$/m);
    expect(sink.stdout()).toMatch(/^Total elapsed time: \d+ msec$/m);
    expect(sink.stdout()).toMatch(/^(\.{9}:){10}$/m); // the Guide's progress: ':' every tenth result

    // Workers run until stopped; each reports how many tasks it did.
    let done = 0;
    for (const w of workers) {
      w.child.kill("SIGTERM");
      await expectCleanExit(w);
      done += Number(/^(\d+) tasks done$/m.exec(w.stdout())?.[1]);
    }
    expect(done).toBe(100);
  });

  it.each([
    ["stdin is not a terminal (end of input)", [] as string[], "ignore" as const],
    ["--no-wait (stdin open)", ["--no-wait"], "pipe" as const],
  ])("the ventilator sends at once when %s: a '0' to the sink, then the tasks", async (_label, flags, stdin) => {
    const sink = await ZSocket.pull(`@${ANY_PORT}`);
    const vent = startExample("ch1/taskvent.ts", ["--bind", ANY_PORT, "--sink", sink.endpoint, "--tasks", "10", ...flags], { stdin });
    const ventEndpoint = await listening(vent);
    // A PUSH with no peer waits for one: nothing is lost by connecting late.
    const worker = await ZSocket.pull(`>${ventEndpoint}`);
    const [start] = await within(sink.receive(), START_MS, () => "no start of batch");
    expect(String(start)).toBe("0");
    let total = 0;
    for (let n = 0; n < 10; n++) {
      const [task] = await within(worker.receive(), START_MS, () => `task ${n} missing`);
      const workload = Number(String(task));
      expect(Number.isInteger(workload) && workload >= 1 && workload <= 100, String(task)).toBe(true);
      total += workload;
    }
    await expectCleanExit(vent);
    expect(vent.stdout()).toContain(`Total expected cost: ${total} msec`);
  });

  it("a worker does each task for its workload, reports to the sink, and stops on SIGTERM", async () => {
    const vent = await ZSocket.push(`@${ANY_PORT}`);
    const sink = await ZSocket.pull(`@${ANY_PORT}`);
    const worker = startExample("ch1/taskwork.ts", ["--vent", vent.endpoint, "--sink", sink.endpoint]);
    await worker.waitFor(/^ready: /m, START_MS);
    await vent.send("30");
    await vent.send("1");
    for (let n = 0; n < 2; n++) {
      const result = await within(sink.receive(), START_MS, () => `result ${n} missing`);
      expect(result).toEqual([Buffer.alloc(0)]);
    }
    await worker.waitFor(/30\.1\./, START_MS, { partial: true });
    worker.child.kill("SIGTERM");
    await expectCleanExit(worker);
    expect(worker.stdout()).toMatch(/^2 tasks done$/m);
  });

  it("a worker interrupted in the middle of a long task exits at once", async () => {
    const vent = await ZSocket.push(`@${ANY_PORT}`);
    const sink = await ZSocket.pull(`@${ANY_PORT}`);
    const worker = startExample("ch1/taskwork.ts", ["--vent", vent.endpoint, "--sink", sink.endpoint]);
    await worker.waitFor(/^ready: /m, START_MS);
    await vent.send("120000");
    await worker.waitFor(/120000\./, START_MS, { partial: true });
    worker.child.kill("SIGINT");
    await expectCleanExit(worker);
    expect(worker.stdout()).toMatch(/^0 tasks done$/m);
  });

  it("the sink ends the batch after the '0' and every result, even when a result overtakes the '0'", async () => {
    const sink = startExample("ch1/tasksink.ts", ["--bind", ANY_PORT, "--tasks", "10"]);
    const endpoint = await listening(sink);
    const push = await ZSocket.push(`>${endpoint}`);
    await push.send(""); // a fast worker's result, before the ventilator's "0"
    await push.send("0");
    for (let n = 1; n < 10; n++) await push.send("");
    await expectCleanExit(sink);
    expect(sink.stdout()).toMatch(/^\.{9}:$/m);
    expect(sink.stdout()).toMatch(/^Received 10 results$/m);
  });
});

describe("every program stops cleanly (exit 0) on Ctrl-C and on SIGTERM", () => {
  // Each waits for something forever: a request, the workers, a batch, a reply.
  const cases: [string, string[], RegExp, "pipe" | "ignore"][] = [
    ["ch1/hwserver.ts", ["--bind", ANY_PORT], LISTENING, "ignore"],
    ["ch1/hwclient.ts", ["--connect", "tcp://127.0.0.1:1"], /^Sending Hello 0/m, "ignore"],
    ["ch1/wuserver.ts", ["--bind", ANY_PORT], LISTENING, "ignore"],
    ["ch1/wuclient.ts", ["--connect", "tcp://127.0.0.1:1"], /^Collecting updates/m, "ignore"],
    ["ch1/taskvent.ts", ["--bind", ANY_PORT, "--sink", "tcp://127.0.0.1:1"], /^Press Enter/m, "pipe"],
    ["ch1/taskwork.ts", ["--vent", "tcp://127.0.0.1:1", "--sink", "tcp://127.0.0.1:1"], /^ready: /m, "ignore"],
    ["ch1/tasksink.ts", ["--bind", ANY_PORT], LISTENING, "ignore"],
  ];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.each(cases)(`%s on ${signal}`, async (script, args, ready, stdin) => {
      const e = startExample(script, args, { stdin });
      await e.waitFor(ready, START_MS);
      e.child.kill(signal);
      await expectCleanExit(e);
      expect(e.stderr()).toBe("");
    });
  }
});

describe("flags", () => {
  it.each(["hwserver", "hwclient", "version", "wuserver", "wuclient", "taskvent", "taskwork", "tasksink"])("ch1/%s.ts --help prints its usage and exits 0", async (name) => {
    const e = startExample(`ch1/${name}.ts`, ["--help"]);
    await expectCleanExit(e);
    expect(e.stdout()).toMatch(new RegExp(`^usage: ${name} \\[options\\]`));
    expect(e.stdout()).toContain("--help");
  });

  it("a failure exits 1 and says why: a second server on the same port", async () => {
    const first = startExample("ch1/hwserver.ts", ["--bind", ANY_PORT]);
    const endpoint = await listening(first);
    const second = startExample("ch1/hwserver.ts", ["--bind", endpoint]);
    expect((await second.waitForExit(EXIT_MS)).code).toBe(1);
    expect(second.stderr()).toMatch(/^ZKIT_ADDRESS_IN_USE: REP bind tcp:\/\/127\.0\.0\.1:\d+: address already in use/);
    expect(second.stdout()).not.toContain("listening on");
  });

  it("a bad flag or value exits 2 and says what is wrong", async () => {
    const unknown = startExample("ch1/hwclient.ts", ["--bogus"]);
    const bad = startExample("ch1/hwclient.ts", ["--requests", "many"]);
    expect((await unknown.waitForExit(EXIT_MS)).code).toBe(2);
    expect(unknown.stderr()).toMatch(/bogus/);
    expect((await bad.waitForExit(EXIT_MS)).code).toBe(2);
    expect(bad.stderr()).toContain('--requests must be an integer >= 0, got "many"');
  });
});
