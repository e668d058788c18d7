// The zkit command itself: the command table, flag parsing (pure), and the
// process's exit codes for help, unknown commands and bad command lines.
import { afterEach, describe, expect, it } from "vitest";
import { stopAll } from "@zkit/testkit";
import { UsageError, commands, defineCommand, editDistance, nearest, parseCommandLine, usage } from "@zkit/cli";
import { EXIT_MS, zkit } from "./helpers.js";

afterEach(async () => {
  await stopAll();
});

const sample = defineCommand({
  path: ["demo", "thing"],
  summary: "a command for the parser's tests",
  positionals: "BODY...",
  flags: {
    bind: { type: "string", default: "tcp://*:5555", help: "where to bind" },
    connect: { type: "string", required: true, help: "where to connect" },
    requests: { type: "number", default: 1, min: 1, help: "how many" },
    ratio: { type: "number", float: true, help: "a fraction" },
    quiet: { type: "boolean", short: "q", help: "say less" },
  },
  run: async () => 0,
});

describe("parseCommandLine", () => {
  it("parses typed flags, defaults, short flags, -v and positionals", () => {
    const r = parseCommandLine(sample, ["--connect", "tcp://h:1", "-q", "-v", "--requests", "3", "--ratio", "0.5", "a", "b"]);
    expect(r).toEqual({
      help: false,
      flags: { verbose: true, bind: "tcp://*:5555", connect: "tcp://h:1", requests: 3, ratio: 0.5, quiet: true },
      args: ["a", "b"],
    });
  });

  it("takes --flag=value, grouped short booleans, and everything after -- as positionals", () => {
    const r = parseCommandLine(sample, ["--connect=tcp://h:1", "-qv", "--ratio=.5", "--", "--requests", "-q", "-"]);
    expect(r.flags).toMatchObject({ connect: "tcp://h:1", quiet: true, verbose: true, ratio: 0.5, requests: 1 });
    expect(r.args).toEqual(["--requests", "-q", "-"]);
  });

  it("takes a negative number or a lone dash as a positional, and a value that looks like an unknown flag as a value", () => {
    expect(parseCommandLine(sample, ["--connect", "x", "-5", "-"]).args).toEqual(["-5", "-"]);
    expect(parseCommandLine(sample, ["--connect", "-x"]).flags.connect).toBe("-x");
  });

  it("refuses positionals for a command that takes none, naming the first", () => {
    const none = defineCommand({ path: ["demo", "none"], summary: "takes no positionals", flags: {}, run: async () => 0 });
    expect(() => parseCommandLine(none, ["stray"])).toThrow(/^unexpected argument "stray": zkit demo none takes none$/);
  });

  it("checks endpoint flags with core's parser: bind lists, bind-only lists, connect lists", () => {
    const eps = defineCommand({
      path: ["demo", "eps"],
      summary: "endpoint flags",
      flags: {
        bind: { type: "string", default: "tcp://*:5555", help: "b", endpoint: "bind-only" },
        frontend: { type: "string", default: "tcp://*:5556", help: "f", endpoint: "bind" },
        connect: { type: "string", default: "tcp://localhost:5555", help: "c", endpoint: "connect" },
      },
      run: async () => 0,
    });
    expect(parseCommandLine(eps, ["--bind", "tcp://127.0.0.1:*[60000-],ipc:///tmp/x", "--frontend", "@tcp://*:1,>tcp://h:2"]).flags).toMatchObject({
      bind: "tcp://127.0.0.1:*[60000-],ipc:///tmp/x",
    });
    expect(() => parseCommandLine(eps, ["--bind", "garbage"])).toThrow(/^--bind: invalid endpoint "garbage": /);
    expect(() => parseCommandLine(eps, ["--bind", "tcp://*:5555,>tcp://h:1"])).toThrow(/^--bind: ">tcp:\/\/h:1" connects; --bind takes endpoints to bind$/);
    expect(() => parseCommandLine(eps, ["--frontend", "tcp://*:99999"])).toThrow(/^--frontend: invalid endpoint "tcp:\/\/\*:99999": port 99999 is out of range/);
    expect(() => parseCommandLine(eps, ["--connect", "tcp://h:*"])).toThrow(/^--connect: .*a connect needs the port number/);
    // the defaults are not checked: they are the command's own
    expect(parseCommandLine(eps, []).flags).toMatchObject({ bind: "tcp://*:5555", connect: "tcp://localhost:5555" });
  });

  it("leaves an optional flag with no default undefined", () => {
    expect(parseCommandLine(sample, ["--connect", "x"]).flags.ratio).toBeUndefined();
  });

  it("returns help for -h and --help before checking anything else", () => {
    expect(parseCommandLine(sample, ["-h"]).help).toBe(true);
    expect(parseCommandLine(sample, ["--help", "--requests", "zero"]).help).toBe(true);
  });

  it.each([
    [["--requests", "2"], /--connect is required/],
    [["--connect", "x", "--requests", "abc"], /--requests must be an integer >= 1, got "abc"/],
    [["--connect", "x", "--requests", "0"], /--requests must be an integer >= 1/],
    [["--connect", "x", "--requests", "1.5"], /--requests must be an integer/],
    [["--connect", "x", "--ratio", ""], /--ratio must be a number/],
    [["--connect", ""], /--connect needs a value/],
    [["--connect", "x", "--nope"], /^unknown option --nope$/],
    [["--connect", "x", "--requets", "2"], /^unknown option --requets \(did you mean --requests\?\)$/],
    [["--connect", "x", "-z"], /^unknown option -z$/],
    [["--connect", "x", "-qz"], /^unknown option -z$/],
    [["--connect"], /^--connect needs a value: where to connect$/],
    [["--connect", "-q"], /^--connect needs a value/],
    [["--connect", "x", "--quiet=1"], /^--quiet takes no value, got "1"$/],
    [["--connect", "x", "--requests", "0x10"], /--requests must be an integer >= 1, got "0x10"/],
    [["--connect", "x", "--requests", " 2"], /--requests must be an integer >= 1, got " 2"/],
    [["--connect", "x", "--ratio", "1e2"], /--ratio must be a number >= 0, got "1e2"/],
  ])("refuses %j with a UsageError that says what is wrong", (argv, message) => {
    expect(() => parseCommandLine(sample, argv)).toThrow(UsageError);
    expect(() => parseCommandLine(sample, argv)).toThrow(message);
  });

  it("prints a usage with every flag, its default, -v and --help", () => {
    const text = usage(sample);
    expect(text).toMatch(/^usage: zkit demo thing \[options\] BODY\.\.\./);
    expect(text).toContain("--bind VALUE");
    expect(text).toContain("(default tcp://*:5555)");
    expect(text).toContain("(required)");
    expect(text).toMatch(/-q, --quiet/);
    expect(text).toMatch(/-v, --verbose/);
    expect(text).toMatch(/-h, --help/);
  });
});

