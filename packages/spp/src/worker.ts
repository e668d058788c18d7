/**
 * SimplePirateWorker: a Simple Pirate worker (ZeroMQ Guide chapter 4,
 * "Basic Reliable Queuing"): a REQ socket that tells the queue it is ready,
 * then answers each request with a handler (or hands it to a `for await`
 * loop). It is the reliability layer's `QueueWorker` (the same as Paranoid
 * Pirate's) on a REQ socket, with no heartbeat.
 * @module
 */
import { ProtocolError, getLogger } from "@zkit/core";
import { Backoff, QueueWorker, type QueueHandler, type QueueJob, type QueueWorkerEvents, type QueueWorkerOptions, type QueueWorkerStats } from "@zkit/reliability";
import { decodeWorkerRequest, encodeReady, encodeWorkerReply } from "./protocol.js";

const log = getLogger("spp");

/** Default of {@link SimplePirateWorkerOptions.closeTimeoutMs}. */
export const SPP_CLOSE_TIMEOUT_MS = 2500;

/**
 * The waits before connecting again when a fresh socket could not be made
 * (no sockets left, for instance), in ms: the Guide's Paranoid Pirate
 * range. A worker that drops its socket on purpose (a failed handler, a
 * malformed request) connects a fresh one at once.
 */
const RECONNECT_INITIAL_MS = 1000;
const RECONNECT_MAX_MS = 32_000;

/**
 * Answers one request: gets the request's frames (any number), returns the
 * reply (one frame or an array of frames; strings are sent as UTF-8), or a
 * promise of it. `ctx.signal` aborts when `close()` outlasts
 * `closeTimeoutMs`; `ctx.peer` is the client's routing id in hex. If it
 * throws or rejects, the request gets no answer (the queue gives it to the
 * next worker, or the client's Lazy Pirate retry sends it again) and the
 * worker starts over on a fresh socket: a REQ socket cannot skip a reply.
 */
export type SimplePirateHandler = QueueHandler;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type SimplePirateJob = QueueJob;

/**
 * Options of a {@link SimplePirateWorker}: `endpoint`, `handler` (none: pull
 * the requests with `for await`), `trace` (see `QueueWorkerOptions` of
 * `@zkit/reliability`), and `closeTimeoutMs`.
 */
export interface SimplePirateWorkerOptions extends QueueWorkerOptions {
  /**
   * How long {@link SimplePirateWorker.close} waits for the request in
   * progress to be answered, in ms; then the handler's `ctx.signal` aborts
   * and it gets as long again before the socket closes.
   * @defaultValue 2500 ({@link SPP_CLOSE_TIMEOUT_MS}: a Lazy Pirate
   *   client's reference timeout; by then its client has resent the request)
   */
  closeTimeoutMs?: number;
}

/**
 * The events of a {@link SimplePirateWorker}: the standard events of a queue
 * worker (`QueueWorkerEvents` of `@zkit/reliability`). Simple Pirate has no
 * heartbeat: `connected` comes with the queue's first request on a
 * connection, and a connection is only dropped on purpose (`disconnected`
 * with reason `"handler-error"` or `"malformed"`), to start over on a fresh
 * socket at once.
 */
export type SimplePirateWorkerEvents = QueueWorkerEvents;

/** The counters of a {@link SimplePirateWorker}, since it started (`QueueWorkerStats` of `@zkit/reliability`). */
export type SimplePirateWorkerStats = QueueWorkerStats;

/**
 * A Simple Pirate worker.
 *
 * - Connects a REQ socket to the queue's backend and sends READY
 *   (`[0x01]`).
 * - For each request `[client][""][body...]` calls the handler,
 *   `(request, ctx)`, and sends back `[client][""][reply...]`; one request
 *   at a time (REQ is lockstep). Multi-frame bodies and replies pass
 *   through. Without a handler, `for await (const job of worker)` pulls
 *   the requests.
 * - A handler that fails, or a malformed request, leaves a REQ socket
 *   unable to go on: the worker closes it and connects a fresh one with a
 *   new READY, at once.
 * - No heartbeat: a queue that dies is not noticed (Paranoid Pirate,
 *   `@zkit/ppp`, adds that).
 *
 * @example
 * ```ts
 * const worker = new SimplePirateWorker({
 *   endpoint: "tcp://localhost:5556",
 *   handler: async (request) => request, // echo
 * });
 * await worker.start();
 * ```
 */
export class SimplePirateWorker extends QueueWorker<SimplePirateWorkerOptions> {
  /**
   * @param options - see {@link SimplePirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: SimplePirateWorkerOptions) {
    super(options, {
      owner: "SimplePirateWorker",
      channel: "zkit:spp:worker",
      log,
      example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }',
      type: "REQ",
      hello: encodeReady,
      decode: (frames) => {
        const r = decodeWorkerRequest(frames);
        return r instanceof ProtocolError ? r : { kind: "request", client: r.client, body: r.body };
      },
      encodeReply: encodeWorkerReply,
      settings: (o) => ({
        backoff: new Backoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS }),
        closeTimeoutMs: o.number("closeTimeoutMs", SPP_CLOSE_TIMEOUT_MS, { min: 0 }),
      }),
    });
  }
}
