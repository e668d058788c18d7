/**
 * CloneServer: the server side of 12/CHP, the Clone pattern of the ZeroMQ
 * Guide (chapter 5, models 5 and 6): a snapshot ROUTER on port P, a
 * publisher PUB on P + 1 and a collector SUB on P + 2. Its state is a
 * {@link CloneStore}; a ZLoop owns the sockets' reads and the timers; the
 * lifecycle is a `Lifecycle` of `@zkit/reliability`.
 * @module
 */
import { randomUUID } from "node:crypto";
import { ErrorCode, InvalidArgumentError, LogBurst, ProtocolError, ZSocket, ZkitError, describeValue, getLogger, parseEndpoints, readOptions, sleep, type TraceFn } from "@zkit/core";
import { BSTAR_HEARTBEAT_INTERVAL_MS, BinaryStar, type BinaryStarRole, type BinaryStarState, type StateChangeInfo } from "@zkit/bstar";
import { KVMsg } from "@zkit/kvmsg";
import { Lifecycle, peerId } from "@zkit/reliability";
import { securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { ZLoop } from "@zkit/zloop";
import { CloneClient } from "./client.js";
import { PendingList } from "./pending.js";
import { CLONE_PORT, decodeIcanhaz, decodeKvset, encodeHugz, encodeKthxbai, encodeKvsync, ttlSeconds, type CloneDialect, type SnapshotRequest } from "./protocol.js";
import { CloneStore, type StoreEntry } from "./store.js";

const log = getLogger("clone");
const malformedLog = new LogBurst(log, "malformed messages dropped (see stats.malformed)");
const handshakeLog = new LogBurst(log, "the passive's handshakes with the active failed");

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
/** Default of {@link ClonePairOptions.peerTtlMs}: the clients' server ttl. */
export const CLONE_PEER_TTL_MS = 5000;
/** How long the passive remembers an update the active published that never reached its own collector, in ms. */
export const CLONE_SEEN_MEMORY_MS = 60_000;

const EMPTY = Buffer.alloc(0);

/** How many KVSYNC messages are handed to the snapshot socket before the server awaits them. */
const SNAPSHOT_BATCH = 256;

/**
 * One server of a Binary Star pair of Clone servers (the Guide's clonesrv6),
 * the {@link CloneServerOptions.bstar} option. The pair runs on
 * `@zkit/bstar`'s {@link BinaryStar}: each server publishes its Binary Star
 * state on `local` and hears its peer's on `remote`; snapshot requests are
 * the votes, so only the active server serves them.
 */
export interface ClonePairOptions {
  /** `"primary"` or `"backup"`: the primary is active when both start together. One of each per pair. */
  role: BinaryStarRole;
  /**
   * Where this server publishes its Binary Star state, a CZMQ endpoint list
   * (no prefix binds): e.g. `"tcp://*:5003"` (the Guide's primary),
   * `"tcp://127.0.0.1:*"` for an ephemeral port (read it from
   * {@link CloneServer.stateEndpoint}).
   */
  local: string;
  /**
   * The peer's state publisher (no prefix connects), e.g.
   * `"tcp://backup-host:5004"`; or give it later with
   * {@link CloneServer.connectPeer}.
   * @defaultValue undefined (connectPeer)
   */
  remote?: string;
  /**
   * The peer's Clone server, `tcp://host:P` (its snapshot port; its updates
   * come from P + 1): the passive follows it there. Or give it later with
   * {@link CloneServer.connectPeer}.
   * @defaultValue undefined (connectPeer)
   */
  peer?: string;
  /**
   * Binary Star's state heartbeat, in ms; the peer counts as gone after 2.
   * The same on both servers.
   * @defaultValue 1000 (`BSTAR_HEARTBEAT_INTERVAL_MS` of `@zkit/bstar`)
   */
  heartbeatIntervalMs?: number;
  /**
   * The passive takes the active for silent (and resyncs its copy) after
   * this long without an update or HUGZ from it: a few of the active's
   * `hugzIntervalMs`.
   * @defaultValue 5000 ({@link CLONE_PEER_TTL_MS})
   */
  peerTtlMs?: number;
}

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
   * How long a snapshot may go without progress while it waits for room
   * in a client's queue (a client that stopped reading): after that, the
   * rest of that client's snapshot is dropped; the client's snapshot
   * deadline makes it ask again. A client that reads slowly gets its whole
   * snapshot, however long it takes.
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
   * Makes this server one half of a Binary Star pair (see
   * {@link ClonePairOptions}): the active serves as a single server does;
   * the passive follows the active's map and holds the client updates it
   * has not seen the active publish, and publishes them when it takes over.
   * @defaultValue undefined (a single server, always active)
   */
  bstar?: ClonePairOptions;
  /**
   * How the server's sockets are secured (`@zkit/security`): CURVE with
   * the server's key pair, `{ curve: { secretKey, publicKey } }` (or
   * `cert.serverSecurity()`), no `serverKey`. The snapshot ROUTER, the
   * publisher and the collector are CURVE servers; clients need the
   * server's public key as their `serverKey`. Which client keys are let in
   * is decided by a `ZAuth` in this process (libzmq asks the one ZAP
   * handler of the process); without one, libzmq admits every CURVE key.
   * `{ plain: { server: true } }` makes them PLAIN servers (passwords
   * checked by that `ZAuth`), for a single server only.
   *
   * In a Binary Star pair (`bstar`) both servers take the same key pair
   * (the simplest setup: clients need one server key for either, and no
   * server needs its peer's key given separately): the option also goes to
   * the pair's `BinaryStar`, and the passive's replica client connects to
   * the active as a CURVE client with that key pair and the same public
   * key as its server key. A `ZAuth` with a certificate store must then
   * allow the pair's public key besides the clients' (put its public
   * certificate in the store). PLAIN is not taken for a pair.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's Clone servers run and its clients expect; use CURVE whenever
   *   the network is not trusted
   */
  security?: SecurityOptions;
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
  /** (A pair) it became active: `republished` held updates were applied and published, from sequence `sequence` on. */
  active: [info: StateChangeInfo & { republished: number; sequence: number }];
  /** (A pair) it became passive: it follows its peer and holds client updates. */
  passive: [info: StateChangeInfo];
  /** (A pair, passive) its copy of the active's map was replaced by a snapshot at `sequence`; `pruned` held updates were settled by it. */
  resynced: [info: { sequence: number; keys: number; pruned: number }];
  /** (A pair) a snapshot request was refused: this server is not active (Binary Star's vote); the client finds out by its snapshot timeout. */
  "snapshot-refused": [info: { state: BinaryStarState }];
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
  /** (A pair) client updates held by the passive (all it ever held). */
  readonly held: number;
  /** (A pair) held updates settled by the active's publication or snapshot. */
  readonly settled: number;
  /** (A pair) held updates applied and published on becoming active. */
  readonly republished: number;
  /** (A pair) updates without a uuid the passive could not hold (it could never match them). */
  readonly unidentified: number;
  /** (A pair) snapshot requests refused while not active. */
  readonly refused: number;
  /** (A pair) held updates now. */
  readonly pending: number;
}

