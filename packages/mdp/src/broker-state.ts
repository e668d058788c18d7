/**
 * The Majordomo broker's decisions, without sockets or timers: services,
 * workers with credit (least loaded, then least recently used), the requests
 * each worker holds, bounded and expiring request queues, worker expiry,
 * MMI. {@link MajordomoBroker} feeds it decoded messages and clock ticks and
 * sends what it returns; tests drive it directly.
 * @module
 */
import { getLogger } from "@zkit/core";
import { Deque } from "./deque.js";
import {
  MMI_NOT_FOUND,
  MMI_NOT_IMPLEMENTED,
  MMI_OK,
  MMI_SERVICE,
  MMI_STATS,
  decodeBrokerMessage,
  encodeClientReply,
  encodeDisconnect,
  encodeHeartbeat,
  encodeWorkerRequest,
  isMmiService,
  printable,
} from "./protocol.js";

const log = getLogger("mdp");

/** What the broker does when a service's queue is full and another request comes. */
export type QueueOverflowPolicy = "drop-oldest" | "drop-newest";

/** Why a worker left the broker's books (event `worker-gone`). */
export type WorkerGoneReason = "expired" | "disconnected" | "protocol" | "closed";

/** The broker's counters: totals since it started, and gauges of the present. */
export interface BrokerStats {
  /** Client requests received for worker services (MMI excluded). */
  requests: number;
  /** Replies forwarded from workers to clients. */
  replies: number;
  /** `mmi.*` requests answered by the broker. */
  mmiRequests: number;
  /** Requests that waited in a queue longer than `requestExpiryMs` and were dropped. */
  expired: number;
  /** Requests dropped because their service's queue was full, or there were too many services. */
  dropped: number;
  /** Requests a worker held when it expired or broke the protocol: the client must retry. */
  lost: number;
  /** Requests put back at the head of their queue because their worker sent DISCONNECT. */
  requeued: number;
  /**
   * REPLYs whose client address matched no request their worker held (a
   * buggy or confused worker): forwarded to that address anyway, as 7/MDP
   * brokers do, but they give the worker no credit back.
   */
  repliesUnmatched: number;
  /** Malformed messages dropped (bad header, missing frames, unknown command, oversized frame...). */
  malformed: number;
  /** DISCONNECT commands sent for valid but unexpected commands or refused services. */
  disconnectsSent: number;
  /** READY commands refused (an `mmi.*` service, or too many services). */
  workersRefused: number;
  /** Workers that registered (READY accepted). */
  workersReady: number;
  /** Workers expired after `liveness` heartbeat intervals of silence. */
  workersExpired: number;
  /** Workers that sent DISCONNECT. */
  workersDisconnected: number;
  /** Gauge: registered workers now. */
  workers: number;
  /** Gauge: services known now (a service is forgotten once it has neither workers nor queued requests). */
  services: number;
  /** Gauge: requests waiting in queues now. */
  queued: number;
  /** Gauge: requests held by workers now (sent to a worker, not yet answered). */
  inFlight: number;
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
   * How many requests it held when it left: requeued when it sent
   * DISCONNECT, lost otherwise (each also has its own event).
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
  /** Its service's queue was full, or too many services exist. */
  reason: "queue-full" | "too-many-services";
}

/** A request lost with its worker (event `request-lost`). */
export interface LostInfo extends RequestInfo {
  /** The worker that held it, its routing id in hex. */
  worker: string;
  /** Why the worker went. */
  reason: WorkerGoneReason;
}

/** A request given back by a worker that sent DISCONNECT (event `request-requeued`). */
export interface RequeuedInfo extends RequestInfo {
  /** The worker that held it, its routing id in hex. */
  worker: string;
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
  /** A worker left: it expired, sent DISCONNECT, broke the protocol, or the broker closed. */
  "worker-gone": [info: WorkerGoneInfo];
  /** A client request was queued for its service (emitted only when listened to). */
  request: [info: RequestInfo];
  /** A reply went back to a client (emitted only when listened to). */
  reply: [info: ReplyInfo];
  /** A queued request waited longer than `requestExpiryMs` and was dropped. */
  "request-expired": [info: RequestInfo];
  /** A request was dropped: its queue was full, or too many services exist. */
  "request-dropped": [info: DroppedInfo];
  /** A worker held this request when it expired or broke the protocol (one event per request held); the client's retry recovers it. */
  "request-lost": [info: LostInfo];
  /** A worker sent DISCONNECT while holding this request (one event per request held), which went back to the head of its queue. */
  "request-requeued": [info: RequeuedInfo];
  /** A malformed message was dropped. */
  malformed: [info: MalformedInfo];
}

