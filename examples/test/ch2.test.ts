// Smoke tests of the chapter 2 examples: each program runs for real as a
// child process on ephemeral tcp ports (threads inside it are real Worker
// threads); programs that the Guide pairs (client, broker, workers; proxy
// and weather server; sink, ventilator and workers; publisher and
// subscribers) are started as separate processes. The tests read the
// endpoints they print, drive them, and check what they print and how they
// exit. Waits have deadlines; nothing sleeps.
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { requirePyzmq, startPython, waitFor } from "@zkit/testkit";
import { count, startExample, stopAll, within, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process.
const START_MS = 20_000;
const EXIT_MS = 15_000;
const ANY_PORT = "tcp://127.0.0.1:*";
// A port nothing listens on: a connecting program waits there forever.
const NOWHERE = "tcp://127.0.0.1:1";

/** A pyzmq peer of ch2/peers/ (a program zkit did not write the socket layer of). */
const peer = (name: string): string => fileURLToPath(new URL(`../ch2/peers/${name}`, import.meta.url));

afterEach(async () => {
  shutdown(); // the test's own sockets
  await stopAll();
});

/** The endpoint a program printed as `listening on <endpoint>`, or `listening on <endpoint> (<role>)`. */
async function listening(e: Example, role?: string): Promise<string> {
  const pattern = role === undefined ? /^listening on (\S+)/m : new RegExp(`^listening on (\\S+) \\(${role}\\)$`, "m");
  return (await e.waitFor(pattern, START_MS))[1]!;
}

async function expectCleanExit(e: Example, ms = EXIT_MS): Promise<void> {
  const exit = await e.waitForExit(ms);
  expect(exit, `${e.name} exit\n${e.describe()}`).toEqual({ code: 0, signal: null });
  expect(e.stderr(), e.name).toBe("");
}

async function stop(e: Example, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  e.kill(signal);
  await expectCleanExit(e);
}

/** The number in the first line of `text` that matches `pattern` (with one capture group). */
function numberIn(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  expect(m, `${pattern} in\n${text}`).not.toBeNull();
  return Number(m![1]);
}

describe("msreader and mspoller (reading two sockets)", () => {
  it.each(["msreader", "mspoller"])("ch2/%s.ts reads the ventilator's tasks and the weather updates of its zipcode at once", async (name) => {
    // The Guide's pairing: ch1's ventilator on one socket, ch1's weather server on the other.
    const sink = await ZSocket.pull(`@${ANY_PORT}`); // the ventilator's start-of-batch "0" goes here
    const weather = startExample("ch1/wuserver.ts", ["--bind", ANY_PORT, "--zipcodes", "1000"]);
    const vent = startExample("ch1/taskvent.ts", ["--bind", ANY_PORT, "--sink", sink.endpoint, "--tasks", "10", "--no-wait"]);
    const [weatherEndpoint, ventEndpoint] = await Promise.all([listening(weather), listening(vent)]);

    const reader = startExample(`ch2/${name}.ts`, ["--vent", ventEndpoint, "--weather", weatherEndpoint, "--zipcode", "42"]);
    await reader.waitFor(/^ready: tasks from tcp:\/\/127\.0\.0\.1:\d+, weather for '00042' from /m, START_MS);
    // The ventilator's PUSH waits for a peer: all 10 tasks go to the reader.
    await waitFor(() => count(reader.stdout(), /^task: \d+$/gm) === 10 && count(reader.stdout(), /^weather: /gm) >= 3, START_MS, `10 tasks and 3 weather updates from ${name}`).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${reader.describe()}`);
      },
    );
    await expectCleanExit(vent);

    const out = reader.stdout();
    for (const [, workload] of out.matchAll(/^task: (\d+)$/gm)) {
      expect(Number(workload)).toBeGreaterThanOrEqual(1);
      expect(Number(workload)).toBeLessThanOrEqual(100);
    }
    // Only its zipcode: the subscription filters on "00042 "
    const updates = [...out.matchAll(/^weather: (.*)$/gm)].map((m) => m[1]!);
    for (const u of updates) expect(u).toMatch(/^00042 -?\d+ \d+$/);

    await stop(reader, "SIGINT");
    expect(reader.stdout()).toMatch(new RegExp(`^10 tasks, ${count(reader.stdout(), /^weather: /gm)} weather updates$`, "m"));
    await stop(weather);
  });
});

describe("rrclient, rrworker and a broker (shared queue)", () => {
  it.each(["rrbroker", "msgqueue"])("ch2/%s.ts carries a client's requests to two workers and their replies back", async (broker) => {
    const b = startExample(`ch2/${broker}.ts`, ["--frontend", ANY_PORT, "--backend", ANY_PORT]);
    const [frontend, backend] = await Promise.all([listening(b, "clients"), listening(b, "workers")]);
    expect(frontend).not.toBe(backend);

    const workers = [1, 2].map(() => startExample("ch2/rrworker.ts", ["--connect", backend, "--work-ms", "0"]));
    await Promise.all(workers.map((w) => w.waitFor(/^ready: requests from /m, START_MS)));

    const client = startExample("ch2/rrclient.ts", ["--connect", frontend, "--requests", "6"]);
    await expectCleanExit(client);
    expect(count(client.stdout(), /^Received reply \d \[World\]$/gm)).toBe(6);
    expect(client.stdout()).toContain("Received reply 0 [World]");
    expect(client.stdout()).toContain("Received reply 5 [World]");

    let answered = 0;
    for (const w of workers) {
      await stop(w);
      const n = numberIn(w.stdout(), /^(\d+) requests answered$/m);
      expect(count(w.stdout(), /^Received request: \[Hello\]$/gm)).toBe(n);
      answered += n;
    }
    expect(answered).toBe(6);

    await stop(b, "SIGINT");
    expect(b.stdout()).toMatch(/^routed 6 requests and 6 replies$/m);
  });

  it.each(["rrbroker", "msgqueue"])("ch2/%s.ts passes multipart envelopes through untouched, both ways", async (broker) => {
    const b = startExample(`ch2/${broker}.ts`, ["--frontend", ANY_PORT, "--backend", ANY_PORT]);
    const [frontend, backend] = await Promise.all([listening(b, "clients"), listening(b, "workers")]);
    // A DEALER client (no REQ envelope of its own) and a ROUTER-facing DEALER worker.
    const client = await ZSocket.dealer(`>${frontend}`);
    const worker = await ZSocket.dealer(`>${backend}`);
    await client.send(["", "one", Buffer.from([0, 1, 2])]);
    const request = await within(worker.receive(), START_MS, "the request at the worker");
    // [client identity from the ROUTER][""]["one"][00 01 02]
    expect(request).toHaveLength(4);
    expect(request.slice(1).map((f) => f.toString("hex"))).toEqual(["", Buffer.from("one").toString("hex"), "000102"]);
    await worker.send([request[0]!, "", "two", "three"]);
    const reply = await within(client.receive(), START_MS, "the reply at the client");
    expect(reply.map(String)).toEqual(["", "two", "three"]);
  });
});

describe("wuproxy (XSUB/XPUB proxy)", () => {
  it("a subscriber of the proxy gets the weather server's updates; subscriptions go upstream", async () => {
    const server = startExample("ch1/wuserver.ts", ["--bind", ANY_PORT, "--zipcodes", "100"]);
    const serverEndpoint = await listening(server);
    const proxy = startExample("ch2/wuproxy.ts", ["--frontend", serverEndpoint, "--backend", ANY_PORT]);
    const proxyEndpoint = await listening(proxy);
    await proxy.waitFor(new RegExp(`^forwarding from ${serverEndpoint}$`, "m"), START_MS);

    // ch1's client, pointed at the proxy as if it were the server.
    const client = startExample("ch1/wuclient.ts", ["--connect", proxyEndpoint, "--zipcode", "42", "--updates", "10"]);
    await expectCleanExit(client);
    expect(client.stdout()).toMatch(/^Average temperature for zipcode '00042' was -?\d+F$/m);
    // The server's PUB filters only because the proxy passed the subscription on;
    // when the client leaves, its subscription goes too.
    await proxy.waitFor(/^subscribe "00042 "$/m, START_MS);
    await proxy.waitFor(/^unsubscribe "00042 "$/m, START_MS);

    await stop(proxy, "SIGINT");
    expect(numberIn(proxy.stdout(), /^forwarded (\d+) updates$/m)).toBeGreaterThanOrEqual(10);
    await stop(server);
  });
});

describe("taskwork2 and tasksink2 (pipeline with a kill signal)", () => {
  it("the sink collects the batch and sends KILL; every worker exits by itself", async () => {
    const sink = startExample("ch2/tasksink2.ts", ["--bind", ANY_PORT, "--control", ANY_PORT, "--tasks", "30"]);
    const [results, control] = await Promise.all([listening(sink, "results"), listening(sink, "control")]);
    const vent = startExample("ch1/taskvent.ts", ["--bind", ANY_PORT, "--sink", results, "--tasks", "30"], { stdin: "pipe" });
    const ventEndpoint = await listening(vent);
    await vent.waitFor(/^Press Enter when the workers are ready/m, START_MS);

    const workers = [1, 2, 3].map(() => startExample("ch2/taskwork2.ts", ["--vent", ventEndpoint, "--sink", results, "--control", control]));
    await Promise.all(workers.map((w) => w.waitFor(/^ready: tasks from /m, START_MS)));
    vent.write("\n");
    await expectCleanExit(vent);

    await expectCleanExit(sink, 45_000);
    expect(sink.stdout()).toMatch(/^(\.{9}:){3}$/m);
    expect(sink.stdout()).toMatch(/^Received 30 results$/m);
    expect(sink.stdout()).toMatch(/^Total elapsed time: \d+ msec$/m);
    expect(sink.stdout()).toMatch(/^Sent KILL to the workers$/m);

    // Nobody stops the workers: the KILL does.
    let done = 0;
    for (const w of workers) {
      await expectCleanExit(w);
      expect(w.stdout()).toMatch(/^KILL: the batch is done$/m);
      done += numberIn(w.stdout(), /^(\d+) tasks done$/m);
    }
    expect(done).toBe(30);
  });
});

describe("interrupt (Ctrl-C handling)", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("serves requests, then on %s says so and exits 0", async (signal) => {
    const server = startExample("ch2/interrupt.ts", ["--bind", ANY_PORT]);
    const endpoint = await listening(server);
    const client = await ZSocket.req(`>${endpoint}`);
    await client.send("Hello");
    const [reply] = await within(client.receive(), START_MS, "World from the server");
    expect(String(reply)).toBe("World");
    await server.waitFor(/^Received Hello$/m, START_MS);

    server.kill(signal);
    await expectCleanExit(server);
    expect(server.stdout()).toMatch(/^W: interrupt received, killing server\.\.\.$/m);
  });

  it("a real failure is not taken for an interrupt: a taken port exits 1 and says why", async () => {
    const first = startExample("ch2/interrupt.ts", ["--bind", ANY_PORT]);
    const endpoint = await listening(first);
    const second = startExample("ch2/interrupt.ts", ["--bind", endpoint]);
    expect((await second.waitForExit(EXIT_MS)).code).toBe(1);
    expect(second.stderr()).toMatch(/^ZKIT_ADDRESS_IN_USE: /);
    expect(second.stdout()).not.toContain("interrupt received");
  });
});

describe("mtserver (worker threads behind an inproc DEALER)", () => {
  it("answers concurrent clients from different worker threads, and ch1's hwclient too", async () => {
    const server = startExample("ch2/mtserver.ts", ["--bind", ANY_PORT, "--workers", "3", "--work-ms", "200"]);
    const endpoint = await listening(server);
    await server.waitFor(/^3 worker threads ready on inproc:\/\/workers$/m, START_MS);

    // Three requests at once: the DEALER deals them to the three REP threads in turn.
    const clients = await Promise.all([1, 2, 3].map(() => ZSocket.req(`>${endpoint}`)));
    await Promise.all(clients.map((c) => c.send("Hello")));
    const replies = await within(Promise.all(clients.map((c) => c.receive())), START_MS, "three Worlds");
    expect(replies.map(([r]) => String(r))).toEqual(["World", "World", "World"]);
    await server.waitFor(/(^Received request: \[Hello\] \(worker \d\)\n[\s\S]*){3}/m, START_MS);
    const ids = [...server.stdout().matchAll(/^Received request: \[Hello\] \(worker (\d)\)$/gm)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(3);

    const hwclient = startExample("ch1/hwclient.ts", ["--connect", endpoint, "--requests", "2"]);
    await expectCleanExit(hwclient);
    expect(count(hwclient.stdout(), /^Received World \d$/gm)).toBe(2);

    await stop(server, "SIGINT");
    expect(count(server.stdout(), /^Received request: \[Hello\] \(worker \d\)$/gm)).toBe(5);
  });

  it("stops at once on SIGTERM, even while every worker is in the middle of a long request", async () => {
    const server = startExample("ch2/mtserver.ts", ["--bind", ANY_PORT, "--workers", "2", "--work-ms", "600000"]);
    const endpoint = await listening(server);
    await server.waitFor(/^2 worker threads ready/m, START_MS);
    const clients = await Promise.all([1, 2].map(() => ZSocket.req(`>${endpoint}`)));
    await Promise.all(clients.map((c) => c.send("Hello")));
    await server.waitFor(/(^Received request: \[Hello\] \(worker \d\)\n[\s\S]*){2}/m, START_MS);
    await stop(server); // within EXIT_MS, not 10 minutes
  });
});

describe("mtrelay (threads signalling over inproc PAIR)", () => {
  it("relays READY from step 1 to step 2 to the main thread, then exits 0", async () => {
    const relay = startExample("ch2/mtrelay.ts");
    await expectCleanExit(relay);
    expect(relay.stdout()).toBe("Step 1 ready, signaling step 2\nStep 2 ready, signaling step 3\nTest successful!\n");
  });
});

describe("syncpub and syncsub (node coordination)", () => {
  it("the publisher waits for every subscriber; each then gets the whole batch, without a settle sleep", async () => {
    const pub = startExample("ch2/syncpub.ts", ["--bind", ANY_PORT, "--sync", ANY_PORT, "--subscribers", "2", "--updates", "2000"]);
    const [updates, sync] = await Promise.all([listening(pub, "updates"), listening(pub, "sync")]);
    await pub.waitFor(/^Waiting for subscribers$/m, START_MS);
    const subArgs = ["--connect", updates, "--sync", sync, "--settle-ms", "0"];

    const first = startExample("ch2/syncsub.ts", subArgs);
    await first.waitFor(/^synchronized$/m, START_MS);
    await pub.waitFor(/^synchronized subscriber 1 of 2$/m, START_MS);
    expect(pub.stdout()).not.toContain("Broadcasting"); // one of two is not enough

    const second = startExample("ch2/syncsub.ts", subArgs);
    await expectCleanExit(first);
    await expectCleanExit(second);
    expect(first.stdout()).toMatch(/^Received 2000 updates$/m);
    expect(second.stdout()).toMatch(/^Received 2000 updates$/m);

    await expectCleanExit(pub);
    expect(pub.stdout()).toMatch(/^synchronized subscriber 2 of 2\nBroadcasting messages\nSent 2000 updates to 2 subscribers$/m);
  });

  it("a sync request that overtakes its subscription loses nothing: the publisher waits for the subscription too", async () => {
    const pub = startExample("ch2/syncpub.ts", ["--bind", ANY_PORT, "--sync", ANY_PORT, "--subscribers", "1", "--updates", "500"]);
    const [updates, sync] = await Promise.all([listening(pub, "updates"), listening(pub, "sync")]);
    // The worst case for a plain PUB: sync first, subscribe afterwards.
    const syncclient = await ZSocket.req(`>${sync}`);
    await syncclient.send("");
    await within(syncclient.receive(), START_MS, "the sync reply");
    await pub.waitFor(/^synchronized subscriber 1 of 1$/m, START_MS);

    const sub = await ZSocket.sub(`>${updates}`, "");
    let received = 0;
    for (;;) {
      const [msg] = await within(sub.receive(), START_MS, () => `update ${received + 1} (or END)\n${pub.describe()}`);
      if (String(msg) === "END") break;
      expect(String(msg)).toBe("Rhubarb");
      received++;
    }
    expect(received).toBe(500);
    await expectCleanExit(pub);
  });
});

describe("psenvpub and psenvsub (pub-sub envelopes)", () => {
  it("the subscriber of envelope B sees only B messages", async () => {
    const pub = startExample("ch2/psenvpub.ts", ["--bind", ANY_PORT, "--interval-ms", "20"]);
    const endpoint = await listening(pub);
    const sub = startExample("ch2/psenvsub.ts", ["--connect", endpoint, "--messages", "3"]);
    await expectCleanExit(sub);
    expect(count(sub.stdout(), /^\[B\] We would like to see this$/gm)).toBe(3);
    expect(sub.stdout()).not.toContain("[A]");

    await stop(pub, "SIGINT");
    const rounds = numberIn(pub.stdout(), /^published (\d+) A and \d+ B messages$/m);
    expect(rounds).toBeGreaterThanOrEqual(3);
    expect(pub.stdout()).toContain(`published ${rounds} A and ${rounds} B messages`);
  });

  it("the publisher sends each message as two frames: the key, then the content", async () => {
    const pub = startExample("ch2/psenvpub.ts", ["--bind", ANY_PORT, "--interval-ms", "20"]);
    const endpoint = await listening(pub);
    const sub = await ZSocket.sub(`>${endpoint}`, ""); // everything, A included
    const seen = new Map<string, string>();
    while (seen.size < 2) {
      const msg = await within(sub.receive(), START_MS, "a message from psenvpub");
      expect(msg).toHaveLength(2);
      seen.set(String(msg[0]), String(msg[1]));
    }
    expect(Object.fromEntries(seen)).toEqual({ A: "We don't want to see this", B: "We would like to see this" });
  });

  it("--envelope A selects the other key", async () => {
    const pub = startExample("ch2/psenvpub.ts", ["--bind", ANY_PORT, "--interval-ms", "20"]);
    const endpoint = await listening(pub);
    const sub = startExample("ch2/psenvsub.ts", ["--connect", endpoint, "--envelope", "A", "--messages", "2"]);
    await expectCleanExit(sub);
    expect(count(sub.stdout(), /^\[A\] We don't want to see this$/gm)).toBe(2);
    expect(sub.stdout()).not.toContain("[B]");
  });
});

describe("interop with pyzmq peers (libzmq 4.3.4)", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("msgqueue serves a Python client with a Python worker and a zkit worker", async () => {
    const broker = startExample("ch2/msgqueue.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT]);
    const [frontend, backend] = await Promise.all([listening(broker, "clients"), listening(broker, "workers")]);
    const pyWorker = startPython(peer("rrworker.py"), [backend]);
    const worker = startExample("ch2/rrworker.ts", ["--connect", backend, "--work-ms", "0"]);
    await Promise.all([pyWorker.waitFor(/^ready$/m, START_MS), worker.waitFor(/^ready: /m, START_MS)]);

    const client = startPython(peer("rrclient.py"), [frontend, "6"]);
    const exit = await client.waitForExit(START_MS);
    expect(exit, client.describe()).toEqual({ code: 0, signal: null });
    expect(count(client.stdout(), /^Received reply \d \[World\]$/gm)).toBe(6);

    await stop(worker);
    const byZkit = numberIn(worker.stdout(), /^(\d+) requests answered$/m);
    expect(byZkit + count(pyWorker.stdout(), /^Received request: \[Hello\]$/gm)).toBe(6);
    await stop(broker);
    expect(broker.stdout()).toMatch(/^routed 6 requests and 6 replies$/m);
  });

  it("syncpub serves the Guide's syncsub written with pyzmq beside a zkit one", async () => {
    const pub = startExample("ch2/syncpub.ts", ["--bind", ANY_PORT, "--sync", ANY_PORT, "--subscribers", "2", "--updates", "1000"]);
    const [updates, sync] = await Promise.all([listening(pub, "updates"), listening(pub, "sync")]);
    const pySub = startPython(peer("syncsub.py"), [updates, sync]);
    const sub = startExample("ch2/syncsub.ts", ["--connect", updates, "--sync", sync, "--settle-ms", "0"]);
    const exit = await pySub.waitForExit(START_MS);
    expect(exit, pySub.describe()).toEqual({ code: 0, signal: null });
    expect(pySub.stdout()).toMatch(/^Received 1000 updates$/m);
    await expectCleanExit(sub);
    expect(sub.stdout()).toMatch(/^Received 1000 updates$/m);
    await expectCleanExit(pub);
  });
});

describe("every long-running program stops cleanly (exit 0) on Ctrl-C and on SIGTERM", () => {
  // Each waits for something forever: tasks, requests, a reply, subscribers, updates.
  const cases: [string, string[], RegExp][] = [
    ["ch2/msreader.ts", ["--vent", NOWHERE, "--weather", NOWHERE], /^ready: /m],
    ["ch2/mspoller.ts", ["--vent", NOWHERE, "--weather", NOWHERE], /^ready: /m],
    ["ch2/rrclient.ts", ["--connect", NOWHERE], /^ready: /m],
    ["ch2/rrworker.ts", ["--connect", NOWHERE], /^ready: /m],
    ["ch2/rrbroker.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT], /^listening on .* \(workers\)$/m],
    ["ch2/msgqueue.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT], /^listening on .* \(workers\)$/m],
    ["ch2/wuproxy.ts", ["--frontend", NOWHERE, "--backend", ANY_PORT], /^forwarding from /m],
    ["ch2/taskwork2.ts", ["--vent", NOWHERE, "--sink", NOWHERE, "--control", NOWHERE], /^ready: /m],
    ["ch2/tasksink2.ts", ["--bind", ANY_PORT, "--control", ANY_PORT], /^listening on .* \(control\)$/m],
    ["ch2/mtserver.ts", ["--bind", ANY_PORT, "--workers", "2"], /^2 worker threads ready/m],
    ["ch2/syncpub.ts", ["--bind", ANY_PORT, "--sync", ANY_PORT], /^Waiting for subscribers$/m],
    ["ch2/syncsub.ts", ["--connect", NOWHERE, "--sync", NOWHERE, "--settle-ms", "0"], /^ready: /m],
    ["ch2/psenvpub.ts", ["--bind", ANY_PORT], /^listening on /m],
    ["ch2/psenvsub.ts", ["--connect", NOWHERE], /^ready: /m],
  ];
  // Both signals for each program, all programs at once (each on its own ports).
  it.each(["SIGINT", "SIGTERM"] as const)("on %s", async (signal) => {
    const running = cases.map(([script, args, ready]) => ({ e: startExample(script, args), ready }));
    await Promise.all(running.map(({ e, ready }) => e.waitFor(ready, START_MS)));
    for (const { e } of running) e.kill(signal);
    for (const { e } of running) await expectCleanExit(e);
  });
});

describe("flags", () => {
  const programs = [
    "msreader",
    "mspoller",
    "rrclient",
    "rrworker",
    "rrbroker",
    "msgqueue",
    "wuproxy",
    "taskwork2",
    "tasksink2",
    "interrupt",
    "mtserver",
    "mtrelay",
    "syncpub",
    "syncsub",
    "psenvpub",
    "psenvsub",
  ];
  it("every program's --help prints its usage with the Guide's defaults and exits 0", async () => {
    const helps = programs.map((name) => ({ name, e: startExample(`ch2/${name}.ts`, ["--help"]) }));
    for (const { name, e } of helps) {
      await expectCleanExit(e);
      expect(e.stdout()).toMatch(new RegExp(`^usage: ${name} \\[options\\]`));
      expect(e.stdout()).toContain("--help");
    }
    const help = (name: string): string => helps.find((h) => h.name === name)!.e.stdout();
    // The Guide's endpoints, so the Guide's pairings work without flags.
    expect(help("rrclient")).toContain("(default tcp://localhost:5559)");
    expect(help("rrworker")).toContain("(default tcp://localhost:5560)");
    expect(help("rrbroker")).toMatch(/--frontend .*\(default tcp:\/\/\*:5559\)[\s\S]*--backend .*\(default tcp:\/\/\*:5560\)/);
    expect(help("wuproxy")).toMatch(/--frontend .*\(default tcp:\/\/localhost:5556\)[\s\S]*--backend .*\(default tcp:\/\/\*:8100\)/);
    expect(help("tasksink2")).toMatch(/--control .*\(default tcp:\/\/\*:5559\)/);
    expect(help("taskwork2")).toMatch(/--control .*\(default tcp:\/\/localhost:5559\)/);
    expect(help("syncpub")).toMatch(/--bind .*\(default tcp:\/\/\*:5561\)[\s\S]*--sync .*\(default tcp:\/\/\*:5562\)/);
    expect(help("psenvsub")).toContain("(default tcp://localhost:5563)");
    expect(help("mtserver")).toMatch(/--workers .*\(default 5\)/);
  });

  it("a bad value exits 2 and says what is wrong", async () => {
    const bad = startExample("ch2/mtserver.ts", ["--workers", "0"]);
    expect((await bad.waitForExit(EXIT_MS)).code).toBe(2);
    expect(bad.stderr()).toContain('--workers must be an integer >= 1, got "0"');
  });
});
