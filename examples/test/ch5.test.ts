// Smoke tests of the chapter 5 examples: each program runs for real as a
// child process on ephemeral tcp ports (threads inside it are real Worker
// threads), and the tests check the behaviour the Guide describes: the
// Espresso listener sees every message and the subscriptions going up; a
// late subscriber misses the pathological publisher's burst; the Last Value
// Cache gives a late subscriber its topic's last value, and only that
// subscriber; the suicidal snail dies when it is slow and not when it is
// fast; the Black Box subscriber shares a feed among its workers and prints
// its rate. Waits have deadlines; nothing sleeps.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { createServer } from "node:net";
import { tempDir, waitFor } from "@zkit/testkit";
import { count, startExample, stopAll, within, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process
// and its worker threads.
const START_MS = 30_000;
const EXIT_MS = 30_000;
const ANY_PORT = "tcp://127.0.0.1:*";

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

/** Waits until `pattern` (global) matched `n` times in the program's output. */
async function waitForCount(e: Example, pattern: RegExp, n: number, ms = START_MS): Promise<void> {
  await waitFor(() => count(e.stdout(), pattern) >= n, ms, `${n} x ${pattern} from ${e.name}`, 20).catch((err: Error) => {
    throw new Error(`${err.message}\n${e.describe()}`);
  });
}

/** The lines of a program's output after its first line. */
const body = (e: Example): string[] =>
  e
    .stdout()
    .split("\n")
    .slice(1)
    .filter((l) => l !== "");

describe("espresso (a ZProxy with a capture listener)", () => {
  it("the listener sees the subscriptions go up, then every update the subscriber gets, and only A and B", async () => {
    const e = startExample("ch5/espresso.ts", ["--publish", ANY_PORT, "--subscribe", ANY_PORT, "--interval-ms", "20", "--count", "5"]);
    await listening(e, "publisher");
    await listening(e, "subscribers");
    await e.waitFor(/^subscriber: done$/m, START_MS);
    // leaving, the subscriber's unsubscriptions go up through the proxy too
    await waitForCount(e, /^\[002\] 004[12]$/gm, 2);
    e.kill("SIGINT");
    await expectCleanExit(e);

    const out = e.stdout();
    const lines = out.split("\n");
    const firstUpdate = lines.findIndex((l) => l.startsWith("[007] "));
    // [002] 0141: the byte 1 (subscribe) and "A", printed in hex as zframe_print does
    expect(lines.indexOf("[002] 0141")).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf("[002] 0142")).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf("[002] 0141")).toBeLessThan(firstUpdate);
    // the publisher filters on the subscriptions the proxy passed up: only A and B come through
    const captured = lines.filter((l) => l.startsWith("[007] ")).map((l) => l.slice(6));
    for (const u of captured) expect(u).toMatch(/^[AB]-\d{5}$/);
    // every update the subscriber got went past the listener
    const got = [...out.matchAll(/^subscriber: (\S+) \(\d of 5\)$/gm)].map((m) => m[1]!);
    expect(got).toHaveLength(5);
    for (const u of got) expect(captured).toContain(u);
    const stats = /^proxy: (\d+) updates down, (\d+) \(un\)subscriptions up, (\d+) copies to the listener$/m.exec(out);
    expect(stats, out).not.toBeNull();
    expect(Number(stats![1])).toBe(captured.length);
    expect(Number(stats![2])).toBe(4); // subscribe A, B; unsubscribe A, B
    expect(Number(stats![3])).toBe(captured.length + 4);
  });
});

describe("pathopub and pathosub (the slow joiner)", () => {
  it("a subscriber that joins after the burst never sees it: it waits for a random update of its topic", async () => {
    const pub = startExample("ch5/pathopub.ts", ["--endpoint", `@${ANY_PORT}`, "--topics", "5", "--interval-ms", "20", "--settle-ms", "0"]);
    const endpoint = await listening(pub);
    await pub.waitFor(/^sent 5 topics$/m, START_MS);
    const sub = startExample("ch5/pathosub.ts", ["--connect", endpoint, "--topic", "003", "--messages", "2"]);
    await expectCleanExit(sub);
    expect(sub.stdout()).toBe("subscribed to 003\nOff with his head!\nOff with his head!\n");
    pub.kill("SIGTERM");
    await expectCleanExit(pub);
    expect(pub.stdout()).toMatch(/^sent \d+ updates$/m);
  });
});

