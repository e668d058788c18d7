/**
 * ZCertStore: the public certificates a CURVE server trusts (CZMQ
 * `zcertstore`), a directory looked up by public key. It notices added,
 * changed and removed files while it runs (CZMQ reloads only when asked),
 * so a key is revoked by deleting its file.
 * @module
 */
import { EventEmitter } from "node:events";
import { watch, type FSWatcher } from "node:fs";
import type { Stats } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ClosedError, InvalidArgumentError, describeValue, getLogger, readOptions } from "@zkit/core";
import { CertificateError } from "./errors.js";
import { curveKeyText, type CurveKey } from "./keys.js";
import { SECRET_SUFFIX, ZCert } from "./zcert.js";

const log = getLogger("security");

/** Default of {@link ZCertStoreOptions.rescanIntervalMs}. */
export const ZCERTSTORE_RESCAN_INTERVAL_MS = 2000;

/** A file larger than this is not a certificate (one is about 400 bytes); it is skipped unread. */
export const ZCERTSTORE_MAX_FILE_BYTES = 64 * 1024;

/** How long after a file system event the store waits for more before it rescans (an editor writes in several steps). */
const SETTLE_MS = 20;

/** The options of a {@link ZCertStore}. */
export interface ZCertStoreOptions {
  /**
   * Watch the directory (`fs.watch`, inotify on Linux) and rescan as soon
   * as a file changes: a removed key stops working within milliseconds.
   * @defaultValue true
   */
  watch?: boolean;
  /**
   * Also rescan every this many ms, whatever the watcher says: `fs.watch`
   * misses changes on network file systems and some container mounts, and
   * a revocation must not depend on it. 0 turns the timer off.
   * @defaultValue 2000 ({@link ZCERTSTORE_RESCAN_INTERVAL_MS})
   */
  rescanIntervalMs?: number;
}

/** The events of a {@link ZCertStore}. */
export interface ZCertStoreEvents {
  /** A certificate file appeared (or an in-memory certificate was inserted: `file` is undefined). */
  added: [info: { cert: ZCert; file: string | undefined }];
  /** A certificate file changed; when its key changed, `previous.publicKey` is no longer trusted. */
  changed: [info: { cert: ZCert; previous: ZCert; file: string }];
  /** A certificate file was removed (or no longer reads as a certificate): its key is no longer trusted. */
  removed: [info: { cert: ZCert; file: string | undefined }];
  /** A file in the directory is not a certificate: skipped, counted and logged. */
  "bad-file": [info: { file: string; error: CertificateError }];
}

/** What a {@link ZCertStore} has done, for operators. */
export interface ZCertStoreStats {
  /** Certificates it holds now. */
  certificates: number;
  /** Directory scans done. */
  scans: number;
  /** Certificates added, changed and removed since it opened (the first load counts as added). */
  added: number;
  changed: number;
  removed: number;
  /** Files skipped because they are not certificates (each time a file changes). */
  badFiles: number;
}

interface Entry {
  cert: ZCert;
  mtimeMs: number;
  size: number;
  ino: number;
}

/**
 * The public certificates a CURVE server trusts, by public key (CZMQ
 * `zcertstore`). Give it to a `ZAuth` as `certStore`.
 *
 * - A directory store ({@link ZCertStore.open}) loads every file of the
 *   directory except `*_secret` and dot files: the public files that
 *   `ZCert.save`, CZMQ's `zcert_save` and pyzmq's `create_certificates`
 *   write. It watches the directory and rescans on every change, and on a
 *   timer as a safety net: add a file and the key is trusted, delete it and
 *   the key is revoked, without a restart. A file that is not a
 *   certificate is skipped, counted and logged, never fatal.
 * - A memory store (`new ZCertStore()`) holds what {@link ZCertStore.insert} puts in.
 *
 * Lookups are synchronous and never touch the disk.
 *
 * @example
 * ```ts
 * const store = await ZCertStore.open("/etc/zkit/clients");
 * store.on("removed", ({ cert }) => console.log(`revoked ${cert}`));
 * const auth = new ZAuth({ certStore: store });
 * await auth.start();
 * ```
 */
export class ZCertStore extends EventEmitter<ZCertStoreEvents> {
  /** The directory, or `undefined` for a memory store. */
  readonly location: string | undefined;
  readonly #watch: boolean;
  readonly #rescanIntervalMs: number;
  readonly #files = new Map<string, Entry>();
  readonly #memory = new Map<string, ZCert>();
  #index = new Map<string, ZCert>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #rescanAgain = false;
  #closed = false;
  readonly #stats = { scans: 0, added: 0, changed: 0, removed: 0, badFiles: 0 };

