// What the cli tests share: the built `zkit` bin run as a child process with
// plain node (global-setup.ts builds it), exits with deadlines.
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { startProcess, type Child, type StartOptions } from "@zkit/testkit";

/** The published bin: packages/cli/dist/main.js, as package.json's "bin" says. */
const BIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
/** Starting a process on a loaded 2-core machine may take seconds. */
export const START_MS = 30_000;
export const EXIT_MS = 30_000;

/** Runs `zkit <args...>`: `node dist/main.js <args...>`, no tsx, no source condition. */
export function zkit(...args: string[]): Child;
export function zkit(options: StartOptions, ...args: string[]): Child;
export function zkit(...all: (string | StartOptions)[]): Child {
  const options = typeof all[0] === "object" ? (all.shift() as StartOptions) : {};
  const args = all as string[];
  return startProcess(process.execPath, [BIN, ...args], { name: `zkit ${args.slice(0, 2).join(" ")}`, ...options });
}

/** The exit code once the child exits (it must not die of a signal). */
export async function exitCode(child: Child, ms = EXIT_MS): Promise<number | null> {
  const exit = await child.waitForExit(ms);
  expect(exit.signal, child.describe()).toBeNull();
  return exit.code;
}