describe("lvcache (Last Value Cache)", () => {
  //  feeder (XPUB) --> [SUB | lvcache | XPUB manual] --> pathosub A, B (topic 005), C (topic 007)
  //  v1 cached; A joins: v1; B joins: v1 to B only; v2: to A and B once each
  it("gives a late subscriber the last value of its topic, and only that subscriber", async () => {
    const lvc = startExample("ch5/lvcache.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT]);
    const front = await listening(lvc, "publisher");
    const back = await listening(lvc, "subscribers");
    // An XPUB as the publisher: it shows when the cache's subscription has reached it
    const feeder = await ZSocket.xpub(`>${front}`);
    const [subscription] = await within(feeder.receive(), START_MS, "the cache's subscription");
    expect(subscription).toEqual(Buffer.from([1])); // 0x01 + "": everything
    await feeder.send(["005", "v1"]);

    const a = startExample("ch5/pathosub.ts", ["--connect", back, "--topic", "005"]);
    await waitForCount(a, /^v1$/gm, 1);
    const b = startExample("ch5/pathosub.ts", ["--connect", back, "--topic", "005"]);
    await waitForCount(b, /^v1$/gm, 1);
    await waitForCount(lvc, /^Sending cached topic 005$/gm, 2); // once for A, once for B
    const c = startExample("ch5/pathosub.ts", ["--connect", back, "--topic", "007"]);
    await c.waitFor(/^subscribed to 007$/m, START_MS);

    // An update for everyone of 005: per connection, order holds, so a
    // duplicate v1 sent to A when B joined would arrive before v2.
    await feeder.send(["005", "v2"]);
    await waitForCount(a, /^v2$/gm, 1);
    await waitForCount(b, /^v2$/gm, 1);
    await feeder.send(["007", "w1"]);
    await waitForCount(c, /^w1$/gm, 1);
    for (const s of [a, b, c]) s.kill("SIGINT");
    for (const s of [a, b, c]) await expectCleanExit(s);
    expect(body(a)).toEqual(["v1", "v2"]);
    expect(body(b)).toEqual(["v1", "v2"]);
    expect(body(c)).toEqual(["w1"]); // no cached value for 007 when C joined; nothing of 005

    lvc.kill("SIGTERM");
    await expectCleanExit(lvc);
    expect(lvc.stdout()).toMatch(/^forwarded 3 updates; 2 topics cached$/m);
  });

  it("between pathopub and pathosub: a subscriber that joins long after the burst gets its topic at once", async () => {
    const lvc = startExample("ch5/lvcache.ts", ["--frontend", ANY_PORT, "--backend", ANY_PORT]);
    const front = await listening(lvc, "publisher");
    const back = await listening(lvc, "subscribers");
    // no random update for ten minutes: only the cache can answer
    const pub = startExample("ch5/pathopub.ts", ["--endpoint", `>${front}`, "--topics", "10", "--interval-ms", "600000", "--wait-for-subscriber"]);
    await pub.waitFor(/^sent 10 topics$/m, START_MS);
    expect(pub.stdout()).toContain(`connected to ${front}`);
    expect(pub.stdout()).toContain('subscriber here: subscribe ""');
    const sub = startExample("ch5/pathosub.ts", ["--connect", back, "--topic", "007", "--messages", "1"]);
    await expectCleanExit(sub);
    expect(sub.stdout()).toBe("subscribed to 007\nSave Roger\n");
    for (const p of [pub, lvc]) p.kill("SIGTERM");
    for (const p of [pub, lvc]) await expectCleanExit(p);
  });
});

describe("suisnail (Suicidal Snail)", () => {
  it("a subscriber slower than its publisher notices it is over a second behind and kills itself", async () => {
    const e = startExample("ch5/suisnail.ts", ["--bind", ANY_PORT]);
    await expectCleanExit(e, 60_000);
    const out = e.stdout();
    const died = /^E: subscriber cannot keep up, aborting \(message (\d+) was (\d+) ms late\)$/m.exec(out);
    expect(died, out).not.toBeNull();
    expect(Number(died![2])).toBeGreaterThan(1000);
    expect(out).toMatch(/^main: the subscriber croaked; stopping the publisher$/m);
    expect(out).toMatch(/^publisher: sent \d+ messages$/m);
  });

  it("a subscriber that does no work keeps up, and does not die", async () => {
    const e = startExample("ch5/suisnail.ts", ["--bind", ANY_PORT, "--work-ms", "0", "--jitter-ms", "0", "--duration-ms", "3000", "--max-delay-ms", "2000"]);
    await expectCleanExit(e, 60_000);
    expect(e.stdout()).toMatch(/^subscriber kept up for \d+ ms \(\d+ messages, the last \d+ ms late\)$/m);
    expect(e.stdout()).not.toContain("cannot keep up");
  });
});

describe("hssub and hspub (Black Box: a subscriber feeding worker threads)", () => {
  it("shares a feed of 20000 messages between 2 workers, accounts for every one, and prints its rate", async () => {
    const pub = startExample("ch5/hspub.ts", ["--bind", ANY_PORT, "--messages", "20000", "--size", "100"]);
    const endpoint = await listening(pub);
    const sub = startExample("ch5/hssub.ts", ["--connect", endpoint, "--workers", "2"]);
    await expectCleanExit(sub, 60_000);
    const exit = await pub.waitForExit(EXIT_MS);
    expect(exit, pub.describe()).toEqual({ code: 0, signal: null });
    // zeromq.js says it waits for the last messages to leave at exit; nothing else may appear
    expect(pub.stderr().replace(/.*Waiting for queued ZeroMQ messages.*\n?/g, "")).toBe("");
    expect(pub.stdout()).toMatch(/^published 20000 messages of 100 bytes in \d+ ms \(\d+ msg\/s\)$/m);

    const out = sub.stdout();
    const rate = /^received 20000 messages in (\d+) ms: (\d+) msg\/s$/m.exec(out);
    expect(rate, out).not.toBeNull();
    expect(Number(rate![2])).toBeGreaterThan(0);
    const workers = [...out.matchAll(/^worker (\d): (\d+) messages, (\d+) topics, last sequence (\d+)$/gm)];
    expect(workers.map((m) => m[1])).toEqual(["1", "2"]);
    for (const w of workers) expect(Number(w[2])).toBeGreaterThan(0); // both did a share
    expect(workers.reduce((sum, w) => sum + Number(w[2]), 0)).toBe(20000);
    expect(out).toMatch(/^workers handled 20000 of 20000$/m);
  });
});

describe("flags", () => {
  const programs = ["espresso", "pathopub", "pathosub", "lvcache", "suisnail", "hspub", "hssub"];
  it.each(programs)("ch5/%s.ts --help prints its usage and exits 0", async (name) => {
    const e = startExample(`ch5/${name}.ts`, ["--help"]);
    await expectCleanExit(e);
    expect(e.stdout().startsWith(`usage: ${name} [options]`), e.stdout()).toBe(true);
  });

  it("a bad flag exits 2 with the problem and the usage", async () => {
    const e = startExample("ch5/suisnail.ts", ["--max-delay-ms", "soon"]);
    expect((await e.waitForExit(EXIT_MS)).code).toBe(2);
    expect(e.stderr()).toContain("suisnail: --max-delay-ms must be an integer >= 1");
  });
});

describe("kvsimple and kvmsg (the Clone pattern's messages)", () => {
  it("kvsimple sends three frames [key][sequence][body] and reads them back", async () => {
    const e = startExample("ch5/kvsimple.ts");
    await expectCleanExit(e);
    expect(e.stdout()).toContain("frames: 3 (6b6579 0000000000000001 626f6479)");
    expect(e.stdout()).toContain("equal: true; map holds 1 key(s)");
  });

  it("kvmsg carries the uuid, the properties and the ttl, and an empty body deletes", async () => {
    const e = startExample("ch5/kvmsg.ts");
    await expectCleanExit(e);
    const out = e.stdout();
    expect(out).toMatch(/^received \[seq:1\]\[key:key\]\[size:4\] uuid=[0-9a-f]{32} prop1=value1 prop2=value2 ttl=30 "body"$/m);
    expect(out).toContain("equal: true; prop2=value2; ttl=30; map holds 1 key(s)");
    expect(out).toContain("after a delete the map holds 0 key(s)");
  });
});

/**
 * The Clone models (Guide chapter 5, "Reliable Pub-Sub (Clone Pattern)"),
 * server and clients as real processes on free ports: model one publishes,
 * model two adds snapshots, three takes updates from clients, four
 * subtrees, five ephemeral values (CloneServer and CloneClient), six a
 * client that moves to the other server when its server dies.
 */
describe("Clone models 1 to 6", () => {
  const server = async (script: string, ...args: string[]): Promise<{ e: Example; connect: string }> => {
    const e = startExample(script, ["--port", "0", "--host", "127.0.0.1", ...args]);
    return { e, connect: await listening(e) };
  };

  it("model one: a client stores what the publisher sends", async () => {
    const { e: srv, connect } = await server("ch5/clonesrv1.ts", "--interval-ms", "1");
    const cli = startExample("ch5/clonecli1.ts", ["--connect", connect, "--count", "100"]);
    await expectCleanExit(cli);
    expect(cli.stdout()).toMatch(/^100 messages in \(last sequence \d+, \d+ keys\)$/m);
    srv.kill("SIGINT");
    await expectCleanExit(srv);
    expect(srv.stdout()).toMatch(/^Interrupted\n\d+ messages out$/m);
  });

  it("model two: a snapshot, then only the updates after it", async () => {
    const { e: srv, connect } = await server("ch5/clonesrv2.ts", "--interval-ms", "1", "--keys", "100");
    const cli = startExample("ch5/clonecli2.ts", ["--connect", connect, "--count", "50"]);
    await expectCleanExit(cli);
    const snap = Number(/^I: received snapshot=(\d+)$/m.exec(cli.stdout())![1]);
    const last = Number(/last sequence (\d+)$/m.exec(cli.stdout())![1]);
    expect(cli.stdout()).toMatch(/^50 updates applied after the snapshot, \d+ older ones skipped, \d+ gaps; last sequence \d+$/m);
    expect(last).toBeGreaterThanOrEqual(snap + 50);
    expect(srv.stdout()).toContain(`I: sending shapshot=${snap}`);
    srv.kill("SIGINT");
    await expectCleanExit(srv);
  });

  it("model three: updates from clients, republished with a sequence, reach every client", async () => {
    const { e: srv, connect } = await server("ch5/clonesrv3.ts", "--verbose");
    const a = startExample("ch5/clonecli3.ts", ["--connect", connect, "--interval-ms", "50", "--count", "30"]);
    const b = startExample("ch5/clonecli3.ts", ["--connect", connect, "--interval-ms", "50", "--count", "30"]);
    await expectCleanExit(a);
    await expectCleanExit(b);
    for (const c of [a, b]) expect(c.stdout()).toMatch(/^30 updates applied, \d+ sent; \d+ keys; last sequence \d+$/m);
    // each applied updates the other one sent: more than it sent itself before it stopped
    expect(count(srv.stdout(), /^I: publishing update=\d+ \d+$/gm)).toBeGreaterThanOrEqual(30);
    srv.kill("SIGINT");
    await expectCleanExit(srv);
  });

  it("model four: a client of a subtree gets only its keys", async () => {
    const { e: srv, connect } = await server("ch5/clonesrv4.ts");
    const mine = startExample("ch5/clonecli4.ts", ["--connect", connect, "--subtree", "/client/", "--interval-ms", "30", "--count", "20"]);
    const other = startExample("ch5/clonecli4.ts", ["--connect", connect, "--subtree", "/other/", "--interval-ms", "30", "--count", "20"]);
    await expectCleanExit(mine);
    await expectCleanExit(other);
    const keys = (e: Example): string[] => [...e.stdout().matchAll(/^I: received update=\d+ (\S+)$/gm)].map((m) => m[1]!);
    expect(keys(mine).length).toBe(20);
    expect(keys(mine).every((k) => k.startsWith("/client/"))).toBe(true);
    expect(keys(other).every((k) => k.startsWith("/other/"))).toBe(true);
    srv.kill("SIGINT");
    await expectCleanExit(srv);
  });

  it("model five: ephemeral values are deleted when their ttl expires", async () => {
    const { e: srv, connect } = await server("ch5/clonesrv5.ts", "--verbose");
    const cli = startExample("ch5/clonecli5.ts", ["--connect", connect, "--interval-ms", "100", "--ttl", "1", "--count", "30"]);
    await expectCleanExit(cli);
    expect(cli.stdout()).toMatch(/^I: synced with tcp:\/\/127\.0\.0\.1:\d+ at sequence=\d+ \(\d+ keys\)$/m);
    expect(cli.stdout()).toMatch(/^I: received update=\d+ \/client\/\d+ \(deleted\)$/m);
    await srv.waitFor(/^I: publishing delete=\d+ \/client\/\d+$/m, START_MS);
    srv.kill("SIGINT");
    await expectCleanExit(srv);
    expect(srv.stdout()).toMatch(/^Interrupted\n\d+ updates, \d+ expired$/m);
  });

  it("model six, clonesrv6: a Binary Star pair; the primary SIGKILLed, the backup takes over and clonecli6 follows it", async () => {
    const d = tempDir("zkit-ex-clone6-");
    try {
      const free = (port: number): Promise<boolean> =>
        new Promise((resolve) => {
          const probe = createServer();
          probe.once("error", () => resolve(false));
          probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
        });
      // six ports in a row found free (P..P+2 and the backup's P+3..P+5), another base if one is taken
      let primary: Example | undefined;
      let backup: Example | undefined;
      let base = 0;
      for (let attempt = 1; primary === undefined; attempt++) {
        base = 20_000 + Math.floor(Math.random() * 40_000);
        if ((await Promise.all([0, 1, 2, 3, 4, 5].map((i) => free(base + i)))).includes(false)) continue;
        const common = ["--host", "127.0.0.1", "--heartbeat-ms", "500"];
        const p = startExample("ch5/clonesrv6.ts", [
          "-p",
          "--port",
          String(base),
          "--peer",
          `127.0.0.1:${base + 3}`,
          "--local",
          `ipc://${d.dir}/p`,
          "--remote",
          `ipc://${d.dir}/b`,
          ...common,
        ]);
        const b = startExample("ch5/clonesrv6.ts", [
          "-b",
          "--port",
          String(base + 3),
          "--peer",
          `127.0.0.1:${base}`,
          "--local",
          `ipc://${d.dir}/b`,
          "--remote",
          `ipc://${d.dir}/p`,
          ...common,
        ]);
        try {
          await p.waitFor(/^I: ready active/m, START_MS);
          await b.waitFor(/^I: received snapshot=\d+ \(\d+ keys\)$/m, START_MS);
          primary = p;
          backup = b;
        } catch (err) {
          p.kill("SIGKILL");
          b.kill("SIGKILL");
          if (attempt >= 5 || !/in use/i.test(p.stderr() + b.stderr())) throw err;
        }
      }
      const pe = `tcp://127.0.0.1:${base}`;
      const be = `tcp://127.0.0.1:${base + 3}`;
      const cli = startExample("ch5/clonecli6.ts", ["--connect", `${pe},${be}`, "--interval-ms", "100", "--server-ttl-ms", "1500"]);
      await cli.waitFor(new RegExp(`^I: synced with ${pe.replace(/[.]/g, "\\.")} `, "m"), START_MS);
      await cli.waitFor(/^I: received update=/m, START_MS);
      primary.kill("SIGKILL");
      await cli.waitFor(new RegExp(`^I: server at ${pe.replace(/[.]/g, "\\.")} didn't give HUGZ, moving to ${be.replace(/[.]/g, "\\.")}$`, "m"), START_MS);
      await backup!.waitFor(/^I: failover successful, ready active \(\d+ pending updates published\)$/m, START_MS);
      await cli.waitFor(new RegExp(`^I: synced with ${be.replace(/[.]/g, "\\.")} `, "m"), START_MS);
      const before = count(cli.stdout(), /^I: received update=/gm);
      await waitForCount(cli, /^I: received update=/gm, before + 3);
      cli.kill("SIGINT");
      await expectCleanExit(cli);
      backup!.kill("SIGINT");
      await expectCleanExit(backup!);
      expect(backup!.stdout()).toMatch(/^Interrupted\n\d+ updates, \d+ published from the pending list$/m);
    } finally {
      d.remove();
    }
  });

  it("model six: the client moves to the other server when its server is SIGKILLed", async () => {
    const { e: primary, connect: p } = await server("ch5/clonesrv5.ts");
    const { connect: b } = await server("ch5/clonesrv5.ts");
    const cli = startExample("ch5/clonecli6.ts", ["--connect", `${p},${b}`, "--interval-ms", "100", "--server-ttl-ms", "1000"]);
    await cli.waitFor(new RegExp(`^I: synced with ${p.replace(/[.]/g, "\\.")} `, "m"), START_MS);
    await cli.waitFor(/^I: received update=/m, START_MS);
    primary.kill("SIGKILL");
    await cli.waitFor(new RegExp(`^I: server at ${p.replace(/[.]/g, "\\.")} didn't give HUGZ, moving to ${b.replace(/[.]/g, "\\.")}$`, "m"), START_MS);
    await cli.waitFor(new RegExp(`^I: synced with ${b.replace(/[.]/g, "\\.")} `, "m"), START_MS);
    const before = count(cli.stdout(), /^I: received update=/gm);
    await waitForCount(cli, /^I: received update=/gm, before + 3);
    cli.kill("SIGINT");
    await expectCleanExit(cli);
  });
});
