// Test helpers for @zkit/security: deadlines generous enough for a loaded
// 2-core machine, pyzmq scripts run as real child processes, temp dirs.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON, startPython, type Child } from "@zkit/testkit";

const here = fileURLToPath(new URL(".", import.meta.url));

/** How long a test waits for something that should happen at once. */
export const DEADLINE_MS = 10_000;

/** Runs a few lines of Python (with pyzmq) to the end and returns its stdout. */
export function python(code: string, args: string[] = []): string {
  return execFileSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", timeout: 30_000 });
}

/** Starts `test/peers/<name>` with pyzmq; stop it with testkit's `stopAll`. */
export function runPeer(name: string, args: string[] = []): Child {
  return startPython(join(here, "peers", name), args);
}
