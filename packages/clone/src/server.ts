/**
 * CloneServer: the server side of 12/CHP, the Clone pattern of the ZeroMQ
 * Guide (chapter 5, models 5 and 6): a snapshot ROUTER on port P, a
 * publisher PUB on P + 1 and a collector SUB on P + 2. Its state is a
 * {@link CloneStore}; a ZLoop owns the sockets' reads and the timers; the
 * lifecycle is a `Lifecycle` of `@zkit/reliability`.
 * @module
 */
import { ErrorCode, LogBurst, ProtocolError, ZSocket, ZkitError, getLogger, readOptions, type TraceFn } from "@zkit/core";
import type { KVMsg } from "@zkit/kvmsg";
import { Lifecycle, peerId } from "@zkit/reliability";
import { ZLoop } from "@zkit/zloop";
import { CLONE_PORT, decodeIcanhaz, decodeKvset, encodeHugz, encodeKthxbai, encodeKvsync, type CloneDialect } from "./protocol.js";
import { CloneStore, type StoreEntry } from "./store.js";

const log = getLogger("clone");
const malformedLog = new LogBurst(log, "malformed messages dropped (see stats.malformed)");

/** Default of {@link CloneServerOptions.hugzIntervalMs}: the Guide's once a second. */
export const CLONE_HUGZ_INTERVAL_MS = 1000;
/** Default of {@link CloneServerOptions.ttlCheckIntervalMs}. */
export const CLONE_TTL_CHECK_INTERVAL_MS = 100;
/** Default of {@link CloneServerOptions.snapshotSendTimeoutMs}. */
export const CLONE_SNAPSHOT_SEND_TIMEOUT_MS = 10_000;
/** Default of {@link CloneServerOptions.maxFrameBytes}: 16 MiB. */
export const CLONE_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default of {@link CloneServerOptions.dialect}. */
export const CLONE_DIALECT: CloneDialect = "rfc";
/** Where `port: 0` looks for three free ports in a row: from this port... */
export const CLONE_RANDOM_PORT_FIRST = 20_000;
/** ...to this one (the last base tried). */
export const CLONE_RANDOM_PORT_LAST = 60_000;
/** How many random bases `port: 0` tries before it gives up. */
export const CLONE_RANDOM_PORT_ATTEMPTS = 50;

/** How many KVSYNC messages are handed to the snapshot socket before the server awaits them. */
const SNAPSHOT_BATCH = 256;

