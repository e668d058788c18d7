// Smoke tests of the chapter 3 examples: each program runs for real as a
// child process (its clients and workers are threads inside it), on
// ephemeral tcp ports or ipc files in a temp dir; the peering brokers run as
// two or three processes that find each other by name. The tests check what
// the programs print and how they exit, and drive some of them with sockets
// of their own or a Python worker.
import { fileURLToPath } from "node:url";
import { readdirSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { requirePyzmq, startPython, tempDir, waitFor } from "@zkit/testkit";
import { count, startExample, stopAll, within, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process
// and its worker threads.
const START_MS = 30_000;
const EXIT_MS = 20_000;
const ANY_PORT = "tcp://127.0.0.1:*";
const PY_WORKER = fileURLToPath(new URL("../ch3/peers/lbworker.py", import.meta.url));

let dirs: { dir: string; remove: () => void }[] = [];

/** A fresh temp dir for ipc files, removed after the test. */
function ipcDir(): string {
  const d = tempDir("zkit-ch3-");
  dirs.push(d);
  return d.dir;
}

afterEach(async () => {
  shutdown(); // the test's own sockets
  await stopAll();
  for (const d of dirs) d.remove();
  dirs = [];
});

async function expectCleanExit(e: Example, ms = EXIT_MS): Promise<void> {
  const exit = await e.waitForExit(ms);
  expect(exit, `${e.name} exit\n${e.describe()}`).toEqual({ code: 0, signal: null });
}

/** Waits until `pattern` (global) has matched `n` times in the program's output. */
async function waitForCount(e: Example, pattern: RegExp, n: number, ms = START_MS): Promise<void> {
  try {
    await waitFor(() => count(e.stdout(), pattern) >= n || e.exit !== undefined, ms, `${n} x ${pattern}`, 20);
  } catch (err) {
    throw new Error(`${(err as Error).message} from ${e.name}\n${e.describe()}`);
  }
  expect(count(e.stdout(), pattern), `${n} x ${pattern}\n${e.describe()}`).toBeGreaterThanOrEqual(n);
}

describe("identity", () => {
  it("dumps a generated 5-byte identity, then the routing id the REQ set", async () => {
    const e = startExample("ch3/identity.ts");
    await expectCleanExit(e);
    expect(e.stdout()).toMatch(
      new RegExp(
        [
          "^-{40}",
          "\\[005\\] 00[0-9A-F]{8}", // a zero byte, then libzmq's 32-bit counter, in hex
          "\\[000\\] ",
          "\\[039\\] ROUTER uses a generated 5 byte identity",
          "-{40}",
          "\\[005\\] PEER2",
          "\\[000\\] ",
          "\\[040\\] ROUTER socket uses REQ's socket identity\\n$",
        ].join("\\n"),
      ),
    );
  });

  it("takes the routing id from --id, and refuses an empty one", async () => {
    const e = startExample("ch3/identity.ts", ["--id", "Z"]);
    await expectCleanExit(e);
    expect(e.stdout()).toMatch(/^\[001\] Z$/m);
    const bad = startExample("ch3/identity.ts", ["--id", ""]);
    expect((await bad.waitForExit(EXIT_MS)).code).toBe(2);
    expect(bad.stderr()).toContain("--id must be 1 to 255 bytes, got 0");
  });
});

describe.each(["rtreq", "rtdealer"])("%s (ROUTER broker, worker threads)", (name) => {
  it("hands out tasks least recently used first, then fires every worker; the counts add up", async () => {
    const e = startExample(`ch3/${name}.ts`, ["--bind", ANY_PORT, "--workers", "3", "--run-ms", "1000", "--max-work-ms", "20"]);
    await expectCleanExit(e, START_MS);
    const out = e.stdout();
    expect(out).toMatch(/^listening on tcp:\/\/127\.0\.0\.1:\d+$/m);
    const done = [...out.matchAll(/^Completed: (\d+) tasks$/gm)].map((m) => Number(m[1]));
    expect(done, out).toHaveLength(3);
    for (const n of done) expect(n, out).toBeGreaterThan(0); // every worker had work (the clock starts once all asked)
    const handedOut = Number(/^Handed out (\d+) tasks to 3 workers$/m.exec(out)?.[1]);
    expect(done.reduce((a, b) => a + b, 0)).toBe(handedOut);
  });
});

describe("lbbroker (raw frames, worker threads)", () => {
  it("serves every client once over ipc and ends", async () => {
    const dir = ipcDir();
    const e = startExample("ch3/lbbroker.ts", ["--frontend", `ipc://${dir}/frontend.ipc`, "--backend", `ipc://${dir}/backend.ipc`, "--clients", "5", "--workers", "2"]);
    await expectCleanExit(e, START_MS);
    const out = e.stdout();
    expect(out).toContain(`listening on ipc://${dir}/frontend.ipc (frontend, clients)`);
    expect(out).toContain(`listening on ipc://${dir}/backend.ipc (backend, workers)`);
    expect(count(out, /^Client: OK$/gm)).toBe(5);
    expect(count(out, /^Worker: HELLO$/gm)).toBe(5);
  });

  it("hands a client's request to a worker of ours as [client][empty][HELLO] and passes its reply back", async () => {
    const e = startExample("ch3/lbbroker.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT, "--clients", "1", "--workers", "0"]);
    const [, backend] = await e.waitFor(/^listening on (\S+) \(backend/m, START_MS);
    const worker = await ZSocket.req(`>${backend}`);
    await worker.send("READY");
    const request = await within(worker.receive(), START_MS, "a request from the broker");
    expect(request).toHaveLength(3);
    const [client, empty, body] = request;
    expect(client!.length).toBeGreaterThan(0); // the client thread's identity, "%04X-%04X"
    expect(String(client)).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    expect(empty).toEqual(Buffer.alloc(0));
    expect(String(body)).toBe("HELLO");
    await worker.send([client!, "", "OK"]);
    await expectCleanExit(e, START_MS); // its one client has its reply
    expect(e.stdout()).toMatch(/^Client: OK$/m);
  });
});

describe.each([
  ["lbbroker2", 4, 2, 5],
  ["lbbroker3", 10, 1, 10], // one worker: the frontend reader is added and removed for every request
])("%s (actors)", (name, clients, workers, requests) => {
  it(`${clients} clients x ${requests} requests over ${workers} worker(s): every request answered, none lost`, async () => {
    const dir = ipcDir();
    const e = startExample(`ch3/${name}.ts`, [
      "--frontend",
      `ipc://${dir}/frontend.ipc`,
      "--backend",
      `ipc://${dir}/backend.ipc`,
      ...["--clients", String(clients), "--workers", String(workers), "--requests", String(requests), "--pause-ms", "0"],
    ]);
    await expectCleanExit(e, START_MS);
    expect(count(e.stdout(), /^Client: OK$/gm)).toBe(clients * requests);
    expect(count(e.stdout(), /^Worker: \[005\] HELLO$/gm)).toBe(clients * requests);
    expect(e.stderr()).toBe("");
  });
});

describe("lbbroker3 with a worker zkit did not write", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("a pyzmq worker (ready frame 0x01, envelope kept) serves the broker's clients", async () => {
    const e = startExample("ch3/lbbroker3.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT, "--clients", "3", "--workers", "0", "--requests", "2", "--pause-ms", "0"]);
    const [, backend] = await e.waitFor(/^listening on (\S+) \(backend/m, START_MS);
    const worker = startPython(PY_WORKER, [backend!]);
    await expectCleanExit(e, START_MS);
    expect(count(e.stdout(), /^Client: OK$/gm)).toBe(6);
    await worker.waitFor(/(^Worker: HELLO\n(?:.*\n)*?){6}/m, START_MS);
  });
});

describe("asyncsrv (async clients, ROUTER-DEALER proxy, worker actors)", () => {
  const ID = "[0-9A-F]{4}-[0-9A-F]{4}";

  it("clients tick requests out and print replies as they come; it stops by itself after --run-ms", async () => {
    const e = startExample("ch3/asyncsrv.ts", ["--bind", ANY_PORT, "--clients", "2", "--workers", "3", "--run-ms", "1500", "--tick-ms", "100", "--max-reply-ms", "20"]);
    await expectCleanExit(e, START_MS);
    const out = e.stdout();
    const replies = [...out.matchAll(new RegExp(`^(${ID}) \\[\\d{3}\\] request #(\\d+)$`, "gm"))];
    expect(replies.length, out).toBeGreaterThan(0);
    const summaries = [...out.matchAll(new RegExp(`^(${ID}) sent (\\d+) requests, got (\\d+) replies$`, "gm"))];
    expect(summaries, out).toHaveLength(2);
    for (const [, id, sent, got] of summaries) {
      expect(Number(sent)).toBeGreaterThan(0);
      // each client printed exactly the replies it counted, all to requests it sent
      const mine = replies.filter((r) => r[1] === id);
      expect(mine).toHaveLength(Number(got));
      for (const r of mine) expect(Number(r[2])).toBeLessThanOrEqual(Number(sent));
    }
    expect(e.stderr()).toBe("");
  });

  it("the server answers a DEALER of ours with 0 to 4 copies of each request", async () => {
    const e = startExample("ch3/asyncsrv.ts", ["--bind", ANY_PORT, "--clients", "0", "--workers", "3", "--run-ms", "1500", "--max-reply-ms", "5"]);
    const [, endpoint] = await e.waitFor(/^listening on (\S+)$/m, START_MS);
    const dealer = await ZSocket.dealer(`>${endpoint}`);
    const sent = Array.from({ length: 30 }, (_, i) => `task ${i}`);
    for (const body of sent) await dealer.send(body);
    const got = new Map<string, number>();
    const collect = (async () => {
      for await (const [body] of dealer) got.set(String(body), (got.get(String(body)) ?? 0) + 1);
    })();
    await expectCleanExit(e, START_MS);
    dealer.close();
    await collect;
    for (const [body, n] of got) {
      expect(sent).toContain(body);
      expect(n).toBeLessThanOrEqual(4);
    }
    // 30 requests with no reply at all would happen once in 5^30 runs
    expect([...got.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

/** Starts one peering broker: `name` first, then its peers, in `dir`. */
function broker(program: string, dir: string, name: string, peers: string[], flags: string[], stdin: "pipe" | "ignore" = "ignore"): Example {
  return startExample(`ch3/${program}.ts`, [name, ...peers, "--dir", dir, ...flags], { stdin, name: `${program} ${name}` });
}

describe("peering1 (state flow)", () => {
  it("three brokers publish their state and each hears both others; a stop removes their ipc files", async () => {
    const dir = ipcDir();
    const names = ["DC1", "DC2", "DC3"];
    const brokers = names.map((n) =>
      broker(
        "peering1",
        dir,
        n,
        names.filter((p) => p !== n),
        ["--interval-ms", "100"],
      ),
    );
    for (const [i, b] of brokers.entries()) {
      await b.waitFor(new RegExp(`^I: preparing broker at ${names[i]}\\.\\.\\.$`, "m"), START_MS);
      for (const peer of names.filter((p) => p !== names[i])) await b.waitFor(new RegExp(`^${peer} - \\d workers free$`, "m"), START_MS);
    }
    expect(brokers[0]!.stdout()).toContain(`listening on ipc://${dir}/DC1-state.ipc (state backend)`);
    expect(brokers[0]!.stdout()).toContain("I: connecting to state backend at 'DC2'");
    expect(brokers[0]!.stdout()).not.toMatch(/^DC1 - /m); // not its own
    for (const [i, b] of brokers.entries()) {
      b.kill(i % 2 === 0 ? "SIGINT" : "SIGTERM");
      await expectCleanExit(b);
      expect(b.stderr()).toBe("");
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("peering2 (local and cloud flow)", () => {
  it("a broker sends its clients' requests to its peer's workers, and the replies come back", async () => {
    const dir = ipcDir();
    // A: one worker (so it reads its frontend), two clients, everything to the cloud.
    const a = broker("peering2", dir, "A", ["B"], ["--workers", "1", "--clients", "2", "--cloud-percent", "100", "--pause-ms", "50"], "pipe");
    // B: two workers, no clients.
    const b = broker("peering2", dir, "B", ["A"], ["--workers", "2", "--clients", "0"], "pipe");
    for (const x of [a, b]) await x.waitFor(/^Press Enter when all brokers are started: $/m, START_MS);
    expect(a.stdout()).toContain(`listening on ipc://${dir}/A-cloud.ipc (cloud frontend)`);
    expect(a.stdout()).toContain("I: connecting to cloud frontend at 'B'");
    b.write("\n");
    a.write("\n");

    await waitForCount(a, /^Client: OK$/gm, 6);
    await waitForCount(b, /^Worker: \[005\] HELLO$/gm, 6);
    a.kill("SIGINT");
    b.kill("SIGTERM");
    await expectCleanExit(a);
    await expectCleanExit(b);
    // A's own worker serves only what could not go to B (before they connected)
    const [, aLocal, toPeers] = /^I: A routed (\d+) requests to its workers \(0 from peers\) and (\d+) to peers$/m.exec(a.stdout()) ?? [];
    expect(count(a.stdout(), /^Worker: /gm)).toBe(Number(aLocal));
    const [, local, fromPeers] = /^I: B routed (\d+) requests to its workers \((\d+) from peers\) and 0 to peers$/m.exec(b.stdout()) ?? [];
    expect(Number(toPeers), a.stdout()).toBeGreaterThanOrEqual(6);
    expect(Number(fromPeers), b.stdout()).toBe(Number(local));
    expect(Number(fromPeers)).toBeGreaterThanOrEqual(6);
    expect(a.stderr() + b.stderr()).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("with no peer up, a request meant for the cloud is served locally rather than lost", async () => {
    const dir = ipcDir();
    const a = broker("peering2", dir, "A", ["NOBODY"], ["--workers", "1", "--clients", "1", "--cloud-percent", "100", "--pause-ms", "0"]);
    await waitForCount(a, /^Client: OK$/gm, 3);
    expect(a.stdout()).toMatch(/^Worker: \[005\] HELLO$/m);
  });
});

describe("peering3 (state, tasks and monitor)", () => {
  it("a broker with no workers routes its clients' tasks to the peers that said they have some", async () => {
    const dir = ipcDir();
    const quick = ["--max-pause-ms", "200", "--max-burst", "5", "--work-ms", "50", "--state-ms", "200"];
    const a = broker("peering3", dir, "A", ["B", "C"], [...quick, "--workers", "0", "--clients", "2"]);
    const b = broker("peering3", dir, "B", ["A", "C"], [...quick, "--workers", "2", "--clients", "0"]);
    const c = broker("peering3", dir, "C", ["A", "B"], [...quick, "--workers", "2", "--clients", "0"]);
    // A's monitor prints each reply its clients got: their task ids.
    await waitForCount(a, /^[0-9A-F]{4}$/gm, 10);
    expect(a.stdout()).not.toContain("E: CLIENT EXIT");
    expect(a.stdout()).toContain(`listening on ipc://${dir}/A-monitor.ipc (monitor)`);
    for (const [x, signal] of [
      [a, "SIGTERM"],
      [b, "SIGINT"],
      [c, "SIGTERM"],
    ] as const) {
      x.kill(signal);
      await expectCleanExit(x);
      expect(x.stderr()).toBe("");
    }
    const [, toPeers] = /^I: A routed 0 tasks to its workers \(0 from peers\) and (\d+) to peers$/m.exec(a.stdout()) ?? [];
    expect(Number(toPeers), a.stdout()).toBeGreaterThanOrEqual(10);
    let fromPeers = 0;
    for (const [x, name] of [
      [b, "B"],
      [c, "C"],
    ] as const) {
      const [, local, from] = new RegExp(`^I: ${name} routed (\\d+) tasks to its workers \\((\\d+) from peers\\) and 0 to peers$`, "m").exec(x.stdout()) ?? [];
      expect(Number(from), x.stdout()).toBe(Number(local)); // B and C have no clients
      fromPeers += Number(from);
    }
    expect(fromPeers).toBeGreaterThanOrEqual(10);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("every long-running program stops cleanly (exit 0, nothing on stderr) on Ctrl-C or SIGTERM", () => {
  // Each is busy or waiting when the signal comes.
  const cases: [string, string[], RegExp, "SIGINT" | "SIGTERM", "pipe" | "ignore"][] = [
    ["ch3/rtreq.ts", ["--bind", ANY_PORT, "--workers", "2", "--run-ms", "600000", "--max-work-ms", "5"], /^listening on /m, "SIGINT", "ignore"],
    ["ch3/rtdealer.ts", ["--bind", ANY_PORT, "--workers", "2", "--run-ms", "600000", "--max-work-ms", "5"], /^listening on /m, "SIGTERM", "ignore"],
    // no worker: the clients wait for a reply forever
    ["ch3/lbbroker.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT, "--clients", "2", "--workers", "0"], /\(backend, workers\)$/m, "SIGTERM", "ignore"],
    ["ch3/lbbroker2.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT, "--clients", "2", "--workers", "1", "--pause-ms", "10"], /^Client: OK$/m, "SIGINT", "ignore"],
    ["ch3/lbbroker3.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT, "--clients", "2", "--workers", "1", "--pause-ms", "10"], /^Client: OK$/m, "SIGTERM", "ignore"],
    ["ch3/asyncsrv.ts", ["--bind", ANY_PORT, "--clients", "1", "--workers", "2", "--run-ms", "0", "--tick-ms", "50"], / request #\d+$/m, "SIGINT", "ignore"],
    // waiting for Enter
    ["ch3/peering2.ts", ["X", "Y", "--dir", "DIR"], /^Press Enter/m, "SIGTERM", "pipe"],
    ["ch3/peering2.ts", ["X", "Y", "--dir", "DIR", "--no-wait", "--clients", "1", "--workers", "1", "--pause-ms", "10", "--cloud-percent", "0"], /^Client: OK$/m, "SIGINT", "ignore"],
    ["ch3/peering3.ts", ["X", "Y", "--dir", "DIR", "--clients", "1", "--workers", "1", "--max-pause-ms", "10", "--work-ms", "10"], /^[0-9A-F]{4}$/m, "SIGTERM", "ignore"],
  ];
  it.each(cases)("%s %j on %s", async (script, args, ready, signal, stdin) => {
    const dir = ipcDir();
    const e = startExample(
      script,
      args.map((a) => (a === "DIR" ? dir : a)),
      { stdin },
    );
    await e.waitFor(ready, START_MS);
    e.kill(signal);
    await expectCleanExit(e);
    expect(e.stderr()).toBe("");
  });
});

describe("flags", () => {
  const programs = ["identity", "rtreq", "rtdealer", "lbbroker", "lbbroker2", "lbbroker3", "asyncsrv", "peering1", "peering2", "peering3"];
  it.each(programs)("ch3/%s.ts --help prints its usage and exits 0", async (name) => {
    const e = startExample(`ch3/${name}.ts`, ["--help"]);
    await expectCleanExit(e);
    const usage = name.startsWith("peering") ? `usage: ${name} me {you}... [options]` : `usage: ${name} [options]`;
    expect(e.stdout().startsWith(usage), e.stdout()).toBe(true);
    expect(e.stdout()).toContain("--help");
  });

  it("a peering broker needs its name and takes only usable ones (exit 2)", async () => {
    const none = startExample("ch3/peering1.ts", ["--dir", "."]);
    const bad = startExample("ch3/peering3.ts", ["DC/1"]);
    const self = startExample("ch3/peering2.ts", ["DC1", "DC1"]);
    const percent = startExample("ch3/peering2.ts", ["DC1", "--cloud-percent", "101"]);
    for (const e of [none, bad, self, percent]) expect((await e.waitForExit(EXIT_MS)).code, e.describe()).toBe(2);
    expect(none.stderr()).toContain("peering1: the first argument must be this broker's name");
    expect(none.stderr()).toContain("syntax: peering1 me {you}... [options]");
    expect(bad.stderr()).toContain('bad broker name "DC/1"');
    expect(self.stderr()).toContain('"DC1" cannot be its own peer');
    expect(percent.stderr()).toContain("--cloud-percent must be 0 to 100, got 101");
  });
});