interface PairConfig {
  readonly role: BinaryStarRole;
  readonly local: string;
  readonly remote: string | undefined;
  peer: string | undefined;
  readonly heartbeatIntervalMs: number;
  readonly peerTtlMs: number;
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
 * With the `bstar` option it is one server of a Binary Star pair (the
 * Guide's clonesrv6, on `@zkit/bstar`): a snapshot request is a Binary
 * Star vote, served only by the active server. The passive follows the
 * active (a snapshot in the Guide's form, so ttl deadlines and uuids come
 * too, then its updates; the sequence stays the active's), and holds the
 * client updates of its own collector until it sees the active publish
 * them ({@link PendingList}); when it becomes active it applies and
 * publishes what it still holds, with sequences above the highest it saw,
 * so no update that reached either server is lost. Only the active expires
 * keys and sends HUGZ.
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
  readonly #security: SecurityOptions | undefined;
  readonly #socketSecurity: SecuritySocketOptions;
  readonly #store = new CloneStore();
  readonly #loop = new ZLoop({ nonstop: true });
  #port = 0;
  #snapshot: ZSocket<"ROUTER"> | undefined;
  #publisher: ZSocket<"PUB"> | undefined;
  #collector: ZSocket<"SUB"> | undefined;
  #lastPublish = 0;
  readonly #sending = new Set<Promise<void>>();
  readonly #pair: PairConfig | undefined;
  readonly #pending = new PendingList();
  #bstar: BinaryStar | undefined;
  #voterFeed: ZSocket<"DEALER"> | undefined;
  #active: boolean;
  #replica: CloneClient | undefined;
  #stats = { updates: 0, expired: 0, snapshots: 0, snapshotsDropped: 0, kvsyncs: 0, hugz: 0, malformed: 0, held: 0, settled: 0, republished: 0, unidentified: 0, refused: 0 };

  /**
   * @param options - see {@link CloneServerOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: CloneServerOptions = {}) {
    super({ owner: "CloneServer", channel: "zkit:clone:server" });
    const o = readOptions(options, {
      owner: "CloneServer",
      known: ["port", "host", "dialect", "hugzIntervalMs", "ttlCheckIntervalMs", "snapshotSendTimeoutMs", "maxFrameBytes", "bstar", "security", "trace"],
      example: "{ port: 5556 }",
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
    const pair = o.raw("bstar");
    this.#pair = pair === undefined ? undefined : readPair(pair);
    this.#active = this.#pair === undefined;
    const security = o.raw("security") as SecurityOptions | undefined;
    if (this.#pair !== undefined && security !== undefined && (typeof security !== "object" || security === null || !("curve" in security))) {
      o.fail(
        "security",
        "must be { curve: { secretKey, publicKey } } in a Binary Star pair, the pair's key pair (PLAIN is not taken: the links between the servers would need a password of their own)",
      );
    }
    this.#socketSecurity = securitySocketOptions(security, { owner: "CloneServer", role: "server" });
    this.#security = security;
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
    return { ...this.#stats, pending: this.#pending.size };
  }

  /**
   * True while it serves clients: always for a single server; in a pair,
   * while it is the active one.
   */
  get active(): boolean {
    return this.#active;
  }

  /** Its Binary Star state in a pair (`primary`/`backup` until the pair settles, then `active`/`passive`); `active` for a single server. */
  get starState(): BinaryStarState {
    return this.#bstar?.starState ?? (this.#pair === undefined ? "active" : this.#pair.role);
  }

  /** (A pair) where it publishes its Binary Star state (the real endpoint); `""` otherwise or before `start()`. */
  get stateEndpoint(): string {
    return this.#bstar?.stateEndpoint ?? "";
  }

  /**
   * (A pair) tells this server where its peer is, when the `bstar` option
   * left `remote` or `peer` out (both servers on ephemeral ports): call it
   * once both have started.
   *
   * @param peer - the peer's Clone server, `tcp://host:P` (its {@link port})
   * @param state - the peer's {@link stateEndpoint}, a CZMQ endpoint list
   * @throws `InvalidArgumentError` for a single server or a bad endpoint;
   *   `ClosedError` once closed
   */
  connectPeer(peer: string, state: string): void {
    this.assertOpen("CloneServer.connectPeer");
    const pair = this.#pair;
    if (pair === undefined) throw new InvalidArgumentError("CloneServer.connectPeer: this server is not one of a pair (give the bstar option)");
    pair.peer = checkPeer(peer, "CloneServer.connectPeer(peer)");
    if (this.#bstar === undefined) throw new InvalidArgumentError("CloneServer.connectPeer: call it after start()");
    this.#bstar.connectPeer(state);
    if (!this.#active && this.#bstar.starState === "passive" && this.#replica === undefined) this.#follow();
  }

  /**
   * Binds the three sockets and starts serving (what `start()` does).
   * Rejects with `ZKIT_ADDRESS_IN_USE` when a port is taken (for `port: 0`,
   * after trying {@link CLONE_RANDOM_PORT_ATTEMPTS} bases); nothing stays open then.
   */
  protected async onStart(): Promise<void> {
    await this.#bindAll();
    if (this.#pair !== undefined) {
      try {
        await this.#startPair(this.#pair);
      } catch (err) {
        this.#snapshot?.close({ lingerMs: 0 });
        this.#publisher?.close({ lingerMs: 0 });
        this.#collector?.close({ lingerMs: 0 });
        throw err;
      }
    }
    this.#loop.reader(this.#snapshot!, this.#onSnapshot);
    this.#loop.reader(this.#collector!, this.#onCollector);
    this.#loop.timer(this.#hugzIntervalMs, 0, this.#hugz);
    this.#loop.timer(this.#ttlCheckIntervalMs, 0, this.#expire);
    if (this.#pair !== undefined) this.#loop.timer(CLONE_SEEN_MEMORY_MS / 4, 0, () => this.#pending.forgetSeen(Date.now() - CLONE_SEEN_MEMORY_MS));
    this.#lastPublish = performance.now();
    this.#loop.start().catch((err: unknown) => this.fail(err));
    log.info("clone server started: snapshots %s, updates %s, collector %s (%s form)", this.snapshotEndpoint, this.publisherEndpoint, this.collectorEndpoint, this.#dialect);
  }

  /** Stops reading, lets the messages already sent leave (linger), closes the sockets. */
  protected async onClose(): Promise<void> {
    this.#loop.destroy();
    const replica = this.#replica;
    this.#replica = undefined;
    this.#voterFeed?.close({ lingerMs: 0 });
    await Promise.allSettled([replica?.close(), this.#bstar?.close()]);
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
        const snapshot = new ZSocket("ROUTER", { ...this.#socketSecurity, mandatory: true, sendTimeout: this.#snapshotSendTimeoutMs, maxMessageSize });
        opened.push(snapshot);
        await snapshot.bind(`tcp://${this.#host}:${base}`);
        const publisher = new ZSocket("PUB", { ...this.#socketSecurity });
        opened.push(publisher);
        await publisher.bind(`tcp://${this.#host}:${base + 1}`);
        const collector = new ZSocket("SUB", { ...this.#socketSecurity, maxMessageSize });
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
    if (!this.#active) {
      this.#hold(update);
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
    if (this.#voterFeed !== undefined) {
      // a pair: the request is a Binary Star vote; #onVote serves it if accepted
      void this.#voterFeed.send([EMPTY, ...msg]).catch((err: unknown) => log.debug("vote not passed on: %s", (err as Error)?.message ?? String(err)));
      return;
    }
    this.#serveSnapshot(req);
  };

  #serveSnapshot(req: SnapshotRequest): void {
    // the view is taken now, whole: updates published from here on have
    // sequences above the KTHXBAI's, and the client applies them after it
    const view = this.#store.snapshot(req.subtree);
    const sending = this.#sendSnapshot(req.client, req.subtree, view.entries, view.sequence, req.form ?? this.#dialect);
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
  }

  async #sendSnapshot(client: Buffer, subtree: string, entries: readonly StoreEntry[], sequence: number, form: CloneDialect): Promise<void> {
    const progress = { at: performance.now() };
    let sent = 0;
    try {
      for (let i = 0; i < entries.length; i += SNAPSHOT_BATCH) {
        const batch: Promise<void>[] = [];
        for (const e of entries.slice(i, i + SNAPSHOT_BATCH)) {
          const frames = encodeKvsync(client, e.msg, form, e.expiresAt);
          this.#trace?.({ direction: "out", socket: "snapshot", frames });
          batch.push(this.#sendSnapshotMessage(frames, progress));
        }
        await Promise.all(batch);
        sent += batch.length;
        this.#stats.kvsyncs += batch.length;
      }
      const end = encodeKthxbai(client, sequence, subtree, form);
      this.#trace?.({ direction: "out", socket: "snapshot", frames: end });
      await this.#sendSnapshotMessage(end, progress);
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

  /**
   * Sends one snapshot message, waiting for room in the client's queue for
   * as long as the snapshot as a whole made progress within
   * `snapshotSendTimeoutMs`. The wait is a retry with back-off (1 to 50 ms),
   * not the socket's send timeout: a mandatory ROUTER counts as writable
   * while any peer has room, so with another client connected, a send to
   * a full client fails at once (measured: EAGAIN after 4 ms with a 5 s
   * send timeout), and a large snapshot to a client slower than this server
   * (a slow link, a busy process) was dropped the moment its buffers filled.
   */
  async #sendSnapshotMessage(frames: Buffer[], progress: { at: number }): Promise<void> {
    let waitMs = 1;
    for (;;) {
      try {
        await this.#snapshot!.send(frames);
        progress.at = performance.now();
        return;
      } catch (err) {
        if (!(err instanceof ZkitError && err.code === ErrorCode.Timeout) || !this.running) throw err;
        if (performance.now() - progress.at > this.#snapshotSendTimeoutMs) throw err;
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, 50);
      }
    }
  }

  // -------------------------------------------------------------- timers

  #expire = (): void => {
    if (!this.#active) return; // the active's deletes come with its updates
    for (const del of this.#store.expire()) {
      this.#publish(del.encode());
      this.#stats.expired++;
      log.debug("expired %s at sequence %d", del.key, del.sequence);
      this.notify("expired", { key: del.key, sequence: del.sequence });
    }
  };

  #hugz = (): void => {
    if (!this.#active) return;
    if (performance.now() - this.#lastPublish < this.#hugzIntervalMs) return;
    this.#publish(encodeHugz(this.#store.sequence, this.#dialect));
    this.#stats.hugz++;
  };

  #publish(frames: Buffer[]): void {
    this.#trace?.({ direction: "out", socket: "publisher", frames });
    this.#lastPublish = performance.now();
    void this.#publisher!.send(frames);
  }

  // ---------------------------------------------------------------- pair

  async #startPair(pair: PairConfig): Promise<void> {
    const voter = `inproc://zkit-clone-voter-${randomUUID()}`;
    const bstar = new BinaryStar({
      role: pair.role,
      local: pair.local,
      ...(pair.remote !== undefined && { remote: pair.remote }),
      voter,
      heartbeatIntervalMs: pair.heartbeatIntervalMs,
      closeOnInterrupt: false,
      handler: this.#onVote,
      ...(this.#security !== undefined && { security: this.#security }),
    });
    bstar.on("active", (info) => this.#becomeActive(info));
    bstar.on("passive", (info) => this.#becomePassive(info));
    bstar.on("vote-rejected", ({ state }) => {
      this.#stats.refused++;
      this.notify("snapshot-refused", { state });
    });
    this.#bstar = bstar;
    await bstar.start();
    void bstar.done.then(
      () => {
        if (this.running) this.fail(new Error("CloneServer: its Binary Star closed while it was running"));
      },
      (err: unknown) => this.fail(err),
    );
    // snapshot requests reach Binary Star's voter through this, one hop of
    // inproc: the snapshots themselves leave by this server's own ROUTER,
    // which waits for room (mandatory) instead of dropping at the HWM
    this.#voterFeed = new ZSocket("DEALER", { linger: 0 });
    this.#voterFeed.connect(voter);
    log.info("clone server: %s of a Binary Star pair (state on %s)", pair.role, bstar.stateEndpoint);
  }

  /** Binary Star accepted a vote (only while active): `request` is `[client][ICANHAZ?][subtree]...`. */
  #onVote = (request: Buffer[]): undefined => {
    const req = decodeIcanhaz(request);
    if (req instanceof ProtocolError) return undefined; // checked before it was passed on
    this.#serveSnapshot(req);
    return undefined;
  };

  #hold(update: KVMsg): void {
    const uuid = update.uuidHex;
    if (uuid === "") {
      this.#stats.unidentified++;
      malformedLog.record("passive: an update of %s without a uuid cannot be matched with the active's; not held", update.key);
      return;
    }
    if (this.#pending.hold(update, uuid, Date.now())) this.#stats.held++;
    else this.#stats.settled++;
  }

  #becomeActive(info: StateChangeInfo): void {
    const replica = this.#replica;
    this.#replica = undefined;
    if (replica !== undefined) {
      this.#store.advanceTo(replica.sequence);
      void replica.close();
    }
    this.#active = true;
    // what the old active never published, in the order it came: applied
    // and published now, with sequences after the highest this server saw
    const held = this.#pending.drain();
    const first = this.#store.sequence + 1;
    for (const p of held) this.#applyAndPublish(p.msg);
    this.#stats.republished += held.length;
    this.#lastPublish = performance.now();
    log.info("I: active (%s, was %s): %d held update(s) published from sequence %d", info.reason, info.from, held.length, first);
    this.notify("active", { ...info, republished: held.length, sequence: this.#store.sequence });
  }

  #becomePassive(info: StateChangeInfo): void {
    this.#active = false;
    log.info("I: passive (%s, was %s)", info.reason, info.from);
    this.notify("passive", info);
    if (this.#replica === undefined && this.#pair?.peer !== undefined) this.#follow();
  }

  /** The passive follows the active's map: a snapshot in the Guide's form (uuids, ttl deadlines), then its updates. */
  #follow(): void {
    const pair = this.#pair!;
    const replica = new CloneClient({
      servers: [pair.peer!],
      snapshotForm: "guide",
      serverTtlMs: pair.peerTtlMs,
      snapshotTimeoutMs: pair.peerTtlMs,
      subscribeSettleMs: Math.min(this.#hugzIntervalMs, CLONE_PEER_TTL_MS),
      resyncMaxMs: pair.peerTtlMs,
      receiveHighWaterMark: 100_000,
      ...(this.#socketSecurity.curvePublicKey !== undefined && { security: this.#peerSecurity() }),
    });
    this.#replica = replica;
    replica.on("synced", ({ sequence }) => {
      if (this.#replica !== replica) return;
      const now = Date.now();
      const entries: StoreEntry[] = [];
      const uuids: [string, string][] = [];
      for (const msg of replica.map.values()) {
        // the Guide's KVSYNC: ttl is the deadline in epoch ms
        const deadline = msg.ttl;
        let expiresAt: number | undefined;
        let stored = msg;
        if (deadline !== undefined && deadline > 0) {
          expiresAt = deadline;
          stored = msg.dup();
          stored.ttl = Math.max(0, (deadline - now) / 1000);
        }
        entries.push({ msg: stored, expiresAt });
        if (msg.uuid.length > 0) uuids.push([msg.key, msg.uuidHex]);
      }
      this.#store.reset(entries, sequence);
      const pruned = this.#pending.resynced(uuids, now);
      this.#stats.settled += pruned;
      log.info("I: passive: copy of the active's map at sequence %d (%d keys); %d held update(s) settled, %d held", sequence, entries.length, pruned, this.#pending.size);
      this.notify("resynced", { sequence, keys: entries.length, pruned });
    });
    replica.on("change", (change) => {
      if (this.#replica !== replica || change.origin !== "update") return;
      const now = Date.now();
      if (change.value === undefined) {
        this.#store.mirror(new KVMsg({ key: change.key, sequence: change.sequence }), undefined);
      } else {
        const msg = replica.map.get(change.key)!;
        const ttl = ttlSeconds(msg);
        this.#store.mirror(msg, ttl === undefined ? undefined : now + ttl * 1000);
      }
      this.#stats.settled += this.#pending.published(change.key, change.uuid, now);
    });
    replica.on("handshake-failed", ({ socket, error }) => {
      if (this.#replica === replica) handshakeLog.record("passive: cannot follow the active at %s (%s): %s; a ZAuth must allow the pair's own public key", pair.peer, socket, error.message);
    });
    void replica.start().catch((err: unknown) => {
      if (this.#replica === replica) log.warn("passive: cannot follow the active at %s: %s", pair.peer, (err as Error)?.message ?? String(err));
    });
  }

  /** The passive's replica: a CURVE client of the active with the pair's key pair, whose public key is the active's too. */
  #peerSecurity(): SecurityOptions {
    const { curveSecretKey, curvePublicKey } = this.#socketSecurity;
    return { curve: { secretKey: curveSecretKey!, publicKey: curvePublicKey!, serverKey: curvePublicKey! } };
  }

  #applyAndPublish(update: KVMsg): void {
    const published = this.#store.apply(update);
    this.#publish(published.encode());
    this.#stats.updates++;
    const ttl = published.ttl !== undefined && published.ttl > 0 ? published.ttl : undefined;
    this.notify("update", { key: published.key, sequence: published.sequence, uuid: published.uuidHex, deleted: published.size === 0, ttlSeconds: ttl });
  }

  #malformed(socket: "snapshot" | "collector", error: ProtocolError, sender: Buffer | undefined): void {
    this.#stats.malformed++;
    malformedLog.record("%s: dropped a malformed message (%s)", socket, error.message);
    this.notify("malformed", { reason: error.message, frame: error.frame, peer: sender === undefined ? undefined : peerId(sender), socket });
  }
}

function checkPeer(peer: unknown, what: string): string {
  const m = typeof peer === "string" ? /^tcp:\/\/([^\s/]+):(\d+)$/.exec(peer) : null;
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65533)) throw new InvalidArgumentError(`${what} must be the peer Clone server's "tcp://host:P" (P its snapshot port), got ${describeValue(peer)}`);
  return peer as string;
}

function readPair(options: unknown): PairConfig {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError(
      `CloneServer option bstar must be an object such as { role: "primary", local: "tcp://*:5003", remote: "tcp://backup:5004", peer: "tcp://backup:5566" }, got ${describeValue(options)}`,
    );
  }
  const o = readOptions(options as ClonePairOptions, {
    owner: "CloneServer bstar",
    known: ["role", "local", "remote", "peer", "heartbeatIntervalMs", "peerTtlMs"],
    example: '{ role: "primary", local: "tcp://*:5003", remote: "tcp://backup:5004", peer: "tcp://backup:5566" }',
  });
  if (o.raw("role") === undefined) o.fail("role", 'is required: "primary" or "backup"');
  const role = o.oneOf<BinaryStarRole>("role", ["primary", "backup"], "primary");
  const local = o.requiredString("local", "tcp://*:5003", "where this server publishes its Binary Star state (binds)");
  parseEndpoints(local, true);
  let remote: string | undefined;
  if (o.raw("remote") !== undefined) {
    remote = o.requiredString("remote", "tcp://backup:5004", "the peer's Binary Star state (connects)");
    parseEndpoints(remote, false);
  }
  const peer = o.raw("peer") === undefined ? undefined : checkPeer(o.raw("peer"), "CloneServer option bstar.peer");
  const heartbeatIntervalMs = o.number("heartbeatIntervalMs", BSTAR_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true })!;
  const peerTtlMs = o.number("peerTtlMs", CLONE_PEER_TTL_MS, { min: 0, exclusive: true })!;
  return { role, local, remote, peer, heartbeatIntervalMs, peerTtlMs };
}
