/**
 * ZProxy: CZMQ's `zproxy`, a steerable proxy between a frontend and a
 * backend socket of any types that make sense, with an optional capture
 * socket, on zkit's own read loops (a ZLoop) rather than zeromq.js's native
 * `Proxy`.
 * @module
 */
import {
  CAN_RECEIVE,
  CAN_SEND,
  ClosedError,
  ErrorCode,
  InvalidArgumentError,
  ZSocket,
  ZkitError,
  describeValue,
  getLogger,
  parseEndpoints,
  readOptions,
  type SocketOptionsOf,
  type SocketType,
  type TraceFn,
} from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { ZMsg } from "@zkit/zmsg";

const log = getLogger("proxy");

/** The socket types a proxy end may have. */
export type ProxySocketType = "PAIR" | "PUB" | "SUB" | "DEALER" | "ROUTER" | "PULL" | "PUSH" | "XPUB" | "XSUB";

const PROXY_TYPES: readonly ProxySocketType[] = ["PAIR", "PUB", "SUB", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"];

/** One end of a proxy (CZMQ's `FRONTEND`/`BACKEND` command): a socket the proxy makes and owns. */
export interface ProxySocketSpec<T extends ProxySocketType = ProxySocketType> {
  /**
   * The socket type: `ROUTER`/`DEALER` for request-reply, `XSUB`/`XPUB`
   * for publish-subscribe (subscriptions travel upstream), `PULL`/`PUSH`
   * for pipelines; `SUB` subscribes to everything.
   */
  type: T;
  /**
   * A CZMQ endpoint list, e.g. `"@tcp://*:5555"` or `">tcp://host:6000"`.
   * As in CZMQ's zproxy, an endpoint without `@` or `>` binds.
   */
  endpoints: string;
  /** Socket options (zeromq.js names), e.g. CURVE keys or high-water marks. */
  options?: SocketOptionsOf<T>;
}

/** The options of a {@link ZProxy}. */
export interface ZProxyOptions {
  /** The frontend socket (CZMQ `FRONTEND type endpoints`). Required. */
  frontend: ProxySocketSpec;
  /** The backend socket (CZMQ `BACKEND type endpoints`). Required. */
  backend: ProxySocketSpec;
  /**
   * Where a copy of every message goes, both ways (CZMQ `CAPTURE
   * endpoint`): a PUSH socket attached to this CZMQ endpoint list; an
   * endpoint without `@` or `>` connects. Bind a PULL there first.
   * A capture that cannot take a copy at once (no reader, or it has fallen
   * `sendHighWaterMark` copies behind) loses it, counted in
   * `stats.captureDropped`: a tap never slows the proxy down. libzmq's own
   * proxy would block instead.
   * @defaultValue no capture
   */
  capture?: string;
  /**
   * Options of the capture PUSH socket, e.g. `{ sendHighWaterMark: 100000 }`
   * for a capture reader that falls behind in bursts.
   * @defaultValue libzmq's (high-water mark 1000)
   */
  captureOptions?: SocketOptionsOf<"PUSH">;
  /**
   * Log every message forwarded, as CZMQ's `zmsg_print` shows it, at info
   * level on the `zkit:proxy` logger (CZMQ's `VERBOSE`; visible with
   * `NODE_DEBUG=zkit:proxy` or a sink set with `setLogSink()`). Can be
   * turned on and off while the proxy runs ({@link ZProxy.verbose}).
   * @defaultValue false
   */
  verbose?: boolean;
  /**
   * Called with every message the proxy reads (`direction: "in"`, `socket`
   * `"frontend"` or `"backend"`) and forwards (`"out"`), as every zkit
   * pattern's `trace` option. Must not throw.
   * @defaultValue none
   */
  trace?: TraceFn;
}

/** The counters of a {@link ZProxy}, since it started. */
export interface ZProxyStats {
  /** Messages read from the frontend and sent to the backend. */
  readonly frontendToBackend: number;
  /** Messages read from the backend and sent to the frontend. */
  readonly backendToFrontend: number;
  /** Copies handed to the capture socket. */
  readonly captured: number;
  /** Copies the capture socket could not take at once (dropped). */
  readonly captureDropped: number;
  /** Messages read but not forwarded because the other socket refused them (e.g. a ROUTER with `mandatory` and no such peer). */
  readonly sendFailures: number;
}

/** CZMQ's steering commands, as {@link ZProxy.command} takes them. */
export type ZProxyCommand = "PAUSE" | "RESUME" | "VERBOSE" | "TERMINATE" | "$TERM";

type State = "new" | "starting" | "running" | "closed";
type End = "frontend" | "backend";

const OPTION_NAMES = ["frontend", "backend", "capture", "captureOptions", "verbose", "trace"] as const;

/**
 * A proxy (CZMQ `zproxy`): reads every message from the frontend and sends
 * it to the backend, and back the other way where the socket types allow,
 * with a copy of each to an optional capture socket. It can be steered
 * while it runs: {@link ZProxy.pause} (messages wait in the sockets, up to
 * their high-water marks), {@link ZProxy.resume}, {@link ZProxy.verbose}
 * and {@link ZProxy.close} (TERMINATE). Order is kept in each direction;
 * every send is awaited, so a backend that cannot take more holds the
 * frontend back rather than growing a queue.
 *
 * It runs on a ZLoop in this thread, not on zeromq.js's native `Proxy`
 * (which pins a libuv threadpool thread for its life, four of which hang
 * `bind()` and file reads). The proxy makes and owns its sockets, as CZMQ's
 * does; {@link ZProxy.frontend} and {@link ZProxy.backend} are there to read
 * endpoints or add a monitor, not to receive from.
 *
 * @example
 * ```ts
 * // A pub-sub forwarder with a capture listener (the Guide's Espresso pattern)
 * const capture = await ZSocket.pull("@inproc://capture");
 * const proxy = new ZProxy({
 *   frontend: { type: "XSUB", endpoints: ">tcp://localhost:6000" },
 *   backend: { type: "XPUB", endpoints: "@tcp://*:6001" },
 *   capture: ">inproc://capture",
 * });
 * await proxy.start();
 * for await (const copy of capture) console.log(new ZMsg(copy).dump());
 * ```
 */
export class ZProxy {
  readonly #frontendSpec: ProxySocketSpec;
  readonly #backendSpec: ProxySocketSpec;
  readonly #captureSpec: string | undefined;
  readonly #captureOptions: SocketOptionsOf<"PUSH"> | undefined;
  readonly #trace: TraceFn | undefined;
  #verbose: boolean;
  #loop = new ZLoop();
  #frontend: ZSocket | undefined;
  #backend: ZSocket | undefined;
  #capture: ZSocket<"PUSH"> | undefined;
  #state: State = "new";
  #paused = false;
  #done: Promise<void> = Promise.resolve();
  #stats = { frontendToBackend: 0, backendToFrontend: 0, captured: 0, captureDropped: 0, sendFailures: 0 };

  /**
   * @param options - see {@link ZProxyOptions}
   * @throws `InvalidArgumentError` for a missing or bad option, a socket
   *   type a proxy cannot use (REQ, REP, STREAM) or a pair of types with no
   *   direction to forward; `InvalidEndpointError` for bad endpoint syntax
   */
  constructor(options: ZProxyOptions) {
    const o = readOptions(options, {
      owner: "ZProxy",
      known: OPTION_NAMES,
      example: '{ frontend: { type: "ROUTER", endpoints: "@tcp://*:5555" }, backend: { type: "DEALER", endpoints: "@tcp://*:5556" } }',
    });
    this.#frontendSpec = readEnd(o.raw("frontend"), "frontend");
    this.#backendSpec = readEnd(o.raw("backend"), "backend");
    const f = this.#frontendSpec.type;
    const b = this.#backendSpec.type;
    if (!((CAN_RECEIVE.has(f) && CAN_SEND.has(b)) || (CAN_RECEIVE.has(b) && CAN_SEND.has(f)))) {
      throw new InvalidArgumentError(
        `ZProxy: a ${f} frontend and a ${b} backend have nothing to forward (no side can read what the other can send); use e.g. ROUTER/DEALER, XSUB/XPUB or PULL/PUSH`,
      );
    }
    const capture = o.raw("capture");
    if (capture !== undefined) {
      if (typeof capture !== "string" || capture.trim() === "") o.fail("capture", `must be a CZMQ endpoint list such as ">inproc://capture", got ${describeValue(capture)}`);
      parseEndpoints(capture as string, false);
      this.#captureSpec = capture as string;
    }
    const captureOptions = o.raw("captureOptions");
    if (captureOptions !== undefined && (typeof captureOptions !== "object" || captureOptions === null)) {
      o.fail("captureOptions", `must be an object of PUSH socket options, got ${describeValue(captureOptions)}`);
    }
    this.#captureOptions = captureOptions as SocketOptionsOf<"PUSH"> | undefined;
    this.#verbose = o.boolean("verbose", false);
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
  }

  /** The frontend socket, once started (read its endpoints, monitor it; do not read from it). */
  get frontend(): ZSocket | undefined {
    return this.#frontend;
  }

  /** The backend socket, once started (read its endpoints, monitor it; do not read from it). */
  get backend(): ZSocket | undefined {
    return this.#backend;
  }

  /** The frontend's real endpoint (the last one bound or connected), once started. */
  get frontendEndpoint(): string {
    return this.#frontend?.endpoint ?? "";
  }

  /** The backend's real endpoint (the last one bound or connected), once started. */
  get backendEndpoint(): string {
    return this.#backend?.endpoint ?? "";
  }

  /** True from {@link ZProxy.start} until the proxy stops. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** True between {@link ZProxy.pause} and {@link ZProxy.resume}. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Whether every message is logged (CZMQ's `VERBOSE`); see
   * {@link ZProxyOptions.verbose}. May be set while the proxy runs.
   */
  get verbose(): boolean {
    return this.#verbose;
  }

  set verbose(on: boolean) {
    if (typeof on !== "boolean") throw new InvalidArgumentError(`ZProxy.verbose must be true or false, got ${describeValue(on)}`);
    this.#verbose = on;
  }

  /** The counters since the proxy started (a snapshot). */
  get stats(): ZProxyStats {
    return { ...this.#stats };
  }

  /**
   * Settles when the proxy has stopped and closed its sockets: after
   * {@link ZProxy.close}, or once the process is interrupted
   * (`handleInterrupts()` of `@zkit/core`). Rejects only if its loop failed.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Makes the sockets, attaches them and starts forwarding; resolves once
   * every endpoint is bound or connecting.
   * @throws `ZkitError` `ZKIT_STATE` if started twice or after close;
   *   bind errors such as `ZKIT_ADDRESS_IN_USE` (nothing stays open then)
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ZkitError(ErrorCode.State, `ZProxy.start: the proxy is ${this.#state === "closed" ? "closed" : "already started"}; create a new one`);
    this.#state = "starting";
    try {
      this.#frontend = await makeSocket(this.#frontendSpec);
      this.#backend = await makeSocket(this.#backendSpec);
      if (this.#captureSpec !== undefined) this.#capture = await ZSocket.push(this.#captureSpec, { ...this.#captureOptions, sendTimeout: 0 });
    } catch (err) {
      this.#closeSockets(0);
      this.#state = "closed";
      throw err;
    }
    if (this.#state !== "starting") {
      this.#closeSockets(0);
      throw new ClosedError("ZProxy.start: closed while starting");
    }
    this.#state = "running";
    this.#read();
    this.#done = this.#loop.start().then(
      () => this.#stopped(),
      (err: unknown) => {
        log.error("proxy stopped by an error: %s", (err as Error)?.message ?? String(err));
        this.#stopped();
        throw err;
      },
    );
    this.#done.catch(() => {});
    log.info(
      "proxy started: %s %s -> %s %s%s",
      this.#frontendSpec.type,
      this.frontendEndpoint,
      this.#backendSpec.type,
      this.backendEndpoint,
      this.#capture ? `, capture ${this.#capture.endpoint}` : "",
    );
  }

  /**
   * Stops reading both sockets (CZMQ `PAUSE`). Messages wait in the sockets
   * (senders block or drop at the high-water marks, as their types do); a
   * message already read is still delivered. Nothing is lost by pausing.
   * @throws `ZkitError` `ZKIT_STATE` when the proxy is not running
   */
  pause(): void {
    this.#checkRunning("pause");
    if (this.#paused) return;
    this.#paused = true;
    this.#loop.readerEnd(this.#frontend!);
    this.#loop.readerEnd(this.#backend!);
    log.info("proxy paused");
  }

  /**
   * Reads both sockets again (CZMQ `RESUME`), starting with the messages
   * that waited, in order.
   * @throws `ZkitError` `ZKIT_STATE` when the proxy is not running
   */
  resume(): void {
    this.#checkRunning("resume");
    if (!this.#paused) return;
    this.#paused = false;
    this.#read();
    log.info("proxy resumed");
  }

  /**
   * Runs one of CZMQ's steering commands by name, for a proxy steered by
   * messages (from a pipe, a control socket, a command line): `PAUSE`,
   * `RESUME`, `VERBOSE` (turns logging on, as CZMQ's does) and `TERMINATE`
   * or `$TERM` (closes it).
   *
   * @returns resolves once the command took effect (for TERMINATE: once closed)
   * @throws `InvalidArgumentError` for any other command
   */
  async command(name: ZProxyCommand): Promise<void> {
    switch (name) {
      case "PAUSE":
        return this.pause();
      case "RESUME":
        return this.resume();
      case "VERBOSE":
        this.verbose = true;
        return;
      case "TERMINATE":
      case "$TERM":
        return this.close();
      default:
        throw new InvalidArgumentError(`ZProxy.command: unknown command ${describeValue(name)}; the commands are PAUSE, RESUME, VERBOSE, TERMINATE, $TERM`);
    }
  }

  /**
   * Stops forwarding and closes the proxy's sockets (CZMQ `TERMINATE`):
   * messages already handed to libzmq get the sockets' linger to leave, a
   * send still waiting (a backend with no peer) is abandoned. Idempotent;
   * resolves once everything is closed and nothing of the proxy runs.
   *
   * @param options - `lingerMs` overrides the sockets' linger (0 drops what is queued)
   */
  async close(options?: { lingerMs?: number }): Promise<void> {
    if (this.#state === "new" || this.#state === "starting") {
      this.#state = "closed";
      return;
    }
    if (this.#state === "running") {
      this.#loop.stop();
      // a send that waits for a peer would hold the loop's end forever: closing ends it
      this.#closeSockets(options?.lingerMs);
    }
    await this.#done.catch(() => {});
  }

  /** Closes the proxy (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkRunning(what: string): void {
    if (this.#state !== "running") throw new ZkitError(ErrorCode.State, `ZProxy.${what}: the proxy is ${this.#state === "closed" ? "closed" : "not started"}`);
  }

  #read(): void {
    const front = this.#frontend!;
    const back = this.#backend!;
    if (CAN_RECEIVE.has(front.type) && CAN_SEND.has(back.type)) this.#loop.reader(front, (msg) => this.#forward("frontend", back, msg));
    if (CAN_RECEIVE.has(back.type) && CAN_SEND.has(front.type)) this.#loop.reader(back, (msg) => this.#forward("backend", front, msg));
  }

  #forward(from: End, to: ZSocket, msg: Buffer[]): Promise<void> {
    const toName: End = from === "frontend" ? "backend" : "frontend";
    this.#trace?.({ direction: "in", socket: from, frames: msg });
    if (this.#verbose) log.info("%s -> %s\n%s", from, toName, new ZMsg(msg).dump({ prefix: "  " }));
    const capture = this.#capture;
    if (capture !== undefined) capture.send(msg).then(this.#captureSent, this.#captureFailed);
    this.#trace?.({ direction: "out", socket: toName, frames: msg });
    return to.send(msg).then(
      () => {
        if (from === "frontend") this.#stats.frontendToBackend++;
        else this.#stats.backendToFrontend++;
      },
      (err: unknown) => {
        if (this.#state !== "running" || (err instanceof ZkitError && err.code === ErrorCode.Closed)) return;
        this.#stats.sendFailures++;
        log.warn("%s -> %s: a message was not forwarded (%s)", from, toName, (err as Error)?.message ?? String(err));
      },
    );
  }

  #captureSent = (): void => {
    this.#stats.captured++;
  };

  #captureFailed = (err: unknown): void => {
    if (this.#state !== "running") return;
    this.#stats.captureDropped++;
    if (this.#stats.captureDropped === 1 || this.#stats.captureDropped % 1000 === 0) {
      log.warn("capture: %d cop%s dropped so far (%s)", this.#stats.captureDropped, this.#stats.captureDropped === 1 ? "y" : "ies", (err as Error)?.message ?? String(err));
    }
  };

  #closeSockets(lingerMs: number | undefined): void {
    const opts = lingerMs === undefined ? undefined : { lingerMs };
    this.#frontend?.close(opts);
    this.#backend?.close(opts);
    this.#capture?.close(opts);
  }

  #stopped(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#loop.destroy();
    this.#closeSockets(undefined);
    log.info("proxy stopped: %d frontend->backend, %d backend->frontend", this.#stats.frontendToBackend, this.#stats.backendToFrontend);
  }
}

function readEnd(value: unknown, name: End): ProxySocketSpec {
  const example = name === "frontend" ? '{ type: "ROUTER", endpoints: "@tcp://*:5555" }' : '{ type: "DEALER", endpoints: "@tcp://*:5556" }';
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`ZProxy option ${name} is required: pass ${example}, got ${describeValue(value)}`);
  }
  const o = readOptions(value as ProxySocketSpec, { owner: `ZProxy ${name}`, known: ["type", "endpoints", "options"], example });
  const type = o.raw("type");
  if (!PROXY_TYPES.includes(type as ProxySocketType)) {
    const why = type === "REQ" || type === "REP" ? " (REQ and REP go in lockstep, which a proxy cannot keep; use DEALER or ROUTER)" : "";
    o.fail("type", `must be one of ${PROXY_TYPES.join(", ")}${why}, got ${describeValue(type)}`);
  }
  const endpoints = o.requiredString("endpoints", name === "frontend" ? "@tcp://*:5555" : "@tcp://*:5556", "a CZMQ endpoint list");
  parseEndpoints(endpoints, true);
  const options = o.raw("options");
  if (options !== undefined && (typeof options !== "object" || options === null)) o.fail("options", `must be an object of socket options, got ${describeValue(options)}`);
  return { type: type as ProxySocketType, endpoints, options: options as SocketOptionsOf<ProxySocketType> | undefined };
}

async function makeSocket(spec: ProxySocketSpec): Promise<ZSocket> {
  const sock = new ZSocket(spec.type as SocketType, spec.options as SocketOptionsOf<SocketType>);
  try {
    // CZMQ's zproxy attaches its sockets "serverish": no prefix binds
    await sock.attach(spec.endpoints, true);
  } catch (err) {
    sock.close({ lingerMs: 0 });
    throw err;
  }
  if (spec.type === "SUB") sock.subscribe("");
  return sock;
}