/** Options of a {@link CloneServer}. */
export interface CloneServerOptions {
  /**
   * The base port P: snapshots on P, updates on P + 1, the collector on
   * P + 2. `0` picks three free ports in a row at random (from 20000 to
   * 60000), read back from {@link CloneServer.port}.
   * @defaultValue 5556 ({@link CLONE_PORT}, the Guide's)
   */
  port?: number;
  /**
   * The interface the three sockets bind to: `"*"` for every one, or an
   * address such as `"127.0.0.1"`.
   * @defaultValue "*"
   */
  host?: string;
  /**
   * Which form of KVSYNC, KTHXBAI and HUGZ the server sends: `"rfc"`
   * (12/CHP) or `"guide"` (the Guide's C programs, which a C clonecli may
   * expect). Both forms are read whatever this is.
   * @defaultValue "rfc" ({@link CLONE_DIALECT})
   */
  dialect?: CloneDialect;
  /**
   * When nothing was published for this long, the server publishes a HUGZ,
   * so clients know it is alive; clients count it dead after their
   * `serverTtlMs` of silence (a few intervals).
   * @defaultValue 1000 ({@link CLONE_HUGZ_INTERVAL_MS}, the Guide's)
   */
  hugzIntervalMs?: number;
  /**
   * How often due ephemeral keys are deleted (and the deletes published),
   * in ms: the most an ephemeral key outlives its ttl. Cheap: the deadlines
   * are a heap, so a check with nothing due costs nothing.
   * @defaultValue 100 ({@link CLONE_TTL_CHECK_INTERVAL_MS}; the Guide's is 1000)
   */
  ttlCheckIntervalMs?: number;
  /**
   * How long one snapshot message may wait for room in a client's queue
   * (a client that stopped reading): after that, the rest of that
   * client's snapshot is dropped; the client's snapshot deadline makes it
   * ask again.
   * @defaultValue 10000 ({@link CLONE_SNAPSHOT_SEND_TIMEOUT_MS})
   */
  snapshotSendTimeoutMs?: number;
  /**
   * The largest message the snapshot and collector sockets accept, in bytes
   * (their `maxMessageSize`): libzmq refuses a bigger one, and cuts off its
   * sender, before reading it.
   * @defaultValue 16777216 (16 MiB, {@link CLONE_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * Called with every message in and out, `socket` `"snapshot"`,
   * `"publisher"` or `"collector"` (`zkit clone server -v`).
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** The events of a {@link CloneServer}. */
export interface CloneServerEvents {
  /** A client's update was applied and published with `sequence`; `deleted` when its body was empty. */
  update: [info: { key: string; sequence: number; uuid: string; deleted: boolean; ttlSeconds: number | undefined }];
  /** An ephemeral key expired: its delete was published with `sequence`. */
  expired: [info: { key: string; sequence: number }];
  /** A snapshot was sent to `client` (routing id in hex): `keys` KVSYNC, then KTHXBAI at `sequence`. */
  snapshot: [info: { client: string; subtree: string; keys: number; sequence: number }];
  /** A snapshot could not be sent whole (the client left, or stopped reading): the rest was dropped. */
  "snapshot-dropped": [info: { client: string; subtree: string; sent: number; reason: string }];
  /** A malformed message was dropped and counted. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined; socket: "snapshot" | "collector" }];
}

/** The counters of a {@link CloneServer}. */
export interface CloneServerStats {
  /** Client updates applied and published. */
  readonly updates: number;
  /** Ephemeral keys expired (their deletes published). */
  readonly expired: number;
  /** Snapshots sent whole. */
  readonly snapshots: number;
  /** Snapshots cut short (see `snapshot-dropped`). */
  readonly snapshotsDropped: number;
  /** KVSYNC messages sent. */
  readonly kvsyncs: number;
  /** HUGZ published. */
  readonly hugz: number;
  /** Malformed messages dropped. */
  readonly malformed: number;
}

/**
 * A Clone server (12/CHP).
 *
 * - Every client update (KVSET on the collector) takes the next sequence
 *   number, strictly increasing, is stored (an empty body deletes the key)
 *   and is published as KVPUB.
 * - An update with a `ttl` property (seconds) makes an ephemeral key: the
 *   server deletes it when it expires and publishes the delete (with the
 *   next sequence). Deadlines are absolute times, so they survive being
 *   handed to another server; the Guide's backup stored the relative ttl
 *   and deleted every ephemeral key within a second.
 * - ICANHAZ on the snapshot ROUTER gets the keys of the subtree asked for,
 *   as they are at that moment, then KTHXBAI with the sequence of that
 *   moment; updates go on meanwhile. A snapshot is sent in the background
 *   with back-pressure (the ROUTER is `mandatory`), so a 100,000-key
 *   snapshot neither blocks the server nor overruns a slow client.
 * - When nothing was published for `hugzIntervalMs`, it publishes HUGZ.
 * - Malformed messages are dropped, counted and logged (`zkit:clone`).
 *
 * The store and the publishing are kept apart from the sockets so a server
 * can also run as one half of a Binary Star pair (a passive server holds
 * client updates instead of publishing them); that is not part of this
 * class yet.
 *
 * @example
 * ```ts
 * const server = new CloneServer({ port: 5556 });
 * server.on("update", ({ key, sequence }) => console.log(`I: publishing update=${sequence} ${key}`));
 * await server.start();
 * await server.done; // until close() or Ctrl-C (with handleInterrupts())
 * ```
 */
export class CloneServer extends Lifecycle<CloneServerEvents> {
  readonly #requestedPort: number;
  readonly #host: string;
  readonly #dialect: CloneDialect;
  readonly #hugzIntervalMs: number;
  readonly #ttlCheckIntervalMs: number;
  readonly #snapshotSendTimeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  readonly #store = new CloneStore();
  readonly #loop = new ZLoop({ nonstop: true });
  #port = 0;
  #snapshot: ZSocket<"ROUTER"> | undefined;
  #publisher: ZSocket<"PUB"> | undefined;
  #collector: ZSocket<"SUB"> | undefined;
  #lastPublish = 0;
  readonly #sending = new Set<Promise<void>>();
  #stats = { updates: 0, expired: 0, snapshots: 0, snapshotsDropped: 0, kvsyncs: 0, hugz: 0, malformed: 0 };

