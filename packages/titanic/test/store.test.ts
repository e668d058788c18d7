// TitanicStore on a real directory: what a write leaves on disk (the final
// file only, in the documented format), and what open() makes of every state
// a crash or a hand can leave behind: temporary files of interrupted writes,
// the reply of an interrupted close, truncated and damaged files (moved to
// corrupt/, reported, skipped), stray files (ignored).
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "@zkit/testkit";
import { CORRUPT_DIR, RECORD_HEADER_BYTES, TitanicStore, decodeRecord, encodeRecord, type TitanicRecord, type TitanicStoreOptions } from "../src/index.js";

const b = (s: string): Buffer => Buffer.from(s);
const id = (n: number): string => n.toString(16).padStart(32, "0");

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir("zkit-titanic-");
  cleanups.push(t.remove);
  return t.dir;
}

function store(path: string, options?: TitanicStoreOptions): TitanicStore {
  const s = new TitanicStore(path, options);
  cleanups.push(() => s.close());
  return s;
}

describe("TitanicStore", () => {
  it("creates its directory; writes leave only the final file, in the record format", async () => {
    const path = join(dir(), "nested", "store");
    const s = store(path);
    expect(await s.open()).toEqual({ requests: [], corrupt: [], cleaned: [] });
    await s.writeRequest(id(1), 1, [b("echo"), b("Hello")]);
    await s.writeReply(id(1), 1, [b("Hello")]);
    expect(readdirSync(path).sort()).toEqual([`${id(1)}.rep`, `${id(1)}.req`]);
    const req = decodeRecord(readFileSync(join(path, `${id(1)}.req`))) as TitanicRecord;
    expect(req).toMatchObject({ kind: "request", uuid: id(1), seq: 1, frames: [b("echo"), b("Hello")] });
    expect(Math.abs(req.storedAtMs - Date.now())).toBeLessThan(60_000);
    expect(await s.readRequest(id(1))).toMatchObject({ ok: { frames: [b("echo"), b("Hello")] } });
    expect(await s.readReply(id(1))).toMatchObject({ ok: { kind: "reply", frames: [b("Hello")] } });
    expect(await s.readReply(id(2))).toEqual({ missing: true });
  });

  it("writes one after the other fsync the directory once each; writes at the same time share it (group commit)", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    expect(s.durability).toBe("fsync");
    for (let n = 1; n <= 5; n++) await s.writeRequest(id(n), n, [b("echo"), b(`r${n}`)]);
    expect(s.dirSyncs).toBe(5);
    const N = 60;
    await Promise.all(Array.from({ length: N }, (_, i) => s.writeRequest(id(100 + i), 100 + i, [b("echo"), b(`c${i}`)])));
    const shared = s.dirSyncs - 5;
    expect(shared).toBeGreaterThanOrEqual(1);
    expect(shared).toBeLessThan(N);
    // every write is there, whole, and a fresh store finds them all
    const again = store(path);
    const found = await again.open();
    expect(found.requests.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, ...Array.from({ length: N }, (_, i) => 100 + i)]);
    expect(found.corrupt).toEqual([]);
    // removals at the same time share it too, and leave nothing behind
    const before = s.dirSyncs;
    await Promise.all(found.requests.map((r) => s.remove(r.uuid)));
    expect(s.dirSyncs - before).toBeLessThan(found.requests.length);
    expect(readdirSync(path)).toEqual([]);
  });

  it('durability "write" writes the same files without any fsync', async () => {
    const path = dir();
    const s = store(path, { durability: "write" });
    await s.open();
    expect(s.durability).toBe("write");
    await Promise.all([1, 2, 3].map((n) => s.writeRequest(id(n), n, [b("echo"), b(`r${n}`)])));
    await s.writeReply(id(2), 2, [b("two")]);
    await s.remove(id(3));
    expect(s.dirSyncs).toBe(0);
    expect(readdirSync(path).sort()).toEqual([`${id(1)}.req`, `${id(2)}.rep`, `${id(2)}.req`]);
    expect(await store(path).open()).toMatchObject({
      requests: [
        { seq: 1, replied: false },
        { seq: 2, replied: true },
      ],
      corrupt: [],
    });
  });

  it("remove() deletes both files and is idempotent", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    await s.writeRequest(id(1), 1, [b("echo")]);
    await s.writeReply(id(1), 1, []);
    await s.remove(id(1));
    await s.remove(id(1));
    await s.remove(id(9));
    expect(readdirSync(path)).toEqual([]);
  });

  it("open() lists requests in sequence order, replied or not", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    await s.writeRequest(id(3), 30, [b("b"), b("x")]);
    await s.writeRequest(id(1), 10, [b("a")]);
    await s.writeRequest(id(2), 20, [b("a")]);
    await s.writeReply(id(2), 20, [b("y")]);
    await s.close();
    const again = store(path);
    const contents = await again.open();
    expect(contents.requests.map((r) => [r.uuid, r.service, r.seq, r.replied])).toEqual([
      [id(1), "a", 10, false],
      [id(2), "a", 20, true],
      [id(3), "b", 30, false],
    ]);
    expect(contents.corrupt).toEqual([]);
  });

  it("open() removes temporary files of interrupted writes and the reply of an interrupted close", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    await s.writeRequest(id(1), 1, [b("a")]);
    await s.close();
    writeFileSync(join(path, `${id(2)}.req.tmp`), "half a file");
    writeFileSync(join(path, `${id(1)}.rep.tmp`), "");
    // a close that unlinked the request, then crashed before the reply
    writeFileSync(join(path, `${id(3)}.rep`), encodeRecord({ kind: "reply", uuid: id(3), seq: 3, storedAtMs: 0, frames: [b("z")] }));
    const contents = await store(path).open();
    expect(contents.cleaned.sort()).toEqual([`${id(1)}.rep.tmp`, `${id(2)}.req.tmp`, `${id(3)}.rep`].sort());
    expect(contents.requests.map((r) => r.uuid)).toEqual([id(1)]);
    expect(readdirSync(path)).toEqual([`${id(1)}.req`]);
  });

  it("open() moves truncated and damaged files to corrupt/, reports them, and keeps going", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    for (let n = 1; n <= 5; n++) await s.writeRequest(id(n), n, [b("echo"), b(`body ${n}`)]);
    await s.writeReply(id(4), 4, [b("reply 4")]);
    await s.writeReply(id(5), 5, [b("reply 5")]);
    await s.close();
    truncateSync(join(path, `${id(1)}.req`), RECORD_HEADER_BYTES + 2); // truncated request
    const damaged = readFileSync(join(path, `${id(2)}.req`));
    damaged[damaged.length - 1]! ^= 0xff;
    writeFileSync(join(path, `${id(2)}.req`), damaged); // flipped byte
    truncateSync(join(path, `${id(4)}.rep`), 10); // truncated reply: the request is pending again
    writeFileSync(join(path, `${id(5)}.req`), "garbage"); // the request is gone, the reply is still served
    writeFileSync(join(path, "README"), "not a titanic file"); // ignored
    mkdirSync(join(path, "other"));
    mkdirSync(join(path, `${id(6)}.req`)); // cannot even be read

    const contents = await store(path).open();
    expect(contents.corrupt.map((c) => c.file.slice(c.file.lastIndexOf("/") + 1)).sort()).toEqual([`${id(1)}.req`, `${id(2)}.req`, `${id(4)}.rep`, `${id(5)}.req`, `${id(6)}.req`].sort());
    const reasons = Object.fromEntries(contents.corrupt.map((c) => [c.file.slice(c.file.lastIndexOf("/") + 1), c.reason]));
    expect(reasons[`${id(1)}.req`]).toMatch(/truncated/);
    expect(reasons[`${id(2)}.req`]).toMatch(/checksum mismatch/);
    expect(reasons[`${id(4)}.rep`]).toMatch(/truncated/);
    expect(reasons[`${id(5)}.req`]).toMatch(/truncated|bad magic/);
    expect(reasons[`${id(6)}.req`]).toMatch(/unreadable: EISDIR/);
    for (const c of contents.corrupt) expect(c.movedTo).toMatch(new RegExp(`/${CORRUPT_DIR}/[0-9a-f]{32}\\.re[qp]\\.\\d+$`));
    expect(readdirSync(join(path, CORRUPT_DIR))).toHaveLength(5);
    expect(contents.requests.map((r) => [r.uuid, r.service, r.replied])).toEqual([
      [id(3), "echo", false],
      [id(4), "echo", false],
      [id(5), undefined, true],
    ]);
    // a second open finds nothing damaged any more
    expect((await store(path).open()).corrupt).toEqual([]);
  });

  it("a file damaged while running is moved aside when read", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    await s.writeRequest(id(1), 1, [b("echo")]);
    await s.writeReply(id(1), 1, [b("x")]);
    writeFileSync(join(path, `${id(1)}.rep`), "ZKTN");
    const read = await s.readReply(id(1));
    expect(read).toMatchObject({ corrupt: { reason: expect.stringMatching(/truncated/) } });
    expect(await s.readReply(id(1))).toEqual({ missing: true });
  });

  it("a write that fails rejects and leaves no temporary file", async () => {
    const path = dir();
    const s = store(path);
    await s.open();
    mkdirSync(join(path, `${id(1)}.req`)); // rename onto a directory fails
    await expect(s.writeRequest(id(1), 1, [b("echo")])).rejects.toThrow();
    expect(readdirSync(path)).toEqual([`${id(1)}.req`]);
  });
});
