/**
 * Titanic: the 9/TSP server. Three Majordomo workers (`titanic.request`,
 * `titanic.reply`, `titanic.close`) in front of a durable store, and a
 * dispatcher that forwards stored requests to their services whenever a
 * worker serves them.
 * @module
 */
import { randomUUID } from "node:crypto";
import { ClosedError, ProtocolError, TimeoutError, connectEndpoints, getLogger, readOptions, type TraceEvent, type TraceFn } from "@zkit/core";
import { Lifecycle } from "@zkit/reliability";
import { MMI_OK, MMI_SERVICE, MajordomoAsyncClient, MajordomoWorker, type MajordomoReply } from "@zkit/mdp";
import { securitySocketOptions, type HandshakeError, type SecurityOptions } from "@zkit/security";
import { Dispatcher, type ForwardResult } from "./dispatcher.js";
import {
  TITANIC_CLOSE,
  TITANIC_REPLY,
  TITANIC_REQUEST,
  decodeRequestBody,
  decodeUuidBody,
  encodeAccepted,
  encodeClosed,
  encodeError,
  encodePending,
  encodeReplyFound,
  encodeUnknown,
} from "./protocol.js";
import { TitanicState, type Entry } from "./state.js";
import { TitanicStore, type CorruptFile, type TitanicDurability } from "./store.js";

const log = getLogger("titanic");