  /**
   * @param options - see {@link CloneServerOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: CloneServerOptions = {}) {
    super({ owner: "CloneServer", channel: "zkit:clone:server" });
    const o = readOptions(options, {
      owner: "CloneServer",
      known: ["port", "host", "dialect", "hugzIntervalMs", "ttlCheckIntervalMs", "snapshotSendTimeoutMs", "maxFrameBytes", "trace"],
      example: '{ port: 5556 }',
    });
    this.#requestedPort = o.number("port", CLONE_PORT, { min: 0, integer: true, meaning: "the base port P; 0 picks free ports" });
    if (this.#requestedPort > 65533) o.fail("port", `must leave room for P + 2 (at most 65533), got ${this.#requestedPort}`);
    this.#host = o.string("host", "*");
    if (this.#host === "" || /[\s/]/.test(this.#host)) o.fail("host", `must be "*" or an interface address such as "127.0.0.1", got ${JSON.stringify(this.#host)}`);
    const dialect = o.string("dialect", CLONE_DIALECT);
    if (dialect !== "rfc" && dialect !== "guide") o.fail("dialect", `must be "rfc" or "guide", got ${JSON.stringify(dialect)}`);
    this.#dialect = dialect as CloneDialect;
    this.#hugzIntervalMs = o.number("hugzIntervalMs", CLONE_HUGZ_INTERVAL_MS, { min: 0, exclusive: true });
    this.#ttlCheckIntervalMs = o.number("ttlCheckIntervalMs", CLONE_TTL_CHECK_INTERVAL_MS, { min: 0, exclusive: true });
    this.#snapshotSendTimeoutMs = o.number("snapshotSendTimeoutMs", CLONE_SNAPSHOT_SEND_TIMEOUT_MS, { min: 0, exclusive: true });
    this.#maxFrameBytes = o.number("maxFrameBytes", CLONE_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
  }

  /** The base port P, once started (the one picked, for `port: 0`). */
  get port(): number {
    return this.#port;
  }

  /** Where clients ask for snapshots: `tcp://<host>:P`, once started. */
  get snapshotEndpoint(): string {
    return this.#snapshot?.endpoint ?? "";
  }

  /** Where updates are published: `tcp://<host>:P+1`, once started. */
  get publisherEndpoint(): string {
    return this.#publisher?.endpoint ?? "";
  }

  /** Where clients send updates: `tcp://<host>:P+2`, once started. */
  get collectorEndpoint(): string {
    return this.#collector?.endpoint ?? "";
  }

  /** The form of the commands it sends. */
  get dialect(): CloneDialect {
    return this.#dialect;
  }

  /** The sequence of the last change. */
  get sequence(): number {
    return this.#store.sequence;
  }

  /** Keys held. */
  get size(): number {
    return this.#store.size;
  }

  /** The value of `key` (its body), if held. */
  get(key: string): Buffer | undefined {
    return this.#store.get(key)?.msg.body;
  }

