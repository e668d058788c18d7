/**
 * The Majordomo broker's decisions, without sockets or timers: services,
 * workers with credit (least loaded, then least recently used), the requests
 * each worker holds, clients and whether they are still connected, queues
 * bounded by bytes, expiry of requests nobody can serve, worker expiry, MMI.
 * {@link MajordomoBroker} feeds it decoded messages, connection notices and
 * clock ticks and sends what it returns; tests drive it directly.
 * @module
 */
import { LogBurst, getLogger } from "@zkit/core";
import { Deque } from "./deque.js";
import {
  MMI_ENVELOPE,
  MMI_NOT_FOUND,
  MMI_NOT_IMPLEMENTED,
  MMI_OK,
  MMI_SERVICE,
  MMI_STATS,
  decodeBrokerMessage,
  encodeClientReply,
  encodeDisconnect,
  encodeEnvelopeAddress,
  encodeEnvelopedClientReply,
  encodeHeartbeat,
  encodeWorkerRequest,
  isMmiService,
  printable,
} from "./protocol.js";

const log = getLogger("mdp");

/**
 * What the broker does when a queue limit (`maxQueueBytes`,
 * `maxQueuePerService`) is reached and another request comes: refuse the
 * arriving one (`"drop-newest"`, the default: work already accepted is
 * never thrown away) or make room by dropping the oldest queued requests of
 * that service (`"drop-oldest"`: their clients have most likely given up).
 */
export type QueueOverflowPolicy = "drop-oldest" | "drop-newest";

/**
 * Why a worker left the broker's books (event `worker-gone`):
 * - `expired`: silent for `liveness` heartbeat intervals;
 * - `disconnected`: it sent DISCONNECT;
 * - `connection-lost`: its connection ended (its process died, its socket
 *   closed) or a message to it could not be delivered;
 * - `protocol`: it broke the protocol (a second READY);
 * - `closed`: the broker closed.
 */
export type WorkerGoneReason = "expired" | "disconnected" | "connection-lost" | "protocol" | "closed";

/** Why a request was dropped (event `request-dropped`). */
export type DropReason = "queue-full" | "too-many-services" | "service-evicted" | "max-deliveries";

/** The broker's counters: totals since it started, and gauges of the present. */
export interface BrokerStats {
  /** Client requests received for worker services (MMI excluded). */
  requests: number;
  /** Replies forwarded from workers to clients. */
  replies: number;
  /** `mmi.*` requests answered by the broker. */
  mmiRequests: number;
  /**
   * Requests dropped because they waited too long: for a service with no
   * worker longer than `unservedExpiryMs`, or in any queue longer than
   * `requestExpiryMs`.
   */
  expired: number;
  /**
   * Requests dropped for a limit: a full queue (`maxQueueBytes`,
   * `maxQueuePerService`), too many services, a service evicted to make
   * room for a worker's service, or a request that went to `maxDeliveries`
   * workers and none answered.
   */
  dropped: number;
  /** Requests dropped unanswered because their client's connection ended (it gave up or retried on a new one). */
  abandoned: number;
  /** Requests workers held when the broker closed (their clients retry elsewhere). */
  lost: number;
  /**
   * Requests put back at the head of their queue because the worker holding
   * them left before answering (DISCONNECT, lost connection, expiry,
   * protocol error) or could not be reached: another worker gets them.
   */
  requeued: number;
  /**
   * REPLYs dropped because they answer no request the broker gave that
   * worker (a worker naming a client it was never sent): never forwarded.
   */
  forged: number;
  /** Replies that could not be delivered: their client had gone, or its connection was full. */
  repliesUndeliverable: number;
  /** Malformed messages dropped (bad header, missing frames, unknown command, oversized frame...). */
  malformed: number;
  /** DISCONNECT commands sent for valid but unexpected commands or refused services. */
  disconnectsSent: number;
  /** READY commands refused (an `mmi.*` service, or too many services with workers). */
  workersRefused: number;
  /** Workers that registered (READY accepted). */
  workersReady: number;
  /** Workers expired after `liveness` heartbeat intervals of silence. */
  workersExpired: number;
  /** Workers that sent DISCONNECT. */
  workersDisconnected: number;
  /** Workers whose connection ended without DISCONNECT (a crash, a kill). */
  workersLost: number;
  /** Services with no worker forgotten, with their queued requests, to make room for a worker's service. */
  servicesEvicted: number;
  /** Gauge: registered workers now. */
  workers: number;
  /** Gauge: services known now (a service is forgotten once it has neither workers nor queued requests). */
  services: number;
  /** Gauge: requests waiting in queues now. */
  queued: number;
  /** Gauge: approximate bytes of the requests waiting in queues now (bodies, addresses and bookkeeping). */
  queuedBytes: number;
  /** Gauge: requests held by workers now (sent to a worker, not yet answered). */
  inFlight: number;
  /** Gauge: clients with a request queued or in flight now. */
  clients: number;
}