/** Default of {@link TitanicOptions.dir}. */
export const TITANIC_DIR = ".titanic";
/** Default of {@link TitanicOptions.dispatchIntervalMs}. */
export const TITANIC_DISPATCH_INTERVAL_MS = 1000;
/** Default of {@link TitanicOptions.dispatchTimeoutMs}. */
export const TITANIC_DISPATCH_TIMEOUT_MS = 10_000;
/** Default of {@link TitanicOptions.mmiTimeoutMs}. */
export const TITANIC_MMI_TIMEOUT_MS = 2500;
/** Default of {@link TitanicOptions.dispatchConcurrency}. */
export const TITANIC_DISPATCH_CONCURRENCY = 16;
/** Default of {@link TitanicOptions.durability}: a 200 survives a crash of the machine. */
export const TITANIC_DURABILITY: TitanicDurability = "fsync";
/** Default of {@link TitanicOptions.requestConcurrency}. */
export const TITANIC_REQUEST_CONCURRENCY = 8;
/** Default of {@link TitanicOptions.maxRequestBytes}: 16 MiB. */
export const TITANIC_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Options of {@link Titanic}. */
export interface TitanicOptions {
  /** The Majordomo broker: `"tcp://host:5555"` (connects); a CZMQ endpoint list. */
  endpoint: string;
  /**
   * The storage directory, created if missing. One Titanic per directory.
   * @defaultValue ".titanic"
   */
  dir?: string;
  /**
   * The heartbeat interval of Titanic's three workers with the broker, in
   * ms; use the broker's value.
   * @defaultValue 2500
   */
  heartbeatIntervalMs?: number;
  /**
   * Heartbeat intervals of broker silence before the workers reconnect.
   * @defaultValue 3
   */
  liveness?: number;
  /**
   * How long the workers wait before reconnecting to a lost broker, in ms.
   * @defaultValue 2500
   */
  reconnectMs?: number;
  /**
   * How often the dispatcher retries pending requests whose service had no
   * worker, in ms (it also runs at once when a request is stored). An
   * `mmi.service` 200 is trusted for this long.
   * @defaultValue 1000
   */
  dispatchIntervalMs?: number;
  /**
   * How long a forwarded request may wait for its service's reply, in ms;
   * after that it stays pending and is forwarded again later (the service
   * may then see it twice).
   * @defaultValue 10000
   */
  dispatchTimeoutMs?: number;
  /**
   * How long to wait for the broker's answer to `mmi.service`, in ms.
   * @defaultValue 2500
   */
  mmiTimeoutMs?: number;
  /**
   * The most requests forwarded at once (each on its own connection).
   * @defaultValue 16
   */
  dispatchConcurrency?: number;
  /**
   * How durable a request is when Titanic answers its `200`: `"fsync"`
   * survives a crash of the machine (the file and the directory are
   * fsynced first; writes that run together share the fsyncs), `"write"` a
   * crash of the Titanic process only (no fsync; the Guide's C titanic
   * works this way). The same holds for stored replies.
   * @defaultValue "fsync" ({@link TITANIC_DURABILITY}): a store that answers
   * 200 promises the request is kept, and only an fsync keeps that promise
   * through a power loss
   */
  durability?: TitanicDurability;
  /**
   * How many `titanic.request` messages are stored at once. 7/MDP gives a
   * worker one request at a time, so Titanic registers this many
   * `titanic.request` workers with the broker; requests that are stored
   * together share their fsyncs (group commit), so many clients are served
   * several times faster than one at a time.
   * @defaultValue 8 ({@link TITANIC_REQUEST_CONCURRENCY}): with fsync at a
   * few ms, 8 writes in flight are where this machine kind's gain levels off
   */
  requestConcurrency?: number;
  /**
   * The largest request `titanic.request` accepts, in bytes (frames summed);
   * a larger one is answered `400`.
   * @defaultValue 16777216 (16 MiB)
   */
  maxRequestBytes?: number;
  /**
   * Called with every message Titanic sends or receives; `socket` is the
   * worker's service (`"titanic.request"`, ...) or `"dispatcher"`.
   */
  trace?: TraceFn;
  /**
   * How Titanic's connections to the broker are secured (`@zkit/security`):
   * Titanic is a client of the broker (three workers and a dispatching
   * client), so CURVE needs its key pair and the broker's public key,
   * `{ curve: { secretKey, publicKey, serverKey } }` (or
   * `cert.clientSecurity(brokerKey)`). A handshake that fails is reported
   * as `handshake-failed` (and logged); the workers try again after their
   * back-off, and a dispatch that failed stays pending.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The counters of a {@link Titanic}. */
export interface TitanicStats {
  /** Requests stored and acknowledged with 200 by `titanic.request`. */
  requests: number;
  /** `titanic.reply` calls. */
  polls: number;
  /** `titanic.close` calls. */
  closes: number;
  /** Requests forwarded to their service (a request may be forwarded more than once). */
  dispatched: number;
  /** Replies stored. */
  replies: number;
  /** Forwards whose reply did not come within `dispatchTimeoutMs`. */
  dispatchTimeouts: number;
  /** Pending requests found in the directory at start. */
  recovered: number;
  /** Damaged files found (at start or later), moved to `corrupt/`. */
  corrupt: number;
  /** Malformed requests to the titanic.* services, answered 400. */
  malformed: number;
  /** Reads or writes that failed (answered 500, or retried later). */
  storageErrors: number;
  /** Gauge: requests stored and not answered yet. */
  pending: number;
  /** Gauge: requests known (pending or answered, not closed). */
  stored: number;
}

/** The events of a {@link Titanic}. */
export interface TitanicEvents {
  /** A request was stored durably (its 200 is on its way). */
  stored: [info: { uuid: string; service: string }];
  /** A pending request was forwarded to its service. */
  dispatched: [info: { uuid: string; service: string }];
  /** The reply of a request was stored durably. */
  replied: [info: { uuid: string; service: string }];
  /** A client closed a request (`known`: it was stored). */
  closed: [info: { uuid: string; known: boolean }];
  /** A damaged or truncated file was found and moved aside. */
  corrupt: [info: CorruptFile];
  /** A malformed request to a titanic.* service was answered 400. */
  malformed: [info: { service: string; reason: string; frame: number | undefined }];
  /** A read or write of the store failed. */
  "storage-error": [info: { operation: string; uuid: string | undefined; error: Error }];
  /** A security handshake with the broker failed (a wrong broker key, a key its ZAuth refuses): `service` is the titanic.* worker that tried. */
  "handshake-failed": [info: { service: string; error: HandshakeError }];
}

const OPTION_NAMES = [
  "endpoint",
  "dir",
  "heartbeatIntervalMs",
  "liveness",
  "reconnectMs",
  "dispatchIntervalMs",
  "dispatchTimeoutMs",
  "mmiTimeoutMs",
  "dispatchConcurrency",
  "maxRequestBytes",
  "durability",
  "requestConcurrency",
  "trace",
  "security",
] as const;

interface Config {
  heartbeatIntervalMs: number | undefined;
  liveness: number | undefined;
  reconnectMs: number | undefined;
  dispatchIntervalMs: number;
  dispatchTimeoutMs: number;
  mmiTimeoutMs: number;
  dispatchConcurrency: number;
  maxRequestBytes: number;
  requestConcurrency: number;
}

/**
 * A Titanic server (9/TSP over 7/MDP; the Guide's "Disconnected
 * Reliability"): clients hand it requests through the broker and fetch the
 * replies later, whether or not the target service was up at the time.
 *
 * - `titanic.request` `[service][body...]` stores the request durably
 *   (written, fsynced, renamed, directory fsynced) and only then answers
 *   `["200"][uuid]`.
 * - `titanic.reply` `[uuid]` answers `["200"][body...]`, `["300"]` while the
 *   request is pending, `["400"]` for an unknown uuid; it never deletes.
 * - `titanic.close` `[uuid]` forgets the request and its reply; `["200"]`,
 *   also for an unknown uuid.
 * - The dispatcher forwards pending requests to their service when
 *   `mmi.service` says a worker serves it, several at once, without ever
 *   stalling the three services; a reply is stored durably.
 * - Restarted on the same directory (even after SIGKILL), it loses nothing it
 *   acknowledged: requests without a reply are pending again. Damaged files
 *   are reported (`corrupt` event, `stats.corrupt`), moved to `corrupt/`,
 *   and skipped.
 * - Malformed requests are answered `400 <reason>`, counted and logged; a
 *   failed write is answered `500` (the client retries).
 *
 * @example
 * ```ts
 * const titanic = new Titanic({ endpoint: "tcp://localhost:5555", dir: ".titanic" });
 * titanic.on("replied", ({ uuid, service }) => console.log(`${service} answered ${uuid}`));
 * await titanic.start(); // recovers the directory, then serves
 * // ... later
 * await titanic.close();
 * ```
 */
export class Titanic extends Lifecycle<TitanicEvents> {
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;
  /** The storage directory, as an absolute path. */
  readonly dir: string;

