/**
 * ZBeacon: CZMQ's `zbeacon`, LAN discovery over UDP broadcast on
 * `node:dgram`: publish a small beacon at an interval, listen for others
 * with a prefix filter.
 * @module
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { ClosedError, ErrorCode, InvalidArgumentError, ZkitError, describeValue, getLogger, readOptions, toFrame, type FrameLike, type Pollable } from "@zkit/core";
import { resolveBeaconInterface, type BeaconInterface } from "./beacon-interface.js";

const log = getLogger("beacon");

/** The largest beacon, in bytes (CZMQ's `UDP_FRAME_MAX`); larger datagrams are dropped. */
export const BEACON_MAX_BYTES = 255;

/** Default of the `intervalMs` of {@link ZBeacon.publish} (CZMQ's `INTERVAL_DFLT`). */
export const BEACON_INTERVAL_MS = 1000;

/** Default of {@link ZBeaconOptions.receiveHighWaterMark}. */
export const DEFAULT_BEACON_HWM = 1000;

/** The options of a {@link ZBeacon}. */
export interface ZBeaconOptions {
  /**
   * The UDP port every beacon of the application shares (CZMQ's
   * `CONFIGURE port`). Required. Several beacons on one host can use the
   * same port.
   */
  port: number;
  /**
   * The network interface: a name (`"eth0"`, `"lo"`), one of this host's
   * IPv4 addresses, or `"*"` for every interface (listen on all, send to
   * 255.255.255.255, which Linux sends out of the default route's
   * interface only). Beacons go to the interface's subnet broadcast
   * address. CZMQ reads this from `ZSYS_INTERFACE`; zkit takes it here.
   * @defaultValue the interface of the IPv4 default route; else the first
   *   interface that can broadcast and is not loopback, a container bridge
   *   or a VPN tunnel; else loopback. Not simply the first in the list, which
   *   is often `docker0` or a VPN: CZMQ's trap.
   */
  interface?: string;
  /**
   * Log what the beacon does (configure, publish, silence, subscribe, each
   * beacon sent and received) at info level on the `zkit:beacon` logger
   * (CZMQ's `VERBOSE`). May be changed later ({@link ZBeacon.verbose}).
   * @defaultValue false
   */
  verbose?: boolean;
  /**
   * How many received beacons wait for {@link ZBeacon.receive} / `for await`
   * before the oldest are dropped (counted in `stats.overflow`).
   * @defaultValue 1000
   */
  receiveHighWaterMark?: number;
}

/** Options of {@link ZBeacon.publish}. */
export interface PublishOptions {
  /** Time between beacons in ms; the first goes at once. @defaultValue 1000 */
  intervalMs?: number;
}

/** A beacon received from another node. */
export interface Beacon {
  /** The sender's IPv4 address (what CZMQ passes as the first frame). */
  readonly address: string;
  /** The sender's UDP port. */
  readonly port: number;
  /** The beacon's bytes. */
  readonly data: Buffer;
}

/** The counters of a {@link ZBeacon}, since it started. */
export interface ZBeaconStats {
  /** Beacons sent. */
  readonly sent: number;
  /** Sends the network refused (no route, interface down), counted and logged. */
  readonly sendErrors: number;
  /** Beacons delivered to the application (queued for `receive`). */
  readonly received: number;
  /** Beacons that did not match the subscription, or came with none set. */
  readonly filtered: number;
  /** This beacon's own broadcasts, which UDP loops back to it (dropped). */
  readonly own: number;
  /** Datagrams longer than {@link BEACON_MAX_BYTES} (dropped). */
  readonly oversize: number;
  /** Received beacons dropped because nobody read them (see {@link ZBeaconOptions.receiveHighWaterMark}). */
  readonly overflow: number;
}

type State = "new" | "starting" | "running" | "closed";

const OPTION_NAMES = ["port", "interface", "verbose", "receiveHighWaterMark"] as const;

