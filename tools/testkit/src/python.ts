/**
 * Independent peers for interop tests: small Python programs on pyzmq
 * (Debian's python3-zmq). zkit did not write pyzmq or libzmq 4.3.4 under it,
 * so a Python peer that talks to ours proves wire compatibility.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startProcess, type Child, type StartOptions } from "./process.js";

/** The interpreter interop tests use: Debian's, where python3-zmq installs. */
export const PYTHON = process.env.ZKIT_TEST_PYTHON ?? "/usr/bin/python3";

let checked: string | undefined;

/**
 * Returns pyzmq's version, or throws an error that says how to install it.
 * Interop tests call it in `beforeAll`: a missing peer fails the test run,
 * it is never skipped silently. The root `pnpm test` installs it when it can
 * (scripts/ensure-test-peers.mjs).
 */
export function requirePyzmq(): string {
  if (checked !== undefined) return checked;
  try {
    checked = execFileSync(PYTHON, ["-c", "import zmq; print(zmq.__version__)"], { encoding: "utf8" }).trim();
    return checked;
  } catch (err) {
    throw new Error(
      `interop tests need pyzmq for ${PYTHON}: install Debian's python3-zmq (apt-get install python3-zmq), ` +
        `or point ZKIT_TEST_PYTHON at a python3 that has pyzmq (${(err as Error).message.split("\n")[0]})`,
    );
  }
}

/** Runs `python3 -u <script> ...args` (unbuffered, so lines arrive as printed). */
export function startPython(script: string, args: string[] = [], options: StartOptions = {}): Child {
  return startProcess(PYTHON, ["-u", script, ...args], { ...options, name: options.name ?? script.split("/").pop()! });
}

const PEERS = fileURLToPath(new URL("../peers/", import.meta.url));

/**
 * The path of a Python peer that several packages' interop tests share,
 * kept in `tools/testkit/peers/` (e.g. `"lpclient.py"`, the Guide's Lazy
 * Pirate client; `"mdworker.py"`, a 7/MDP worker). Peers only one package
 * uses stay in that package's `test/peers/`.
 *
 * @throws when there is no such peer, listing the ones there are
 */
export function peer(name: string): string {
  const path = PEERS + name;
  if (!existsSync(path)) throw new Error(`no shared Python peer ${JSON.stringify(name)} in ${PEERS}; there are: ${readdirSync(PEERS).join(", ")}`);
  return path;
}