  readonly #config: Config;
  readonly #trace: TraceFn | undefined;
  readonly #security: SecurityOptions | undefined;
  readonly #store: TitanicStore;
  readonly #state = new TitanicState();
  readonly #counters = { requests: 0, polls: 0, closes: 0, dispatched: 0, replies: 0, dispatchTimeouts: 0, recovered: 0, corrupt: 0, malformed: 0, storageErrors: 0 };
  readonly #locks = new Map<string, Promise<void>>();
  readonly #dispatcher: Dispatcher<Entry>;
  #client: MajordomoAsyncClient | undefined;
  #workers: MajordomoWorker[] = [];

  /**
   * @param options - see {@link TitanicOptions}
   * @throws `InvalidArgumentError` for a missing or bad option
   */
  constructor(options: TitanicOptions) {
    super({ owner: "Titanic", channel: "zkit:titanic:server" });
    const o = readOptions(options, { owner: "Titanic", known: OPTION_NAMES });
    this.endpoint = connectEndpoints(o.requiredString("endpoint", "tcp://localhost:5555", "the broker"));
    const durability = o.oneOf("durability", ["fsync", "write"] as const, TITANIC_DURABILITY);
    this.#store = new TitanicStore(o.string("dir", TITANIC_DIR), { durability });
    this.dir = this.#store.dir;
    this.#config = {
      heartbeatIntervalMs: o.number("heartbeatIntervalMs", undefined, { min: 0, exclusive: true }),
      liveness: o.number("liveness", undefined, { min: 1, integer: true }),
      reconnectMs: o.number("reconnectMs", undefined, { min: 0 }),
      dispatchIntervalMs: o.number("dispatchIntervalMs", TITANIC_DISPATCH_INTERVAL_MS, { min: 0, exclusive: true }),
      dispatchTimeoutMs: o.number("dispatchTimeoutMs", TITANIC_DISPATCH_TIMEOUT_MS, { min: 0, exclusive: true }),
      mmiTimeoutMs: o.number("mmiTimeoutMs", TITANIC_MMI_TIMEOUT_MS, { min: 0, exclusive: true }),
      dispatchConcurrency: o.number("dispatchConcurrency", TITANIC_DISPATCH_CONCURRENCY, { min: 1, integer: true }),
      maxRequestBytes: o.number("maxRequestBytes", TITANIC_MAX_REQUEST_BYTES, { min: 0, exclusive: true, integer: true, infinity: true }),
      requestConcurrency: o.number("requestConcurrency", TITANIC_REQUEST_CONCURRENCY, { min: 1, integer: true }),
    };
    this.#trace = o.function<TraceFn>("trace");
    this.#security = o.raw("security") as SecurityOptions | undefined;
    securitySocketOptions(this.#security, { owner: "Titanic", role: "client" }); // a bad one throws now, naming Titanic
    this.#dispatcher = new Dispatcher<Entry>(
      { intervalMs: this.#config.dispatchIntervalMs, concurrency: this.#config.dispatchConcurrency },
      {
        pending: () => this.#state.pending(),
        stillPending: (entry) => this.#state.isPending(entry),
        serviceUp: (service) => this.#serviceUp(service),
        forward: (entry) => this.#forward(entry),
      },
    );
  }

