// ZCertStore: a directory of public certificates looked up by key. It
// notices added, changed and removed files while it runs (by watching, and
// by its rescan timer alone when watching is off), skips and counts files
// that are not certificates, and holds in-memory certificates too.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClosedError, ErrorCode, type ZkitError } from "@zkit/core";
import { closeTracked, tempDir, track, waitFor } from "@zkit/testkit";
import { type CertificateError, ZCert, ZCertStore } from "../src/index.js";
import { DEADLINE_MS } from "./helpers.js";

let tmp: { dir: string; remove: () => void };
beforeEach(() => {
  tmp = tempDir("zkit-store-");
});
afterEach(async () => {
  await closeTracked();
  tmp.remove();
});

async function savedIn(dir: string, name: string, meta?: Record<string, string>): Promise<ZCert> {
  const cert = ZCert.generate(meta);
  await cert.save(join(dir, name));
  return cert;
}

describe("ZCertStore over a directory", () => {
  it("loads the public files, skips _secret and dot files, and looks keys up by Z85 or bytes", async () => {
    const a = await savedIn(tmp.dir, "a.key", { name: "a" });
    const b = await savedIn(tmp.dir, "b.key");
    writeFileSync(join(tmp.dir, ".hidden"), "not a cert");
    mkdirSync(join(tmp.dir, "subdir"));
    const store = track(await ZCertStore.open(tmp.dir));
    expect(store.size).toBe(2);
    expect(store.lookup(a.publicKey)?.meta("name")).toBe("a");
    expect(store.lookup(b.publicKeyBytes)?.publicKey).toBe(b.publicKey);
    expect(store.has(ZCert.generate().publicKey)).toBe(false);
    // only public keys are held, even though the _secret files are beside them
    expect(store.certs().every((c) => !c.hasSecret)).toBe(true);
    expect(store.stats).toMatchObject({ certificates: 2, added: 2, badFiles: 0 });
    expect(() => store.lookup("nope")).toThrow(/must be a CURVE key/);
  });

  it("notices a file added, changed to another key, and removed, while it runs", async () => {
    const store = track(await ZCertStore.open(tmp.dir, { rescanIntervalMs: 0 })); // the watcher alone
    const events: string[] = [];
    store.on("added", ({ cert }) => events.push(`added ${cert.publicKey}`));
    store.on("changed", ({ cert, previous }) => events.push(`changed ${previous.publicKey} -> ${cert.publicKey}`));
    store.on("removed", ({ cert }) => events.push(`removed ${cert.publicKey}`));
    expect(store.size).toBe(0);

    const a = await savedIn(tmp.dir, "client.key");
    await waitFor(() => store.has(a.publicKey), DEADLINE_MS, "the new certificate to be trusted");
    const b = await savedIn(tmp.dir, "client.key"); // the same file, a new key
    await waitFor(() => store.has(b.publicKey) && !store.has(a.publicKey), DEADLINE_MS, "the changed certificate to replace the old key");
    rmSync(join(tmp.dir, "client.key"));
    await waitFor(() => !store.has(b.publicKey), DEADLINE_MS, "the removed certificate to be revoked");
    expect(events).toEqual([`added ${a.publicKey}`, `changed ${a.publicKey} -> ${b.publicKey}`, `removed ${b.publicKey}`]);
    expect(store.stats).toMatchObject({ certificates: 0, added: 1, changed: 1, removed: 1 });
  });

  it("with watching off, the rescan timer alone notices changes", async () => {
    const store = track(await ZCertStore.open(tmp.dir, { watch: false, rescanIntervalMs: 50 }));
    const a = await savedIn(tmp.dir, "a.key");
    await waitFor(() => store.has(a.publicKey), DEADLINE_MS, "the timer's rescan to find the new file");
    rmSync(join(tmp.dir, "a.key"));
    await waitFor(() => !store.has(a.publicKey), DEADLINE_MS, "the timer's rescan to drop the removed file");
    expect(store.stats.scans).toBeGreaterThanOrEqual(3);
  });

  it("a file that is not a certificate is skipped, counted and reported; a good file that goes bad is no longer trusted", async () => {
    const good = await savedIn(tmp.dir, "good.key");
    writeFileSync(join(tmp.dir, "notes.txt"), "curve\n  public-key = oops\n");
    writeFileSync(join(tmp.dir, "huge.key"), Buffer.alloc(100_000, 0x41));
    const bad: CertificateError[] = [];
    const store = new ZCertStore(tmp.dir, { rescanIntervalMs: 0, watch: false });
    track(store);
    store.on("bad-file", ({ error }) => bad.push(error));
    await store.reload();
    expect(store.size).toBe(1);
    expect(bad.map((e) => e.file).sort()).toEqual([join(tmp.dir, "huge.key"), join(tmp.dir, "notes.txt")]);
    expect(bad.find((e) => e.file?.endsWith("notes.txt"))?.line).toBe(2);
    expect(store.stats.badFiles).toBe(2);

    appendFileSync(join(tmp.dir, "good.key"), "\tgarbage\n");
    const removed: string[] = [];
    store.on("removed", ({ cert }) => removed.push(cert.publicKey));
    await store.reload();
    expect(store.has(good.publicKey)).toBe(false);
    expect(removed).toEqual([good.publicKey]);
  });

  it("a directory that goes away revokes everything in it; one that does not exist is a typed error", async () => {
    const sub = join(tmp.dir, "certs");
    mkdirSync(sub);
    const a = await savedIn(sub, "a.key");
    const store = track(await ZCertStore.open(sub, { watch: false, rescanIntervalMs: 0 }));
    expect(store.has(a.publicKey)).toBe(true);
    rmSync(sub, { recursive: true });
    await store.reload();
    expect(store.size).toBe(0);
    const err = (await ZCertStore.open(join(tmp.dir, "missing")).catch((e: unknown) => e)) as CertificateError;
    expect(err.code).toBe("ZKIT_CERTIFICATE");
    expect(err.message).toMatch(/cannot read the certificate directory .*missing/);
  });

  it("closing stops watching; lookups still answer, reload and insert refuse", async () => {
    const a = await savedIn(tmp.dir, "a.key");
    const store = await ZCertStore.open(tmp.dir);
    store.close();
    store.close();
    expect(store.closed).toBe(true);
    expect(store.has(a.publicKey)).toBe(true);
    await expect(store.reload()).rejects.toBeInstanceOf(ClosedError);
    expect(() => store.insert(ZCert.generate())).toThrow(ClosedError);
  });
});

