// The zkit command itself: the command table, flag parsing (pure), and the
// process's exit codes for help, unknown commands and bad command lines.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startNode, stopAll } from "@zkit/testkit";
import { UsageError, commands, defineCommand, parseCommandLine, usage } from "@zkit/cli";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const EXIT_MS = 30_000;

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
    [["--connect", "x", "--nope"], /Unknown option '--nope'/],
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
    const zkit = startNode(MAIN, ["--help"]);
    expect(await zkit.waitForExit(EXIT_MS)).toEqual({ code: 0, signal: null });
    for (const c of commands) expect(zkit.stdout()).toContain(c.path.join(" "));
  });

  it("with no command prints the list to stderr and exits 2", async () => {
    const zkit = startNode(MAIN, []);
    expect(await zkit.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(zkit.stdout()).toBe("");
    expect(zkit.stderr()).toContain("usage: zkit <pattern> <role>");
  });

  it("zkit mdp --help lists the mdp commands only and exits 0; zkit mdp alone exits 2", async () => {
    const help = startNode(MAIN, ["mdp", "--help"]);
    expect(await help.waitForExit(EXIT_MS)).toEqual({ code: 0, signal: null });
    expect(help.stdout()).toMatch(/^usage: zkit mdp <role>/);
    expect(help.stdout()).toContain("mdp broker");
    expect(help.stdout()).not.toContain("ppp queue");
    const bare = startNode(MAIN, ["mdp"]);
    expect(await bare.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(bare.stderr()).toContain("mdp broker");
  });

  it("names an unknown command and exits 2", async () => {
    const zkit = startNode(MAIN, ["mdp", "frobnicate"]);
    expect(await zkit.waitForExit(EXIT_MS)).toEqual({ code: 2, signal: null });
    expect(zkit.stderr()).toMatch(/^zkit: unknown command "mdp frobnicate"/);
    expect(zkit.stderr()).toContain("mdp broker");
  });
});
