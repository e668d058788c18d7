// `zkit bstar server|client` as real processes on ipc endpoints in a temp
// dir: a pair serves the client; the primary is killed and the client fails
// over to the backup; --help, bad command lines (exit 2), SIGTERM exits 0.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { count, startNode, stopAll, tempDir, type Child } from "@zkit/testkit";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const START_MS = 20_000;
const WAIT = 30_000;

const cleanups: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

function zkit(...args: string[]): Child {
  return startNode(MAIN, args, { name: `zkit ${args.slice(0, 3).join(" ")}` });
}

async function exitCode(child: Child): Promise<number | null> {
  const exit = await child.waitForExit(WAIT);
  expect(exit.signal, child.describe()).toBeNull();
  return exit.code;
}

function endpoints() {
  const d = tempDir("zkit-cli-bstar-");
  cleanups.push(d.remove);
  const ep = (name: string): string => `ipc://${d.dir}/${name}`;
  return {
    primary: ["--primary", "--frontend", ep("p-front"), "--local", ep("p-state"), "--remote", ep("b-state")],
    backup: ["--backup", "--frontend", ep("b-front"), "--local", ep("b-state"), "--remote", ep("p-state")],
    servers: `${ep("p-front")},${ep("b-front")}`,
  };
}

describe("zkit bstar", () => {
  it("server -p + server -b + client: served by the primary; the primary killed, the client fails over to the backup; SIGTERM exits 0", async () => {
    const ep = endpoints();
    const primary = zkit("bstar", "server", ...ep.primary, "--heartbeat-ms", "250");
    const backup = zkit("bstar", "server", ...ep.backup, "--heartbeat-ms", "250", "-v");
    await primary.waitFor(/^listening on \S+ \(frontend\)$/m, START_MS);
    await backup.waitFor(/^listening on \S+ \(state\)$/m, START_MS);
    await primary.waitFor(/^I: active \(peer-backup, was primary\)$/m, WAIT);
    await backup.waitFor(/^I: passive \(peer-active, was backup\)$/m, WAIT);

    const first = zkit("bstar", "client", "--servers", ep.servers, "--requests", "5", "--timeout-ms", "2000", "--settle-ms", "500");
    expect(await exitCode(first)).toBe(0);
    expect(count(first.stdout(), /^I: server replied OK \(\d\)$/gm)).toBe(5);
    expect(first.stdout()).toContain("I: 5 requests, 5 replies, 0 failovers, 0 failed");

    primary.kill("SIGKILL");
    const second = zkit("bstar", "client", "--servers", ep.servers, "--requests", "3", "--timeout-ms", "500", "--settle-ms", "500", "-v");
    expect(await exitCode(second)).toBe(0);
    const out = second.stdout();
    expect(count(out, /^I: server replied OK \(\d\)$/gm)).toBe(3);
    expect(out).toMatch(/^W: no response from server, failing over\nI: connecting to server at ipc:\/\/.*b-front\.\.\.$/m);
    expect(out).toMatch(/I: sending to ipc:\/\/\S+ \(1 frame\)/); // -v
    await backup.waitFor(/^I: active \(failover, was passive\)$/m, WAIT);

    backup.kill("SIGTERM");
    expect(await exitCode(backup)).toBe(0);
    expect(backup.stdout()).toMatch(/^I: \d+ requests served, \d+ rejected, 1 failovers, 0 split brains, 0 malformed dropped$/m);
  });

  it("--help prints the flags; neither or both of --primary and --backup, or a bad flag, exits 2", async () => {
    const help = zkit("bstar", "server", "--help");
    expect(await exitCode(help)).toBe(0);
    expect(help.stdout()).toMatch(/--primary/);
    expect(help.stdout()).toMatch(/--answer-rejected/);
    const clientHelp = zkit("bstar", "client", "--help");
    expect(await exitCode(clientHelp)).toBe(0);
    expect(clientHelp.stdout()).toMatch(/--settle-ms N\s+wait after switching servers before resending, in ms \(default 2000\)/);
    const bad = [
      ["bstar", "server"],
      ["bstar", "server", "-p", "-b"],
      ["bstar", "server", "-p", "--heartbeat-ms", "0"],
      ["bstar", "client", "--timeout", "5"],
    ];
    const children = bad.map((args) => zkit(...args));
    for (const [i, child] of children.entries()) {
      expect(await exitCode(child), `${bad[i]!.join(" ")}\n${child.describe()}`).toBe(2);
    }
    expect(children[0]!.stderr()).toContain("give exactly one of --primary and --backup");
  });

  it("zkit --help lists the bstar commands", async () => {
    const child = zkit("--help");
    expect(await exitCode(child)).toBe(0);
    expect(child.stdout()).toMatch(/bstar server/);
    expect(child.stdout()).toMatch(/bstar client/);
  });
});
