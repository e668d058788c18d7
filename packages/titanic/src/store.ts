/**
 * TitanicStore: Titanic's durable storage, one directory. Each request is
 * `<uuid>.req`, its reply `<uuid>.rep` (see `record.ts` for the format). A
 * file is written to `<name>.tmp`, fsynced, renamed into place, and the
 * directory fsynced, before the write resolves: whatever a write resolved
 * for survives a crash of the process or of the machine. Writes that run
 * at the same time share their directory fsync (group commit: one fsync
 * covers every rename done before it started), and the file system
 * commits their file fsyncs together. With durability `"write"` there is
 * no fsync at all: a write survives a crash of the process (the data is in
 * the kernel's page cache), not of the machine. The state after a
 * restart is derived from the directory alone: a request without a reply is
 * pending. Files that fail their checksum are moved to `corrupt/` and
 * reported, never fatal.
 * @module
 */
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ProtocolError, getLogger } from "@zkit/core";
import { decodeRecord, encodeRecord, type RecordKind, type TitanicRecord } from "./record.js";

const log = getLogger("titanic");

/**
 * How durable a write is when it resolves: `"fsync"` survives a crash of the
 * machine (power loss, kernel panic); `"write"` survives a crash of the
 * process only (no fsync: the kernel writes the data back later).
 */
export type TitanicDurability = "fsync" | "write";

/** Options of a {@link TitanicStore}. */
export interface TitanicStoreOptions {
  /**
   * How durable a write is when it resolves.
   * @defaultValue "fsync"
   */
  durability?: TitanicDurability;
}

/** The sub-directory where damaged files are moved. */
export const CORRUPT_DIR = "corrupt";

const EXT: Record<RecordKind, string> = { request: ".req", reply: ".rep" };
const FILE = /^([0-9a-f]{32})\.(req|rep)$/;

/** A request found in the directory when the store was opened. */
export interface StoredRequestInfo {
  /** Its uuid, lower-case hex. */
  readonly uuid: string;
  /** The service it is for; undefined when only its reply survived. */
  readonly service: string | undefined;
  /** Its sequence number: requests are forwarded in this order. */
  readonly seq: number;
  /** When the request was stored, in ms since the epoch. */
  readonly storedAtMs: number;
  /** True when its reply is stored too. */
  readonly replied: boolean;
}

/** A damaged file, reported and moved aside. */
export interface CorruptFile {
  /** The file's path. */
  readonly file: string;
  /** What is wrong with it. */
  readonly reason: string;
  /** Where it was moved, or undefined if it could not be moved (it is then ignored). */
  readonly movedTo: string | undefined;
}

/** What {@link TitanicStore.open} found. */
export interface StoreContents {
  /** Every readable request (with or without reply), in sequence order. */
  readonly requests: StoredRequestInfo[];
  /** Damaged files, moved to `corrupt/`. */
  readonly corrupt: CorruptFile[];
  /** Leftovers removed: temporary files of interrupted writes, replies of interrupted closes. */
  readonly cleaned: string[];
}

/** The result of reading one file: the record, or why there is none. */
export type ReadResult = { readonly ok: TitanicRecord } | { readonly missing: true } | { readonly corrupt: CorruptFile };

/**
 * Titanic's directory of stored requests and replies. Every method may
 * reject with the `node:fs` error of a failed read or write (disk full,
 * permissions); damaged content is never an error but a {@link CorruptFile}.
 */
export class TitanicStore {
  /** The directory, as an absolute path. */
  readonly dir: string;
  /** How durable a write is when it resolves. */
  readonly durability: TitanicDurability;
  #dirHandle: FileHandle | undefined;
  #syncDirs = true;
  /** The directory fsync running now, and the one queued behind it that every writer arriving meanwhile shares. */
  #dirSync: Promise<void> | undefined;
  #nextDirSync: Promise<void> | undefined;
  #dirSyncs = 0;

