// ZBeacon across a real network: two Linux network namespaces joined by a
// veth pair, a beacon process in each (run with `nsenter --net`), each on
// its end of the link with its own address and subnet broadcast. They must
// find each other by broadcast, and a third node's beacon must be filtered
// out. Names are unique per run and the namespaces (and the link with them)
// are deleted afterwards, whatever happens. Skipped, saying why, only when
// the kernel refuses to make a namespace (no root, or a container without
// CAP_SYS_ADMIN); a missing `ip` command fails (install iproute2).
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProcess, stopAll, waitFor, type Child } from "@zkit/testkit";

const DEADLINE_MS = 30_000;
const FIXTURE = fileURLToPath(new URL("./fixtures/beacon-node.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

// unique per run: interface names are at most 15 characters
const id = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const NS_A = `zkit-beacon-a-${id}`;
const NS_B = `zkit-beacon-b-${id}`;
const VETH_A = `zka${id}`;
const VETH_B = `zkb${id}`;
// a subnet of its own per run (namespaces are isolated, but a clear address helps a reader)
const SUBNET = `10.${100 + (process.pid % 100)}.${Math.floor(Math.random() * 250)}`;
const ADDR_A = `${SUBNET}.1`;
const ADDR_B = `${SUBNET}.2`;

let refused: string | undefined;
const made: string[] = [];

function ip(...args: string[]): void {
  try {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    // say which command failed and what the kernel answered, on the first line
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(`\`ip ${args.join(" ")}\` failed: ${why}`, { cause: err });
  }
}

/** The link's operational state inside `ns` ("UP" once it has a carrier; libuv lists an interface only then). */
function operState(ns: string, dev: string): string {
  return execFileSync("ip", ["-n", ns, "-o", "link", "show", "dev", dev], { encoding: "utf8" }).match(/ state (\S+)/)?.[1] ?? "?";
}

beforeAll(async () => {
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).error !== undefined) {
    throw new Error("the two-namespace beacon test needs the `ip` command: install iproute2 (apt-get install iproute2); `pnpm test` does so when run as root on Debian");
  }
  try {
    ip("netns", "add", NS_A);
    made.push(NS_A);
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    if (/not permitted|permission denied|EPERM|EACCES/i.test(why)) {
      refused = `the kernel refused to create a network namespace (${why}): run as root, or in a container with CAP_SYS_ADMIN`;
      return;
    }
    throw err;
  }
  ip("netns", "add", NS_B);
  made.push(NS_B);
  ip("link", "add", VETH_A, "netns", NS_A, "type", "veth", "peer", "name", VETH_B, "netns", NS_B);
  for (const [ns, dev, addr] of [
    [NS_A, VETH_A, ADDR_A],
    [NS_B, VETH_B, ADDR_B],
  ] as const) {
    // `brd +`: older iproute2 leaves an address without its broadcast unless asked
    ip("-n", ns, "addr", "add", `${addr}/24`, "brd", "+", "dev", dev);
    ip("-n", ns, "link", "set", dev, "up");
    ip("-n", ns, "link", "set", "lo", "up");
  }
  // carrier comes up asynchronously (the kernel's link watch); a beacon started
  // before it would not find its interface in os.networkInterfaces()
  await waitFor(() => operState(NS_A, VETH_A) === "UP" && operState(NS_B, VETH_B) === "UP", DEADLINE_MS, "both ends of the veth pair up").catch((err: Error) => {
    throw new Error(`${err.message}: ${VETH_A} is ${operState(NS_A, VETH_A)}, ${VETH_B} is ${operState(NS_B, VETH_B)}`);
  });
});

afterAll(async () => {
  await stopAll(); // the beacon processes first: a namespace goes away with its last process
  for (const ns of made.splice(0)) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  expect(left).not.toContain(id);
});

/** A beacon node (fixtures/beacon-node.ts) inside network namespace `ns`. */
function nodeIn(ns: string, args: string[]): Child {
  // nsenter joins only the network namespace; `ip netns exec` also makes a
  // mount namespace and remounts /sys, which some sandboxes refuse
  return startProcess("nsenter", [`--net=/run/netns/${ns}`, "--", process.execPath, "--conditions=@zkit/source", "--import", "tsx", FIXTURE, ...args], {
    cwd: PACKAGE_DIR,
    name: `beacon in ${ns}`,
  });
}

describe("two network namespaces joined by a veth pair", () => {
  it("two beacons find each other by broadcast, each on its own interface, and the filter keeps a third out", async (ctx) => {
    if (refused !== undefined) ctx.skip(refused);
    const common = ["--port", "5670", "--interval-ms", "100", "--subscribe", "NODE/"];
    const a = nodeIn(NS_A, ["--interface", VETH_A, "--publish", "NODE/a", ...common]);
    const b = nodeIn(NS_B, ["--interface", VETH_B, "--publish", "NODE/b", ...common]);
    // a third node beside b that speaks of something else
    const noise = nodeIn(NS_B, ["--interface", VETH_B, "--port", "5670", "--interval-ms", "50", "--publish", "RANDOM"]);
    await Promise.all([a.waitFor(/^hostname /m, DEADLINE_MS), b.waitFor(/^hostname /m, DEADLINE_MS), noise.waitFor(/^hostname /m, DEADLINE_MS)]);
    expect(a.stdout()).toContain(`hostname ${ADDR_A}\n`);
    expect(b.stdout()).toContain(`hostname ${ADDR_B}\n`);

    const beacons = (c: Child): string[] => c.stdout().match(/^beacon .*$/gm) ?? [];
    await waitFor(() => beacons(a).length >= 3 && beacons(b).length >= 3, DEADLINE_MS, "three beacons heard on each side").catch((err: Error) => {
      throw new Error(`${err.message}\n${a.describe()}\n${b.describe()}`);
    });
    for (const c of [a, b, noise]) c.kill("SIGTERM");
    for (const c of [a, b, noise]) expect(await c.waitForExit(DEADLINE_MS), c.describe()).toEqual({ code: 0, signal: null });
    // each heard only the other, from the other's address across the link
    expect(new Set(beacons(a))).toEqual(new Set([`beacon ${ADDR_B} NODE/b`]));
    expect(new Set(beacons(b))).toEqual(new Set([`beacon ${ADDR_A} NODE/a`]));
    expect(a.stderr() + b.stderr() + noise.stderr()).toBe("");
  }, 90_000);
});