describe("suggestions", () => {
  it("editDistance counts insertions, deletions, substitutions and swaps of neighbours as 1", () => {
    expect(editDistance("bind", "bind")).toBe(0);
    expect(editDistance("bnd", "bind")).toBe(1);
    expect(editDistance("verison", "version")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("nearest suggests a close or prefix match, nothing when nothing is close", () => {
    const flags = ["bind", "heartbeat-ms", "liveness", "worker-prefetch", "verbose", "help"];
    expect(nearest("bnd", flags)).toBe("bind");
    expect(nearest("heartbeat", flags)).toBe("heartbeat-ms");
    expect(nearest("worker-prefech", flags)).toBe("worker-prefetch");
    expect(nearest("colour", flags)).toBeUndefined();
    expect(nearest("x", flags)).toBeUndefined();
  });
});

describe("the command table", () => {
  it("has the subcommands of every pattern package, each path unique", () => {
    const paths = commands.map((c) => c.path.join(" "));
    for (const p of ["lpp client", "spp queue", "spp worker", "ppp queue", "ppp worker", "mdp broker", "mdp worker", "mdp request", "mdp mmi", "titanic"]) {
      expect(paths).toContain(p);
    }
    expect(new Set(paths).size).toBe(paths.length);
    for (const c of commands) expect(c.summary.length, c.path.join(" ")).toBeGreaterThan(10);
  });
});

describe("the zkit process", () => {
  it("--help lists every command and exits 0", async () => {
    const child = zkit("--help");
    expect(await child.waitForExit(EXIT_MS)).toEqual({ code: 0, signal: null });
    for (const c of commands) expect(child.stdout()).toContain(c.path.join(" "));
  });

  it("with no command prints the list to stderr and exits 2", async () => {
    const child = zkit();
    expect(await child.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(child.stdout()).toBe("");
    expect(child.stderr()).toContain("usage: zkit <pattern> <role>");
  });

  it("zkit mdp --help lists the mdp commands only and exits 0; zkit mdp alone exits 2", async () => {
    const help = zkit("mdp", "--help");
    expect(await help.waitForExit(EXIT_MS)).toEqual({ code: 0, signal: null });
    expect(help.stdout()).toMatch(/^usage: zkit mdp <role>/);
    expect(help.stdout()).toContain("mdp broker");
    expect(help.stdout()).not.toContain("ppp queue");
    const bare = zkit("mdp");
    expect(await bare.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(bare.stderr()).toContain("mdp broker");
  });

  it("names an unknown command and exits 2", async () => {
    const child = zkit("mdp", "frobnicate");
    expect(await child.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(child.stderr()).toMatch(/^zkit: unknown command "mdp frobnicate"/);
    expect(child.stderr()).toContain("mdp broker");
  });
});