  /**
   * A store: in memory when `location` is left out. For a directory, use
   * {@link ZCertStore.open}, which also loads it; a store made with `new`
   * and a location is empty until {@link ZCertStore.reload}.
   *
   * @param location - a directory of public certificate files, or none
   * @param options - see {@link ZCertStoreOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(location?: string, options?: ZCertStoreOptions) {
    super();
    if (location !== undefined && (typeof location !== "string" || location === "")) {
      throw new InvalidArgumentError(`new ZCertStore(location): location must be a directory path, or left out for a memory store; got ${describeValue(location)}`);
    }
    const o = readOptions(options, { owner: "ZCertStore", known: ["watch", "rescanIntervalMs"], example: "{ rescanIntervalMs: 2000 }" });
    this.#watch = o.boolean("watch", true);
    this.#rescanIntervalMs = o.number("rescanIntervalMs", ZCERTSTORE_RESCAN_INTERVAL_MS, { min: 0, integer: true });
    this.location = location;
  }

  /**
   * Opens a directory store: loads every certificate in `location`, then
   * watches it (see {@link ZCertStoreOptions}).
   *
   * @param location - the directory
   * @param options - see {@link ZCertStoreOptions}
   * @throws {@link CertificateError} when the directory cannot be read
   *   (files that are not certificates are skipped, not thrown)
   */
  static async open(location: string, options?: ZCertStoreOptions): Promise<ZCertStore> {
    if (typeof location !== "string" || location === "") throw new InvalidArgumentError(`ZCertStore.open(location): location must be a directory path, got ${describeValue(location)}`);
    const store = new ZCertStore(location, options);
    try {
      await readdir(location);
    } catch (err) {
      throw new CertificateError(`ZCertStore.open: cannot read the certificate directory ${location}: ${(err as Error).message}`, { file: location }, { cause: err });
    }
    await store.reload();
    store.#startWatching();
    return store;
  }

  /** The number of certificates (keys) it holds. */
  get size(): number {
    return this.#index.size;
  }