/** A worker, as the broker's events describe it. */
export interface WorkerInfo {
  /** The service it serves. */
  service: string;
  /** Its routing id, in hex. */
  worker: string;
}

/** A request, as the broker's events describe it. */
export interface RequestInfo {
  /** The service it asked for. */
  service: string;
  /** The client's routing id, in hex. */
  client: string;
}

/** A worker that left (event `worker-gone`). */
export interface WorkerGoneInfo extends WorkerInfo {
  /** Why it left. */
  reason: WorkerGoneReason;
  /**
   * How many requests it held when it left: requeued (their event is
   * `request-requeued`), unless their client had gone too, or the broker
   * was closing (`request-lost`).
   */
  inHand: number;
}

/** A reply forwarded to a client (event `reply`). */
export interface ReplyInfo extends RequestInfo {
  /** The worker that answered, its routing id in hex. */
  worker: string;
  /** How many requests that worker still holds after this reply. */
  inHand: number;
}

/** A dropped request (event `request-dropped`). */
export interface DroppedInfo extends RequestInfo {
  /** Which limit dropped it; see {@link DropReason}. */
  reason: DropReason;
}

/** A request held by a worker when the broker closed (event `request-lost`). */
export interface LostInfo extends RequestInfo {
  /** The worker that held it, its routing id in hex. */
  worker: string;
  /** Why the worker went (`closed`). */
  reason: WorkerGoneReason;
}

/** A request given back by a worker that left before answering (event `request-requeued`). */
export interface RequeuedInfo extends RequestInfo {
  /** The worker that held it, its routing id in hex. */
  worker: string;
  /** Why that worker left. */
  reason: WorkerGoneReason;
}

/** A REPLY for a request the broker never gave that worker (event `reply-forged`). */
export interface ForgedInfo {
  /** The service of the worker that sent it. */
  service: string;
  /** The worker, its routing id in hex. */
  worker: string;
  /** The client address it named, in hex. */
  client: string;
}

/** A malformed message (event `malformed`). */
export interface MalformedInfo {
  /** What is wrong with it. */
  reason: string;
  /** The index of the bad frame (the routing id is frame 0), when one can be named. */
  frame: number | undefined;
  /** The sender's routing id in hex, when it had one. */
  sender: string | undefined;
}

/** The events of a {@link MajordomoBroker}. */
export interface MajordomoBrokerEvents {
  /** A worker registered (READY) for a service. */
  "worker-ready": [info: WorkerInfo];
  /** A worker left: it expired, sent DISCONNECT, lost its connection, broke the protocol, or the broker closed. */
  "worker-gone": [info: WorkerGoneInfo];
  /** A client request was queued for its service (emitted only when listened to). */
  request: [info: RequestInfo];
  /** A reply went back to a client (emitted only when listened to). */
  reply: [info: ReplyInfo];
  /** A queued request waited too long and was dropped (see `stats.expired`). */
  "request-expired": [info: RequestInfo];
  /** A request was dropped for a limit; see {@link DropReason}. */
  "request-dropped": [info: DroppedInfo];
  /** A worker left before answering this request, which went back to the head of its queue (one event per request). */
  "request-requeued": [info: RequeuedInfo];
  /** A worker held this request when the broker closed (one event per request). */
  "request-lost": [info: LostInfo];
  /** A worker's REPLY named a client it was never given: dropped, never forwarded. */
  "reply-forged": [info: ForgedInfo];
  /** A malformed message was dropped. */
  malformed: [info: MalformedInfo];
}

/** The broker settings the state needs, resolved. @internal */
export interface BrokerConfig {
  heartbeatIntervalMs: number;
  liveness: number;
  unservedExpiryMs: number;
  requestExpiryMs: number;
  maxQueueBytes: number;
  maxQueuePerService: number;
  queueOverflow: QueueOverflowPolicy;
  maxFrameBytes: number;
  maxServices: number;
  workerPrefetch: number;
  maxDeliveries: number;
}

/** What the state needs from its broker. @internal */
export interface BrokerHost {
  /** Sends a message on the ROUTER (routing id first). */
  send(frames: Buffer[], to: "client" | "worker"): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Emits an event. */
  emit<K extends keyof MajordomoBrokerEvents>(event: K, ...args: MajordomoBrokerEvents[K]): boolean;
  /** True when someone listens to `event` (hot events are only built then). */
  listening(event: keyof MajordomoBrokerEvents): boolean;
  /** Extra figures for `mmi.stats` (memory, ...). */
  extraStats?(): Record<string, unknown>;
  /**
   * Starts watching a worker's silence: `onExpire` is called once if it is
   * not touched for the worker expiry time (`liveness` x heartbeat). The
   * broker does it with ZLoop tickets: O(1) per message, however many
   * workers.
   */
  watch(onExpire: () => void): SilenceWatch;
}

/** One worker's silence watch, from {@link BrokerHost.watch}. @internal */
interface SilenceWatch {
  /** The worker said something: its expiry starts over. */
  touch(): void;
  /** The worker left: stop watching. */
  stop(): void;
}

