/**
 * CloneClient: the client side of 12/CHP, the Clone pattern of the ZeroMQ
 * Guide (chapter 5, the `clone` class of models 5 and 6): a local copy of a
 * Clone server's key-value map (or of one subtree of it), kept up to date,
 * surviving the loss of a server and the loss of updates. Like the Guide's
 * agent it runs on its own reactor (a ZLoop) and the application talks to
 * it through methods, events and an async iterator.
 * @module
 */
import {
  ClosedError,
  ErrorCode,
  InvalidArgumentError,
  LogBurst,
  ProtocolError,
  TimeoutError,
  ZSocket,
  abortError,
  describeValue,
  getLogger,
  now,
  readOptions,
  sleep,
  ZkitError,
  type TraceFn,
} from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { Backoff, Heartbeat, Lifecycle } from "@zkit/reliability";
import { HandshakeGuard, securitySocketOptions, type HandshakeError, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { ZLoop } from "@zkit/zloop";
import { HUGZ, KTHXBAI, decodeSnapshotReply, decodeUpdate, encodeIcanhaz, inSubtree, type CloneDialect, type Update } from "./protocol.js";

const log = getLogger("clone");
const malformedLog = new LogBurst(log, "malformed messages dropped (see stats.malformed)");
const handshakeLog = new LogBurst(log, "security handshakes failed (see stats.handshakeFailures and the handshake-failed event)");

/** Default of {@link CloneClientOptions.serverTtlMs}: the Guide's SERVER_TTL. */
export const CLONE_SERVER_TTL_MS = 5000;
/** Default of {@link CloneClientOptions.snapshotTimeoutMs}. */
export const CLONE_SNAPSHOT_TIMEOUT_MS = 5000;
/** Default of {@link CloneClientOptions.subscribeSettleMs}. */
export const CLONE_SUBSCRIBE_SETTLE_MS = 1000;
/** Default of {@link CloneClientOptions.resyncInitialMs}. */
export const CLONE_RESYNC_INITIAL_MS = 100;
/** Default of {@link CloneClientOptions.resyncMaxMs}. */
export const CLONE_RESYNC_MAX_MS = 5000;
/** Default of {@link CloneSetOptions.timeoutMs}. */
export const CLONE_SET_TIMEOUT_MS = 10_000;
/** How many servers a client knows at most (a Binary Star pair). */
export const CLONE_MAX_SERVERS = 2;

/** Options of a {@link CloneClient}. */
export interface CloneClientOptions {
  /**
   * The servers, as `tcp://host:P` (their snapshot port; updates come from
   * P + 1 and go to P + 2): one, or a pair. More can be added with
   * {@link CloneClient.connect}, up to two in all.
   * @defaultValue [] (call `connect()`)
   */
  servers?: string[];
  /**
   * The subtree to replicate: a key prefix such as `"/client/"`, or `""`
   * for the whole map.
   * @defaultValue ""
   */
  subtree?: string;
  /**
   * A server silent for this long (no update, no HUGZ) is taken for dead:
   * the client moves to the other server (or retries the same one) and
   * resyncs. Should be a few of the server's `hugzIntervalMs`.
   * @defaultValue 5000 ({@link CLONE_SERVER_TTL_MS}, the Guide's SERVER_TTL)
   */
  serverTtlMs?: number;
  /**
   * A snapshot that makes no progress for this long (no KVSYNC, no
   * KTHXBAI) is abandoned, and asked for again from the other server (or
   * the same one). Progress resets it, so a large snapshot is fine.
   * @defaultValue 5000 ({@link CLONE_SNAPSHOT_TIMEOUT_MS})
   */
  snapshotTimeoutMs?: number;
  /**
   * The longest the client waits for a first message on its subscription
   * before asking for a snapshot. Asking once the subscription carries
   * messages means no update can fall between the snapshot and the live
   * updates, also in a subtree, where the sequence cannot tell.
   * @defaultValue 1000 ({@link CLONE_SUBSCRIBE_SETTLE_MS}: the server's HUGZ interval)
   */
  subscribeSettleMs?: number;
  /**
   * The first wait before a resync that follows a failure (a gap, a silent
   * server, a snapshot that timed out); it doubles at each failure in a
   * row, up to `resyncMaxMs`, and starts over once synced. Attempts never
   * stop.
   * @defaultValue 100 ({@link CLONE_RESYNC_INITIAL_MS})
   */
  resyncInitialMs?: number;
  /**
   * The longest wait before a resync.
   * @defaultValue 5000 ({@link CLONE_RESYNC_MAX_MS})
   */
  resyncMaxMs?: number;
  /**
   * The subscriber's receive high-water mark (messages queued in the
   * client before libzmq drops): zeromq's default. A client that falls
   * behind past it, and past the server's send queue, loses updates; it
   * notices the gap and resyncs.
   * @defaultValue 1000
   */
  receiveHighWaterMark?: number;
  /**
   * Ask for snapshots in this form, with zkit's extension of ICANHAZ (a
   * third frame, see `encodeIcanhaz`): `"guide"` gets each key's uuid and
   * properties, `ttl` as an absolute deadline in epoch ms (what the passive
   * server of a pair asks its peer for). Servers other than zkit's drop
   * such a request as malformed: leave it unset for them.
   * @defaultValue undefined (a plain ICANHAZ: the server's own form)
   */
  snapshotForm?: CloneDialect;
  /**
   * How the connections to the servers are secured (`@zkit/security`): for
   * CURVE the client's key pair and the server's public key (both servers
   * of a pair share one key pair), `{ curve: { secretKey, publicKey, serverKey } }`
   * (or `cert.clientSecurity(serverCert)`); `{ plain: { username, password } }`
   * for PLAIN. The subscriber, the snapshot socket and the update
   * publisher are all CURVE (or PLAIN) clients. A handshake that fails (a
   * wrong server key, a key the server's ZAuth refuses) is reported at
   * once as a `handshake-failed` event, and `waitSynced()` and `set()`
   * reject with the `HandshakeError` instead of timing out.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's Clone servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
  /**
   * Called with every message in and out, `socket` `"snapshot"`,
   * `"subscriber"` or `"publisher"`.
   * @defaultValue undefined
   */
  trace?: TraceFn;
}

/** Per-call options of {@link CloneClient.set}. */
export interface CloneSetOptions {
  /**
   * Makes the key ephemeral: the server deletes it this many seconds after
   * it stores it (the `ttl` property).
   * @defaultValue undefined (the key stays)
   */
  ttlSeconds?: number;
  /**
   * How long the update may wait to leave, in ms: for a server's collector
   * to be connected, and for room in the collectors' queues (a server that
   * is behind makes updates wait rather than drop them).
   * @defaultValue 10000 ({@link CLONE_SET_TIMEOUT_MS})
   */
  timeoutMs?: number;
  /** Aborts the wait for a collector. @defaultValue undefined */
  signal?: AbortSignal;
}

/** One change of the client's map. */
export interface CloneChange {
  /** The key. */
  readonly key: string;
  /** The new value, or `undefined` when the key was deleted. */
  readonly value: Buffer | undefined;
  /** The value before, or `undefined` when the key was new. */
  readonly previous: Buffer | undefined;
  /** The sequence of the update (for a change found by a resync, the snapshot's key's). */
  readonly sequence: number;
  /** The uuid of the update in hex, `""` when unknown (snapshots of the RFC form carry none). */
  readonly uuid: string;
  /** `"update"`: a live update; `"snapshot"`: found by comparing a new snapshot with the map. */
  readonly origin: "update" | "snapshot";
}

/** Why a client dropped its server or its map. */
export type CloneResyncReason = "silent" | "snapshot-timeout" | "gap";

/** The events of a {@link CloneClient}. */
export interface CloneClientEvents {
  /** A subscription and snapshot request go to `server` (the first time, and every resync). */
  connecting: [info: { server: string; attempt: number }];
  /** A snapshot was applied: the map is the server's at `sequence`, live updates follow. */
  synced: [info: { server: string; sequence: number; keys: number; changes: number }];
  /** The map changed (also in {@link CloneClient.changes}). */
  change: [change: CloneChange];
  /** The current server went silent or its snapshot timed out: the client moves to `to` (may be the same with one server). */
  failover: [info: { from: string; to: string; reason: "silent" | "snapshot-timeout"; silentMs: number }];
  /** Updates were lost (sequence `expected` never came; `got` did): the client resyncs. */
  gap: [info: { server: string; expected: number; got: number }];
  /** A resync starts after `delayMs`. */
  reconnecting: [info: { delayMs: number; attempt: number; reason: CloneResyncReason }];
  /** A malformed message was dropped and counted. */
  malformed: [info: { reason: string; frame: number | undefined; peer: string | undefined; socket: "snapshot" | "subscriber" }];
  /**
   * The security handshake of one of the client's sockets with `server`
   * failed (a wrong server key, a key the server's ZAuth refuses): `error`
   * says which and what to check. Pending `waitSynced()` (subscriber,
   * snapshot) or `set()` (publisher) calls reject with it.
   */
  "handshake-failed": [info: { server: string; socket: "subscriber" | "snapshot" | "publisher"; error: HandshakeError }];
}

/** The counters of a {@link CloneClient}. */
export interface CloneClientStats {
  /** Live updates applied. */
  readonly updates: number;
  /** Updates dropped because their sequence was not above the last applied (normal around a snapshot). */
  readonly stale: number;
  /** Snapshots applied. */
  readonly snapshots: number;
  /** Gaps detected. */
  readonly gaps: number;
  /** Failovers (silent server or snapshot timeout). */
  readonly failovers: number;
  /** Updates handed to libzmq by `set()`. */
  readonly sets: number;
  /** Malformed messages dropped. */
  readonly malformed: number;
  /**
   * Connections to a collector other than the current server's that were
   * dropped and made again because that server refused updates for longer
   * than `serverTtlMs` (frozen or unreachable): the updates queued for it
   * were lost to it; its peer, the server in use, had them.
   */
  readonly collectorResets: number;
  /** Security handshakes that failed (see `handshake-failed`). */
  readonly handshakeFailures: number;
}

type SessionState = "settling" | "syncing" | "active";

/** One attempt at one server: a subscriber, a snapshot socket, and what they brought. */
interface Session {
  readonly index: number;
  readonly server: string;
  readonly sub: ZSocket<"SUB">;
  readonly snapshot: ZSocket<"DEALER">;
  /** Their handshake guards (none without security). */
  readonly guards: HandshakeGuard[];
  state: SessionState;
  /** Live updates that came before the snapshot ended, in order. */
  readonly buffered: Update[];
  /** The snapshot being received. */
  readonly incoming: Map<string, KVMsg>;
  settleTimer: number | undefined;
  snapshotTimer: number | undefined;
  lastSnapshotMessage: number;
}

interface ChangeStream {
  readonly queue: CloneChange[];
  wake: (() => void) | undefined;
  ended: boolean;
}

/**
 * A Clone client (12/CHP): a replica of a server's map, or of one subtree.
 *
 * - It subscribes first, then (once the subscription carries a message)
 *   asks for a snapshot; updates that come meanwhile are kept and applied
 *   after it, those the snapshot already holds dropped: snapshot, then live
 *   updates, with no gap.
 * - With the whole map (subtree `""`), every update must be the next
 *   sequence: a jump means updates were lost (a slow client at the
 *   high-water mark), and the client resyncs with a fresh snapshot (the
 *   Guide's client has no such check, and loses them silently). A subtree
 *   gets only its keys' sequences, so there the jump cannot be seen.
 * - A server silent for `serverTtlMs` is dropped: the client moves to the
 *   other server (or retries the same) and resyncs. A resync replaces the
 *   map by the snapshot, and the differences are reported as changes
 *   (origin `"snapshot"`): a key deleted meanwhile does not linger (the
 *   Guide's client keeps it). Retries never stop; the waits back off.
 * - `set()` sends an update to every server's collector (so the passive
 *   server of a pair knows it too); the change comes back through the
 *   subscription, with the sequence the server gave it.
 *
 * @example
 * ```ts
 * const client = new CloneClient({ subtree: "/client/" });
 * client.connect("tcp://localhost:5556");
 * client.on("change", ({ key, value }) => console.log(key, value?.toString() ?? "(deleted)"));
 * await client.start();
 * await client.set("/client/42", "hello", { ttlSeconds: 30 });
 * for await (const change of client.changes()) console.log(change.key);
 * ```
 */
export class CloneClient extends Lifecycle<CloneClientEvents> {
  readonly #servers: string[] = [];
  #subtree: string;
  readonly #serverTtlMs: number;
  readonly #snapshotTimeoutMs: number;
  readonly #settleMs: number;
  readonly #rcvhwm: number;
  readonly #snapshotForm: CloneDialect | undefined;
  readonly #security: SecuritySocketOptions | undefined;
  readonly #trace: TraceFn | undefined;
  readonly #backoff: Backoff;
  readonly #loop = new ZLoop({ nonstop: true });
  readonly #heartbeat: Heartbeat;
  #map = new Map<string, KVMsg>();
  #sequence = 0;
  #synced = false;
  #current = 0;
  #session: Session | undefined;
  #resyncTimer: number | undefined;
  #publisher: ZSocket<"XPUB"> | undefined;
  #publisherGuard: HandshakeGuard | undefined;
  /** The handshake failure of the subscriber or snapshot socket that stands (until a snapshot is applied). */
  #syncFailure: HandshakeError | undefined;
  /** The handshake failure of the update publisher that stands (until a collector subscribes). */
  #setFailure: HandshakeError | undefined;
  #collectors = 0;
  #collectorWaiters: (() => void)[] = [];
  #syncedWaiters: (() => void)[] = [];
  readonly #streams = new Set<ChangeStream>();
  #attempt = 0;
  #outbox: { frames: Buffer[]; deadline: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #outboxHead = 0;
  #draining = false;
  #stats = { updates: 0, stale: 0, snapshots: 0, gaps: 0, failovers: 0, sets: 0, malformed: 0, collectorResets: 0, handshakeFailures: 0 };

  /**
   * @param options - see {@link CloneClientOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: CloneClientOptions = {}) {
    super({ owner: "CloneClient", channel: "zkit:clone:client", closeOnInterrupt: true });
    const o = readOptions(options, {
      owner: "CloneClient",
      known: ["servers", "subtree", "serverTtlMs", "snapshotTimeoutMs", "subscribeSettleMs", "resyncInitialMs", "resyncMaxMs", "receiveHighWaterMark", "snapshotForm", "security", "trace"],
      example: '{ servers: ["tcp://localhost:5556"], subtree: "/client/" }',
    });
    const servers = o.raw("servers") ?? [];
    if (!Array.isArray(servers)) o.fail("servers", `must be an array of "tcp://host:port" strings, got ${describeValue(servers)}`);
    const subtree = o.raw("subtree") ?? "";
    if (typeof subtree !== "string") o.fail("subtree", `must be a string, a key prefix such as "/client/" or "" for every key, got ${describeValue(subtree)}`);
    this.#subtree = subtree as string;
    this.#serverTtlMs = o.number("serverTtlMs", CLONE_SERVER_TTL_MS, { min: 0, exclusive: true });
    this.#snapshotTimeoutMs = o.number("snapshotTimeoutMs", CLONE_SNAPSHOT_TIMEOUT_MS, { min: 0, exclusive: true });
    this.#settleMs = o.number("subscribeSettleMs", CLONE_SUBSCRIBE_SETTLE_MS, { min: 0 });
    const initialMs = o.number("resyncInitialMs", CLONE_RESYNC_INITIAL_MS, { min: 0 });
    const maxMs = o.number("resyncMaxMs", CLONE_RESYNC_MAX_MS, { min: 0 });
    if (maxMs < initialMs) o.fail("resyncMaxMs", `(${maxMs}) must be >= resyncInitialMs (${initialMs})`);
    this.#rcvhwm = o.number("receiveHighWaterMark", 1000, { min: 0, integer: true });
    const form = o.raw("snapshotForm");
    if (form !== undefined && form !== "rfc" && form !== "guide") o.fail("snapshotForm", `must be "rfc" or "guide" (or left out), got ${describeValue(form)}`);
    this.#snapshotForm = form as CloneDialect | undefined;
    const security = o.raw("security") as SecurityOptions | undefined;
    if (security !== undefined) this.#security = securitySocketOptions(security, { owner: "CloneClient", role: "client" });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#backoff = new Backoff({ initialMs, maxMs, jitter: 0.1 });
    this.#heartbeat = new Heartbeat({
      intervalMs: this.#serverTtlMs / 5,
      liveness: 5,
      onBeat: () => {},
      onLost: (silentMs) => this.#onSilent(silentMs),
    });
    for (const s of servers as unknown[]) this.connect(s as string);
  }

  /**
   * Adds a server, `tcp://host:P` (the Guide's `clone_connect`): up to two,
   * a Binary Star pair. Works before and after `start()`.
   * @throws `InvalidArgumentError` for a bad endpoint or a third server;
   *   `ClosedError` once closed
   */
  connect(endpoint: string): void {
    this.assertOpen("CloneClient.connect");
    const m = typeof endpoint === "string" ? /^tcp:\/\/([^\s/]+):(\d+)$/.exec(endpoint) : null;
    const port = m === null ? NaN : Number(m[2]);
    if (m === null || !(port >= 1 && port <= 65533)) {
      throw new InvalidArgumentError(
        `CloneClient.connect(endpoint): endpoint must be "tcp://host:P", P being the server's snapshot port (1 to 65533: updates come from P + 1, go to P + 2), got ${describeValue(endpoint)}`,
      );
    }
    if (this.#servers.length >= CLONE_MAX_SERVERS)
      throw new InvalidArgumentError(`CloneClient.connect: a client knows at most ${CLONE_MAX_SERVERS} servers (a Binary Star pair); it has ${this.#servers.join(", ")}`);
    this.#servers.push(endpoint);
    if (this.running) {
      this.#publisher!.connect(offset(endpoint, 2));
      if (this.#session === undefined && this.#resyncTimer === undefined) this.#open(this.#servers.length - 1);
    }
  }

  /**
   * Sets the subtree to replicate (the Guide's `clone_subtree`), before `start()`.
   * @throws `ZKIT_STATE` once started
   */
  subtree(prefix: string): void {
    if (this.state !== "new") throw new InvalidArgumentError("CloneClient.subtree: set the subtree before start() (or with the subtree option)");
    if (typeof prefix !== "string") throw new InvalidArgumentError(`CloneClient.subtree(prefix): prefix must be a string such as "/client/", got ${describeValue(prefix)}`);
    this.#subtree = prefix;
  }

  /** The subtree replicated (`""`: the whole map). */
  get subtreePrefix(): string {
    return this.#subtree;
  }

  /** The servers known, in order. */
  get servers(): readonly string[] {
    return this.#servers;
  }

  /** The server it follows now, or `""`. */
  get server(): string {
    return this.#servers[this.#current] ?? "";
  }

  /** True while the map is a server's (a snapshot was applied and no resync is under way). */
  get synced(): boolean {
    return this.#synced;
  }

  /** The sequence of the last update applied. */
  get sequence(): number {
    return this.#sequence;
  }

  /** The map: each key's last message (with its sequence, uuid and properties). Read-only. */
  get map(): ReadonlyMap<string, KVMsg> {
    return this.#map;
  }

  /** Keys held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, or `undefined` (the Guide's `clone_get`). */
  get(key: string): Buffer | undefined {
    return this.#map.get(key)?.body;
  }

  /** The counters (a snapshot). */
  get stats(): CloneClientStats {
    return { ...this.#stats };
  }

  /**
   * Sends an update (the Guide's `clone_set`): `value` for `key`, an empty
   * value deletes it. It goes to every server's collector; the change comes
   * back through the subscription. Waits (up to `timeoutMs`) until a
   * server's collector is connected, so the update is not dropped by a
   * subscription still on its way. Starts the client if needed.
   * @returns the update's uuid in hex (the `uuid` of its change)
   * @throws `InvalidArgumentError` for a bad key (outside the subtree) or
   *   value; `TimeoutError` when no collector connects in time;
   *   `HandshakeError` (of `@zkit/security`) when the publisher's security
   *   handshake with a collector failed and none is connected;
   *   `AbortError`; `ClosedError`
   */
  async set(key: string, value: Buffer | string, options: CloneSetOptions = {}): Promise<string> {
    this.assertOpen("CloneClient.set");
    if (typeof key !== "string" || key === "" || key === HUGZ || key === KTHXBAI)
      throw new InvalidArgumentError(`CloneClient.set(key, value): key must be a non-empty string (not "HUGZ" or "KTHXBAI"), got ${describeValue(key)}`);
    if (!inSubtree(key, this.#subtree))
      throw new InvalidArgumentError(`CloneClient.set: key ${JSON.stringify(key)} is outside this client's subtree ${JSON.stringify(this.#subtree)}; a client sets keys it replicates`);
    if (typeof value !== "string" && !Buffer.isBuffer(value)) throw new InvalidArgumentError(`CloneClient.set(key, value): value must be a Buffer or a string, got ${describeValue(value)}`);
    const o = readOptions(options, { owner: "CloneClient.set", known: ["ttlSeconds", "timeoutMs", "signal"] });
    const ttl = o.number("ttlSeconds", undefined, { min: 0, exclusive: true });
    const timeoutMs = o.number("timeoutMs", CLONE_SET_TIMEOUT_MS, { min: 0, infinity: true });
    const signal = o.signal("signal");
    const msg = new KVMsg({ key, body: value });
    msg.setUuid();
    if (ttl !== undefined) msg.ttl = ttl;
    await this.start();
    if (this.#collectors === 0)
      await this.#waitFor(
        this.#collectorWaiters,
        () => this.#collectors > 0,
        () => this.#setFailure,
        timeoutMs,
        signal,
        "a Clone server's collector to connect",
      );
    this.assertOpen("CloneClient.set");
    const frames = msg.encode();
    await new Promise<void>((resolve, reject) => {
      this.#outbox.push({ frames, deadline: now() + timeoutMs, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
    return msg.uuidHex;
  }

  /**
   * Sends the updates in order, one at a time. A collector that is behind
   * makes the XPUB refuse a message (noDrop): it is tried again after a
   * short wait, up to its deadline, and the ones after it wait their turn,
   * so updates are never reordered or dropped by this client. When the
   * refusals last longer than `serverTtlMs` and the client knows another
   * server, the collectors of the servers it is not using are reconnected
   * (#resetIdleCollectors): a frozen passive then stops holding back the
   * updates for the active.
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    let waitMs = 1;
    let blockedSince: number | undefined;
    while (this.#outboxHead < this.#outbox.length) {
      const item = this.#outbox[this.#outboxHead]!;
      if (this.closed) {
        this.#outbox[this.#outboxHead++] = undefined as never;
        item.reject(new ClosedError("CloneClient.set: it was closed before the update left"));
        continue;
      }
      try {
        await this.#publisher!.send(item.frames);
      } catch (err) {
        if (!this.closed && now() < item.deadline && err instanceof ZkitError && err.code === ErrorCode.Timeout) {
          blockedSince ??= now();
          if (now() - blockedSince > this.#serverTtlMs && this.#servers.length > 1) {
            this.#resetIdleCollectors();
            blockedSince = now();
          }
          await sleep(waitMs);
          waitMs = Math.min(waitMs * 2, 50);
          continue;
        }
        this.#outbox[this.#outboxHead++] = undefined as never;
        item.reject(
          err instanceof ZkitError && err.code === ErrorCode.Timeout
            ? new TimeoutError("CloneClient.set: the servers' collectors took no update before the deadline (a server stopped reading?)", { cause: err })
            : err,
        );
        continue;
      }
      waitMs = 1;
      blockedSince = undefined;
      this.#outbox[this.#outboxHead++] = undefined as never;
      this.#trace?.({ direction: "out", socket: "publisher", frames: item.frames });
      this.#stats.sets++;
      item.resolve();
      if (this.#outboxHead >= 1024 && this.#outboxHead * 2 >= this.#outbox.length) {
        this.#outbox.splice(0, this.#outboxHead);
        this.#outboxHead = 0;
      }
    }
    this.#outbox.length = 0;
    this.#outboxHead = 0;
    this.#draining = false;
  }

  /** Deletes `key` (sends an empty value): `set(key, "")`. */
  delete(key: string, options: Omit<CloneSetOptions, "ttlSeconds"> = {}): Promise<string> {
    return this.set(key, Buffer.alloc(0), options);
  }

  /**
   * Resolves once the map holds a server's snapshot (at once if it does).
   * Starts the client if needed.
   * @throws (rejects) `TimeoutError` after `timeoutMs`; `HandshakeError`
   *   (of `@zkit/security`) when the security handshake with the server
   *   failed, or had failed and no snapshot came since; `AbortError`; `ClosedError`
   */
  async waitSynced(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const o = readOptions(options, { owner: "CloneClient.waitSynced", known: ["timeoutMs", "signal"] });
    const timeoutMs = o.number("timeoutMs", Infinity, { min: 0, infinity: true });
    const signal = o.signal("signal");
    await this.start();
    if (!this.#synced)
      await this.#waitFor(
        this.#syncedWaiters,
        () => this.#synced,
        () => this.#syncFailure,
        timeoutMs,
        signal,
        "a snapshot from a Clone server",
      );
  }

  /**
   * The changes of the map from now on, as an async iterator (one queue per
   * call; it buffers what its consumer has not read yet). It ends when the
   * client closes or `signal` aborts.
   */
  changes(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<CloneChange> {
    const signal = readOptions(options, { owner: "CloneClient.changes", known: ["signal"] }).signal("signal");
    const stream: ChangeStream = { queue: [], wake: undefined, ended: this.closed };
    this.#streams.add(stream);
    const end = (): void => {
      stream.ended = true;
      this.#streams.delete(stream);
      stream.wake?.();
    };
    signal?.addEventListener("abort", end, { once: true });
    let head = 0;
    const iterator: AsyncIterableIterator<CloneChange> = {
      next: async () => {
        for (;;) {
          if (head < stream.queue.length) {
            const value = stream.queue[head++]!;
            if (head > 1024 && head * 2 > stream.queue.length) {
              stream.queue.splice(0, head);
              head = 0;
            }
            return { value, done: false };
          }
          if (stream.ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (stream.wake = resolve));
          stream.wake = undefined;
        }
      },
      return: async () => {
        end();
        signal?.removeEventListener("abort", end);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** The changes, from now on: `for await (const change of client)`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<CloneChange> {
    return this.changes();
  }

  /** Opens the collector connections and the first session (what `start()` does). */
  protected async onStart(): Promise<void> {
    // XPUB, verbose: each server's collector subscription is seen, so an
    // update is never sent before one is there to take it
    // noDrop: a collector that is behind refuses the update (EAGAIN) instead
    // of dropping it at the high-water mark, and #drain tries again;
    // immediate: a server that is down has no queue to fill and block the others.
    // No ZMTP heartbeat here: a server that is slow to read (a loaded
    // machine) leaves the client's PING unread behind the updates, and a
    // heartbeat timeout would drop the connection with every update queued
    // in it (measured: 15,195 of 20,000 lost at a load average of 16). A
    // frozen server that is not the one in use is reconnected by #drain
    // instead; TCP keepalive (answered by the peer's kernel, even for a slow
    // process) ends connections to a machine that is gone.
    const idleS = Math.max(1, Math.ceil(this.#serverTtlMs / 1000));
    this.#publisher = new ZSocket("XPUB", {
      ...this.#security,
      verbosity: "allSubs",
      noDrop: true,
      immediate: true,
      tcpKeepalive: 1,
      tcpKeepaliveIdle: idleS,
      tcpKeepaliveInterval: idleS,
      tcpKeepaliveCount: 3,
    });
    // the guard watches before the socket connects: libzmq reports only what happens after
    if (this.#security !== undefined) this.#publisherGuard = new HandshakeGuard(this.#publisher, { onFailure: (err) => this.#handshakeFailed("publisher", err) });
    for (const s of this.#servers) this.#publisher.connect(offset(s, 2));
    this.#loop.reader(this.#publisher, this.#onCollectorSubscription);
    this.#heartbeat.start(this.#loop);
    this.#loop.start().catch((err: unknown) => this.fail(err));
    if (this.#servers.length > 0) this.#open(0);
  }

  /** Closes every socket; iterators end, waits reject with `ClosedError`. */
  protected onClose(): void {
    this.#heartbeat.stop();
    this.#loop.destroy();
    this.#closeSession();
    this.#publisherGuard?.close();
    this.#publisher?.close();
    for (const s of [...this.#streams]) {
      s.ended = true;
      s.wake?.();
    }
    this.#streams.clear();
    for (const w of [...this.#collectorWaiters, ...this.#syncedWaiters]) w();
    this.#collectorWaiters = [];
    this.#syncedWaiters = [];
  }

  // ------------------------------------------------------------ sessions

  #open(index: number): void {
    this.#closeSession();
    if (this.closed) return;
    const server = this.#servers[index]!;
    this.#current = index;
    this.#attempt++;
    const sub = new ZSocket("SUB", { ...this.#security, receiveHighWaterMark: this.#rcvhwm, linger: 0 });
    sub.subscribe(this.#subtree);
    if (this.#subtree !== "" && !inSubtree(HUGZ, this.#subtree)) sub.subscribe(HUGZ);
    const snapshot = new ZSocket("DEALER", { ...this.#security, linger: 0 });
    const guards: HandshakeGuard[] = [];
    if (this.#security !== undefined) {
      // before the sockets connect: libzmq reports only what happens after
      guards.push(new HandshakeGuard(sub, { onFailure: (err) => this.#sessionHandshakeFailed(session, "subscriber", err) }));
      guards.push(new HandshakeGuard(snapshot, { onFailure: (err) => this.#sessionHandshakeFailed(session, "snapshot", err) }));
    }
    sub.connect(offset(server, 1));
    snapshot.connect(server);
    const session: Session = {
      index,
      server,
      sub,
      snapshot,
      guards,
      state: "settling",
      buffered: [],
      incoming: new Map(),
      settleTimer: undefined,
      snapshotTimer: undefined,
      lastSnapshotMessage: 0,
    };
    this.#session = session;
    this.#loop.reader(sub, (msg) => this.#onSubscriber(session, msg));
    this.#loop.reader(snapshot, (msg) => this.#onSnapshot(session, msg));
    session.settleTimer = this.#loop.timer(Math.max(this.#settleMs, 1), 1, () => {
      session.settleTimer = undefined;
      this.#requestSnapshot(session);
    });
    this.#heartbeat.reset();
    log.debug("connecting to %s (attempt %d)", server, this.#attempt);
    this.notify("connecting", { server, attempt: this.#attempt });
  }

  #closeSession(): void {
    const s = this.#session;
    if (s === undefined) return;
    this.#session = undefined;
    if (s.settleTimer !== undefined) this.#loop.timerEnd(s.settleTimer);
    if (s.snapshotTimer !== undefined) this.#loop.timerEnd(s.snapshotTimer);
    this.#loop.readerEnd(s.sub);
    this.#loop.readerEnd(s.snapshot);
    for (const g of s.guards) g.close();
    s.sub.close();
    s.snapshot.close();
  }

  #requestSnapshot(s: Session): void {
    if (this.#session !== s || s.state !== "settling") return;
    if (s.settleTimer !== undefined) this.#loop.timerEnd(s.settleTimer);
    s.settleTimer = undefined;
    s.state = "syncing";
    s.lastSnapshotMessage = now();
    const frames = encodeIcanhaz(this.#subtree, this.#snapshotForm);
    this.#trace?.({ direction: "out", socket: "snapshot", frames });
    void s.snapshot.send(frames).catch(() => {});
    const check = Math.max(1, Math.min(this.#snapshotTimeoutMs / 4, 250));
    s.snapshotTimer = this.#loop.timer(check, 0, () => {
      if (this.#session === s && s.state === "syncing" && now() - s.lastSnapshotMessage > this.#snapshotTimeoutMs) {
        this.#failover("snapshot-timeout", now() - s.lastSnapshotMessage);
      }
    });
  }

  #onSubscriber(s: Session, msg: Buffer[]): void {
    if (this.#session !== s) return;
    this.#trace?.({ direction: "in", socket: "subscriber", frames: msg });
    this.#heartbeat.heard();
    const u = decodeUpdate(msg);
    if (u instanceof ProtocolError) {
      this.#malformed("subscriber", u);
      return;
    }
    if (s.state === "active") {
      this.#applyUpdate(s, u);
      return;
    }
    s.buffered.push(u);
    // the subscription carries messages: a snapshot asked for now misses nothing
    if (s.state === "settling") this.#requestSnapshot(s);
  }

  #onSnapshot(s: Session, msg: Buffer[]): void {
    if (this.#session !== s || s.state !== "syncing") return; // a late answer to an abandoned request
    this.#trace?.({ direction: "in", socket: "snapshot", frames: msg });
    s.lastSnapshotMessage = now();
    const r = decodeSnapshotReply(msg);
    if (r instanceof ProtocolError) {
      this.#malformed("snapshot", r);
      return;
    }
    if (r.kind === "kvsync") {
      // a KVSYNC of the Guide's form carries ttl as a deadline: not ours to keep
      if (r.msg.size > 0 && inSubtree(r.msg.key, this.#subtree)) s.incoming.set(r.msg.key, r.msg);
      return;
    }
    this.#finishSync(s, r.sequence);
  }

  #finishSync(s: Session, sequence: number): void {
    if (s.snapshotTimer !== undefined) this.#loop.timerEnd(s.snapshotTimer);
    s.snapshotTimer = undefined;
    s.state = "active";
    const old = this.#map;
    this.#map = s.incoming;
    this.#sequence = sequence;
    this.#synced = true;
    this.#syncFailure = undefined;
    this.#stats.snapshots++;
    this.#backoff.reset();
    this.#heartbeat.reset();
    // the differences between the old map and the snapshot are changes too
    let changes = 0;
    for (const [key, msg] of this.#map) {
      const before = old.get(key);
      if (before === undefined || !before.body.equals(msg.body)) {
        changes++;
        this.#emitChange({ key, value: msg.body, previous: before?.body, sequence: msg.sequence, uuid: msg.uuidHex, origin: "snapshot" });
      }
    }
    for (const [key, before] of old) {
      if (!this.#map.has(key)) {
        changes++;
        this.#emitChange({ key, value: undefined, previous: before.body, sequence: sequence, uuid: "", origin: "snapshot" });
      }
    }
    log.debug("synced with %s at sequence %d: %d key(s), %d change(s)", s.server, sequence, this.#map.size, changes);
    this.notify("synced", { server: s.server, sequence, keys: this.#map.size, changes });
    const waiters = this.#syncedWaiters;
    this.#syncedWaiters = [];
    for (const w of waiters) w();
    // the live updates that came meanwhile, in order; those the snapshot holds are dropped
    const buffered = s.buffered.splice(0);
    for (const u of buffered) {
      if (this.#session !== s) break; // a gap among them started a resync
      this.#applyUpdate(s, u);
    }
  }

  #applyUpdate(s: Session, u: Update): void {
    const whole = this.#subtree === "";
    if (u.kind === "hugz") {
      // the Guide's HUGZ carries the server's sequence: behind it means lost updates
      if (whole && u.sequence > this.#sequence) this.#gap(s, this.#sequence + 1, u.sequence);
      return;
    }
    const msg = u.msg;
    if (msg.sequence <= this.#sequence) {
      this.#stats.stale++;
      return;
    }
    if (whole && msg.sequence !== this.#sequence + 1) {
      this.#gap(s, this.#sequence + 1, msg.sequence);
      return;
    }
    this.#sequence = msg.sequence;
    if (!inSubtree(msg.key, this.#subtree)) return;
    const before = this.#map.get(msg.key);
    if (msg.size === 0) {
      if (before === undefined) return;
      this.#map.delete(msg.key);
    } else {
      this.#map.set(msg.key, msg);
    }
    this.#stats.updates++;
    this.#emitChange({ key: msg.key, value: msg.size === 0 ? undefined : msg.body, previous: before?.body, sequence: msg.sequence, uuid: msg.uuidHex, origin: "update" });
  }

  #gap(s: Session, expected: number, got: number): void {
    this.#stats.gaps++;
    log.warn("updates lost from %s: expected sequence %d, got %d; resyncing", s.server, expected, got);
    this.notify("gap", { server: s.server, expected, got });
    this.#resync(this.#current, "gap");
  }

  #onSilent(silentMs: number): void {
    const s = this.#session;
    if (s === undefined || s.state === "syncing") return; // a snapshot in progress has its own deadline
    this.#failover("silent", silentMs);
  }

  #failover(reason: "silent" | "snapshot-timeout", silentMs: number): void {
    const from = this.server;
    const to = (this.#current + 1) % this.#servers.length;
    this.#stats.failovers++;
    log.warn("server %s %s (%d ms): moving to %s", from, reason === "silent" ? "silent" : "sent no snapshot", Math.round(silentMs), this.#servers[to]);
    this.notify("failover", { from, to: this.#servers[to]!, reason, silentMs });
    this.#resync(to, reason);
  }

  #resync(index: number, reason: CloneResyncReason): void {
    this.#closeSession();
    this.#synced = false;
    const delayMs = Math.round(this.#backoff.next());
    this.notify("reconnecting", { delayMs, attempt: this.#backoff.attempt, reason });
    if (this.#resyncTimer !== undefined) this.#loop.timerEnd(this.#resyncTimer);
    this.#resyncTimer = this.#loop.timer(Math.max(delayMs, 1), 1, () => {
      this.#resyncTimer = undefined;
      this.#open(index);
    });
  }

  // --------------------------------------------------------------- misc

  /**
   * Drops and makes again the collector connection of every server but the
   * one in use. Their queued updates are lost to them (the server in use
   * has its copy); a frozen server's new connection gets no queue until its
   * handshake completes (`immediate`), so it blocks nothing.
   */
  #resetIdleCollectors(): void {
    const publisher = this.#publisher;
    if (publisher === undefined) return;
    for (const [i, server] of this.#servers.entries()) {
      if (i === this.#current) continue;
      const endpoint = offset(server, 2);
      try {
        publisher.disconnect(endpoint);
      } catch {
        // not connected at the moment: nothing queued for it
      }
      publisher.connect(endpoint);
      this.#stats.collectorResets++;
      log.warn(
        "the collector of %s took no update for %d ms while %s is in use; reconnected to it (updates queued for it are lost to it)",
        server,
        this.#serverTtlMs,
        this.#servers[this.#current],
      );
    }
  }

  #onCollectorSubscription = (msg: Buffer[]): void => {
    const f = msg[0];
    if (f !== undefined && f.length >= 1 && f[0] === 1) {
      this.#collectors++;
      this.#setFailure = undefined;
      const waiters = this.#collectorWaiters;
      this.#collectorWaiters = [];
      for (const w of waiters) w();
    }
  };

  #sessionHandshakeFailed(s: Session, socket: "subscriber" | "snapshot", err: HandshakeError): void {
    if (this.#session !== s) return;
    this.#syncFailure = err;
    this.#reportHandshake(s.server, socket, err);
    const waiters = this.#syncedWaiters;
    this.#syncedWaiters = [];
    for (const w of waiters) w();
  }

  #handshakeFailed(socket: "publisher", err: HandshakeError): void {
    if (this.closed) return;
    this.#setFailure = err;
    const server = this.#servers.find((s) => offset(s, 2) === err.endpoint) ?? err.endpoint;
    this.#reportHandshake(server, socket, err);
    const waiters = this.#collectorWaiters;
    this.#collectorWaiters = [];
    for (const w of waiters) w();
  }

  #reportHandshake(server: string, socket: "subscriber" | "snapshot" | "publisher", error: HandshakeError): void {
    this.#stats.handshakeFailures++;
    handshakeLog.record("CloneClient %s to %s: %s", socket, server, error.message);
    this.notify("handshake-failed", { server, socket, error });
  }

  #emitChange(change: CloneChange): void {
    for (const s of this.#streams) {
      s.queue.push(change);
      s.wake?.();
    }
    this.notify("change", change);
  }

  #malformed(socket: "snapshot" | "subscriber", error: ProtocolError): void {
    this.#stats.malformed++;
    malformedLog.record("%s: dropped a malformed message (%s)", socket, error.message);
    this.notify("malformed", { reason: error.message, frame: error.frame, peer: this.server, socket });
  }

  /** Waits until `ready()` after a wake-up on `list`, or rejects on the deadline, the signal, close, or a handshake failure that stands (`failure()`). */
  async #waitFor(list: (() => void)[], ready: () => boolean, failure: () => HandshakeError | undefined, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    const error = new TimeoutError(`CloneClient: timed out after ${timeoutMs} ms waiting for ${what}`);
    if (signal?.aborted) throw abortError("CloneClient", signal);
    const failed = failure();
    if (failed !== undefined) throw failed;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: unknown): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (err !== undefined) reject(err);
        else resolve();
      };
      const onAbort = (): void => done(abortError("CloneClient", signal!));
      const wake = (): void => {
        if (this.closed) done(new ClosedError("CloneClient: it was closed while waiting"));
        else if (ready()) done();
        else if (failure() !== undefined) done(failure());
        else list.push(wake);
      };
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => done(error), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(wake);
    });
  }
}

/** `tcp://host:P` with P + `n`. */
function offset(endpoint: string, n: number): string {
  const i = endpoint.lastIndexOf(":");
  return `${endpoint.slice(0, i)}:${Number(endpoint.slice(i + 1)) + n}`;
}