  /** True once {@link ZCertStore.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** What it has done; see {@link ZCertStoreStats}. */
  get stats(): ZCertStoreStats {
    return { certificates: this.#index.size, ...this.#stats };
  }

  /**
   * The certificate with this public key (CZMQ `zcertstore_lookup`), or
   * `undefined`. Synchronous, from memory.
   *
   * @param publicKey - 40 Z85 characters or 32 bytes (as ZAP gives it)
   * @throws `InvalidArgumentError` for something that is not a CURVE key
   */
  lookup(publicKey: CurveKey): ZCert | undefined {
    return this.#index.get(curveKeyText(publicKey, "ZCertStore.lookup(publicKey)"));
  }

  /** True when it holds a certificate with this public key. */
  has(publicKey: CurveKey): boolean {
    return this.lookup(publicKey) !== undefined;
  }

  /** Every certificate it holds. */
  certs(): ZCert[] {
    return [...this.#index.values()];
  }

  /**
   * Adds a certificate in memory (CZMQ `zcertstore_insert`); in a directory
   * store it stays until {@link ZCertStore.delete}, whatever the directory
   * holds. Only its public key is kept.
   *
   * @throws `InvalidArgumentError` for something that is not a `ZCert`; `ClosedError` after close
   */
  insert(cert: ZCert): void {
    if (this.#closed) throw new ClosedError("ZCertStore.insert: the store is closed");
    if (!(cert instanceof ZCert)) throw new InvalidArgumentError(`ZCertStore.insert(cert): cert must be a ZCert, got ${describeValue(cert)}`);
    const pub = ZCert.fromKeys(cert.publicKey, undefined, cert.metadata);
    this.#memory.set(pub.publicKey, pub);
    const isNew = !this.#index.has(pub.publicKey);
    this.#rebuild();
    if (isNew) {
      this.#stats.added++;
      this.#emitSafely("added", { cert: pub, file: undefined });
    }
  }

  /**
   * Removes a certificate that {@link ZCertStore.insert} added. Keys from
   * files are removed by removing the file.
   *
   * @returns true when it was there
   */
  delete(publicKey: CurveKey): boolean {
    const key = curveKeyText(publicKey, "ZCertStore.delete(publicKey)");
    const cert = this.#memory.get(key);
    if (cert === undefined) return false;
    this.#memory.delete(key);
    this.#rebuild();
    if (!this.#index.has(key)) {
      this.#stats.removed++;
      this.#emitSafely("removed", { cert, file: undefined });
    }
    return true;
  }

  /**
   * Rescans the directory now (a memory store: nothing to do). Scans never
   * overlap: a call during a scan waits for it and one more.
   *
   * @throws `ClosedError` after close
   */
  reload(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("ZCertStore.reload: the store is closed"));
    if (this.location === undefined) return Promise.resolve();
    if (this.#scanning !== undefined) {
      this.#rescanAgain = true;
      return this.#scanning;
    }
    this.#scanning = this.#scanLoop().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  /** Stops watching the directory; lookups go on answering from what it holds. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#settle !== undefined) clearTimeout(this.#settle);
  }

  /** Closes the store (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #startWatching(): void {
    if (this.#closed || this.location === undefined) return;
    if (this.#watch) {
      try {
        this.#watcher = watch(this.location, { persistent: false }, () => this.#soon());
        this.#watcher.on("error", (err) => {
          log.warn("ZCertStore %s: watching stopped (%s); rescanning every %d ms only", this.location, err.message, this.#rescanIntervalMs);
          this.#watcher?.close();
          this.#watcher = undefined;
        });
      } catch (err) {
        log.warn("ZCertStore %s: cannot watch the directory (%s); rescanning every %d ms only", this.location, (err as Error).message, this.#rescanIntervalMs);
      }
    }
    if (this.#rescanIntervalMs > 0) {
      this.#timer = setInterval(() => void this.reload().catch(() => {}), this.#rescanIntervalMs);
      this.#timer.unref();
    }
  }

  #soon(): void {
    if (this.#closed) return;
    if (this.#settle !== undefined) clearTimeout(this.#settle);
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      void this.reload().catch(() => {});
    }, SETTLE_MS);
    this.#settle.unref();
  }

  async #scanLoop(): Promise<void> {
    do {
      this.#rescanAgain = false;
      await this.#scan();
    } while (this.#rescanAgain && !this.#closed);
  }

  async #scan(): Promise<void> {
    const dir = this.location!;
    this.#stats.scans++;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      // the directory went away: nothing in it is trusted any more
      log.warn("ZCertStore %s: cannot read the directory (%s); no certificate from it is trusted", dir, (err as Error).message);
      names = [];
    }
    const seen = new Set<string>();
    const events: (() => void)[] = [];
    for (const name of names) {
      if (name.startsWith(".") || name.endsWith(SECRET_SUFFIX)) continue;
      const file = join(dir, name);
      let st: Stats;
      try {
        st = await stat(file);
      } catch {
        continue; // removed while we looked
      }
      if (!st.isFile()) continue;
      seen.add(file);
      const old = this.#files.get(file);
      if (old !== undefined && old.mtimeMs === st.mtimeMs && old.size === st.size && old.ino === st.ino) continue;
      const cert = await this.#read(file, st.size);
      if (cert === undefined) {
        if (old !== undefined) {
          this.#files.delete(file);
          events.push(() => this.#emitSafely("removed", { cert: old.cert, file }));
          this.#stats.removed++;
        }
        seen.delete(file);
        continue;
      }
      this.#files.set(file, { cert, mtimeMs: st.mtimeMs, size: st.size, ino: st.ino });
      if (old === undefined) {
        this.#stats.added++;
        events.push(() => this.#emitSafely("added", { cert, file }));
      } else {
        this.#stats.changed++;
        events.push(() => this.#emitSafely("changed", { cert, previous: old.cert, file }));
      }
    }
    for (const [file, entry] of [...this.#files]) {
      if (seen.has(file)) continue;
      this.#files.delete(file);
      this.#stats.removed++;
      events.push(() => this.#emitSafely("removed", { cert: entry.cert, file }));
    }
    this.#rebuild();
    for (const e of events) e();
  }

  async #read(file: string, size: number): Promise<ZCert | undefined> {
    try {
      if (size > ZCERTSTORE_MAX_FILE_BYTES) throw new CertificateError(`${file} is ${size} bytes, too large for a certificate; skipped`, { file });
      return ZCert.parse(await readFile(file, "utf8"), file);
    } catch (err) {
      const error = err instanceof CertificateError ? err : new CertificateError(`cannot read certificate ${file}: ${(err as Error).message}`, { file }, { cause: err });
      this.#stats.badFiles++;
      log.warn("ZCertStore: skipped %s: %s", file, error.message);
      this.#emitSafely("bad-file", { file, error });
      return undefined;
    }
  }

  #rebuild(): void {
    const index = new Map<string, ZCert>();
    for (const { cert } of this.#files.values()) index.set(cert.publicKey, cert);
    for (const [key, cert] of this.#memory) index.set(key, cert);
    this.#index = index;
  }

  #emitSafely<K extends keyof ZCertStoreEvents>(name: K, ...args: ZCertStoreEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a ZCertStore %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}