  /** Every key and its message (with sequence, uuid and properties), a copy. */
  entries(): Map<string, KVMsg> {
    const m = new Map<string, KVMsg>();
    for (const e of this.#store.entries()) m.set(e.msg.key, e.msg);
    return m;
  }

  /** The counters since it started (a snapshot). */
  get stats(): CloneServerStats {
    return { ...this.#stats };
  }

  /**
   * Binds the three sockets and starts serving (what `start()` does).
   * Rejects with `ZKIT_ADDRESS_IN_USE` when a port is taken (for `port: 0`,
   * after trying {@link CLONE_RANDOM_PORT_ATTEMPTS} bases); nothing stays open then.
   */
  protected async onStart(): Promise<void> {
    await this.#bindAll();
    this.#loop.reader(this.#snapshot!, this.#onSnapshot);
    this.#loop.reader(this.#collector!, this.#onCollector);
    this.#loop.timer(this.#hugzIntervalMs, 0, this.#hugz);
    this.#loop.timer(this.#ttlCheckIntervalMs, 0, this.#expire);
    this.#lastPublish = performance.now();
    this.#loop.start().catch((err: unknown) => this.fail(err));
    log.info("clone server started: snapshots %s, updates %s, collector %s (%s form)", this.snapshotEndpoint, this.publisherEndpoint, this.collectorEndpoint, this.#dialect);
  }

  /** Stops reading, lets the messages already sent leave (linger), closes the sockets. */
  protected async onClose(): Promise<void> {
    this.#loop.destroy();
    this.#snapshot?.close();
    this.#publisher?.close();
    this.#collector?.close();
    await Promise.allSettled([...this.#sending]);
    log.info("clone server stopped at sequence %d with %d key(s)", this.#store.sequence, this.#store.size);
  }

  async #bindAll(): Promise<void> {
    const random = this.#requestedPort === 0;
    const attempts = random ? CLONE_RANDOM_PORT_ATTEMPTS : 1;
    const maxMessageSize = Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const base = random ? CLONE_RANDOM_PORT_FIRST + Math.floor(Math.random() * (CLONE_RANDOM_PORT_LAST - CLONE_RANDOM_PORT_FIRST + 1)) : this.#requestedPort;
      const opened: ZSocket[] = [];
      try {
        // mandatory: a snapshot for a client that left fails at once, and a
        // full queue makes the send wait (up to sendTimeout) instead of
        // dropping KVSYNC messages silently
        const snapshot = new ZSocket("ROUTER", { mandatory: true, sendTimeout: this.#snapshotSendTimeoutMs, maxMessageSize });
        opened.push(snapshot);
        await snapshot.bind(`tcp://${this.#host}:${base}`);
        const publisher = new ZSocket("PUB");
        opened.push(publisher);
        await publisher.bind(`tcp://${this.#host}:${base + 1}`);
        const collector = new ZSocket("SUB", { maxMessageSize });
        opened.push(collector);
        collector.subscribe("");
        await collector.bind(`tcp://${this.#host}:${base + 2}`);
        this.#snapshot = snapshot;
        this.#publisher = publisher;
        this.#collector = collector;
        this.#port = base;
        return;
      } catch (err) {
        for (const s of opened) s.close({ lingerMs: 0 });
        lastError = err;
        if (!(err instanceof ZkitError && err.code === ErrorCode.AddressInUse)) throw err;
        log.debug("base port %d: %s; trying another", base, (err as Error).message);
      }
    }
    throw lastError;
  }

  // ------------------------------------------------------------ messages

  #onCollector = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "collector", frames: msg });
    const update = decodeKvset(msg);
    if (update instanceof ProtocolError) {
      this.#malformed("collector", update, undefined);
      return;
    }
    const published = this.#store.apply(update);
    this.#publish(published.encode());
    this.#stats.updates++;
    const ttl = published.ttl !== undefined && published.ttl > 0 ? published.ttl : undefined;
    log.debug("update %d %s%s", published.sequence, published.key, published.size === 0 ? " (delete)" : "");
    this.notify("update", { key: published.key, sequence: published.sequence, uuid: published.uuidHex, deleted: published.size === 0, ttlSeconds: ttl });
  };

  #onSnapshot = (msg: Buffer[]): void => {
    this.#trace?.({ direction: "in", socket: "snapshot", frames: msg });
    const req = decodeIcanhaz(msg);
    if (req instanceof ProtocolError) {
      this.#malformed("snapshot", req, msg[0]);
      return;
    }
    // the view is taken now, whole: updates published from here on have
    // sequences above the KTHXBAI's, and the client applies them after it
    const view = this.#store.snapshot(req.subtree);
    const sending = this.#sendSnapshot(req.client, req.subtree, view.entries, view.sequence);
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
  };

  async #sendSnapshot(client: Buffer, subtree: string, entries: readonly StoreEntry[], sequence: number): Promise<void> {
    const sock = this.#snapshot!;
    let sent = 0;
    try {
      for (let i = 0; i < entries.length; i += SNAPSHOT_BATCH) {
        const batch: Promise<void>[] = [];
        for (const e of entries.slice(i, i + SNAPSHOT_BATCH)) {
          const frames = encodeKvsync(client, e.msg, this.#dialect, e.expiresAt);
          this.#trace?.({ direction: "out", socket: "snapshot", frames });
          batch.push(sock.send(frames));
        }
        await Promise.all(batch);
        sent += batch.length;
        this.#stats.kvsyncs += batch.length;
      }
      const end = encodeKthxbai(client, sequence, subtree, this.#dialect);
      this.#trace?.({ direction: "out", socket: "snapshot", frames: end });
      await sock.send(end);
    } catch (err) {
      if (!this.running) return;
      this.#stats.snapshotsDropped++;
      const reason = (err as Error)?.message ?? String(err);
      log.warn("snapshot for client %s cut short after %d of %d key(s): %s", peerId(client), sent, entries.length, reason);
      this.notify("snapshot-dropped", { client: peerId(client), subtree, sent, reason });
      return;
    }
    this.#stats.snapshots++;
    log.debug("snapshot of %d key(s) at sequence %d sent to %s", entries.length, sequence, peerId(client));
    this.notify("snapshot", { client: peerId(client), subtree, keys: entries.length, sequence });
  }

  // -------------------------------------------------------------- timers

  #expire = (): void => {
    for (const del of this.#store.expire()) {
      this.#publish(del.encode());
      this.#stats.expired++;
      log.debug("expired %s at sequence %d", del.key, del.sequence);
      this.notify("expired", { key: del.key, sequence: del.sequence });
    }
  };

  #hugz = (): void => {
    if (performance.now() - this.#lastPublish < this.#hugzIntervalMs) return;
    this.#publish(encodeHugz(this.#store.sequence, this.#dialect));
    this.#stats.hugz++;
  };

  #publish(frames: Buffer[]): void {
    this.#trace?.({ direction: "out", socket: "publisher", frames });
    this.#lastPublish = performance.now();
    void this.#publisher!.send(frames);
  }

  #malformed(socket: "snapshot" | "collector", error: ProtocolError, sender: Buffer | undefined): void {
    this.#stats.malformed++;
    malformedLog.record("%s: dropped a malformed message (%s)", socket, error.message);
    this.notify("malformed", { reason: error.message, frame: error.frame, peer: sender === undefined ? undefined : peerId(sender), socket });
  }
}