  /**
   * @param dir - the directory; created (with its parents) by {@link open}
   * @param options - see {@link TitanicStoreOptions}
   */
  constructor(dir: string, options: TitanicStoreOptions = {}) {
    this.dir = resolve(dir);
    this.durability = options.durability ?? "fsync";
  }

  /** Directory fsyncs done so far: fewer than writes when writes ran together (group commit). */
  get dirSyncs(): number {
    return this.#dirSyncs;
  }

  /**
   * Creates the directory if needed and reads it: removes temporary files
   * of interrupted writes, moves damaged files to `corrupt/`, removes the
   * reply of a request whose close was interrupted, and lists the requests.
   */
  async open(): Promise<StoreContents> {
    await mkdir(this.dir, { recursive: true });
    this.#dirHandle ??= await open(this.dir, "r");
    const names = await readdir(this.dir);
    const cleaned: string[] = [];
    const corrupt: CorruptFile[] = [];
    const found = new Map<string, { req: boolean; rep: boolean }>();
    for (const name of names) {
      if (name.endsWith(".tmp")) {
        await unlinkQuietly(join(this.dir, name));
        cleaned.push(name);
        continue;
      }
      const m = FILE.exec(name);
      if (m === null) continue;
      const f = found.get(m[1]!) ?? { req: false, rep: false };
      if (m[2] === "req") f.req = true;
      else f.rep = true;
      found.set(m[1]!, f);
    }
    const requests: StoredRequestInfo[] = [];
    for (const [uuid, f] of found) {
      const req = f.req ? await this.#readAtOpen(uuid, "request") : undefined;
      const rep = f.rep ? await this.#readAtOpen(uuid, "reply") : undefined;
      if (req !== undefined && "corrupt" in req) corrupt.push(req.corrupt);
      if (rep !== undefined && "corrupt" in rep) corrupt.push(rep.corrupt);
      const replied = rep !== undefined && "ok" in rep;
      if (req !== undefined && "ok" in req) {
        const service = req.ok.frames[0]!.toString("utf8");
        requests.push({ uuid, service, seq: req.ok.seq, storedAtMs: req.ok.storedAtMs, replied });
      } else if (replied && req !== undefined && "corrupt" in req) {
        // the request is damaged but its reply is whole: keep serving the reply
        requests.push({ uuid, service: undefined, seq: rep.ok.seq, storedAtMs: rep.ok.storedAtMs, replied: true });
      } else if (replied) {
        // a reply with no request: a close was interrupted between its two unlinks
        await unlinkQuietly(this.#path(uuid, "reply"));
        cleaned.push(`${uuid}${EXT.reply}`);
      }
    }
    if (cleaned.length > 0) await this.#syncDir();
    requests.sort((a, b) => a.seq - b.seq);
    return { requests, corrupt, cleaned };
  }

  /** Stores a request durably: resolves once it survives a crash. */
  writeRequest(uuid: string, seq: number, frames: readonly Buffer[]): Promise<void> {
    return this.#write({ kind: "request", uuid, seq, storedAtMs: Date.now(), frames: [...frames] });
  }

  /** Stores the reply to a request durably: resolves once it survives a crash. */
  writeReply(uuid: string, seq: number, frames: readonly Buffer[]): Promise<void> {
    return this.#write({ kind: "reply", uuid, seq, storedAtMs: Date.now(), frames: [...frames] });
  }

  /** Reads a stored request (`[service][body...]`); a damaged file is moved aside. */
  readRequest(uuid: string): Promise<ReadResult> {
    return this.#read(uuid, "request");
  }

  /** Reads a stored reply; a damaged file is moved aside. */
  readReply(uuid: string): Promise<ReadResult> {
    return this.#read(uuid, "reply");
  }

  /**
   * Forgets a request and its reply, durably. The request goes first: a
   * crash in between leaves a reply without request, which {@link open}
   * removes, never a request without reply (which would be forwarded again).
   */
  async remove(uuid: string): Promise<void> {
    const a = await unlinkIfThere(this.#path(uuid, "request"));
    const b = await unlinkIfThere(this.#path(uuid, "reply"));
    if (a || b) await this.#groupSyncDir();
  }

  /** Closes the directory handle. Idempotent. */
  async close(): Promise<void> {
    const handle = this.#dirHandle;
    this.#dirHandle = undefined;
    await handle?.close();
  }

  #path(uuid: string, kind: RecordKind): string {
    return join(this.dir, `${uuid}${EXT[kind]}`);
  }

  async #write(record: TitanicRecord): Promise<void> {
    const bytes = encodeRecord(record);
    const target = this.#path(record.uuid, record.kind);
    const temp = `${target}.tmp`;
    try {
      const file = await open(temp, "w");
      try {
        await file.writeFile(bytes);
        // the data (and the size that reaches it) before the rename makes the name point at it
        if (this.durability === "fsync") await file.datasync();
      } finally {
        await file.close();
      }
      await rename(temp, target);
    } catch (err) {
      await unlinkQuietly(temp);
      throw err;
    }
    await this.#groupSyncDir();
  }

  /**
   * Makes every rename done so far durable, sharing the fsync with the
   * writes that run at the same time: when one is running (it may have
   * started before this rename), the next one starts when it ends and
   * serves every caller that arrived meanwhile.
   */
  #groupSyncDir(): Promise<void> {
    if (this.durability !== "fsync") return Promise.resolve();
    if (this.#nextDirSync !== undefined) return this.#nextDirSync;
    const running = this.#dirSync;
    if (running === undefined) return this.#startDirSync();
    const next = running
      .catch(() => undefined)
      .then(() => {
        this.#nextDirSync = undefined;
        return this.#startDirSync();
      });
    this.#nextDirSync = next;
    return next;
  }

  #startDirSync(): Promise<void> {
    const sync = this.#syncDir();
    this.#dirSync = sync;
    const done = (): void => {
      if (this.#dirSync === sync) this.#dirSync = undefined;
    };
    sync.then(done, done);
    return sync;
  }

  /** As {@link #read}, but a file that cannot be read at all (EISDIR, EACCES, EIO) is reported too. */
  async #readAtOpen(uuid: string, kind: RecordKind): Promise<ReadResult> {
    try {
      return await this.#read(uuid, kind);
    } catch (err) {
      return { corrupt: await this.#quarantine(this.#path(uuid, kind), `unreadable: ${(err as Error).message}`) };
    }
  }

  async #read(uuid: string, kind: RecordKind): Promise<ReadResult> {
    const file = this.#path(uuid, kind);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
      throw err;
    }
    const record = decodeRecord(bytes, { kind, uuid });
    if (record instanceof ProtocolError) return { corrupt: await this.#quarantine(file, record.message) };
    return { ok: record };
  }