describe("ZCertStore in memory", () => {
  it("insert and delete, with events; only the public key is kept", () => {
    const store = new ZCertStore();
    const seen: string[] = [];
    store.on("added", ({ cert, file }) => seen.push(`added ${cert.meta("name")} ${file}`));
    store.on("removed", ({ cert }) => seen.push(`removed ${cert.meta("name")}`));
    const cert = ZCert.generate({ name: "m" });
    store.insert(cert);
    store.insert(cert); // again: no second event
    expect(store.lookup(cert.publicKey)?.hasSecret).toBe(false);
    expect(store.delete(cert.publicKey)).toBe(true);
    expect(store.delete(cert.publicKey)).toBe(false);
    expect(seen).toEqual(["added m undefined", "removed m"]);
    const err = (() => {
      try {
        store.insert({ publicKey: "x" } as never);
      } catch (e) {
        return e as ZkitError;
      }
    })();
    expect(err?.code).toBe(ErrorCode.InvalidArgument);
    expect(() => new ZCertStore(tmp.dir, { rescanIntervalMs: -1 })).toThrow(/ZCertStore option rescanIntervalMs must be an integer number of milliseconds >= 0, got -1/);
    expect(() => new ZCertStore(tmp.dir, { watsh: true } as never)).toThrow(/unknown ZCertStore option "watsh"/);
  });
});
