// Smoke tests of the chapter 4 Titanic examples (titanic, ticlient) with
// mdbroker and mdworker: each runs for real as a child process on an
// ephemeral tcp port, Titanic on a temp directory; the client is started
// before any echo worker exists, and Titanic is killed (SIGKILL) and
// restarted on its directory while the client waits.
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { tempDir } from "@zkit/testkit";
import { startExample, stopAll, type Example } from "./helpers.js";

// Generous: a loaded 2-core machine may take seconds to start a tsx process.
const START_MS = 30_000;
const EXIT_MS = 30_000;
const FAST = ["--heartbeat-ms", "250"];

const dirs: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const remove of dirs.splice(0)) remove();
});

function storeDir(): string {
  const t = tempDir("zkit-ex-titanic-");
  dirs.push(t.remove);
  return t.dir;
}

async function exitOf(e: Example): Promise<number | null> {
  const exit = await e.waitForExit(EXIT_MS);
  expect(exit.signal, e.describe()).toBeNull();
  return exit.code;
}

async function startBroker(): Promise<{ broker: Example; endpoint: string }> {
  const broker = startExample("ch4/mdbroker.ts", ["--bind", "tcp://127.0.0.1:*", ...FAST]);
  const endpoint = (await broker.waitFor(/^listening on (\S+)$/m, START_MS))[1]!;
  return { broker, endpoint };
}

describe("titanic and ticlient", () => {
  it("the client's request waits for the echo worker, then the reply comes; SIGTERM exits 0", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = startExample("ch4/titanic.ts", ["--connect", endpoint, "--dir", storeDir(), ...FAST]);
    await titanic.waitFor(/^I: titanic ready, 0 pending request\(s\) in \S+$/m, START_MS);
    const client = startExample("ch4/ticlient.ts", ["--connect", endpoint, "--poll-ms", "100"]);
    const uuid = (await client.waitFor(/^I: request UUID ([0-9a-f]{32})$/m, START_MS))[1]!;
    await client.waitFor(/^I: no reply yet, trying again\.\.\.$/m, START_MS);
    await titanic.waitFor(new RegExp(`^I: stored request ${uuid} for echo$`, "m"), START_MS);

    const worker = startExample("ch4/mdworker.ts", ["--connect", endpoint, ...FAST]);
    expect(await exitOf(client)).toBe(0);
    expect(client.stdout()).toMatch(/^Reply: Hello world$/m);
    await titanic.waitFor(new RegExp(`^I: request ${uuid} answered\nI: request ${uuid} closed$`, "m"), START_MS);

    for (const e of [worker, titanic, broker]) {
      e.kill("SIGTERM");
      expect(await exitOf(e)).toBe(0);
    }
    expect(titanic.stdout()).toMatch(/^I: titanic stopped with 0 pending request\(s\)$/m);
  });

  it("Titanic killed with SIGKILL and restarted on its --dir: the waiting client still gets its reply", async () => {
    const { endpoint } = await startBroker();
    const dir = storeDir();
    const first = startExample("ch4/titanic.ts", ["--connect", endpoint, "--dir", dir, ...FAST]);
    await first.waitFor(/^I: titanic ready/m, START_MS);
    const client = startExample("ch4/ticlient.ts", ["--connect", endpoint, "--poll-ms", "100", "--service", "later", "--body", "still here"]);
    await client.waitFor(/^I: request UUID [0-9a-f]{32}$/m, START_MS);
    first.kill("SIGKILL");
    expect((await first.waitForExit(EXIT_MS)).signal).toBe("SIGKILL");

    const second = startExample("ch4/titanic.ts", ["--connect", endpoint, "--dir", dir, ...FAST]);
    await second.waitFor(/^I: titanic ready, 1 pending request\(s\)/m, START_MS);
    startExample("ch4/mdworker.ts", ["--connect", endpoint, "--service", "later", ...FAST]);
    expect(await exitOf(client)).toBe(0);
    expect(client.stdout()).toMatch(/^Reply: still here$/m);
  });

  it("--help prints each program's flags", async () => {
    const help = startExample("ch4/titanic.ts", ["--help"]);
    expect(await exitOf(help)).toBe(0);
    expect(help.stdout()).toMatch(/--dir VALUE\s+where requests and replies are stored \(default \.titanic\) \[ZKIT_DIR\]/);
    const clientHelp = startExample("ch4/ticlient.ts", ["--help"]);
    expect(await exitOf(clientHelp)).toBe(0);
    expect(clientHelp.stdout()).toMatch(/--connect VALUE\s+the Majordomo broker .*\(default tcp:\/\/localhost:5555\)/);
  });
});
