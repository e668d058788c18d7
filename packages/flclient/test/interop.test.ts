// 10/FLP with peers zkit did not write (pyzmq, test/peers/*.py, written from
// the spec): our client against Python servers, and against one that
// answers as the Guide's C flserver3 does; a Python client against our
// servers. Frames are compared byte for byte (routing ids aside, except a
// server's, which is its endpoint).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { closeTracked, requirePyzmq, startPython, stopAll, text, track, waitFor, type Child } from "@zkit/testkit";
import { FreelanceClient, FreelanceServer } from "@zkit/flclient";
import { ANY, freeEndpoint, here } from "./helpers.js";

const START_MS = 20_000;
const WAIT = 30_000;
const hex = (s: string): string => Buffer.from(s).toString("hex");
/**
 * These tests are about frames, not timing: a Python server on a loaded
 * machine may take more than the default second to answer, and a resend
 * would put a second copy of a request on the wire.
 */
const PATIENT = { attemptTimeoutMs: 15_000, timeoutMs: 30_000 } as const;

beforeAll(() => {
  requirePyzmq();
});

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

async function pythonServer(name: string, ...flags: string[]): Promise<{ child: Child; endpoint: string }> {
  const endpoint = await freeEndpoint();
  const child = startPython(here("peers/flserver.py"), [endpoint, name, ...flags], { name: `flserver.py ${name}` });
  await child.waitFor(/^serving /m, START_MS);
  return { child, endpoint };
}

/** The lines a Python server printed for what it received and sent, routing ids left out, frames in hex. */
const lines = (child: Child, kind: "recv" | "sent"): string[] =>
  child
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith(`${kind} `))
    .map((l) => l.slice(5));

describe("our client against Python servers", () => {
  it("PINGs them, spreads requests over both, and every frame is as 10/FLP says", async () => {
    const py = [await pythonServer("py1"), await pythonServer("py2")];
    const sent: string[][] = [];
    const c = track(new FreelanceClient({ ...PATIENT, endpoints: py.map((p) => p.endpoint), trace: ({ direction, frames }) => direction === "out" && sent.push(text(frames)) }));
    await c.start();
    await waitFor(() => c.stats.liveServers === 2, WAIT, "both Python servers alive");
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request([`hello ${i + 1}`, "second frame"])));
    replies.forEach((r, i) => {
      expect(["py1", "py2"]).toContain(r.text(0));
      expect(r.texts().slice(1)).toEqual([`hello ${i + 1}`, "second frame"]);
    });
    expect(c.stats).toMatchObject({ replies: 20, retries: 0, duplicates: 0, unknown: 0, malformed: 0 });
    // what the Python servers received: PING as one frame, requests as [seq][body...]
    // (their output may trail the replies a little)
    const received = (): string[] => [...lines(py[0]!.child, "recv"), ...lines(py[1]!.child, "recv")];
    await waitFor(() => received().filter((l) => l !== hex("PING")).length >= 20, WAIT, "the Python servers' output");
    expect(received()).toContain(hex("PING"));
    for (let seq = 1; seq <= 20; seq++) {
      expect(received().filter((l) => l === `${hex(String(seq))} ${hex(`hello ${seq}`)} ${hex("second frame")}`)).toHaveLength(1);
    }
    for (const p of py) {
      expect(lines(p.child, "sent")).toContain(hex("PONG"));
      expect(lines(p.child, "recv").length).toBeGreaterThan(1); // each got requests
    }
    // and what our client sent, routing id (the server's endpoint) included
    expect(sent).toContainEqual([py[0]!.endpoint, "PING"]);
    expect(sent.filter((f) => f[1] !== "PING").every((f) => py.some((p) => p.endpoint === f[0]) && f.length === 4)).toBe(true);
  });

  it("works with a server that answers as the Guide's C flserver3 ([PING][OK] to a PING, [control][OK] to a request)", async () => {
    const guide = await pythonServer("c", "--guide-c");
    const c = track(new FreelanceClient({ ...PATIENT, endpoints: [guide.endpoint] }));
    await c.start();
    await waitFor(() => c.stats.liveServers === 1, WAIT, "the server alive");
    for (let i = 0; i < 5; i++) expect(text(await c.request("random name"))).toEqual(["OK"]);
    await waitFor(() => lines(guide.child, "sent").includes(`${hex("PING")} ${hex("OK")}`), WAIT, "the server's [PING][OK] in its output");
    expect(c.stats).toMatchObject({ replies: 5, unknown: 0, malformed: 0 });
  });
});

describe("a Python client against our servers", () => {
  it("gets [endpoint][PONG] and every reply with its control frame unchanged, byte for byte", async () => {
    const ours = [];
    for (const tag of ["ts1", "ts2"]) {
      const s = track(new FreelanceServer({ bind: ANY, handler: (req) => [tag, ...req] }));
      await s.start();
      ours.push(s);
    }
    const py = startPython(here("peers/flclient.py"), ["10", ...ours.map((s) => s.endpoint)], { name: "flclient.py" });
    const exit = await py.waitForExit(WAIT);
    expect(exit, py.describe()).toEqual({ code: 0, signal: null });
    const out = py.stdout();
    for (const s of ours) expect(out).toContain(`pong ${s.endpoint}`);
    for (let seq = 1; seq <= 10; seq++) {
      const s = ours[(seq - 1) % 2]!;
      expect(out).toContain(`reply ${s.endpoint} ${seq} ${hex(seq % 2 === 1 ? "ts1" : "ts2")} ${hex(`hello ${seq}`)}`);
    }
    expect(ours.map((s) => s.stats.requests)).toEqual([5, 5]);
    expect(ours.every((s) => s.stats.pings >= 1 && s.stats.malformed === 0)).toBe(true);
  });
});