/** The broker settings the state needs, resolved. @internal */
export interface BrokerConfig {
  heartbeatIntervalMs: number;
  liveness: number;
  requestExpiryMs: number;
  maxQueuePerService: number;
  queueOverflow: QueueOverflowPolicy;
  maxFrameBytes: number;
  maxServices: number;
  workerPrefetch: number;
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
}

interface QueuedRequest {
  client: Buffer;
  body: Buffer[];
  arrivedAt: number;
}

interface ServiceEntry {
  key: string;
  /** The name as it came on the wire (sent back in replies). */
  name: Buffer;
  label: string;
  queue: Deque<QueuedRequest>;
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
}

interface WorkerEntry {
  key: string;
  identity: Buffer;
  service: ServiceEntry;
  expiresAt: number;
  /** The requests sent to it and not answered yet, in the order they were sent. */
  inHand: QueuedRequest[];
  prev: WorkerEntry | undefined;
  next: WorkerEntry | undefined;
  /** The list it is in (its load when it was linked), or -1 when it has no credit or is gone. */
  list: number;
}

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
    lost: 0,
    requeued: 0,
    repliesUnmatched: 0,
    malformed: 0,
    disconnectsSent: 0,
    workersRefused: 0,
    workersReady: 0,
    workersExpired: 0,
    workersDisconnected: 0,
    workers: 0,
    services: 0,
    queued: 0,
    inFlight: 0,
  };

  readonly #config: BrokerConfig;
  readonly #host: BrokerHost;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #workers = new Map<string, WorkerEntry>();
  readonly #limits: { maxFrameBytes: number };

  constructor(config: BrokerConfig, host: BrokerHost) {
    this.#config = config;
    this.#host = host;
    this.#limits = { maxFrameBytes: config.maxFrameBytes };
  }

  /** How long a worker may stay silent before it expires, in ms. */
  get workerExpiryMs(): number {
    return this.#config.heartbeatIntervalMs * this.#config.liveness;
  }

  // ------------------------------------------------------------ messages

  /** Handles one message received by the ROUTER (routing id first). */
  onMessage(frames: Buffer[]): void {
    const msg = decodeBrokerMessage(frames, this.#limits);
    switch (msg.kind) {
      case "request":
        if (isMmiService(msg.service)) this.#mmi(msg.sender, msg.service, msg.body);
        else this.#request(msg.sender, msg.service, msg.body);
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

  #request(client: Buffer, service: Buffer, body: Buffer[]): void {
    this.stats.requests++;
    const entry = this.#service(service);
    const label = entry?.label ?? service.toString();
    if (entry === undefined) {
      this.#drop(label, client, "too-many-services");
      return;
    }
    if (this.#host.listening("request")) this.#host.emit("request", { service: label, client: client.toString("hex") });
    if (entry.queue.length >= this.#config.maxQueuePerService) {
      if (this.#config.queueOverflow === "drop-newest") {
        this.#drop(label, client, "queue-full");
        return;
      }
      const oldest = entry.queue.shift()!;
      this.stats.queued--;
      this.#drop(label, oldest.client, "queue-full");
    }
    entry.queue.push({ client, body, arrivedAt: this.#host.now() });
    this.stats.queued++;
    this.#dispatch(entry);
  }

  #drop(service: string, client: Buffer, reason: "queue-full" | "too-many-services"): void {
    this.stats.dropped++;
    log.warn("request for %s from %s dropped: %s", service, client.toString("hex"), reason);
    this.#host.emit("request-dropped", { service, client: client.toString("hex"), reason });
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
    const entry = this.#service(service);
    if (entry === undefined) {
      this.stats.workersRefused++;
      this.#disconnect(sender, `READY for ${printable(service)}: too many services (maxServices ${this.#config.maxServices})`);
      return;
    }
    const worker: WorkerEntry = {
      key: k,
      identity: sender,
      service: entry,
      expiresAt: this.#host.now() + this.workerExpiryMs,
      inHand: [],
      prev: undefined,
      next: undefined,
      list: -1,
    };
    this.#workers.set(k, worker);
    entry.workers++;
    this.stats.workers++;
    this.stats.workersReady++;
    log.info("worker %s ready for %s", sender.toString("hex"), entry.label);
    this.#host.emit("worker-ready", { service: entry.label, worker: sender.toString("hex") });
    this.#link(worker);
    this.#dispatch(entry);
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
    while (i < inHand.length && !inHand[i]!.client.equals(client)) i++;
    if (i < inHand.length) {
      if (i === 0) inHand.shift();
      else inHand.splice(i, 1);
      this.stats.inFlight--;
      service.inFlight--;
      this.#unlink(worker);
      this.#link(worker); // one request lighter: the tail of its new load's list
    } else {
      this.stats.repliesUnmatched++;
      log.warn("REPLY from worker %s to %s matches no request it holds: forwarded, no credit back", sender.toString("hex"), client.toString("hex"));
    }
    this.stats.replies++;
    this.#host.send(encodeClientReply(client, service.name, body), "client");
    if (this.#host.listening("reply")) {
      this.#host.emit("reply", { service: service.label, client: client.toString("hex"), worker: sender.toString("hex"), inHand: inHand.length });
    }
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
    log.warn("dropped a malformed message from %s: %s", who ?? "?", reason);
    this.#host.emit("malformed", { reason, frame, sender: who });
  }

  // ------------------------------------------------------------ dispatch

  /**
   * Hands queued requests to workers with credit: the least loaded first,
   * and among equally loaded ones the least recently used (with
   * `workerPrefetch` 1: idle workers in LRU order, as 7/MDP says).
   */
  #dispatch(service: ServiceEntry): void {
    const queue = service.queue;
    if (queue.length === 0 || service.available === 0) {
      this.#forgetIfIdle(service);
      return;
    }
    const oldest = this.#host.now() - this.#config.requestExpiryMs;
    while (service.available > 0 && queue.length > 0) {
      const request = queue.shift()!;
      this.stats.queued--;
      if (request.arrivedAt < oldest) {
        this.#expired(service, request);
        continue;
      }
      const worker = this.#leastLoaded(service);
      this.#unlink(worker);
      worker.inHand.push(request);
      this.stats.inFlight++;
      service.inFlight++;
      this.#link(worker); // one request heavier, or out of the lists when it has no credit left
      this.#host.send(encodeWorkerRequest(worker.identity, request.client, request.body), "worker");
    }
  }

  /** The head of the lowest non-empty load list; only called when `service.available > 0`. */
  #leastLoaded(service: ServiceEntry): WorkerEntry {
    let k = service.minLoad;
    while (service.heads[k] === undefined) k++;
    service.minLoad = k;
    return service.heads[k]!;
  }

  #expired(service: ServiceEntry, request: QueuedRequest): void {
    this.stats.expired++;
    const client = request.client.toString("hex");
    log.warn("request for %s from %s expired after %d ms in the queue", service.label, client, this.#config.requestExpiryMs);
    this.#host.emit("request-expired", { service: service.label, client });
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
        heads: [],
        tails: [],
        minLoad: 0,
        available: 0,
        waiting: 0,
        workers: 0,
        inFlight: 0,
      };
      this.#services.set(k, entry);
      this.stats.services++;
    }
    return entry;
  }

  /** Forgets a service with no workers and no queued requests (bounded memory). */
  #forgetIfIdle(service: ServiceEntry): void {
    if (service.workers === 0 && service.queue.length === 0 && this.#services.get(service.key) === service) {
      this.#services.delete(service.key);
      this.stats.services--;
    }
  }

  // ------------------------------------------------------------- workers

  #refresh(worker: WorkerEntry): void {
    worker.expiresAt = this.#host.now() + this.workerExpiryMs;
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
    this.#unlink(worker);
    const service = worker.service;
    service.workers--;
    this.stats.workers--;
    if (reason === "expired") this.stats.workersExpired++;
    else if (reason === "disconnected") this.stats.workersDisconnected++;
    const id = worker.identity.toString("hex");
    const held = worker.inHand;
    worker.inHand = [];
    const k = held.length;
    if (k > 0) {
      this.stats.inFlight -= k;
      service.inFlight -= k;
      if (reason === "disconnected") {
        // A worker that says goodbye will not answer what it holds (it would
        // have replied first): the requests go back to the head of the
        // queue, in the order they were sent.
        for (let i = k - 1; i >= 0; i--) service.queue.unshift(held[i]!);
        this.stats.queued += k;
        this.stats.requeued += k;
        log.info("worker %s left holding %d request(s) for %s: requeued", id, k, service.label);
        for (const request of held) this.#host.emit("request-requeued", { service: service.label, client: request.client.toString("hex"), worker: id });
      } else {
        // It may have acted on them: never resent by the broker; each
        // client's retry recovers its request.
        this.stats.lost += k;
        const clients = held.map((r) => r.client.toString("hex"));
        log.warn("worker %s (%s) held %d request(s) for %s: lost, their clients must retry (%s)", id, reason, k, service.label, clients.join(" "));
        for (const client of clients) this.#host.emit("request-lost", { service: service.label, client, worker: id, reason });
      }
    }
    log.info("worker %s for %s gone: %s", id, service.label, reason);
    this.#host.emit("worker-gone", { service: service.label, worker: id, reason, inHand: k });
    this.#dispatch(service);
  }

  // -------------------------------------------------------------- timers

  /** Sends HEARTBEAT to every worker, idle or busy. */
  heartbeat(): void {
    for (const worker of this.#workers.values()) this.#host.send(encodeHeartbeat(worker.identity), "worker");
  }

  /** Expires every worker silent for `liveness` intervals, busy ones included; visits them all. */
  purgeWorkers(): void {
    const t = this.#host.now();
    for (const worker of [...this.#workers.values()]) {
      if (worker.expiresAt <= t) this.#deleteWorker(worker, "expired");
    }
  }

  /** Drops queued requests older than `requestExpiryMs`, in every service. */
  expireRequests(): void {
    const oldest = this.#host.now() - this.#config.requestExpiryMs;
    for (const service of [...this.#services.values()]) {
      const queue = service.queue;
      // queues are in arrival order (a requeued request is older than the rest)
      while (queue.length > 0 && queue.peek()!.arrivedAt < oldest) {
        const request = queue.shift()!;
        this.stats.queued--;
        this.#expired(service, request);
      }
      this.#forgetIfIdle(service);
    }
  }

  /** Sends DISCONNECT to every worker and forgets them all (the broker closes). */
  disconnectAll(): void {
    for (const worker of [...this.#workers.values()]) {
      this.#host.send(encodeDisconnect(worker.identity), "worker");
      this.stats.disconnectsSent++;
      this.#deleteWorker(worker, "closed");
    }
  }

  // ----------------------------------------------------------------- MMI

  #mmi(client: Buffer, service: Buffer, body: Buffer[]): void {
    this.stats.mmiRequests++;
    const name = service.toString();
    let reply: Buffer[];
    if (name === MMI_SERVICE) {
      const asked = body[0];
      const entry = asked === undefined ? undefined : this.#services.get(key(asked));
      reply = [Buffer.from(entry !== undefined && entry.workers > 0 ? MMI_OK : MMI_NOT_FOUND)];
    } else if (name === MMI_STATS) {
      reply = [Buffer.from(MMI_OK), Buffer.from(JSON.stringify(this.snapshot(body[0]?.toString())))];
    } else {
      reply = [Buffer.from(MMI_NOT_IMPLEMENTED)];
    }
    this.#host.send(encodeClientReply(client, service, reply), "client");
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
  /** Other figures the broker adds, such as `rssBytes` and `heapUsedBytes`. */
  [extra: string]: unknown;
}

/** A Map key for a binary frame: one char per byte. */
function key(frame: Buffer): string {
  return frame.toString("latin1");
}
