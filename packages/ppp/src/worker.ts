/**
 * ParanoidPirateWorker: a 6/PPP worker (ZeroMQ Guide chapter 4, "Robust
 * Reliable Queuing"): a DEALER socket that sends READY, heartbeats the
 * queue, answers requests with a handler, and reconnects with exponential
 * back-off on a fresh socket when the queue falls silent. It is the
 * reliability layer's `QueueWorker` (the same as Simple Pirate's) on a
 * DEALER socket, with heartbeats.
 * @module
 */
import { getLogger } from "@zkit/core";
import { Backoff, QueueWorker, type QueueHandler, type QueueJob, type QueueWorkerEvents, type QueueWorkerOptions, type QueueWorkerStats } from "@zkit/reliability";
import { PPP_HEARTBEAT_INTERVAL_MS, PPP_LIVENESS, PPP_RECONNECT_INITIAL_MS, PPP_RECONNECT_MAX_MS, decodeWorkerInput, encodeHeartbeat, encodeReady, encodeWorkerReply } from "./protocol.js";

const log = getLogger("ppp");

/**
 * Answers one request: gets the request's frames (any number), returns the
 * reply (one frame or an array of frames; strings are sent as UTF-8), or a
 * promise of it. The worker keeps heartbeating while it runs. If it throws
 * or rejects, the request gets no answer (the client's Lazy Pirate retry
 * sends it again) and the worker starts over on a fresh connection.
 */
export type ParanoidPirateHandler = QueueHandler;

/** One request, as a `for await (const job of worker)` loop gets it (a worker made without a handler). */
export type ParanoidPirateJob = QueueJob;

/**
 * Options of a {@link ParanoidPirateWorker}: `endpoint`, `handler` (none:
 * pull the requests with `for await`), `trace` (see `QueueWorkerOptions` of
 * `@zkit/reliability`), the heartbeat's and the reconnects'.
 */
export interface ParanoidPirateWorkerOptions extends QueueWorkerOptions {
  /**
   * How often the worker sends HEARTBEAT, in ms; the queue must use the same.
   * @defaultValue 1000 ({@link PPP_HEARTBEAT_INTERVAL_MS})
   */
  heartbeatIntervalMs?: number;
  /**
   * The queue is dead after `liveness` heartbeat intervals without a
   * message from it: the worker then reconnects.
   * @defaultValue 3 ({@link PPP_LIVENESS})
   */
  liveness?: number;
  /**
   * The wait before the first reconnect, in ms; it doubles at each
   * reconnect that hears nothing from the queue, up to `reconnectMaxMs`,
   * and starts over once the queue speaks.
   * @defaultValue 1000 ({@link PPP_RECONNECT_INITIAL_MS})
   */
  reconnectInitialMs?: number;
  /**
   * The longest wait between reconnects, in ms.
   * @defaultValue 32000 ({@link PPP_RECONNECT_MAX_MS})
   */
  reconnectMaxMs?: number;
  /**
   * How long {@link ParanoidPirateWorker.close} waits for the request in
   * progress to be answered, in ms.
   * @defaultValue `heartbeatIntervalMs * liveness` (after that, the queue
   *   has expired this silent worker and would drop the reply)
   */
  closeTimeoutMs?: number;
}

/** The events of a {@link ParanoidPirateWorker}: the standard events of a queue worker (`QueueWorkerEvents` of `@zkit/reliability`). */
export type ParanoidPirateWorkerEvents = QueueWorkerEvents;

/** The counters of a {@link ParanoidPirateWorker}, since it started (`QueueWorkerStats` of `@zkit/reliability`). */
export type ParanoidPirateWorkerStats = QueueWorkerStats;

/**
 * A Paranoid Pirate worker (6/PPP).
 *
 * - Connects a DEALER socket to the queue's backend and sends READY
 *   (`[0x01]`).
 * - Sends HEARTBEAT (`[0x02]`) every `heartbeatIntervalMs`, also while a
 *   request is being handled, so a queue that expires busy workers keeps it.
 * - Any message from the queue proves it alive. After `liveness` silent
 *   intervals the worker closes its socket, waits (1 s, 2 s, 4 s ... up to
 *   32 s by default) and connects a fresh socket with a new READY.
 * - Requests `[client][""][body...]` (any number of body frames) are
 *   answered one at a time with the handler, `(request, ctx)`, whose
 *   `ctx.signal` aborts when `close()` outlasts `closeTimeoutMs`; the reply
 *   keeps the envelope. Should a queue send several at once, they wait
 *   their turn. Without a handler, `for await (const job of worker)` pulls
 *   them.
 *
 * @example
 * ```ts
 * const worker = new ParanoidPirateWorker({
 *   endpoint: "tcp://localhost:5556",
 *   handler: async (request) => request, // echo
 * });
 * worker.on("reconnecting", ({ delayMs }) => console.log(`W: reconnecting in ${delayMs} msec...`));
 * await worker.start();
 * ```
 */
export class ParanoidPirateWorker extends QueueWorker<ParanoidPirateWorkerOptions> {
  /**
   * @param options - see {@link ParanoidPirateWorkerOptions}
   * @throws `InvalidArgumentError` for a missing or bad option;
   *   `InvalidEndpointError` for a bad endpoint
   */
  constructor(options: ParanoidPirateWorkerOptions) {
    super(options, {
      owner: "ParanoidPirateWorker",
      channel: "zkit:ppp:worker",
      log,
      example: '{ endpoint: "tcp://localhost:5556", handler: async (request) => reply }',
      type: "DEALER",
      hello: encodeReady,
      decode: decodeWorkerInput,
      encodeReply: encodeWorkerReply,
      settings: (o) => {
        const intervalMs = o.number("heartbeatIntervalMs", PPP_HEARTBEAT_INTERVAL_MS, { min: 0, exclusive: true });
        const liveness = o.number("liveness", PPP_LIVENESS, { min: 1, integer: true, meaning: "heartbeat intervals the queue may stay silent" });
        const initialMs = o.number("reconnectInitialMs", PPP_RECONNECT_INITIAL_MS, { min: 0 });
        const maxMs = o.number("reconnectMaxMs", Math.max(PPP_RECONNECT_MAX_MS, initialMs), { min: 0 });
        if (maxMs < initialMs) o.fail("reconnectMaxMs", `(${maxMs}) must be >= reconnectInitialMs (${initialMs})`);
        return {
          backoff: new Backoff({ initialMs, maxMs }),
          heartbeat: { intervalMs, liveness, frames: encodeHeartbeat },
          closeTimeoutMs: o.number("closeTimeoutMs", intervalMs * liveness, { min: 0 }),
        };
      },
    });
  }
}
