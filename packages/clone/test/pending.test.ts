// PendingList alone: what the passive server of a pair holds, and what
// settles it. No sockets.
import { describe, expect, it } from "vitest";
import { KVMsg } from "@zkit/kvmsg";
import { PendingList } from "@zkit/clone";

function update(key: string, body: string): { msg: KVMsg; uuid: string } {
  const msg = new KVMsg({ key, body });
  msg.setUuid();
  return { msg, uuid: msg.uuidHex };
}

describe("PendingList", () => {
  it("holds updates in arrival order until the active publishes them, and drains what is left in that order", () => {
    const p = new PendingList();
    const a = update("/a", "1");
    const b = update("/b", "2");
    const c = update("/c", "3");
    expect(p.hold(a.msg, a.uuid, 1)).toBe(true);
    expect(p.hold(b.msg, b.uuid, 2)).toBe(true);
    expect(p.hold(c.msg, c.uuid, 3)).toBe(true);
    expect(p.hold(c.msg, c.uuid, 4)).toBe(false); // the same update twice is held once
    expect(p.published("/b", b.uuid, 5)).toBe(1);
    expect(p.size).toBe(2);
    expect(p.drain().map((u) => u.msg.key)).toEqual(["/a", "/c"]);
    expect(p.size).toBe(0);
  });

  it("an update published before it reached the collector is not held when it arrives", () => {
    const p = new PendingList();
    const a = update("/a", "1");
    expect(p.published("/a", a.uuid, 1)).toBe(0);
    expect(p.seenSize).toBe(1);
    expect(p.hold(a.msg, a.uuid, 2)).toBe(false);
    expect(p.size).toBe(0);
    expect(p.seenSize).toBe(0);
  });

  it("a published update of a key settles the older updates of that key held before it, not the newer ones", () => {
    const p = new PendingList();
    const v1 = update("/k", "1");
    const v2 = update("/k", "2");
    const v3 = update("/k", "3");
    const other = update("/o", "x");
    for (const [i, u] of [v1, other, v2, v3].entries()) p.hold(u.msg, u.uuid, i);
    expect(p.published("/k", v2.uuid, 10)).toBe(2); // v1 and v2
    expect(p.drain().map((u) => u.msg.body.toString())).toEqual(["x", "3"]);
    // a publication of a key never held settles every held update of it
    const w = update("/w", "1");
    p.hold(w.msg, w.uuid, 1);
    const fromElsewhere = update("/w", "2");
    expect(p.published("/w", fromElsewhere.uuid, 2)).toBe(1);
    expect(p.size).toBe(0);
    // the server's own changes (expiries) carry no uuid and settle nothing
    p.hold(w.msg, w.uuid, 3);
    expect(p.published("/w", "", 4)).toBe(0);
    expect(p.size).toBe(1);
  });

  it("a resync settles each key's update in the snapshot with the older held updates of that key, and keeps what the snapshot does not show", () => {
    const p = new PendingList();
    const old = update("/s", "1");
    const inSnapshot = update("/s", "2");
    const newer = update("/s", "3");
    const notYetApplied = update("/l", "4");
    p.hold(old.msg, old.uuid, 100);
    p.hold(inSnapshot.msg, inSnapshot.uuid, 200);
    p.hold(newer.msg, newer.uuid, 300);
    p.hold(notYetApplied.msg, notYetApplied.uuid, 400);
    const elsewhere = update("/x", "5");
    expect(
      p.resynced(
        [
          ["/s", inSnapshot.uuid],
          ["/x", elsewhere.uuid],
          ["/y", ""],
        ],
        500,
      ),
    ).toBe(2);
    expect(p.drain().map((u) => u.msg.body.toString())).toEqual(["3", "4"]);
    // a key's update in the snapshot that was not held yet is not held when its copy arrives
    p.resynced([["/x", elsewhere.uuid]], 600);
    expect(p.hold(elsewhere.msg, elsewhere.uuid, 700)).toBe(false);
  });

  it("forgets uuids seen from the active by age", () => {
    const p = new PendingList();
    p.published("/a", update("/a", "1").uuid, 10);
    p.published("/b", update("/b", "1").uuid, 20);
    p.published("/c", update("/c", "1").uuid, 30);
    expect(p.forgetSeen(25)).toBe(2);
    expect(p.seenSize).toBe(1);
  });
});