/**
 * A LAN beacon (CZMQ `zbeacon`): broadcasts a small message (up to 255
 * bytes) every interval on a UDP port, and hears the beacons of other
 * nodes on the same port and subnet: the discovery half of a peer-to-peer
 * network (Zyre's, or your own: put a TCP port in the beacon and connect
 * to the sender's address).
 *
 * - {@link ZBeacon.publish} starts broadcasting (the first beacon at once),
 *   {@link ZBeacon.silence} stops.
 * - {@link ZBeacon.subscribe} sets a prefix filter; as in CZMQ, nothing is
 *   delivered until a subscription is set (`""` takes every beacon).
 * - Received beacons come from `for await` (as {@link Beacon} objects) or
 *   {@link ZBeacon.receive} (as CZMQ's two frames, `[address][data]`). The
 *   beacon is `Pollable`: a ZLoop reader or a ZPoller takes it like a socket.
 * - The beacon's own broadcasts, which UDP echoes back, are dropped: it
 *   sends from a socket of its own, so they are told apart by sender
 *   address and port. (CZMQ drops any beacon equal to its own, even
 *   another node's.)
 * - Oversized or unexpected datagrams are dropped and counted; nothing a
 *   network sends can make it throw.
 *
 * @example
 * ```ts
 * const beacon = new ZBeacon({ port: 5670 });      // the default route's interface
 * await beacon.start();
 * beacon.publish(`tcp://${beacon.hostname}:5555`); // where to find our service
 * beacon.subscribe("tcp://");
 * for await (const { address, data } of beacon) {
 *   console.log(`peer at ${address}: ${data}`);
 * }
 * ```
 */
export class ZBeacon implements Pollable, AsyncIterable<Beacon> {
  /** The UDP port. */
  readonly port: number;
  readonly #spec: string | undefined;
  readonly #hwm: number;
  #verbose: boolean;
  #iface: BeaconInterface | undefined;
  #state: State = "new";
  #rx: UdpSocket | undefined;
  #tx: UdpSocket | undefined;
  #txPort = 0;
  #transmit: Buffer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #filter: Buffer | undefined;
  #queue: Beacon[] = [];
  #waiters: { resolve: (ok: boolean) => void }[] = [];
  #reading = false;
  #stats = { sent: 0, sendErrors: 0, received: 0, filtered: 0, own: 0, oversize: 0, overflow: 0 };

  /**
   * @param options - see {@link ZBeaconOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, or an
   *   interface this host does not have (the message lists those it has)
   */
  constructor(options: ZBeaconOptions) {
    const o = readOptions(options, { owner: "ZBeacon", known: OPTION_NAMES, example: "{ port: 5670 }" });
    if (o.raw("port") === undefined) o.fail("port", "is required: pass the UDP port every beacon of the application shares, e.g. 5670");
    this.port = o.number("port", 0, { min: 1, integer: true, meaning: "a UDP port, 1 to 65535" });
    if (this.port > 65535) o.fail("port", `must be a UDP port, 1 to 65535, got ${this.port}`);
    const iface = o.raw("interface");
    if (iface !== undefined && (typeof iface !== "string" || iface.trim() === "")) {
      o.fail("interface", `must be an interface name, an IPv4 address of this host or "*", got ${describeValue(iface)}`);
    }
    this.#spec = iface as string | undefined;
    this.#verbose = o.boolean("verbose", false);
    this.#hwm = o.number("receiveHighWaterMark", DEFAULT_BEACON_HWM, { min: 1, integer: true, meaning: "beacons waiting to be read" });
    // resolve now, so that a wrong interface fails at construction
    this.#iface = resolveBeaconInterface(this.#spec);
  }

  /**
   * The interface in use: its name, address, netmask and broadcast
   * address. Resolved when the beacon is made.
   */
  get interface(): BeaconInterface {
    return this.#iface!;
  }

  /**
   * The address other nodes see this beacon send from (CZMQ's reply to
   * `CONFIGURE`): the interface's IPv4 address, or `"*"` for every
   * interface. Put it in the beacon to say where a service is.
   */
  get hostname(): string {
    return this.#iface!.name === "*" ? "*" : this.#iface!.address;
  }

  /** Whether what the beacon does is logged; see {@link ZBeaconOptions.verbose}. */
  get verbose(): boolean {
    return this.#verbose;
  }

  set verbose(on: boolean) {
    if (typeof on !== "boolean") throw new InvalidArgumentError(`ZBeacon.verbose must be true or false, got ${describeValue(on)}`);
    this.#verbose = on;
  }

  /** True once {@link ZBeacon.close} was called. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  /** True when a beacon is waiting to be received. */
  get readable(): boolean {
    return this.#queue.length > 0;
  }

  /** True while publishing (between {@link ZBeacon.publish} and {@link ZBeacon.silence}). */
  get publishing(): boolean {
    return this.#transmit !== undefined;
  }

