// Interop with a Binary Star peer zkit did not write the stack of: a Python
// server on pyzmq (Debian's python3-zmq, libzmq 4.3.4) that follows the
// Guide's state table and nothing more (test/peers/bstarsrv.py), paired with
// a zkit BinaryStar both ways round. Each side sees the other's states
// byte for byte (one ASCII digit), the pair settles, serves, and fails over
// in both directions; the restarted zkit server stands by.
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { requirePyzmq, startPython, tempDir, waitFor, type Child } from "@zkit/testkit";
import { BinaryStar, BinaryStarClient } from "../src/index.js";
import { WAIT_MS, cleanup, recorder, testDir, track, until } from "./helpers.js";

beforeAll(() => {
  requirePyzmq();
});
const dirs: (() => void)[] = [];
afterEach(async () => {
  await cleanup();
  for (const f of dirs.splice(0)) f();
});

const PEER = join(testDir, "peers/bstarsrv.py");
const HB = 250;
const START_MS = 20_000;

function endpoints() {
  const d = tempDir("zkit-bstar-py-");
  dirs.push(d.remove);
  const ep = (name: string): string => `ipc://${d.dir}/${name}`;
  return { pState: ep("p-state"), bState: ep("b-state"), pVoter: ep("p-voter"), bVoter: ep("b-voter") };
}

function zkitServer(role: "primary" | "backup", local: string, remote: string, voter: string, seen: string[]): BinaryStar {
  return track(
    new BinaryStar({
      role,
      local,
      remote,
      voter,
      heartbeatIntervalMs: HB,
      closeOnInterrupt: false,
      handler: (request) => ["zkit", ...request],
      trace: ({ direction, socket, frames }) => void (direction === "in" && socket === "peer" && seen.push(frames.map((f) => f.toString("hex")).join(" "))),
    }),
  );
}

function python(role: "primary" | "backup", local: string, remote: string, voter: string): Child {
  return startPython(PEER, [role, local, remote, voter, String(HB)], { name: `python ${role}` });
}

function client(servers: string[]): BinaryStarClient {
  return track(new BinaryStarClient({ servers, timeoutMs: 1000, settleDelayMs: 2 * HB, retries: 20, closeOnInterrupt: false }));
}

describe("a Python Binary Star peer", () => {
  it("as the backup of a zkit primary: the pair settles, the zkit primary serves; it goes, the Python backup takes over; restarted, the zkit primary stands by", async () => {
    const ep = endpoints();
    const seen: string[] = [];
    const primary = zkitServer("primary", ep.pState, ep.bState, ep.pVoter, seen);
    await primary.start();
    const py = python("backup", ep.bState, ep.pState, ep.bVoter);
    await py.waitFor(/^listening$/m, START_MS);
    await until(primary, "active");
    await py.waitFor(/^state passive$/m, WAIT_MS);
    // each side's states, byte for byte: one frame, one ASCII digit
    await py.waitFor(/^peer 33$/m, WAIT_MS); // "3", ACTIVE, from zkit
    await waitFor(() => seen.includes("34"), WAIT_MS, "the Python backup's PASSIVE ('4')");
    expect(seen.every((s) => /^3[1-4]$/.test(s))).toBe(true);
    expect(py.stdout()).not.toMatch(/^peer .* /m); // never more than one frame

    const c = client([ep.pVoter, ep.bVoter]);
    expect((await c.request("1")).texts()).toEqual(["zkit", "1"]);

    await primary.close();
    expect((await c.request("2")).texts()).toEqual(["python", "2"]);
    await py.waitFor(/^state active$/m, WAIT_MS);

    const seen2: string[] = [];
    const restarted = zkitServer("primary", ep.pState, ep.bState, ep.pVoter, seen2);
    const events = recorder(restarted);
    await restarted.start();
    await until(restarted, "passive");
    expect(events).toContain("passive:peer-active");
    expect((await c.request("3")).texts()).toEqual(["python", "3"]);
    expect(py.stdout()).not.toContain("fatal");
  });

  it("as the primary of a zkit backup: the Python primary serves, the zkit backup stands by; it is killed, the zkit backup takes over", async () => {
    const ep = endpoints();
    const py = python("primary", ep.pState, ep.bState, ep.pVoter);
    await py.waitFor(/^listening$/m, START_MS);
    const seen: string[] = [];
    const backup = zkitServer("backup", ep.bState, ep.pState, ep.bVoter, seen);
    const events = recorder(backup);
    await backup.start();
    await py.waitFor(/^state active$/m, WAIT_MS);
    await until(backup, "passive");
    await py.waitFor(/^peer 34$/m, WAIT_MS); // "4", PASSIVE, from zkit
    expect(seen).toContain("33");

    const c = client([ep.pVoter, ep.bVoter]);
    expect((await c.request("a")).texts()).toEqual(["python", "a"]);
    py.kill("SIGKILL");
    expect((await c.request("b")).texts()).toEqual(["zkit", "b"]);
    expect(backup.starState).toBe("active");
    expect(events).toContain("active:failover");
    expect(c.stats.failovers).toBeGreaterThanOrEqual(1);
  });
});
