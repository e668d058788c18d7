// Test helpers for @zkit/core: its fixtures (test/fixtures/<name>.ts) run as
// real child processes; deadlines, temp dirs and inproc names come from
// @zkit/testkit.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNode, type Child } from "@zkit/testkit";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Runs `test/fixtures/<name>.ts` in a new Node process, from source, cwd the package. Stop it with testkit's `stopAll`. */
export function runFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  return startNode(join(here, "fixtures", `${name}.ts`), args, { cwd: join(here, ".."), env, name });
}