/** A client with requests in the broker: queued, or held by workers. */
interface ClientEntry {
  key: string;
  identity: Buffer;
  /** Its requests queued or in flight; the entry is forgotten at 0. */
  pending: number;
  /** True once its connection ended: its requests are dead work. */
  gone: boolean;
}

interface QueuedRequest {
  client: ClientEntry;
  /**
   * The client address the worker gets and echoes: the client's routing id
   * for a plain 7/MDP request (the same Buffer), or routing id and
   * correlation in one frame for an enveloped one (zkit's extension).
   */
  address: Buffer;
  /** The correlation frame of an enveloped request, put back in front of the reply; undefined for a plain one. */
  corr: Buffer | undefined;
  body: Buffer[];
  /** Approximate memory it holds, for `maxQueueBytes`. */
  bytes: number;
  arrivedAt: number;
  /** How many workers it has been sent to. */
  deliveries: number;
}

interface ServiceEntry {
  key: string;
  /** The name as it came on the wire (sent back in replies). */
  name: Buffer;
  label: string;
  queue: Deque<QueuedRequest>;
  /** Bytes of its queued requests. */
  queuedBytes: number;
  /**
   * Workers with credit (holding fewer than `workerPrefetch` requests), one
   * least-recently-used list per load: `heads[k]`..`tails[k]` hold the
   * workers holding `k` requests, in the order they got there (intrusive
   * doubly linked lists). With `workerPrefetch` 1 there is one list, the
   * idle workers: 7/MDP's LRU queue.
   */
  heads: (WorkerEntry | undefined)[];
  tails: (WorkerEntry | undefined)[];
  /** No list below this load has a worker (a lower bound, raised lazily). */
  minLoad: number;
  /** Workers with credit (in one of the lists). */
  available: number;
  /** Idle workers: holding nothing. */
  waiting: number;
  workers: number;
  /** Requests its workers hold. */
  inFlight: number;
  /** When it last had no worker (creation, or its last worker leaving); meaningful while `workers` is 0. */
  unservedSince: number;
}

interface WorkerEntry {
  key: string;
  identity: Buffer;
  service: ServiceEntry;
  watch: SilenceWatch;
  /** The requests sent to it and not answered yet, in the order they were sent. */
  inHand: QueuedRequest[];
  prev: WorkerEntry | undefined;
  next: WorkerEntry | undefined;
  /** The list it is in (its load when it was linked), or -1 when it has no credit or is gone. */
  list: number;
}

/** Bookkeeping bytes counted per queued request on top of its frames. */
const REQUEST_OVERHEAD_BYTES = 64;

/**
 * The broker's books and rules. Every public method is synchronous, never
 * throws on bad input, and sends through its host.
 * @internal
 */
export class BrokerState {
  readonly stats: BrokerStats = {
    requests: 0,
    replies: 0,
    mmiRequests: 0,
    expired: 0,
    dropped: 0,
    abandoned: 0,
    lost: 0,
    requeued: 0,
    forged: 0,
    repliesUndeliverable: 0,
    malformed: 0,
    disconnectsSent: 0,
    workersRefused: 0,
    workersReady: 0,
    workersExpired: 0,
    workersDisconnected: 0,
    workersLost: 0,
    servicesEvicted: 0,
    workers: 0,
    services: 0,
    queued: 0,
    queuedBytes: 0,
    inFlight: 0,
    clients: 0,
  };