  /** Moves a damaged file to `corrupt/`; if that fails too, it stays and is ignored. */
  async #quarantine(file: string, reason: string): Promise<CorruptFile> {
    const dir = join(this.dir, CORRUPT_DIR);
    const name = basename(file);
    let movedTo: string | undefined = join(dir, `${name}.${Date.now()}`);
    try {
      await mkdir(dir, { recursive: true });
      await rename(file, movedTo);
      await this.#syncDir();
    } catch (err) {
      log.error("titanic: could not move the damaged file %s aside: %s", file, (err as Error).message);
      movedTo = undefined;
    }
    return { file, reason, movedTo };
  }

  /** fsync of the directory: makes creations, renames and unlinks durable. */
  async #syncDir(): Promise<void> {
    const handle = this.#dirHandle;
    if (handle === undefined || !this.#syncDirs || this.durability !== "fsync") return;
    this.#dirSyncs++;
    try {
      await handle.sync();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR" && code !== "EPERM") throw err;
      // some file systems (and platforms) cannot fsync a directory
      this.#syncDirs = false;
      log.warn("titanic: this file system cannot fsync the directory %s (%s); renames are durable only as far as it guarantees", this.dir, code);
    }
  }
}

async function unlinkIfThere(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // nothing to remove, or it cannot be removed: a leftover .tmp is ignored
  }
}
