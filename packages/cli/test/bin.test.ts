// The published `zkit` bin (dist/main.js, plain node) as a user meets it:
// --version, -v alone, every kind of bad command line (the message names
// what is wrong, suggests the nearest flag or command, shows the usage),
// endpoint flags checked before anything binds, CZMQ port ranges, failures
// in one line, and Ctrl-C (SIGINT to the process group, as a terminal sends
// it) exiting 0 through the bin and through the documented in-repo command.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, shutdown } from "@zkit/core";
import { startProcess, stopAll, tempDir, type Child } from "@zkit/testkit";
import { START_MS, exitCode, zkit } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));

const cleanups: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

/** Runs `zkit args...` to its end: exit code, stdout, stderr. */
async function run(...args: string[]): Promise<{ code: number | null; out: string; err: string; child: Child }> {
  const child = zkit(...args);
  const code = await exitCode(child);
  return { code, out: child.stdout(), err: child.stderr(), child };
}

describe("zkit --version and -v", () => {
  it("--version and -V print @zkit/cli's version and exit 0", async () => {
    for (const flag of ["--version", "-V"]) {
      const { code, out, err } = await run(flag);
      expect(code).toBe(0);
      expect(out).toBe(`${VERSION}\n`);
      expect(err).toBe("");
    }
  });

  it("-v alone says it goes with a command (not 'unknown command \"\"') and exits 2", async () => {
    for (const flag of ["-v", "--verbose"]) {
      const { code, err } = await run(flag);
      expect(code).toBe(2);
      expect(err).toMatch(/^zkit: -v \(--verbose\) goes with a command, e\.g\. zkit mdp broker -v; zkit --version \(-V\) prints the version\n/);
      expect(err).not.toContain('unknown command ""');
      expect(err).toContain("usage: zkit <pattern> <role> [options]");
    }
  });

  it("-v before the command works as after it", async () => {
    const { code, out } = await run("-v", "mdp", "broker", "--help");
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: zkit mdp broker \[options\]/);
  });

  it("zkit help <command> is <command> --help", async () => {
    const { code, out } = await run("help", "titanic", "request");
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: zkit titanic request \[options\] BODY\.\.\./);
  });
});

describe("bad command lines: what is wrong, the nearest right thing, the usage; exit 2", () => {
  it("an unknown flag is named, the nearest flag suggested, the command's usage shown: no raw parser text", async () => {
    const { code, err } = await run("mdp", "broker", "--bnd", "tcp://127.0.0.1:*");
    expect(code).toBe(2);
    const [first, blank, usageLine] = err.split("\n");
    expect(first).toBe("zkit mdp broker: unknown option --bnd (did you mean --bind?)");
    expect(blank).toBe("");
    expect(usageLine).toBe("usage: zkit mdp broker [options]");
    expect(err).not.toMatch(/To specify a positional argument|Unknown option '/);
  });

  it.each([
    [["mdp", "worker", "--heartbeat", "100"], "zkit mdp worker: unknown option --heartbeat (did you mean --heartbeat-ms?)"],
    [["mdp", "request", "--inflght", "3", "x"], "zkit mdp request: unknown option --inflght (did you mean --inflight?)"],
    [["ppp", "worker", "--reconect-ms=5"], "zkit ppp worker: unknown option --reconect-ms (did you mean --reconnect-ms?)"],
    [["mdp", "broker", "--colour", "red"], "zkit mdp broker: unknown option --colour"],
    [["mdp", "broker", "-x"], "zkit mdp broker: unknown option -x"],
    [["mdp", "broker", "--bind"], "zkit mdp broker: --bind needs a value: where the broker's ROUTER binds (comma-separated list)"],
    [["mdp", "request", "--service", "--help"], "zkit mdp request: --service needs a value: the service to ask"],
    [["mdp", "broker", "--verbose=yes"], 'zkit mdp broker: --verbose takes no value, got "yes"'],
    [["mdp", "broker", "extra"], 'zkit mdp broker: unexpected argument "extra": zkit mdp broker takes none'],
    [["lpp", "client", "--requests", "1e3"], 'zkit lpp client: --requests must be an integer >= 1, got "1e3"'],
  ])("zkit %j", async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err.split("\n")[0]).toBe(message);
    expect(err).toContain(`usage: zkit ${args.slice(0, 2).join(" ")} [options]`);
  });

  it.each([
    [["mdp", "brokr"], 'zkit: unknown command "mdp brokr" (did you mean "zkit mdp broker"?)', "usage: zkit mdp <role>"],
    [["mpd", "broker"], 'zkit: unknown command "mpd broker" (did you mean "zkit mdp broker"?)', "usage: zkit <pattern> <role>"],
    [["titanic", "reqest", "x"], 'zkit: unknown command "titanic reqest" (did you mean "zkit titanic request"?)', "usage: zkit titanic <role>"],
    [["frob"], 'zkit: unknown command "frob"', "usage: zkit <pattern> <role>"],
    [["mdp", "-v"], "zkit mdp: name a role before the options: zkit mdp <role> -v", "usage: zkit mdp <role>"],
    [["--verison"], "zkit: unknown option --verison (did you mean --version?); options go after the command: zkit <pattern> <role> [options]", "mdp broker"],
  ])("zkit %j", async (args, message, shows) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err.split("\n")[0]).toBe(message);
    expect(err).toContain(shows);
  });
});

