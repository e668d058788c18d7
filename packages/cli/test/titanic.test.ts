// `zkit titanic` and `zkit titanic request` as real processes, with
// `zkit mdp broker` and `zkit mdp worker`: a request waits on disk until its
// service comes up; Titanic is killed with SIGKILL while a client waits and
// restarted on the same directory; -v dumps frames; damaged files are
// reported; --help, bad command lines (exit 2), and a clean exit 0 on
// SIGTERM/SIGINT.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { stopAll, tempDir, type Child } from "@zkit/testkit";
import { START_MS, exitCode, zkit } from "./helpers.js";

const WAIT = 30_000;
const FAST = ["--heartbeat-ms", "250"];

const dirs: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const remove of dirs.splice(0)) remove();
});

function storeDir(): string {
  const t = tempDir("zkit-cli-titanic-");
  dirs.push(t.remove);
  return join(t.dir, "store");
}

async function startBroker(): Promise<{ broker: Child; endpoint: string }> {
  const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", ...FAST);
  const endpoint = (await broker.waitFor(/^listening on (\S+)$/m, START_MS))[1]!;
  return { broker, endpoint };
}

describe("zkit titanic", () => {
  it("a request waits on disk until its worker comes up; -v dumps frames; SIGTERM exits 0", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = zkit("titanic", "--connect", endpoint, "--dir", dir, ...FAST, "--dispatch-interval-ms", "100", "-v");
    await titanic.waitFor(/^titanic ready at \S+, store \S+ \(0 pending, 0 answered\)$/m, START_MS);

    const client = zkit("titanic", "request", "--connect", endpoint, "--service", "echo", "--poll-ms", "100", "Hello", "world");
    const uuid = (await client.waitFor(/^I: request UUID ([0-9a-f]{32})$/m, START_MS))[1]!;
    await titanic.waitFor(new RegExp(`^I: stored request ${uuid} for echo$`, "m"), WAIT);
    // -v: titanic.request arrives as a Majordomo REQUEST [""][MDPW01][02][client][""][echo][Hello][world]
    expect(titanic.stdout()).toMatch(
      /I: received from titanic\.request \(8 frames\)\n\[000\] ?\n\[006\] MDPW01\n\[001\] 02\n\[005\] [0-9A-F]{10}\n\[000\] ?\n\[004\] echo\n\[005\] Hello\n\[005\] world/,
    );
    // and the dispatcher asks the broker whether echo is served
    await titanic.waitFor(/I: sending to dispatcher \(4 frames\)\n\[000\] ?\n\[006\] MDPC01\n\[011\] mmi\.service\n\[004\] echo/, WAIT);

    const worker = zkit("mdp", "worker", "--connect", endpoint, "--service", "echo", ...FAST);
    expect(await exitCode(client)).toBe(0);
    expect(client.stdout()).toMatch(/^Hello\nworld$/m);
    await titanic.waitFor(new RegExp(`^I: stored the reply of echo to ${uuid}$`, "m"), WAIT);
    await titanic.waitFor(new RegExp(`^I: closed request ${uuid}$`, "m"), WAIT);

    for (const child of [worker, titanic, broker]) {
      child.kill("SIGTERM");
      expect(await exitCode(child)).toBe(0);
    }
    expect(titanic.stdout()).toContain("titanic stopped: 1 requests stored, 1 replies stored, 1 closed, 0 pending");
  });

  it("SIGKILLed while a client waits, restarted on the same directory: the client gets its reply", async () => {
    const { endpoint } = await startBroker();
    const dir = storeDir();
    const first = zkit("titanic", "--connect", endpoint, "--dir", dir, ...FAST);
    await first.waitFor(/^titanic ready/m, START_MS);
    const client = zkit("titanic", "request", "--connect", endpoint, "--service", "later", "--poll-ms", "100", "survives");
    await client.waitFor(/^I: request UUID [0-9a-f]{32}$/m, START_MS);
    first.kill("SIGKILL");
    expect((await first.waitForExit(WAIT)).signal).toBe("SIGKILL");

    const second = zkit("titanic", "--connect", endpoint, "--dir", dir, ...FAST, "--dispatch-interval-ms", "100");
    await second.waitFor(/^titanic ready at \S+, store \S+ \(1 pending, 0 answered\)$/m, START_MS);
    zkit("mdp", "worker", "--connect", endpoint, "--service", "later", ...FAST);
    expect(await exitCode(client)).toBe(0);
    expect(client.stdout()).toMatch(/^survives$/m);
    second.kill("SIGINT");
    expect(await exitCode(second)).toBe(0);
    expect(second.stdout()).toContain("titanic stopped: 0 requests stored, 1 replies stored, 1 closed, 0 pending");
  });

  it("reports damaged files on stderr, moves them aside, and serves the rest", async () => {
    const { endpoint } = await startBroker();
    const dir = storeDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${"ab".repeat(16)}.req`), "not a titanic record");
    const titanic = zkit("titanic", "--connect", endpoint, "--dir", dir, ...FAST);
    await titanic.waitFor(/^titanic ready/m, START_MS);
    expect(titanic.stderr()).toMatch(new RegExp(`^W: damaged file \\S+${"ab".repeat(16)}\\.req: titanic record: truncated.* \\(moved to \\S+/corrupt/\\S+\\)$`, "m"));
    titanic.kill("SIGTERM");
    expect(await exitCode(titanic)).toBe(0);
  });

  it("titanic request gives up with exit 1 after --timeout-ms", async () => {
    const { endpoint } = await startBroker();
    zkit("titanic", "--connect", endpoint, "--dir", storeDir(), ...FAST);
    const client = zkit("titanic", "request", "--connect", endpoint, "--service", "nobody", "--poll-ms", "50", "--timeout-ms", "1500", "x");
    expect(await exitCode(client)).toBe(1);
    expect(client.stderr()).toContain("E: no reply within 1500 ms");
  });

  it("--help prints the usage and exits 0; a stray argument exits 2", async () => {
    const help = zkit("titanic", "--help");
    expect(await exitCode(help)).toBe(0);
    expect(help.stdout()).toContain("usage: zkit titanic [options]");
    expect(help.stdout()).toMatch(/--dir VALUE\s+the storage directory .*\(default \.titanic\)/);
    expect(help.stdout()).toMatch(/--connect VALUE\s+.*\(default tcp:\/\/localhost:5555\)/);
    const requestHelp = zkit("titanic", "request", "--help");
    expect(await exitCode(requestHelp)).toBe(0);
    expect(requestHelp.stdout()).toContain("usage: zkit titanic request [options] BODY...");
    const stray = zkit("titanic", "now");
    expect(await exitCode(stray)).toBe(2);
    expect(stray.stderr()).toContain('zkit titanic: unexpected argument "now"');
    const bad = zkit("titanic", "--concurrency", "0");
    expect(await exitCode(bad)).toBe(2);
    expect(help.stdout()).toMatch(/--durability VALUE\s+fsync: .*\(default fsync\)/);
    expect(help.stdout()).toMatch(/--request-concurrency N\s+.*\(default 8\)/);
    const durability = zkit("titanic", "--durability", "fdatasync");
    expect(await exitCode(durability)).toBe(2);
    expect(durability.stderr()).toContain('zkit titanic: --durability must be fsync or write, got "fdatasync"');
  });
});
