/**
 * FreelanceServer: the server side of 10/FLP (the Guide's `flserver3`). A
 * ROUTER whose routing id is its public endpoint, answering PING with PONG
 * at once and each request with the handler's reply, the control frame
 * echoed unchanged.
 * @module
 */
import {
  ErrorCode,
  InvalidArgumentError,
  LogBurst,
  ROUTER_NOTIFY_DISCONNECT,
  ZSocket,
  ZkitError,
  describeValue,
  getLogger,
  isRouterNotification,
  parseEndpoints,
  readOptions,
  type OptionReader,
  sleep,
  toFrames,
  type MessageLike,
  type TraceFn,
} from "@zkit/core";
import { HandlerRunner, Lifecycle, peerId, type Handler } from "@zkit/reliability";
import { securitySocketOptions, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import { ZLoop } from "@zkit/zloop";
import { decodeServerMessage, encodePong, encodeReply, hasWildcardPort, printable, publicEndpoint } from "./protocol.js";

const log = getLogger("flp");

/** Default of {@link FreelanceServerOptions.maxFrameBytes}: 16 MiB. */
export const FLP_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Default of {@link FreelanceServerOptions.concurrency}: one request at a time, as the Guide's server. */
export const FLP_CONCURRENCY = 1;

/** How long {@link FreelanceServer.close} lets running handlers finish, then again after aborting their signal, in ms. */
export const FLP_CLOSE_GRACE_MS = 2000;

/** How many ephemeral ports the server tries, when another process takes the one it probed before it binds it. */
const BIND_ATTEMPTS = 5;
/** How long the server waits for a probed port to be let go of, in all and between two tries, in ms. */
const PROBE_WAIT_MS = 500;
const PROBE_RETRY_MS = 10;

/** Options of a {@link FreelanceServer}. */
export interface FreelanceServerOptions {
  /**
   * Where the server's ROUTER binds: `"tcp://*:5555"`, `"tcp://127.0.0.1:*"`
   * (an ephemeral port), `"ipc:///tmp/flp"`; a leading `@` is accepted.
   */
  bind: string;
  /**
   * The endpoint clients connect to, which is also the server's routing id
   * (10/FLP: clients address a server by the string they connected to). It
   * must be exactly what clients pass to `connect()`.
   * @defaultValue the bound endpoint, with a wildcard host (`*`, `0.0.0.0`)
   *   as `localhost` and an ephemeral port resolved: `tcp://*:5555` is
   *   `tcp://localhost:5555`, as in the Guide's `flserver3`
   */
  endpoint?: string;
  /**
   * Serves one request: gets its body frames (after the control frame) and
   * `ctx` (`signal`, aborted when the server closes; `peer`, the client's
   * routing id in hex); returns (or resolves to) the reply, one frame or
   * several. A handler that throws gets no reply sent: the client tries
   * another server.
   */
  handler: Handler<Buffer[], MessageLike>;
  /**
   * Requests handled at once. 1 handles them one at a time in arrival
   * order, as the Guide's server does; raise it for handlers that wait on
   * I/O. PINGs are answered at once whatever the handlers are doing.
   * @defaultValue 1 ({@link FLP_CONCURRENCY})
   */
  concurrency?: number;
  /**
   * The largest frame accepted, in bytes; also the ROUTER's
   * `maxMessageSize`, so libzmq itself refuses a bigger one (it disconnects
   * the sender) before receiving it.
   * @defaultValue 16777216 (16 MiB, {@link FLP_MAX_FRAME_BYTES})
   */
  maxFrameBytes?: number;
  /**
   * Called with every message the server receives or sends (the CLI's `-v`).
   * @defaultValue undefined (no tracing)
   */
  trace?: TraceFn;
  /**
   * Close when the process is interrupted (SIGINT or SIGTERM, after
   * `handleInterrupts()` of `@zkit/core`).
   * @defaultValue true
   */
  closeOnInterrupt?: boolean;
  /**
   * How the server's socket is secured (`@zkit/security`): CURVE with the
   * server's key pair, `{ curve: { secretKey, publicKey } }` (or
   * `cert.serverSecurity()`), no `serverKey`; or `{ plain: { server: true } }`.
   * The servers of one client share a key pair, so that the client needs
   * one server key. Which keys are let in is decided by a `ZAuth` started
   * in the same process (libzmq asks the one ZAP handler of the process);
   * without one, libzmq admits every CURVE key and refuses every PLAIN
   * client.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's servers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** The counters of a {@link FreelanceServer}: totals since it started, and gauges of the present. */
export interface FreelanceServerStats {
  /** PINGs answered with PONG. */
  pings: number;
  /** Requests received. */
  requests: number;
  /** Replies handed to the socket (those that could not be delivered are also counted in `undeliverable`). */
  replies: number;
  /** Requests whose handler threw, rejected, or returned something that is not a message: no reply sent. */
  handlerErrors: number;
  /** Malformed messages dropped (an empty control frame, ...). */
  malformed: number;
  /** Replies and PONGs that could not be delivered: the client had gone, or its connection was full. */
  undeliverable: number;
  /** Requests dropped unanswered before a handler took them, because their client's connection ended. */
  discarded: number;
  /** Gauge: requests being handled now. */
  active: number;
  /** Gauge: requests waiting for a handler now. */
  queued: number;
}

/** A malformed message the server dropped (event `malformed`). */
export interface ServerMalformedInfo {
  /** What is wrong with it. */
  reason: string;
  /** The index of the bad frame (the routing id is frame 0), when one can be named. */
  frame: number | undefined;
  /** The client's routing id in hex. */
  peer: string | undefined;
}

/** A handler that failed (event `handler-error`). */
export interface ServerHandlerErrorInfo {
  /** What it threw or rejected with, or the `InvalidArgumentError` for a result that is not a message. */
  error: unknown;
  /** The request's body frames. */
  request: Buffer[];
}

/** The events of a {@link FreelanceServer}. */
export interface FreelanceServerEvents {
  /** A malformed message was dropped. */
  malformed: [info: ServerMalformedInfo];
  /** A handler threw, rejected, or returned something that is not a message: the request got no reply. */
  "handler-error": [info: ServerHandlerErrorInfo];
}

const OPTION_NAMES = ["bind", "endpoint", "handler", "concurrency", "maxFrameBytes", "trace", "closeOnInterrupt", "security"] as const;

interface RequestMeta {
  client: Buffer;
  control: Buffer;
  body: Buffer[];
}

/**
 * A Freelance server (10/FLP, the Guide's `flserver3`), for
 * {@link FreelanceClient} or any 10/FLP client (the Guide's C and Python
 * `flcliapi`).
 *
 * - Its ROUTER's routing id is its public endpoint, set before it binds, so
 *   that clients (ROUTERs too) can address it by the endpoint they
 *   connected to. An ephemeral port is resolved first.
 * - PING gets PONG at once, even while handlers are busy.
 * - A request `[control][body...]` is handed to `handler(body, ctx)` through
 *   the reliability layer's `HandlerRunner` (`concurrency` at a time); the
 *   reply goes back as `[control][reply...]`, the control frame unchanged.
 * - A client whose connection ends has its waiting requests dropped; a
 *   malformed message is dropped, counted and logged; a handler that fails
 *   sends no reply (the client tries another server).
 *
 * @example
 * ```ts
 * const server = new FreelanceServer({ bind: "tcp://*:5555", handler: (request) => request });
 * await server.start();
 * console.log(`serving as ${server.endpoint}`); // tcp://localhost:5555
 * ```
 */
export class FreelanceServer extends Lifecycle<FreelanceServerEvents> {
  readonly #bind: string;
  readonly #endpointOption: string | undefined;
  readonly #maxFrameBytes: number;
  readonly #trace: TraceFn | undefined;
  readonly #runner: HandlerRunner<Buffer[], MessageLike, RequestMeta>;
  readonly #loop = new ZLoop({ nonstop: true });
  #socket: ZSocket<"ROUTER"> | undefined;
  readonly #security: SecuritySocketOptions;
  #endpoint = "";
  #bound = "";
  readonly #counters = { pings: 0, requests: 0, replies: 0, handlerErrors: 0, malformed: 0, undeliverable: 0, discarded: 0 };
  readonly #logs = {
    malformed: new LogBurst(log, "FreelanceServer: malformed messages dropped (see stats.malformed)"),
    handlerErrors: new LogBurst(log, "FreelanceServer: handlers failed, requests left unanswered (see stats.handlerErrors)"),
    undeliverable: new LogBurst(log, "FreelanceServer: replies that could not be delivered (see stats.undeliverable)", { level: "info" }),
  };

  /**
   * @param options - see {@link FreelanceServerOptions}
   * @throws `InvalidArgumentError` for a missing or unknown option or a bad
   *   value; `InvalidEndpointError` for a `bind` that is not endpoint syntax
   */
  constructor(options: FreelanceServerOptions) {
    const o: OptionReader<FreelanceServerOptions> = readOptions(options, {
      owner: "FreelanceServer",
      known: OPTION_NAMES,
      example: '{ bind: "tcp://*:5555", handler: (request) => request }',
    });
    super({ owner: "FreelanceServer", channel: "zkit:flp:server", closeOnInterrupt: o.boolean("closeOnInterrupt", true) });
    const bind = o.requiredString("bind", "tcp://*:5555", "where the server binds");
    const specs = parseEndpoints(bind.startsWith("@") || bind.startsWith(">") ? bind : `@${bind}`, true);
    if (specs.length !== 1 || !specs[0]!.bind) o.fail("bind", `must be one endpoint to bind, such as "tcp://*:5555", got ${describeValue(bind)}`);
    this.#bind = specs[0]!.address;
    const endpoint = o.raw("endpoint");
    if (endpoint !== undefined) {
      if (typeof endpoint !== "string" || endpoint.trim() === "") o.fail("endpoint", `must be the endpoint clients connect to, such as "tcp://myhost:5555", got ${describeValue(endpoint)}`);
      const e = endpoint.trim();
      // an ephemeral port (`:*`) names no server a client could connect to
      if (e.startsWith("@") || hasWildcardPort(e)) o.fail("endpoint", `must be one endpoint clients can connect to, such as "tcp://myhost:5555", got ${describeValue(endpoint)}`);
      const specs = parseEndpoints(e.startsWith(">") ? e : `>${e}`, false);
      const spec = specs[0];
      if (specs.length !== 1 || spec === undefined || spec.bind) {
        o.fail("endpoint", `must be one endpoint clients can connect to, such as "tcp://myhost:5555", got ${describeValue(endpoint)}`);
      }
      this.#endpointOption = spec.address;
    }
    const handler = o.requiredFunction<Handler<Buffer[], MessageLike>>("handler", "(request: Buffer[], ctx) => reply");
    const concurrency = o.number("concurrency", FLP_CONCURRENCY, { min: 1, integer: true });
    this.#maxFrameBytes = o.number("maxFrameBytes", FLP_MAX_FRAME_BYTES, { min: 1, integer: true, infinity: true });
    this.#trace = o.function<TraceFn>("trace", "({ direction, socket, frames }) => void");
    this.#security = securitySocketOptions(o.raw("security") as SecurityOptions | undefined, { owner: "FreelanceServer", role: "server" });
    this.#runner = new HandlerRunner<Buffer[], MessageLike, RequestMeta>({
      handler,
      concurrency,
      onResult: (meta, result) => this.#reply(meta, result),
      onError: (meta, error) => this.#handlerFailed(meta, error),
    });
  }

  /** The endpoint clients connect to: the server's routing id. Set once started. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** The endpoint the ROUTER is bound to, as libzmq reports it (e.g. `tcp://0.0.0.0:5555`). Set once started. */
  get boundEndpoint(): string {
    return this.#bound;
  }

  /** The server's counters, with gauges of the present (a snapshot). */
  get stats(): FreelanceServerStats {
    return { ...this.#counters, active: this.#runner.active, queued: this.#runner.queued };
  }

  protected async onStart(): Promise<void> {
    const wildcard = hasWildcardPort(this.#bind);
    for (let attempt = 1; ; attempt++) {
      // The routing id must be set before the bind (libzmq copies it into
      // the listener then): an ephemeral port is found first, with a probe.
      const address = wildcard ? await probe(this.#bind) : this.#bind;
      const identity = this.#endpointOption ?? publicEndpoint(address);
      const socket = new ZSocket("ROUTER", {
        ...this.#security,
        routingId: identity,
        // a reply to a client that has gone fails at once (and is counted)
        // instead of vanishing; routerNotify: a client's connection ends;
        // maxMessageSize: libzmq refuses oversized frames before receiving them
        mandatory: true,
        sendTimeout: 0,
        routerNotify: ROUTER_NOTIFY_DISCONNECT,
        maxMessageSize: Number.isFinite(this.#maxFrameBytes) ? this.#maxFrameBytes : -1,
      });
      try {
        this.#bound = await bindSoon(socket, address, wildcard);
      } catch (err) {
        socket.close({ lingerMs: 0 });
        if (wildcard && attempt < BIND_ATTEMPTS && err instanceof ZkitError && err.code === ErrorCode.AddressInUse) continue;
        throw err;
      }
      this.#socket = socket;
      this.#endpoint = identity;
      break;
    }
    log.info("FreelanceServer bound %s, serving as %s", this.#bound, this.#endpoint);
    const socket = this.#socket;
    const trace = this.#trace;
    this.#loop.reader(socket, (frames) => {
      trace?.({ direction: "in", socket: "clients", frames });
      try {
        this.#onMessage(frames);
      } catch (err) {
        log.error("FreelanceServer: a message could not be handled: %s", (err as Error)?.stack ?? String(err));
      }
    });
    this.#loop.readerSetTolerant(socket);
    this.#loop.start().catch((err: unknown) => this.fail(err));
  }

  #onMessage(frames: Buffer[]): void {
    if (isRouterNotification(frames)) {
      // a client's connection ended: nobody will read the replies to what it still has waiting
      const client = frames[0]!;
      this.#counters.discarded += this.#runner.discard((m) => m.client.equals(client));
      return;
    }
    const msg = decodeServerMessage(frames);
    switch (msg.kind) {
      case "ping":
        this.#counters.pings++;
        this.#send(encodePong(msg.client));
        return;
      case "request":
        this.#counters.requests++;
        this.#runner.submit(msg.body, { client: msg.client, control: msg.control, body: msg.body }, { peer: peerId(msg.client) });
        return;
      case "invalid": {
        this.#counters.malformed++;
        const peer = msg.sender === undefined ? undefined : peerId(msg.sender);
        this.#logs.malformed.record("FreelanceServer: dropped a malformed message from %s: %s", peer ?? "?", msg.error.message);
        this.notify("malformed", { reason: msg.error.message, frame: msg.error.frame, peer });
      }
    }
  }

  #reply(meta: RequestMeta, result: MessageLike): void {
    let frames: Buffer[];
    try {
      frames = toFrames(result, "FreelanceServer handler result", { allowEmpty: true });
    } catch (err) {
      this.#handlerFailed(meta, err);
      return;
    }
    this.#counters.replies++;
    this.#send(encodeReply(meta.client, meta.control, frames));
  }

  #handlerFailed(meta: RequestMeta, error: unknown): void {
    this.#counters.handlerErrors++;
    this.#logs.handlerErrors.record(
      "FreelanceServer: the handler failed on request %s from %s, which gets no reply: %s",
      printable(meta.control),
      peerId(meta.client),
      (error as Error)?.message ?? String(error),
    );
    this.notify("handler-error", { error, request: meta.body });
  }

  #send(frames: Buffer[]): void {
    const socket = this.#socket;
    if (socket === undefined || socket.closed) return;
    this.#trace?.({ direction: "out", socket: "clients", frames });
    socket.send(frames).catch(() => {
      if (socket.closed) return;
      this.#counters.undeliverable++;
      this.#logs.undeliverable.record("FreelanceServer: a message to %s could not be delivered: its connection ended or is full", peerId(frames[0]!));
    });
  }

  /**
   * Stops taking requests and PINGs, lets the handlers at work finish and
   * sends their replies (up to {@link FLP_CLOSE_GRACE_MS}, then their signal
   * aborts), lets the replies out (up to 1 s) and closes the socket.
   * Requests still waiting for a handler get no reply: their clients try
   * another server.
   */
  protected async onClose(): Promise<void> {
    const socket = this.#socket;
    if (socket !== undefined) this.#loop.readerEnd(socket);
    await this.#runner.close(FLP_CLOSE_GRACE_MS);
    if (socket !== undefined && !socket.closed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([socket.flush(), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    this.#loop.destroy();
    socket?.close(); // linger: the replies handed over just now still leave
    for (const l of Object.values(this.#logs)) l.flush();
    log.info("FreelanceServer %s closed", this.#endpoint);
  }
}

/**
 * Binds `socket` to `address`. A port the probe has just let go of may
 * still be held for a few ms (libzmq closes a listener in its I/O thread
 * after `unbind` returns; measured here: up to about 20 ms on a loaded
 * machine), so for a probed port an address in use is retried for a while.
 */
async function bindSoon(socket: ZSocket<"ROUTER">, address: string, probed: boolean): Promise<string> {
  for (let waited = 0; ; waited += PROBE_RETRY_MS) {
    try {
      return await socket.bind(address);
    } catch (err) {
      if (!probed || waited >= PROBE_WAIT_MS || !(err instanceof ZkitError && err.code === ErrorCode.AddressInUse)) throw err;
      await sleep(PROBE_RETRY_MS);
    }
  }
}

/** Binds a throwaway socket to `address` (an ephemeral port) and returns the real endpoint, freed again. */
async function probe(address: string): Promise<string> {
  const s = new ZSocket("ROUTER", { linger: 0 });
  try {
    const real = await s.bind(address);
    await s.unbind(real);
    return real;
  } catch (err) {
    throw err instanceof ZkitError ? err : new InvalidArgumentError(`FreelanceServer: cannot bind ${address}: ${String(err)}`, { cause: err });
  } finally {
    s.close({ lingerMs: 0 });
  }
}