describe("endpoint flags are checked before anything binds", () => {
  it("--bind garbage names the flag and quotes what was typed (no '@' added)", async () => {
    const { code, err } = await run("mdp", "broker", "--bind", "garbage");
    expect(code).toBe(2);
    expect(err.split("\n")[0]).toMatch(/^zkit mdp broker: --bind: invalid endpoint "garbage": expected \[@\|>\]transport:\/\/address/);
    expect(err).not.toContain("@garbage");
    expect(err).toContain("usage: zkit mdp broker [options]");
  });

  it.each([
    [
      ["mdp", "broker", "--bind", "tcp://127.0.0.1:99999"],
      /^zkit mdp broker: --bind: invalid endpoint "tcp:\/\/127\.0\.0\.1:99999": port 99999 is out of range; a tcp port is a number from 1 to 65535/,
    ],
    [["ppp", "queue", "--backend", "tcp://*:70000"], /^zkit ppp queue: --backend: invalid endpoint "tcp:\/\/\*:70000": port 70000 is out of range/],
    [["mdp", "broker", "--bind", ">tcp://127.0.0.1:5555"], /^zkit mdp broker: --bind: ">tcp:\/\/127\.0\.0\.1:5555" connects; --bind takes endpoints to bind$/],
    [
      ["mdp", "worker", "--connect", "tcp://127.0.0.1:*"],
      /^zkit mdp worker: --connect: invalid endpoint "tcp:\/\/127\.0\.0\.1:\*": "\*" picks a port to bind; a connect needs the port number/,
    ],
    [["titanic", "--connect", "localhost:5555"], /^zkit titanic: --connect: invalid endpoint "localhost:5555": expected/],
    [["mdp", "broker", "--bind", "tcp://127.0.0.1:*[60010-60000]"], /the range \[60010-60000\] is empty \(60010 > 60000\)/],
  ])("zkit %j", async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err.split("\n")[0]).toMatch(message);
  });

  it("--bind 'tcp://127.0.0.1:*[p-]' listens on the first free port from p up", async () => {
    const holder = await ZSocket.router("@tcp://127.0.0.1:*");
    const p = portOf(holder.endpoint);
    const broker = zkit("mdp", "broker", "--bind", `tcp://127.0.0.1:*[${p}-${Math.min(p + 50, 65535)}]`);
    const port = portOf((await broker.waitFor(/^listening on (tcp:\/\/127\.0\.0\.1:\d+)$/m, START_MS))[1]!);
    expect(port).toBeGreaterThan(p);
    expect(port).toBeLessThanOrEqual(p + 50);
    broker.kill("SIGTERM");
    expect(await exitCode(broker)).toBe(0);
  });

  it("a port in use fails in one line with the code, exit 1, no stack trace", async () => {
    const holder = await ZSocket.router("@tcp://127.0.0.1:*");
    const { code, err } = await run("mdp", "broker", "--bind", holder.endpoint);
    expect(code).toBe(1);
    expect(err).toMatch(/^zkit mdp broker: ZKIT_ADDRESS_IN_USE: ROUTER bind tcp:\/\/127\.0\.0\.1:\d+: address already in use/);
    expect(err.trim().split("\n")).toHaveLength(1);
  });
});

describe("failures at run time: one line, exit 1", () => {
  it("a Titanic store that cannot be made: Node's error message, no stack trace", async () => {
    const t = tempDir("zkit-cli-bin-");
    cleanups.push(t.remove);
    const file = join(t.dir, "a-file");
    writeFileSync(file, "not a directory");
    const { code, err } = await run("titanic", "--connect", "tcp://127.0.0.1:5555", "--dir", join(file, "store"));
    expect(code).toBe(1);
    expect(err).toBe(`zkit titanic: ENOTDIR: not a directory, mkdir '${join(file, "store")}'\n`);
  });
});

describe("Ctrl-C exits 0 (SIGINT to the whole process group, as a terminal sends it)", () => {
  it("the published bin on plain node", async () => {
    const broker = zkit({ processGroup: true }, "mdp", "broker", "--bind", "tcp://127.0.0.1:*");
    await broker.waitFor(/^listening on /m, START_MS);
    broker.kill("SIGINT");
    expect(await broker.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(broker.stdout()).toMatch(/^broker stopped: 0 requests/m);
  });

  it("`pnpm zkit ...`, the README's command inside the repository", async () => {
    // under `pnpm test` npm_execpath is pnpm itself; run directly, pnpm from the PATH
    // (a script for node, or a native executable)
    const execpath = process.env.npm_execpath;
    const [command, args] = execpath !== undefined && basename(execpath).startsWith("pnpm") ? (/\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []]) : ["pnpm", []];
    const broker = startProcess(command, [...args, "zkit", "mdp", "broker", "--bind", "tcp://127.0.0.1:*"], { cwd: ROOT, processGroup: true, name: "pnpm zkit mdp broker" });
    await broker.waitFor(/^listening on /m, START_MS);
    broker.kill("SIGINT");
    expect(await broker.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(broker.stdout()).toMatch(/^broker stopped: 0 requests/m);
  });
});
