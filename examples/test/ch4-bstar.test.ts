// Smoke tests of the chapter 4 Binary Star examples (bstarsrv, bstarsrv2,
// bstarcli): each runs for real as a child process on ipc endpoints in a
// temp dir (a restarted server binds the same address), the heartbeat at
// 250 ms. A pair comes up and serves the client; the active primary is
// killed and the client fails over; the restarted primary stands by, as the
// Guide's chapter describes. The hand-written server and the reactor one
// run the same state machine, so they pair with each other too.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { tempDir } from "@zkit/testkit";
import { count, startExample, stopAll, type Example } from "./helpers.js";

const START_MS = 20_000;
const WAIT_MS = 30_000;
const HB = ["--heartbeat-ms", "250"];

const cleanups: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function exitOf(e: Example): Promise<number | null> {
  const exit = await e.waitForExit(WAIT_MS);
  expect(exit.signal, e.describe()).toBeNull();
  return exit.code;
}

function endpoints() {
  const d = tempDir("zkit-ex-bstar-");
  cleanups.push(d.remove);
  const ep = (name: string): string => `ipc://${d.dir}/${name}`;
  return {
    primary: ["-p", "--frontend", ep("p-front"), "--local", ep("p-state"), "--remote", ep("b-state"), ...HB],
    backup: ["-b", "--frontend", ep("b-front"), "--local", ep("b-state"), "--remote", ep("p-state"), ...HB],
    servers: `${ep("p-front")},${ep("b-front")}`,
  };
}

async function pairServesAndFailsOver(primaryProgram: string, backupProgram: string): Promise<void> {
  const ep = endpoints();
  const primary = startExample(primaryProgram, ep.primary);
  const backup = startExample(backupProgram, ep.backup);
  await primary.waitFor(/^I: Primary active, waiting for backup \(passive\)$/m, START_MS);
  await backup.waitFor(/^I: Backup passive, waiting for primary \(active\)$/m, START_MS);
  await primary.waitFor(/^I: connected to backup \(passive\), ready active$/m, WAIT_MS);
  await backup.waitFor(/^I: connected to primary \(active\), ready passive$/m, WAIT_MS);

  const client = startExample("ch4/bstarcli.ts", ["--servers", ep.servers, "--interval-ms", "50", "--timeout-ms", "500", "--settle-ms", "500"]);
  await client.waitFor(/^I: server replied OK \(3\)$/m, WAIT_MS);
  primary.kill("SIGKILL");
  await client.waitFor(/^W: no response from server, failing over\nI: connecting to server at ipc:\/\/\S+b-front\.\.\.$/m, WAIT_MS);
  await backup.waitFor(/^I: failover successful, ready active$/m, WAIT_MS);
  const served = count(client.stdout(), /^I: server replied OK/gm);
  await client.waitFor(new RegExp(`^I: server replied OK \\(${served + 3}\\)$`, "m"), WAIT_MS);

  // recovery is manual: the restarted primary sees its peer active and stands by
  const restarted = startExample(primaryProgram, ep.primary);
  await restarted.waitFor(/^I: connected to backup \(active\), ready passive$/m, WAIT_MS);
  const before = count(client.stdout(), /^I: server replied OK/gm);
  await client.waitFor(new RegExp(`^I: server replied OK \\(${before + 3}\\)$`, "m"), WAIT_MS);
  expect(count(client.stdout(), /failing over/g)).toBe(1);
  expect(client.stdout()).not.toMatch(/^E: /m);
  for (const e of [client, restarted, backup]) e.kill("SIGTERM");
  for (const e of [client, restarted, backup]) expect(await exitOf(e)).toBe(0);
  expect(backup.stdout()).toContain("W: interrupted");
}

describe("bstarsrv, bstarsrv2 and bstarcli (Binary Star)", () => {
  it("bstarsrv pair: the primary serves, is killed, the backup takes over; restarted, the primary stands by", async () => {
    await pairServesAndFailsOver("ch4/bstarsrv.ts", "ch4/bstarsrv.ts");
  });

  it("bstarsrv2 pair (the reactor): the same", async () => {
    await pairServesAndFailsOver("ch4/bstarsrv2.ts", "ch4/bstarsrv2.ts");
  });

  it("a hand-written bstarsrv primary pairs with a bstarsrv2 backup", async () => {
    await pairServesAndFailsOver("ch4/bstarsrv.ts", "ch4/bstarsrv2.ts");
  });

  it("--help prints the flags and exits 0; no role or a bad flag exits 2", async () => {
    const programs = ["ch4/bstarsrv.ts", "ch4/bstarsrv2.ts"];
    const helps = [...programs, "ch4/bstarcli.ts"].map((p) => startExample(p, ["--help"]));
    for (const e of helps) {
      expect(await exitOf(e)).toBe(0);
      expect(e.stdout()).toMatch(/^usage: \w+ \[options\]/);
    }
    const noRole = programs.map((p) => startExample(p, []));
    for (const e of noRole) {
      expect(await exitOf(e)).toBe(2);
      expect(e.stderr()).toMatch(/usage: bstarsrv2? \{ -p \| -b \}/);
    }
    const bad = startExample("ch4/bstarcli.ts", ["--no-such-flag"]);
    expect(await exitOf(bad)).toBe(2);
  });

  it("every program exits 0 on SIGTERM and on SIGINT", async () => {
    const ep = endpoints();
    const started = [
      startExample("ch4/bstarsrv.ts", ep.primary),
      startExample("ch4/bstarsrv2.ts", ep.backup),
      startExample("ch4/bstarcli.ts", ["--servers", "tcp://127.0.0.1:9,tcp://127.0.0.1:10"]),
    ];
    await Promise.all(started.map((e) => e.waitFor(/^(listening on|I: )/m, START_MS)));
    for (const [i, e] of started.entries()) e.kill(i % 2 === 0 ? "SIGTERM" : "SIGINT");
    for (const e of started) expect(await exitOf(e), e.describe()).toBe(0);
  });
});
