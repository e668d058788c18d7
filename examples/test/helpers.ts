// Test helpers for the examples: run an example program as a real child
// process (from source, through tsx) in the examples directory, wait on its
// output with deadlines, and make sure no child outlives the test. The
// machinery is @zkit/testkit's, shared with the packages' tests.
import { fileURLToPath } from "node:url";
import { startNode, type Child, type StartOptions } from "@zkit/testkit";

export { count, stopAll, within } from "@zkit/testkit";

/** The examples package directory: the cwd of every example program. */
export const examplesDir = fileURLToPath(new URL("..", import.meta.url));

/** A running example program. */
export type Example = Child;

/**
 * Starts `node --conditions=@zkit/source --import tsx <script> ...args` in
 * the examples directory. Stdin is /dev/null unless `stdin: "pipe"`. The
 * child's environment is the test's without `ZKIT_*` variables (so a flag's
 * environment fallback never leaks in), plus `env`.
 */
export function startExample(script: string, args: string[] = [], options: Omit<StartOptions, "cwd"> = {}): Example {
  return startNode(script, args, { ...options, cwd: examplesDir });
}