  /** The counters, with the `pending` and `stored` gauges (a fresh snapshot each time). */
  get stats(): Readonly<TitanicStats> {
    return { ...this.#counters, pending: this.#state.pendingCount, stored: this.#state.size };
  }

  /**
   * Reads the directory (pending requests become pending again; damaged
   * files are reported and moved aside), starts the dispatcher, and
   * registers the three titanic.* services with the broker: what
   * `start()` does (idempotent). Titanic then runs until `close()`, or
   * until the process is interrupted after `handleInterrupts()` of
   * `@zkit/core`; `done` settles when it has closed. `start()` resolves once
   * the services' READY are sent, and rejects with `ClosedError` after
   * `close()`, or with the `node:fs` error when the directory cannot be
   * created or read.
   */
  protected async onStart(): Promise<void> {
    const contents = await this.#store.open();
    for (const c of contents.corrupt) this.#reportCorrupt(c);
    if (contents.cleaned.length > 0) log.info("titanic: removed %d leftover file(s) of interrupted writes and closes", contents.cleaned.length);
    this.#counters.recovered = this.#state.load(contents.requests);
    log.info("titanic: %s holds %d request(s), %d pending", this.dir, this.#state.size, this.#state.pendingCount);
    if (this.closed) return;

    const trace = this.#trace;
    this.#client = new MajordomoAsyncClient({
      endpoint: this.endpoint,
      timeoutMs: this.#config.dispatchTimeoutMs,
      maxSockets: this.#config.dispatchConcurrency + 1,
      // plain 7/MDP, a socket per dispatch, as before mdp's envelope extension (its few requests gain nothing from one socket)
      multiplex: "off",
      ...(this.#security !== undefined ? { security: this.#security } : {}),
      ...(trace ? { trace: (e: TraceEvent) => trace({ ...e, socket: "dispatcher" }) } : {}),
    });
    this.#dispatcher.start();

    const serve = (service: string, handler: (frames: Buffer[]) => Promise<Buffer[]>): MajordomoWorker => {
      const worker = new MajordomoWorker({
        endpoint: this.endpoint,
        service,
        handler,
        onError: (): MajordomoReply => encodeError("internal error"),
        ...(this.#config.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: this.#config.heartbeatIntervalMs } : {}),
        ...(this.#config.liveness !== undefined ? { liveness: this.#config.liveness } : {}),
        ...(this.#config.reconnectMs !== undefined ? { reconnectMs: this.#config.reconnectMs } : {}),
        ...(trace ? { trace: (e: TraceEvent) => trace({ ...e, socket: service }) } : {}),
        ...(this.#security !== undefined ? { security: this.#security } : {}),
      });
      worker.on("disconnected", ({ error }) => {
        if (error !== undefined) this.notify("handshake-failed", { service, error });
      });
      return worker;
    };
    this.#workers = [
      ...Array.from({ length: this.#config.requestConcurrency }, () => serve(TITANIC_REQUEST, (f) => this.#onRequest(f))),
      serve(TITANIC_REPLY, (f) => this.#onReply(f)),
      serve(TITANIC_CLOSE, (f) => this.#onCloseRequest(f)),
    ];
    await Promise.all(this.#workers.map((w) => w.start()));
  }

  // ------------------------------------------------------------ services

  /** titanic.request: `[service][body...]` -> store durably -> `["200"][uuid]`. */
  async #onRequest(frames: Buffer[]): Promise<Buffer[]> {
    const req = decodeRequestBody(frames, this.#config.maxRequestBytes);
    if (req instanceof ProtocolError) return this.#malformed(TITANIC_REQUEST, req);
    const uuid = randomUUID().replace(/-/g, "");
    const seq = this.#state.nextSeq();
    try {
      await this.#store.writeRequest(uuid, seq, frames);
    } catch (err) {
      this.#storageError("write request", uuid, err);
      return encodeError("could not store the request");
    }
    this.#state.add(uuid, req.service, seq);
    this.#counters.requests++;
    this.notify("stored", { uuid, service: req.service });
    this.#dispatcher.wake();
    return encodeAccepted(uuid);
  }

  /** titanic.reply: `[uuid]` -> `["200"][body...]`, `["300"]` or `["400"]`. Never deletes. */
  async #onReply(frames: Buffer[]): Promise<Buffer[]> {
    const uuid = decodeUuidBody(frames, TITANIC_REPLY);
    if (uuid instanceof ProtocolError) return this.#malformed(TITANIC_REPLY, uuid);
    this.#counters.polls++;
    switch (this.#state.decideReply(uuid)) {
      case "unknown":
        return encodeUnknown();
      case "pending":
        return encodePending();
      case "replied":
        break;
    }
    let read: Awaited<ReturnType<TitanicStore["readReply"]>>;
    try {
      read = await this.#store.readReply(uuid);
    } catch (err) {
      this.#storageError("read reply", uuid, err);
      return encodeError("could not read the reply");
    }
    if ("ok" in read) return encodeReplyFound(read.ok.frames);
    if ("missing" in read) {
      // closed meanwhile, or removed by hand: unknown now
      const entry = this.#state.get(uuid);
      if (entry?.state === "replied") this.#state.remove(uuid);
      return encodeUnknown();
    }
    this.#reportCorrupt(read.corrupt);
    return this.#withLock(uuid, async () => {
      const entry = this.#state.get(uuid);
      if (entry === undefined || !this.#state.replyLost(entry)) return encodeUnknown();
      this.#dispatcher.wake(); // forward it again
      return encodePending();
    });
  }

  /** titanic.close: `[uuid]` -> forget it, durably -> `["200"]`, known or not. */
  async #onCloseRequest(frames: Buffer[]): Promise<Buffer[]> {
    const uuid = decodeUuidBody(frames, TITANIC_CLOSE);
    if (uuid instanceof ProtocolError) return this.#malformed(TITANIC_CLOSE, uuid);
    this.#counters.closes++;
    return this.#withLock(uuid, async () => {
      const entry = this.#state.remove(uuid);
      this.#dispatcher.forget(uuid);
      if (entry !== undefined) {
        try {
          await this.#store.remove(uuid);
        } catch (err) {
          this.#state.restore(entry);
          this.#storageError("remove", uuid, err);
          return encodeError("could not remove the request");
        }
      }
      this.notify("closed", { uuid, known: entry !== undefined });
      return encodeClosed();
    });
  }

  #malformed(service: string, error: ProtocolError): Buffer[] {
    this.#counters.malformed++;
    log.warn("titanic: malformed %s request answered 400: %s", service, error.message);
    this.notify("malformed", { service, reason: error.message, frame: error.frame });
    return encodeUnknown(error.message);
  }

  // ---------------------------------------------------------- dispatching

  /** 8/MMI: does a worker serve `service`? undefined when the broker does not answer. */
  async #serviceUp(service: string): Promise<boolean | undefined> {
    const client = this.#client;
    if (client === undefined || client.closed) return undefined;
    try {
      const [status] = await client.request(MMI_SERVICE, [service], { timeoutMs: this.#config.mmiTimeoutMs });
      return status?.toString("latin1") === MMI_OK;
    } catch (err) {
      if (!(err instanceof ClosedError)) log.warn("titanic: no answer to mmi.service for %s: %s", service, (err as Error).message);
      return undefined;
    }
  }

  /** Forwards one pending request and stores its reply. Never rejects. */
  async #forward(entry: Entry): Promise<ForwardResult> {
    const client = this.#client;
    const service = entry.service!;
    if (client === undefined || client.closed || this.closed) return "failed";
    let read: Awaited<ReturnType<TitanicStore["readRequest"]>>;
    try {
      read = await this.#store.readRequest(entry.uuid);
    } catch (err) {
      this.#storageError("read request", entry.uuid, err);
      return "failed";
    }
    if ("missing" in read) {
      // closed meanwhile (or removed by hand)
      if (this.#state.isPending(entry)) this.#state.remove(entry.uuid);
      return "gone";
    }
    if ("corrupt" in read) {
      this.#reportCorrupt(read.corrupt);
      if (this.#state.isPending(entry)) this.#state.remove(entry.uuid);
      return "gone";
    }
    if (!this.#state.isPending(entry)) return "gone";
    this.#counters.dispatched++;
    this.notify("dispatched", { uuid: entry.uuid, service });
    let reply: Buffer[];
    try {
      reply = await client.request(service, read.ok.frames.slice(1), { timeoutMs: this.#config.dispatchTimeoutMs });
    } catch (err) {
      if (err instanceof TimeoutError) {
        this.#counters.dispatchTimeouts++;
        log.warn("titanic: %s gave no reply to %s within %d ms; it stays pending", service, entry.uuid, this.#config.dispatchTimeoutMs);
        return "timeout";
      }
      if (!(err instanceof ClosedError)) log.warn("titanic: forwarding %s to %s failed: %s", entry.uuid, service, (err as Error).message);
      return "failed";
    }
    return this.#withLock(entry.uuid, async (): Promise<ForwardResult> => {
      if (!this.#state.isPending(entry)) return "gone"; // closed while it was out: the reply is not wanted
      try {
        await this.#store.writeReply(entry.uuid, entry.seq, reply);
      } catch (err) {
        this.#storageError("write reply", entry.uuid, err);
        return "failed";
      }
      this.#state.markReplied(entry);
      this.#counters.replies++;
      this.notify("replied", { uuid: entry.uuid, service });
      return "replied";
    });
  }

  // --------------------------------------------------------------- helpers

  /** Runs `fn` after every earlier `fn` of the same uuid (a reply being stored vs. a close). */
  async #withLock<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(uuid) ?? Promise.resolve();
    const run = previous.then(fn);
    const settled = run.then(
      () => {},
      () => {},
    );
    this.#locks.set(uuid, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(uuid) === settled) this.#locks.delete(uuid);
    }
  }

  #reportCorrupt(c: CorruptFile): void {
    this.#counters.corrupt++;
    log.warn("titanic: damaged file %s (%s)%s", c.file, c.reason, c.movedTo ? `, moved to ${c.movedTo}` : "");
    this.notify("corrupt", c);
  }

  #storageError(operation: string, uuid: string | undefined, err: unknown): void {
    this.#counters.storageErrors++;
    const error = err instanceof Error ? err : new Error(String(err));
    log.error("titanic: %s %s failed: %s", operation, uuid ?? "", error.message);
    this.notify("storage-error", { operation, uuid, error });
  }

  /**
   * Closes Titanic gracefully (`close()`, idempotent): each service finishes
   * the request in hand and sends DISCONNECT, the dispatcher stops (a
   * forward in flight is abandoned and stays pending; a reply being stored
   * is stored), and the directory is released.
   */
  protected async onClose(): Promise<void> {
    const stopping = this.#dispatcher.stop();
    await Promise.all(this.#workers.map((w) => w.close()));
    await this.#client?.close(); // forwards in flight end with ClosedError
    await stopping;
    await Promise.all(this.#locks.values());
    await this.#store.close();
    log.info("titanic: closed");
  }
}