  readonly #config: BrokerConfig;
  readonly #host: BrokerHost;
  readonly #services = new Map<string, ServiceEntry>();
  /** Services with no worker, in the order they lost (or never had) one: expiry and eviction walk it. */
  readonly #unserved = new Map<string, ServiceEntry>();
  readonly #workers = new Map<string, WorkerEntry>();
  readonly #clients = new Map<string, ClientEntry>();
  readonly #limits: { maxFrameBytes: number };
  /** Bytes of queued requests let go of without being dispatched (expired, dropped, abandoned), since the start. */
  #releasedBytes = 0;
  readonly #logs = {
    dropped: new LogBurst(log, "requests dropped for a limit (see stats.dropped and the request-dropped event)"),
    expired: new LogBurst(log, "queued requests expired (see stats.expired)"),
    forged: new LogBurst(log, "forged REPLYs dropped (see stats.forged)"),
    malformed: new LogBurst(log, "malformed messages dropped (see stats.malformed)"),
    undeliverable: new LogBurst(log, "replies that could not be delivered (see stats.repliesUndeliverable)"),
    abandoned: new LogBurst(log, "requests dropped because their client had gone (see stats.abandoned)", { level: "info" }),
  };

  constructor(config: BrokerConfig, host: BrokerHost) {
    this.#config = config;
    this.#host = host;
    this.#limits = { maxFrameBytes: config.maxFrameBytes };
  }

  /** Bytes of queued requests let go of without being dispatched (expired, dropped, abandoned) since the start. */
  get releasedBytes(): number {
    return this.#releasedBytes;
  }

  // ------------------------------------------------------------ messages

  /** Handles one message received by the ROUTER (routing id first). */
  onMessage(frames: Buffer[]): void {
    const msg = decodeBrokerMessage(frames, this.#limits);
    switch (msg.kind) {
      case "request":
        if (isMmiService(msg.service)) this.#mmi(msg.sender, msg.service, msg.body, msg.corr);
        else this.#request(msg.sender, msg.service, msg.body, msg.corr);
        return;
      case "ready":
        this.#ready(msg.sender, msg.service);
        return;
      case "reply":
        this.#reply(msg.sender, msg.client, msg.body);
        return;
      case "heartbeat": {
        const worker = this.#workers.get(key(msg.sender));
        if (worker === undefined) this.#unexpected(msg.sender, "HEARTBEAT from an unknown worker");
        else this.#refresh(worker);
        return;
      }
      case "disconnect": {
        const worker = this.#workers.get(key(msg.sender));
        if (worker !== undefined) this.#deleteWorker(worker, "disconnected");
        return;
      }
      case "invalid":
        this.#malformed(msg.error.message, msg.error.frame, msg.sender);
        return;
    }
  }

  /**
   * A peer's connection ended (the ROUTER's disconnect notification), or a
   * message to it could not be delivered: a worker leaves the books at once
   * and its requests go to other workers; a client's queued requests are
   * dropped as they come up (nobody would read their replies).
   *
   * @param identity - the peer's routing id
   */
  peerGone(identity: Buffer): void {
    const k = key(identity);
    const worker = this.#workers.get(k);
    if (worker !== undefined) {
      this.#deleteWorker(worker, "connection-lost");
      return;
    }
    const client = this.#clients.get(k);
    if (client !== undefined) {
      client.gone = true;
      this.#clients.delete(k);
      this.stats.clients--;
      log.debug("client %s gone with %d request(s) pending", identity.toString("hex"), client.pending);
    }
  }

  /**
   * A send failed. A worker that cannot be reached is gone (its requests,
   * the undelivered one included, go to other workers); a reply that could
   * not reach its client is counted, and the client forgotten if it is gone.
   *
   * @param identity - the routing id the message was for
   * @param to - who it was for
   * @param peerGone - true when the peer is not connected (EHOSTUNREACH),
   *   false when its connection was full
   */
  sendFailed(identity: Buffer, to: "client" | "worker", peerGone: boolean): void {
    if (to === "worker") {
      const worker = this.#workers.get(key(identity));
      if (worker !== undefined) this.#deleteWorker(worker, "connection-lost");
      return;
    }
    this.stats.repliesUndeliverable++;
    this.#logs.undeliverable.record("a reply to client %s could not be delivered: %s", identity.toString("hex"), peerGone ? "it has gone" : "its connection is full");
    if (peerGone) this.peerGone(identity);
  }

  #request(sender: Buffer, service: Buffer, body: Buffer[], corr: Buffer | undefined): void {
    this.stats.requests++;
    const entry = this.#service(service);
    if (entry === undefined) {
      this.#drop(service.toString(), sender, "too-many-services");
      return;
    }
    const label = entry.label;
    if (this.#host.listening("request")) this.#host.emit("request", { service: label, client: sender.toString("hex") });
    // a plain request's address is its sender: no allocation on the 7/MDP path
    const address = corr === undefined ? sender : encodeEnvelopeAddress(sender, corr);
    let bytes = REQUEST_OVERHEAD_BYTES + address.length;
    for (let i = 0; i < body.length; i++) bytes += body[i]!.length + 16;
    if (!this.#makeRoom(entry, bytes)) {
      this.#drop(label, sender, "queue-full");
      this.#forgetIfIdle(entry);
      return;
    }
    const client = this.#client(sender);
    client.pending++;
    entry.queue.push({ client, address, corr, body, bytes, arrivedAt: this.#host.now(), deliveries: 0 });
    entry.queuedBytes += bytes;
    this.stats.queued++;
    this.stats.queuedBytes += bytes;
    this.#dispatch(entry);
  }

  /** True when a request of `bytes` fits, after dropping the oldest of `service` if the policy says so. */
  #makeRoom(service: ServiceEntry, bytes: number): boolean {
    if (!this.#full(service, bytes)) return true;
    if (this.#config.queueOverflow === "drop-newest") return false;
    while (this.#full(service, bytes) && service.queue.length > 0) {
      const oldest = this.#unqueue(service);
      if (!oldest.client.gone) this.#drop(service.label, oldest.client.identity, "queue-full");
      else this.#abandon(service, oldest);
      this.#release(oldest.client);
    }
    return !this.#full(service, bytes);
  }

  /** True when one more request of `bytes` would break a queue limit (a method, not a closure: no allocation per request). */
  #full(service: ServiceEntry, bytes: number): boolean {
    return this.stats.queuedBytes + bytes > this.#config.maxQueueBytes || service.queue.length >= this.#config.maxQueuePerService;
  }

  #drop(service: string, client: Buffer, reason: DroppedInfo["reason"]): void {
    this.stats.dropped++;
    const hint = DROP_HINTS[reason];
    this.#logs.dropped.record("request for %s from %s dropped: %s", service, client.toString("hex"), hint);
    this.#host.emit("request-dropped", { service, client: client.toString("hex"), reason });
  }

  #abandon(service: ServiceEntry, request: QueuedRequest): void {
    this.stats.abandoned++;
    this.#logs.abandoned.record("request for %s from %s dropped: its client has gone", service.label, request.client.identity.toString("hex"));
  }

  #ready(sender: Buffer, service: Buffer): void {
    const k = key(sender);
    const known = this.#workers.get(k);
    if (known !== undefined) {
      // READY once per connection: a second one is a protocol error
      this.#deleteWorker(known, "protocol");
      this.#disconnect(sender, "READY from a worker that is already registered");
      return;
    }
    if (isMmiService(service)) {
      this.stats.workersRefused++;
      this.#disconnect(sender, `READY for ${printable(service)}: mmi.* services belong to the broker`);
      return;
    }
    let entry = this.#service(service);
    if (entry === undefined && this.#evictUnserved()) entry = this.#service(service);
    if (entry === undefined) {
      this.stats.workersRefused++;
      this.#disconnect(sender, `READY for ${printable(service)}: too many services with workers (maxServices ${this.#config.maxServices})`);
      return;
    }
    const worker: WorkerEntry = {
      key: k,
      identity: sender,
      service: entry,
      watch: undefined as unknown as SilenceWatch,
      inHand: [],
      prev: undefined,
      next: undefined,
      list: -1,
    };
    worker.watch = this.#host.watch(() => this.#deleteWorker(worker, "expired"));
    this.#workers.set(k, worker);
    if (entry.workers++ === 0) this.#unserved.delete(entry.key);
    this.stats.workers++;
    this.stats.workersReady++;
    log.info("worker %s ready for %s", sender.toString("hex"), entry.label);
    this.#host.emit("worker-ready", { service: entry.label, worker: sender.toString("hex") });
    this.#link(worker);
    this.#dispatch(entry);
  }

  /**
   * Forgets the service that has gone longest without a worker, with its
   * queued requests, so that a worker's service fits: a worker is never
   * refused because clients asked for services nobody serves.
   */
  #evictUnserved(): boolean {
    const first = this.#unserved.values().next();
    if (first.done) return false;
    const service = first.value;
    log.warn("service %s (no worker, %d request(s) queued) forgotten to make room for a worker's service (maxServices %d)", service.label, service.queue.length, this.#config.maxServices);
    this.stats.servicesEvicted++;
    while (service.queue.length > 0) {
      const request = this.#unqueue(service);
      if (request.client.gone) this.#abandon(service, request);
      else this.#drop(service.label, request.client.identity, "service-evicted");
      this.#release(request.client);
    }
    this.#forgetIfIdle(service);
    return true;
  }

  #reply(sender: Buffer, client: Buffer, body: Buffer[]): void {
    const worker = this.#workers.get(key(sender));
    if (worker === undefined) {
      this.#unexpected(sender, "REPLY from an unknown worker");
      return;
    }
    this.#refresh(worker);
    const service = worker.service;
    // The first request in hand for that client: a sequential worker answers
    // in order (found at once), a concurrent one may not.
    const inHand = worker.inHand;
    let i = 0;
    while (i < inHand.length && !inHand[i]!.address.equals(client)) i++;
    if (i === inHand.length) {
      this.stats.forged++;
      this.#logs.forged.record("REPLY from worker %s names client %s, which it was never given: dropped", sender.toString("hex"), client.toString("hex"));
      this.#host.emit("reply-forged", { service: service.label, worker: sender.toString("hex"), client: client.toString("hex") });
      return;
    }
    const request = inHand[i]!;
    if (i === 0) inHand.shift();
    else inHand.splice(i, 1);
    this.stats.inFlight--;
    service.inFlight--;
    this.#unlink(worker);
    this.#link(worker); // one request lighter: the tail of its new load's list
    if (request.client.gone) {
      this.#abandon(service, request);
    } else {
      this.stats.replies++;
      const corr = request.corr;
      if (corr === undefined) this.#host.send(encodeClientReply(client, service.name, body), "client");
      else this.#host.send(encodeEnvelopedClientReply(request.client.identity, corr, service.name, body), "client");
      if (this.#host.listening("reply")) {
        this.#host.emit("reply", { service: service.label, client: request.client.identity.toString("hex"), worker: sender.toString("hex"), inHand: inHand.length });
      }
    }
    this.#release(request.client);
    this.#dispatch(service);
  }

  /** Answers a valid but unexpected command with DISCONNECT (7/MDP). */
  #unexpected(sender: Buffer, why: string): void {
    this.#disconnect(sender, why);
  }

  #disconnect(sender: Buffer, why: string): void {
    this.stats.disconnectsSent++;
    log.warn("DISCONNECT to %s: %s", sender.toString("hex"), why);
    this.#host.send(encodeDisconnect(sender), "worker");
  }

  #malformed(reason: string, frame: number | undefined, sender: Buffer | undefined): void {
    this.stats.malformed++;
    const who = sender?.toString("hex");
    this.#logs.malformed.record("dropped a malformed message from %s: %s", who ?? "?", reason);
    this.#host.emit("malformed", { reason, frame, sender: who });
  }

  // ------------------------------------------------------------- clients

  #client(identity: Buffer): ClientEntry {
    const k = key(identity);
    let client = this.#clients.get(k);
    if (client === undefined) {
      client = { key: k, identity, pending: 0, gone: false };
      this.#clients.set(k, client);
      this.stats.clients++;
    }
    return client;
  }

  /** One request of `client` is done (answered, dropped, expired...). */
  #release(client: ClientEntry): void {
    if (--client.pending === 0 && !client.gone && this.#clients.get(client.key) === client) {
      this.#clients.delete(client.key);
      this.stats.clients--;
    }
  }

  // ------------------------------------------------------------ dispatch

  /** Takes the head of a service's queue off the books of queued requests. */
  #unqueue(service: ServiceEntry): QueuedRequest {
    const request = service.queue.shift()!;
    this.#releasedBytes += request.bytes; // dispatching takes it back off
    service.queuedBytes -= request.bytes;
    this.stats.queued--;
    this.stats.queuedBytes -= request.bytes;
    return request;
  }

  /**
   * Hands queued requests to workers with credit: the least loaded first,
   * and among equally loaded ones the least recently used (with
   * `workerPrefetch` 1: idle workers in LRU order, as 7/MDP says).
   * Requests whose client has gone are dropped on the way.
   */
  #dispatch(service: ServiceEntry): void {
    const queue = service.queue;
    if (queue.length === 0 || service.available === 0) {
      this.#forgetIfIdle(service);
      return;
    }
    const oldest = this.#host.now() - this.#config.requestExpiryMs;
    while (service.available > 0 && queue.length > 0) {
      const request = this.#unqueue(service);
      if (request.client.gone) {
        this.#abandon(service, request);
        this.#release(request.client);
        continue;
      }
      if (request.arrivedAt < oldest) {
        this.#expired(service, request);
        continue;
      }
      const worker = this.#leastLoaded(service);
      this.#unlink(worker);
      worker.inHand.push(request);
      this.#releasedBytes -= request.bytes;
      request.deliveries++;
      this.stats.inFlight++;
      service.inFlight++;
      this.#link(worker); // one request heavier, or out of the lists when it has no credit left
      this.#host.send(encodeWorkerRequest(worker.identity, request.address, request.body), "worker");
    }
    this.#forgetIfIdle(service);
  }

  /** The head of the lowest non-empty load list; only called when `service.available > 0`. */
  #leastLoaded(service: ServiceEntry): WorkerEntry {
    let k = service.minLoad;
    while (service.heads[k] === undefined) k++;
    service.minLoad = k;
    return service.heads[k]!;
  }

  #expired(service: ServiceEntry, request: QueuedRequest): void {
    if (request.client.gone) {
      this.#abandon(service, request);
    } else {
      this.stats.expired++;
      const client = request.client.identity.toString("hex");
      const why =
        service.workers === 0
          ? `no worker for ${service.label} within unservedExpiryMs (${this.#config.unservedExpiryMs} ms)`
          : `it waited longer than requestExpiryMs (${this.#config.requestExpiryMs} ms)`;
      this.#logs.expired.record("request for %s from %s expired: %s", service.label, client, why);
      this.#host.emit("request-expired", { service: service.label, client });
    }
    this.#release(request.client);
  }

  // ------------------------------------------------------------ services

  /** The service entry for `name`, created on demand; undefined past maxServices. */
  #service(name: Buffer): ServiceEntry | undefined {
    const k = key(name);
    let entry = this.#services.get(k);
    if (entry === undefined) {
      if (this.#services.size >= this.#config.maxServices) return undefined;
      entry = {
        key: k,
        name,
        label: name.toString(),
        queue: new Deque(),
        queuedBytes: 0,
        heads: [],
        tails: [],
        minLoad: 0,
        available: 0,
        waiting: 0,
        workers: 0,
        inFlight: 0,
        unservedSince: this.#host.now(),
      };
      this.#services.set(k, entry);
      this.#unserved.set(k, entry);
      this.stats.services++;
    }
    return entry;
  }

  /** Forgets a service with no workers and no queued requests (bounded memory). */
  #forgetIfIdle(service: ServiceEntry): void {
    if (service.workers === 0 && service.queue.length === 0 && this.#services.get(service.key) === service) {
      this.#services.delete(service.key);
      this.#unserved.delete(service.key);
      this.stats.services--;
    }
  }

  // ------------------------------------------------------------- workers

  #refresh(worker: WorkerEntry): void {
    worker.watch.touch();
  }

  /**
   * Appends a worker to the tail of the list of its load, when it has credit
   * left (holds fewer than `workerPrefetch` requests). It must be unlinked.
   */
  #link(worker: WorkerEntry): void {
    const load = worker.inHand.length;
    if (load >= this.#config.workerPrefetch) return;
    const service = worker.service;
    const tail = service.tails[load];
    worker.prev = tail;
    worker.next = undefined;
    if (tail !== undefined) tail.next = worker;
    else service.heads[load] = worker;
    service.tails[load] = worker;
    worker.list = load;
    service.available++;
    if (load === 0) service.waiting++;
    if (load < service.minLoad) service.minLoad = load;
  }

  /** Takes a worker out of its load list, if it is in one. */
  #unlink(worker: WorkerEntry): void {
    const load = worker.list;
    if (load < 0) return;
    const service = worker.service;
    if (worker.prev !== undefined) worker.prev.next = worker.next;
    else service.heads[load] = worker.next;
    if (worker.next !== undefined) worker.next.prev = worker.prev;
    else service.tails[load] = worker.prev;
    worker.prev = worker.next = undefined;
    worker.list = -1;
    service.available--;
    if (load === 0) service.waiting--;
  }

  #deleteWorker(worker: WorkerEntry, reason: WorkerGoneReason): void {
    if (this.#workers.get(worker.key) !== worker) return;
    this.#workers.delete(worker.key);
    worker.watch.stop();
    this.#unlink(worker);
    const service = worker.service;
    if (--service.workers === 0) {
      service.unservedSince = this.#host.now();
      this.#unserved.set(service.key, service);
    }
    this.stats.workers--;
    if (reason === "expired") this.stats.workersExpired++;
    else if (reason === "disconnected") this.stats.workersDisconnected++;
    else if (reason === "connection-lost") this.stats.workersLost++;
    const id = worker.identity.toString("hex");
    const held = worker.inHand;
    worker.inHand = [];
    const k = held.length;
    if (k > 0) {
      this.stats.inFlight -= k;
      service.inFlight -= k;
      if (reason === "closed") {
        this.stats.lost += k;
        for (const request of held) {
          this.#host.emit("request-lost", { service: service.label, client: request.client.identity.toString("hex"), worker: id, reason });
          this.#release(request.client);
        }
      } else {
        this.#giveBack(service, held, id, reason);
      }
    }
    log.info("worker %s for %s gone: %s%s", id, service.label, reason, k > 0 ? ` holding ${k} request(s)` : "");
    this.#host.emit("worker-gone", { service: service.label, worker: id, reason, inHand: k });
    this.#dispatch(service);
  }

  /**
   * The requests a worker held when it left before answering go back to the
   * head of their queue, in the order they were sent, for the next worker:
   * it cannot answer them any more (a reply on a later connection, or after
   * it expired, is not forwarded). The worker may have acted on them, so a
   * service sees at-least-once delivery, as it would from the client's own
   * retry. Requests of clients that have gone are dropped, and a request
   * already sent to `maxDeliveries` workers is dropped (a request that kills
   * every worker it meets must not take them all down).
   */
  #giveBack(service: ServiceEntry, held: QueuedRequest[], worker: string, reason: WorkerGoneReason): void {
    const back: QueuedRequest[] = [];
    for (const request of held) {
      if (request.client.gone) {
        this.#abandon(service, request);
        this.#release(request.client);
      } else if (request.deliveries >= this.#config.maxDeliveries) {
        this.#drop(service.label, request.client.identity, "max-deliveries");
        this.#release(request.client);
      } else {
        back.push(request);
        this.#host.emit("request-requeued", { service: service.label, client: request.client.identity.toString("hex"), worker, reason });
      }
    }
    for (let i = back.length - 1; i >= 0; i--) {
      const request = back[i]!;
      service.queue.unshift(request);
      service.queuedBytes += request.bytes;
      this.stats.queued++;
      this.stats.queuedBytes += request.bytes;
    }
    const requeued = back.length;
    this.stats.requeued += requeued;
    if (requeued > 0) log.info("worker %s (%s) left holding %d request(s) for %s: requeued", worker, reason, requeued, service.label);
  }

  // -------------------------------------------------------------- timers

  /** Sends HEARTBEAT to every worker, idle or busy. */
  heartbeat(): void {
    for (const worker of this.#workers.values()) this.#host.send(encodeHeartbeat(worker.identity), "worker");
  }

  /**
   * Drops queued requests that waited too long: in services with no worker,
   * those that have had none for `unservedExpiryMs`; in every service, those
   * older than `requestExpiryMs`.
   */
  expireRequests(): void {
    const t = this.#host.now();
    const unserved = t - this.#config.unservedExpiryMs;
    for (const service of [...this.#unserved.values()]) {
      if (service.unservedSince > unserved) break; // in the order they became unserved
      this.#expireOlder(service, unserved);
    }
    if (Number.isFinite(this.#config.requestExpiryMs)) {
      const oldest = t - this.#config.requestExpiryMs;
      for (const service of [...this.#services.values()]) this.#expireOlder(service, oldest);
    }
  }

  #expireOlder(service: ServiceEntry, before: number): void {
    // queues are in arrival order (a requeued request is older than the rest)
    const queue = service.queue;
    while (queue.length > 0 && queue.peek()!.arrivedAt < before) this.#expired(service, this.#unqueue(service));
    this.#forgetIfIdle(service);
  }

  /** Sends DISCONNECT to every worker and forgets them all (the broker closes). */
  disconnectAll(): void {
    for (const worker of [...this.#workers.values()]) {
      this.#host.send(encodeDisconnect(worker.identity), "worker");
      this.stats.disconnectsSent++;
      this.#deleteWorker(worker, "closed");
    }
    for (const burst of Object.values(this.#logs)) burst.flush();
  }

  // ----------------------------------------------------------------- MMI

  #mmi(client: Buffer, service: Buffer, body: Buffer[], corr: Buffer | undefined): void {
    this.stats.mmiRequests++;
    const name = service.toString();
    let reply: Buffer[];
    if (name === MMI_SERVICE) {
      const asked = body[0];
      const entry = asked === undefined ? undefined : this.#services.get(key(asked));
      reply = [Buffer.from(entry !== undefined && entry.workers > 0 ? MMI_OK : MMI_NOT_FOUND)];
    } else if (name === MMI_ENVELOPE) {
      reply = [Buffer.from(MMI_OK)]; // this broker reads and answers enveloped requests
    } else if (name === MMI_STATS) {
      const only = body[0] !== undefined && body[0].length > 0 ? body[0].toString() : undefined;
      reply = [Buffer.from(MMI_OK), Buffer.from(JSON.stringify(this.snapshot(only)))];
    } else {
      reply = [Buffer.from(MMI_NOT_IMPLEMENTED)];
    }
    this.#host.send(corr === undefined ? encodeClientReply(client, service, reply) : encodeEnvelopedClientReply(client, corr, service, reply), "client");
  }

  /**
   * The counters and, per service, workers, idle workers and queue length;
   * for one service when `service` is given. What `mmi.stats` returns.
   */
  snapshot(service?: string): BrokerSnapshot {
    const services: ServiceSnapshot[] = [];
    const byEntry = new Map<ServiceEntry, ServiceSnapshot>();
    for (const entry of this.#services.values()) {
      if (service !== undefined && entry.label !== service) continue;
      const snap: ServiceSnapshot = {
        name: entry.label,
        workers: entry.workers,
        waiting: entry.waiting,
        queued: entry.queue.length,
        queuedBytes: entry.queuedBytes,
        inFlight: entry.inFlight,
        workerList: [],
      };
      services.push(snap);
      byEntry.set(entry, snap);
    }
    for (const worker of this.#workers.values()) {
      byEntry.get(worker.service)?.workerList.push({ worker: worker.identity.toString("hex"), inHand: worker.inHand.length });
    }
    return { ...this.stats, workerPrefetch: this.#config.workerPrefetch, ...this.#host.extraStats?.(), serviceList: services };
  }
}

/** What each drop reason means for an operator, and which option to raise. */
const DROP_HINTS: Readonly<Record<DropReason, string>> = {
  "queue-full": "the queue is full (raise maxQueueBytes or maxQueuePerService)",
  "too-many-services": "too many services (raise maxServices)",
  "service-evicted": "its service had no worker and was forgotten to make room for one that has (raise maxServices)",
  "max-deliveries": "it was sent to maxDeliveries workers and none answered (it may be crashing them)",
};

/** One service in a {@link BrokerSnapshot}. */
export interface ServiceSnapshot {
  /** The service name. */
  name: string;
  /** Registered workers. */
  workers: number;
  /** Idle workers, holding no request. */
  waiting: number;
  /** Requests waiting for a worker. */
  queued: number;
  /** Approximate bytes of the requests waiting. */
  queuedBytes: number;
  /** Requests its workers hold (sent, not answered yet). */
  inFlight: number;
  /** Each of its workers (routing id in hex) and how many requests it holds now (at most `workerPrefetch`). */
  workerList: { worker: string; inHand: number }[];
}

/** What `mmi.stats` returns (as JSON) and `MajordomoBroker.snapshot()` gives. */
export interface BrokerSnapshot extends BrokerStats {
  /** The broker's `workerPrefetch`: the most requests a worker holds at once. */
  workerPrefetch: number;
  /** The services, or the one asked for. */
  serviceList: ServiceSnapshot[];
  /** Other figures the broker adds: `rssBytes`, `heapUsedBytes`, `externalBytes`, `arrayBuffersBytes` (process.memoryUsage()). */
  [extra: string]: unknown;
}

/** A Map key for a binary frame: one char per byte. */
function key(frame: Buffer): string {
  return frame.toString("latin1");
}
