/**
 * What the Simple and Paranoid Pirate servers (`zkit spp|ppp queue|worker`)
 * serve with `--metrics`: each object's `stats` as counters, and the queues'
 * workers and the Paranoid Pirate worker's connection as gauges.
 * @module
 */
import type { ParanoidPirateQueue, ParanoidPirateWorker } from "@zkit/ppp";
import type { SimplePirateQueue, SimplePirateWorker } from "@zkit/spp";
import { defineMetrics } from "../metrics.js";

/** `zkit spp queue --metrics`. */
export const SPP_QUEUE_METRICS = defineMetrics<SimplePirateQueue>()({
  prefix: "zkit_spp_queue",
  counters: {
    requests: "Well-formed requests read from the frontend.",
    replies: "Replies passed back to clients.",
    malformed: "Malformed messages dropped (either socket).",
    unexpected: "Well-formed messages dropped because they break the protocol's order (a reply from a worker that never sent READY, a second READY).",
    workersExpired: "Workers gone: their connection ended, or a request could not be sent to them.",
    redispatched: "Requests given to another worker because the first was gone.",
    forged: "Replies dropped because they answer no request the queue gave that worker.",
    lostRequests: "Requests dropped after maxDeliveries workers were lost holding them.",
  },
  gauges: {
    workers: { help: "Workers known now (ready or busy).", read: (q) => q.workerCount },
    ready_workers: { help: "Workers ready for a request now.", read: (q) => q.readyWorkers },
  },
});

/** `zkit spp worker --metrics`. */
export const SPP_WORKER_METRICS = defineMetrics<SimplePirateWorker>()({
  prefix: "zkit_spp_worker",
  counters: {
    requests: "Requests handed to the handler.",
    replies: "Replies sent.",
    malformed: "Malformed requests dropped (the worker then starts over on a fresh socket).",
    handlerErrors: "Requests whose handler failed (no reply sent).",
    reconnects: "Fresh sockets opened after a malformed request or a handler failure.",
    dropped: "Replies dropped because their connection was replaced before they were ready.",
  },
});

/** `zkit ppp queue --metrics`. */
export const PPP_QUEUE_METRICS = defineMetrics<ParanoidPirateQueue>()({
  prefix: "zkit_ppp_queue",
  counters: {
    requests: "Well-formed requests read from the frontend.",
    replies: "Replies passed back to clients.",
    malformed: "Malformed messages dropped (either socket).",
    unexpected: "Well-formed messages dropped because they break the protocol's order (a HEARTBEAT or reply from a worker that never sent READY, a second READY).",
    forged: "Replies dropped because they answer no request the queue gave that worker.",
    workersExpired: "Workers forgotten: silent for --liveness heartbeats, disconnected or unreachable.",
    lostRequests: "Requests dropped after maxDeliveries workers left without answering them (the client's retry may still recover them).",
    redispatched: "Requests given to another worker because the one holding them left or could not be reached.",
  },
  gauges: {
    workers: { help: "Workers known now (ready or busy).", read: (q) => q.workerCount },
    ready_workers: { help: "Workers ready for a request now.", read: (q) => q.readyWorkers },
  },
});

/** `zkit ppp worker --metrics`. */
export const PPP_WORKER_METRICS = defineMetrics<ParanoidPirateWorker>()({
  prefix: "zkit_ppp_worker",
  counters: {
    requests: "Requests handed to the handler.",
    replies: "Replies sent.",
    malformed: "Malformed messages from the queue, dropped.",
    handlerErrors: "Requests whose handler failed.",
    reconnects: "Reconnections on a fresh socket: the queue went silent, or a request failed.",
    dropped: "Replies dropped because the connection their request came on was replaced first.",
  },
  gauges: {
    connected: { help: "1 while a socket is connected (or connecting) to the queue, 0 while waiting to reconnect.", read: (w) => (w.connected ? 1 : 0) },
  },
});