  /** The counters since the beacon started (a snapshot). */
  get stats(): ZBeaconStats {
    return { ...this.#stats };
  }

  /**
   * Opens the UDP sockets (CZMQ `CONFIGURE`): one bound to the port that
   * hears broadcasts (shared with other beacons on this host), one to send
   * from.
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close; the
   *   socket error (e.g. `EADDRNOTAVAIL`) as `ZKIT_SOCKET` when a bind fails
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `ZBeacon.start: the beacon is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    const iface = this.#iface!;
    const rx = createSocket({ type: "udp4", reuseAddr: true });
    const tx = createSocket({ type: "udp4" });
    try {
      await bind(rx, this.port, listenAddress(iface));
      await bind(tx, 0, iface.address);
      tx.setBroadcast(true);
    } catch (err) {
      rx.close();
      tx.close();
      this.#state = "closed";
      throw new ZkitError(ErrorCode.Socket, `ZBeacon.start: cannot open UDP port ${this.port} on ${iface.name} (${iface.address}): ${(err as Error).message}`, { cause: err });
    }
    if (this.#state !== "starting") {
      rx.close();
      tx.close();
      throw new ClosedError("ZBeacon.start: closed while starting");
    }
    this.#rx = rx;
    this.#tx = tx;
    this.#txPort = tx.address().port;
    rx.on("message", this.#onDatagram);
    rx.on("error", (err) => log.warn("receive socket error: %s", err.message));
    tx.on("error", (err) => log.warn("send socket error: %s", err.message));
    this.#state = "running";
    if (this.#verbose) log.info("configured: port %d on %s, address %s, broadcast %s", this.port, iface.name, iface.address, iface.broadcast);
  }

  /**
   * Starts broadcasting `data` every `intervalMs` (CZMQ `PUBLISH`), the
   * first beacon at once; replaces what was published before.
   *
   * @param data - up to 255 bytes (a string is sent as UTF-8)
   * @throws `InvalidArgumentError` for more than 255 bytes or a bad
   *   interval; `ZkitError` `ZKIT_STATE` when not started
   */
  publish(data: FrameLike, options?: PublishOptions): void {
    this.#checkRunning("publish");
    const frame = Buffer.from(toFrame(data, "ZBeacon.publish"));
    if (frame.length > BEACON_MAX_BYTES) throw new InvalidArgumentError(`ZBeacon.publish: a beacon holds at most ${BEACON_MAX_BYTES} bytes, got ${frame.length}`);
    const o = readOptions(options, { owner: "ZBeacon.publish", known: ["intervalMs"] });
    const intervalMs = o.number("intervalMs", BEACON_INTERVAL_MS, { min: 0, exclusive: true });
    this.#transmit = frame;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = setInterval(this.#send, intervalMs);
    if (this.#verbose) log.info("publishing %d bytes every %d ms to %s:%d", frame.length, intervalMs, this.#iface!.broadcast, this.port);
    this.#send();
  }

  /** Stops broadcasting (CZMQ `SILENCE`). */
  silence(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#transmit = undefined;
    if (this.#verbose) log.info("silenced");
  }

  /**
   * Delivers the beacons whose bytes start with `filter` (CZMQ
   * `SUBSCRIBE`); `""` (the default) delivers every beacon. Replaces the
   * previous filter. Until a subscription is set, nothing is delivered.
   *
   * @throws `InvalidArgumentError` for a filter longer than 255 bytes
   */
  subscribe(filter: FrameLike = ""): void {
    const f = Buffer.from(toFrame(filter, "ZBeacon.subscribe"));
    if (f.length > BEACON_MAX_BYTES) throw new InvalidArgumentError(`ZBeacon.subscribe: a filter holds at most ${BEACON_MAX_BYTES} bytes, got ${f.length}`);
    this.#filter = f;
    if (this.#verbose) log.info("subscribed to %s", f.length === 0 ? "every beacon" : JSON.stringify(f.toString("latin1")));
  }

  /** Stops delivering beacons (CZMQ `UNSUBSCRIBE`); those already queued can still be read. */
  unsubscribe(): void {
    this.#filter = undefined;
    if (this.#verbose) log.info("unsubscribed");
  }

  /**
   * Receives the next beacon as CZMQ's message: `[address][data]`, the
   * sender's IPv4 address as text and the beacon's bytes.
   * @returns rejects with `ClosedError` once the beacon is closed and
   *   nothing is queued, `ZKIT_BUSY` for a second concurrent receive
   */
  async receive(): Promise<Buffer[]> {
    const b = await this.#next("receive");
    return [Buffer.from(b.address), b.data];
  }

  /**
   * Resolves true once a beacon can be received at once, false when the
   * beacon is closed (the `Pollable` contract, for ZLoop and ZPoller).
   */
  waitReadable(): Promise<boolean> {
    if (this.#queue.length > 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }

  /**
   * Iterates over received beacons; the loop ends when the beacon closes.
   * @example
   * ```ts
   * for await (const { address, data } of beacon) console.log(address, data.toString());
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Beacon> {
    return {
      next: () =>
        this.#next("for await").then(
          (value) => ({ value, done: false }),
          (err: unknown) => {
            if (err instanceof ZkitError && err.code === ErrorCode.Closed) return { value: undefined, done: true };
            throw err;
          },
        ),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * Stops publishing and closes both UDP sockets (CZMQ `$TERM`). A pending
   * receive rejects with `ClosedError`, a `for await` loop ends.
   * Idempotent; resolves once the sockets are closed.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasRunning = this.#state === "running";
    this.#state = "closed";
    this.silence();
    for (const w of this.#waiters.splice(0)) w.resolve(false);
    if (wasRunning) await Promise.all([closeUdp(this.#rx!), closeUdp(this.#tx!)]);
    if (this.#verbose) log.info("closed");
  }

  /** Closes the beacon (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #next(what: string): Promise<Beacon> {
    if (this.#reading) {
      throw new ZkitError(ErrorCode.Busy, `ZBeacon ${what}: another receive is already pending; read a beacon from one place (one for-await loop, or a ZLoop reader)`);
    }
    this.#reading = true;
    try {
      while (this.#queue.length === 0) {
        if (this.closed || !(await this.waitReadable())) throw new ClosedError(`ZBeacon ${what}: the beacon is closed`);
      }
      return this.#queue.shift()!;
    } finally {
      this.#reading = false;
    }
  }

  #checkRunning(what: string): void {
    if (this.#state !== "running") {
      throw new ZkitError(ErrorCode.State, `ZBeacon.${what}: the beacon is ${this.#state === "closed" ? "closed" : "not started; await beacon.start() first"}`);
    }
  }

  #send = (): void => {
    const data = this.#transmit;
    if (data === undefined || this.#state !== "running") return;
    this.#tx!.send(data, this.port, this.#iface!.broadcast, (err) => {
      if (err) {
        this.#stats.sendErrors++;
        if (this.#stats.sendErrors === 1 || this.#stats.sendErrors % 100 === 0) {
          log.warn("cannot send a beacon to %s:%d (%s); %d failed so far", this.#iface!.broadcast, this.port, err.message, this.#stats.sendErrors);
        }
        return;
      }
      this.#stats.sent++;
      if (this.#verbose) log.info("sent %d bytes to %s:%d", data.length, this.#iface!.broadcast, this.port);
    });
  };

  #onDatagram = (data: Buffer, from: RemoteInfo): void => {
    if (this.#state !== "running") return;
    if (from.port === this.#txPort && this.#isOwnAddress(from.address)) {
      this.#stats.own++;
      return;
    }
    if (data.length > BEACON_MAX_BYTES) {
      this.#stats.oversize++;
      if (this.#stats.oversize === 1 || this.#stats.oversize % 100 === 0) {
        log.warn("dropped a %d-byte datagram from %s:%d (a beacon holds at most %d); %d so far", data.length, from.address, from.port, BEACON_MAX_BYTES, this.#stats.oversize);
      }
      return;
    }
    const filter = this.#filter;
    if (filter === undefined || data.length < filter.length || !data.subarray(0, filter.length).equals(filter)) {
      this.#stats.filtered++;
      return;
    }
    this.#stats.received++;
    if (this.#verbose) log.info("received %d bytes from %s:%d", data.length, from.address, from.port);
    this.#queue.push({ address: from.address, port: from.port, data });
    if (this.#queue.length > this.#hwm) {
      this.#queue.shift();
      this.#stats.overflow++;
    }
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.resolve(true);
  };

  #isOwnAddress(address: string): boolean {
    const iface = this.#iface!;
    if (iface.name !== "*") return address === iface.address;
    return address === "0.0.0.0" || hostAddresses().has(address);
  }
}

/** Where the receiving socket binds: the broadcast address on Linux (only broadcasts reach it, as in CZMQ), else every address. */
function listenAddress(iface: BeaconInterface): string {
  if (iface.name === "*") return "0.0.0.0";
  if (process.platform === "linux") return iface.broadcast;
  if (process.platform === "win32") return iface.address;
  return "0.0.0.0";
}

function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const infos of Object.values(networkInterfaces())) for (const i of infos ?? []) out.add(i.address);
  return out;
}

function bind(sock: UdpSocket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once("error", onError);
    sock.bind(port, address, () => {
      sock.off("error", onError);
      resolve();
    });
  });
}

function closeUdp(sock: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
