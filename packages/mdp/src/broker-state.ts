/**
 * The Majordomo broker's decisions, without sockets or timers: services,
 * workers in least-recently-used order, bounded and expiring request queues,
 * worker expiry, MMI. {@link MajordomoBroker} feeds it decoded messages and
 * clock ticks and sends what it returns; tests drive it directly.
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
  /** Gauge: requests held by workers now. */
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
}

/** A reply forwarded to a client (event `reply`). */
export interface ReplyInfo extends RequestInfo {
  /** The worker that answered, its routing id in hex. */
  worker: string;
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
  /** A worker held this request when it expired or broke the protocol; the client's retry recovers it. */
  "request-lost": [info: LostInfo];
  /** A worker sent DISCONNECT while holding this request, which went back to the head of its queue. */
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
  /** Idle workers, least recently used first (intrusive doubly linked list). */
  head: WorkerEntry | undefined;
  tail: WorkerEntry | undefined;
  waiting: number;
  workers: number;
}

interface WorkerEntry {
  key: string;
  identity: Buffer;
  service: ServiceEntry;
  expiresAt: number;
  request: QueuedRequest | undefined;
  prev: WorkerEntry | undefined;
  next: WorkerEntry | undefined;
  linked: boolean;
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
      request: undefined,
      prev: undefined,
      next: undefined,
      linked: false,
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
    if (worker.request !== undefined) {
      worker.request = undefined;
      this.stats.inFlight--;
    }
    this.stats.replies++;
    this.#host.send(encodeClientReply(client, service.name, body), "client");
    if (this.#host.listening("reply")) {
      this.#host.emit("reply", { service: service.label, client: client.toString("hex"), worker: sender.toString("hex") });
    }
    if (!worker.linked) this.#link(worker);
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

  /** Hands queued requests to idle workers, least recently used first. */
  #dispatch(service: ServiceEntry): void {
    const queue = service.queue;
    if (queue.length === 0 || service.head === undefined) {
      this.#forgetIfIdle(service);
      return;
    }
    const oldest = this.#host.now() - this.#config.requestExpiryMs;
    while (service.head !== undefined && queue.length > 0) {
      const request = queue.shift()!;
      this.stats.queued--;
      if (request.arrivedAt < oldest) {
        this.#expired(service, request);
        continue;
      }
      const worker = service.head;
      this.#unlink(worker);
      worker.request = request;
      this.stats.inFlight++;
      this.#host.send(encodeWorkerRequest(worker.identity, request.client, request.body), "worker");
    }
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
      entry = { key: k, name, label: name.toString(), queue: new Deque(), head: undefined, tail: undefined, waiting: 0, workers: 0 };
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

  /** Appends an idle worker to its service's LRU list. */
  #link(worker: WorkerEntry): void {
    const service = worker.service;
    worker.prev = service.tail;
    worker.next = undefined;
    if (service.tail !== undefined) service.tail.next = worker;
    else service.head = worker;
    service.tail = worker;
    worker.linked = true;
    service.waiting++;
  }

  #unlink(worker: WorkerEntry): void {
    if (!worker.linked) return;
    const service = worker.service;
    if (worker.prev !== undefined) worker.prev.next = worker.next;
    else service.head = worker.next;
    if (worker.next !== undefined) worker.next.prev = worker.prev;
    else service.tail = worker.prev;
    worker.prev = worker.next = undefined;
    worker.linked = false;
    service.waiting--;
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
    const request = worker.request;
    if (request !== undefined) {
      worker.request = undefined;
      this.stats.inFlight--;
      const client = request.client.toString("hex");
      if (reason === "disconnected") {
        // A worker that says goodbye will not answer what it holds (it
        // would have replied first): the request goes back to the head.
        service.queue.unshift(request);
        this.stats.queued++;
        this.stats.requeued++;
        log.info("worker %s left holding a request for %s from %s: requeued", id, service.label, client);
        this.#host.emit("request-requeued", { service: service.label, client, worker: id });
      } else {
        this.stats.lost++;
        log.warn("worker %s (%s) held a request for %s from %s: lost, the client must retry", id, reason, service.label, client);
        this.#host.emit("request-lost", { service: service.label, client, worker: id, reason });
      }
    }
    log.info("worker %s for %s gone: %s", id, service.label, reason);
    this.#host.emit("worker-gone", { service: service.label, worker: id, reason });
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
    for (const entry of this.#services.values()) {
      if (service !== undefined && entry.label !== service) continue;
      services.push({ name: entry.label, workers: entry.workers, waiting: entry.waiting, queued: entry.queue.length });
    }
    return { ...this.stats, ...this.#host.extraStats?.(), serviceList: services };
  }
}

/** One service in a {@link BrokerSnapshot}. */
export interface ServiceSnapshot {
  /** The service name. */
  name: string;
  /** Registered workers. */
  workers: number;
  /** Idle workers, waiting for a request. */
  waiting: number;
  /** Requests waiting for a worker. */
  queued: number;
}

/** What `mmi.stats` returns (as JSON) and `MajordomoBroker.snapshot()` gives. */
export interface BrokerSnapshot extends BrokerStats {
  /** The services, or the one asked for. */
  serviceList: ServiceSnapshot[];
  /** Other figures the broker adds, such as `rssBytes` and `heapUsedBytes`. */
  [extra: string]: unknown;
}

/** A Map key for a binary frame: one char per byte. */
function key(frame: Buffer): string {
  return frame.toString("latin1");
}
