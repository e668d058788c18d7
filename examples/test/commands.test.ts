// The commands the READMEs document, as a reader copies them: every program
// is run with `node --conditions=@zkit/source --import tsx ...` (not through
// `npx tsx`, which reports a Ctrl-C as its own death by SIGINT, exit 130 in
// the shell, whatever the program returned), and a server started exactly
// that way exits 0 on Ctrl-C: SIGINT to its whole process group, as a
// terminal sends it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startProcess } from "@zkit/testkit";
import { examplesDir, stopAll } from "./helpers.js";

const START_MS = 30_000;
const DOCUMENTED = "node --conditions=@zkit/source --import tsx";
const READMES = ["README.md", "ch2/README.md", "ch3/README.md", "ch4/README.md"];

afterEach(async () => {
  await stopAll();
});

/** The command the README at `readme` documents for `program` (its table row). */
function documented(readme: string, program: string): string {
  const text = readFileSync(join(examplesDir, readme), "utf8");
  const row = new RegExp(`^\\| \`${program.replace(".", "\\.")}\` \\| \`([^\`]+)\` \\|`, "m").exec(text);
  if (row === null) throw new Error(`${readme} has no table row for ${program}`);
  return row[1]!;
}

describe("the documented commands", () => {
  it("run programs with node --import tsx, never npx tsx", () => {
    let rows = 0;
    for (const readme of READMES) {
      const text = readFileSync(join(examplesDir, readme), "utf8");
      expect(text, readme).not.toMatch(/npx tsx --|`tsx --conditions/);
      for (const [, command] of text.matchAll(/^\| `ch\d\/\w+\.ts` \| `([^`]+)` \|/gm)) {
        expect(command!.startsWith(`${DOCUMENTED} ch`), `${readme}: ${command}`).toBe(true);
        rows++;
      }
    }
    expect(rows).toBeGreaterThan(40); // every program of chapters 1 to 4 has its row
  });

  it.each([
    ["ch4/README.md", "ch4/mdbroker.ts", /^listening on /m, /^I: broker stopped after 0 requests and 0 replies$/m],
    ["README.md", "ch1/hwserver.ts", /^listening on /m, undefined],
  ])("%s: %s, started as documented, exits 0 on Ctrl-C", async (readme, program, started, stopped) => {
    const [command, ...args] = documented(readme, program).split(" ");
    expect(command).toBe("node");
    const server = startProcess(process.execPath, [...args, "--bind", "tcp://127.0.0.1:*"], { cwd: examplesDir, processGroup: true, name: program });
    await server.waitFor(started, START_MS);
    server.kill("SIGINT");
    expect(await server.waitForExit(START_MS)).toEqual({ code: 0, signal: null });
    if (stopped) expect(server.stdout()).toMatch(stopped);
  });
});
