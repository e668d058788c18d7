/**
 * The `zkit` subcommands of mdp (Majordomo broker, worker, requests, MMI).
 * @module
 */
import { sleep } from "@zkit/core";
import {
  MDP_CONCURRENCY,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_LIVENESS,
  MDP_RECONNECT_MS,
  MDP_RETRIES,
  MDP_TIMEOUT_MS,
  MDP_MAX_DELIVERIES,
  MDP_MAX_FRAME_BYTES,
  MDP_MAX_QUEUE_BYTES,
  MDP_UNSERVED_EXPIRY_MS,
  MDP_WORKER_PREFETCH,
  MMI_OK,
  MMI_PREFIX,
  MMI_SERVICE,
  MajordomoAsyncClient,
  type MultiplexMode,
  MajordomoBroker,
  MajordomoClient,
  MajordomoWorker,
} from "@zkit/mdp";
import { UsageError, defineCommand, type Command } from "../command.js";
import { METRICS_FLAG, defineMetrics, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, SERVER_SECURITY_FLAGS, clientSecurity, serverSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { aborted, bindFlag, connectFlag, heartbeatFlag, livenessFlag, retriesFlag, serveUntilAborted, showFrame, timeoutFlag, workFlag } from "./common.js";

const CONNECT = connectFlag("the broker to connect to (CZMQ endpoint list)");
const TIMEOUT = timeoutFlag("reply timeout per attempt, in ms", MDP_TIMEOUT_MS);
const RETRIES = retriesFlag("resends after a timeout", MDP_RETRIES);

/** What `zkit mdp broker --metrics` serves: the broker's `stats`, and its services now. */
const BROKER_METRICS = defineMetrics<MajordomoBroker>()({
  prefix: "zkit_mdp_broker",
  counters: {
    requests: "Client requests received for worker services (mmi.* requests excluded).",
    replies: "Replies forwarded from workers to clients.",
    mmiRequests: "mmi.* requests answered by the broker itself.",
    expired: "Requests dropped because they waited too long: --unserved-expiry-ms with no worker for their service, or --request-expiry-ms.",
    dropped: "Requests dropped for a limit: a full queue (--max-queue-bytes, --max-queue), too many services, their service evicted, or --max-deliveries reached.",
    abandoned: "Requests dropped unanswered because their client's connection ended.",
    lost: "Requests that workers held when the broker closed.",
    requeued: "Requests put back at the head of their queue because the worker holding them left before answering.",
    forged: "REPLYs dropped because they answer no request the broker gave that worker.",
    repliesUndeliverable: "Replies that could not be delivered: their client had gone, or its connection was full.",
    malformed: "Malformed messages dropped.",
    disconnectsSent: "DISCONNECT commands sent to workers (unexpected commands, refused services).",
    workersRefused: "READY commands refused (an mmi.* service, or too many services with workers).",
    workersReady: "Workers that registered (READY accepted).",
    workersExpired: "Workers expired after --liveness heartbeat intervals of silence.",
    workersDisconnected: "Workers that sent DISCONNECT.",
    workersLost: "Workers whose connection ended without DISCONNECT (a crash, a kill).",
    servicesEvicted: "Services with no worker forgotten, with their queued requests, to make room for a worker's service.",
  },
  statGauges: {
    workers: "Workers registered now.",
    services: "Services known now (a service is forgotten once it has neither workers nor queued requests).",
    queued: "Requests waiting in queues for a worker now.",
    queuedBytes: "Approximate bytes that the queued requests hold now (bounded by --max-queue-bytes).",
    inFlight: "Requests held by workers now (sent to a worker, not answered yet).",
    clients: "Clients with a request queued or in flight now.",
  },
  gauges: {
    ready_workers: {
      help: "Workers registered and holding no request now, ready for one.",
      read: (b) => b.snapshot().serviceList.reduce((sum, s) => sum + s.waiting, 0),
    },
    service_workers: {
      help: "Workers registered now, per service (one series per known service, at most the broker's maxServices).",
      labelNames: ["service"],
      read: (b) => b.snapshot().serviceList.map((s) => ({ labels: { service: s.name }, value: s.workers })),
    },
    service_ready_workers: {
      help: "Workers holding no request now, per service.",
      labelNames: ["service"],
      read: (b) => b.snapshot().serviceList.map((s) => ({ labels: { service: s.name }, value: s.waiting })),
    },
    service_queued: {
      help: "Requests waiting for a worker now, per service.",
      labelNames: ["service"],
      read: (b) => b.snapshot().serviceList.map((s) => ({ labels: { service: s.name }, value: s.queued })),
    },
    service_in_flight: {
      help: "Requests held by workers now, per service.",
      labelNames: ["service"],
      read: (b) => b.snapshot().serviceList.map((s) => ({ labels: { service: s.name }, value: s.inFlight })),
    },
  },
});

/** What `zkit mdp worker --metrics` serves: the worker's `stats` and the requests it holds. */
const WORKER_METRICS = defineMetrics<MajordomoWorker>()({
  prefix: "zkit_mdp_worker",
  counters: {
    requests: "Requests received from the broker.",
    replies: "Replies sent.",
    handlerErrors: "Requests whose handler failed (no reply sent).",
    repliesDropped: "Replies dropped because the connection they belonged to was gone.",
    connections: "READY commands sent: the first connection and every reconnection.",
    reconnects: "Reconnections after the broker was lost or sent DISCONNECT.",
    malformed: "Malformed messages from the broker, dropped.",
  },
  gauges: {
    in_hand: {
      help: "Requests received and not answered yet now: being handled, or waiting for the handler.",
      read: (w) => w.inHand,
    },
  },
});

const broker = defineCommand({
  path: ["mdp", "broker"],
  summary: "runs a Majordomo broker (7/MDP + 8/MMI) until Ctrl-C",
  flags: {
    bind: bindFlag("where the broker's ROUTER binds (comma-separated list)", "tcp://*:5555", true),
    "heartbeat-ms": heartbeatFlag("heartbeat interval with workers, in ms", MDP_HEARTBEAT_INTERVAL_MS),
    liveness: livenessFlag("heartbeat intervals of silence before a worker expires", MDP_LIVENESS),
    "unserved-expiry-ms": {
      type: "number",
      default: MDP_UNSERVED_EXPIRY_MS,
      min: 1,
      help: "drop a request for a service that has had no worker this long, in ms",
    },
    "request-expiry-ms": { type: "number", min: 1, help: "drop any request that waited this long, in ms, even while its service has workers (default: no limit)" },
    "max-queue-bytes": { type: "number", default: MDP_MAX_QUEUE_BYTES, min: 1, help: "the most memory queued requests may hold, in bytes (new requests are refused past it)" },
    "max-queue": { type: "number", min: 1, help: "the most requests queued per service (default: no limit of its own)" },
    "max-frame-bytes": {
      type: "number",
      default: MDP_MAX_FRAME_BYTES,
      min: 1,
      help: "the largest frame accepted, in bytes (libzmq cuts off a peer that sends a bigger one)",
    },
    "max-deliveries": { type: "number", default: MDP_MAX_DELIVERIES, min: 1, help: "how many workers a request may go to when the one holding it leaves" },
    "worker-prefetch": {
      type: "number",
      default: MDP_WORKER_PREFETCH,
      min: 1,
      help: "the most requests a worker gets before it replies (1 = 7/MDP's one at a time)",
    },
    ...SERVER_SECURITY_FLAGS,
    metrics: METRICS_FLAG,
  },
  metrics: BROKER_METRICS,
  details: [
    "Clients and workers connect to the same endpoint. Every bound endpoint is printed",
    "as 'listening on <endpoint>'; 'tcp://127.0.0.1:*' takes an ephemeral port. With -v",
    "the broker prints every message in the Guide's dump style, and workers coming and going.",
    "Monitor it with `zkit mdp mmi mmi.stats`.",
    "",
    "--worker-prefetch N > 1 pipelines: each worker may hold N requests, the next ones",
    "waiting in its socket while it works (any 7/MDP worker copes). More throughput; N x",
    "the work time must stay under the clients' timeout.",
    "",
    "A request waits as long as its service has workers (memory is bounded by",
    "--max-queue-bytes) and up to --unserved-expiry-ms for one when it has none. A",
    "worker that dies or leaves gives its requests back to the queue for another.",
    "",
    "With --curve-secret the broker is a CURVE server: clients and workers need its public",
    "key (--curve-server-key). --auth-dir DIR lets in only the client certificates in DIR",
    "(files added or removed there count at once); --auth-allow IP only those addresses.",
    "",
    "example: zkit mdp broker --bind tcp://*:5555 -v",
    "         zkit mdp broker --worker-prefetch 32",
    "         zkit mdp broker --curve-secret broker.key_secret --auth-dir clients/",
  ].join("\n"),
  async run(ctx) {
    const sec = await serverSecurity(ctx);
    try {
      const b = new MajordomoBroker({
        security: sec.security,
        heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
        liveness: ctx.flags.liveness,
        unservedExpiryMs: ctx.flags["unserved-expiry-ms"],
        requestExpiryMs: ctx.flags["request-expiry-ms"],
        maxQueueBytes: ctx.flags["max-queue-bytes"],
        maxQueuePerService: ctx.flags["max-queue"],
        maxFrameBytes: ctx.flags["max-frame-bytes"],
        maxDeliveries: ctx.flags["max-deliveries"],
        workerPrefetch: ctx.flags["worker-prefetch"],
        ...traceOption(ctx),
      });
      if (ctx.flags.verbose) {
        b.on("worker-ready", ({ service, worker }) => ctx.out(`I: worker ${worker} ready for ${service}`));
        b.on("worker-gone", ({ service, worker, reason }) => ctx.out(`I: worker ${worker} for ${service} gone (${reason})`));
        b.on("request-requeued", ({ service, client, worker, reason }) => ctx.out(`W: request for ${service} from ${client} back in the queue: worker ${worker} left (${reason})`));
        b.on("request-lost", ({ service, client, worker }) => ctx.out(`W: request for ${service} from ${client} lost with worker ${worker}`));
        b.on("reply-forged", ({ service, client, worker }) => ctx.out(`W: worker ${worker} for ${service} sent a REPLY for client ${client}, which it was never given: dropped`));
        b.on("request-expired", ({ service, client }) => ctx.out(`W: request for ${service} from ${client} expired in the queue`));
        b.on("request-dropped", ({ service, client, reason }) => ctx.out(`W: request for ${service} from ${client} dropped (${reason})`));
        b.on("malformed", ({ reason, sender }) => ctx.out(`W: malformed message from ${sender ?? "?"} dropped: ${reason}`));
      }
      await withMetrics(ctx, BROKER_METRICS, b, async () => {
        try {
          for (const endpoint of ctx.flags.bind
            .split(",")
            .map((e) => e.trim())
            .filter((e) => e !== "")) {
            ctx.out(`listening on ${await b.bind(endpoint)}`);
          }
          await b.start();
          await aborted(ctx.signal);
        } finally {
          await b.close();
        }
      });
      const s = b.stats;
      ctx.out(
        `broker stopped: ${s.requests} requests, ${s.replies} replies, ${s.requeued} requeued, ${s.expired} expired, ${s.dropped} dropped, ${s.abandoned} abandoned, ${s.lost} lost, ${s.forged} forged, ${s.malformed} malformed`,
      );
    } finally {
      await sec.close();
    }
  },
});

const worker = defineCommand({
  path: ["mdp", "worker"],
  summary: "runs a Majordomo echo worker: replies with the request body",
  flags: {
    connect: CONNECT,
    service: { type: "string", default: "echo", help: "the service to serve" },
    "work-ms": workFlag("how long each request's 'work' takes, in ms"),
    "heartbeat-ms": heartbeatFlag("heartbeat interval, in ms (use the broker's)", MDP_HEARTBEAT_INTERVAL_MS),
    liveness: livenessFlag("heartbeat intervals of broker silence before reconnecting", MDP_LIVENESS),
    "reconnect-ms": { type: "number", default: MDP_RECONNECT_MS, help: "delay before reconnecting to a lost broker, in ms" },
    concurrency: {
      type: "number",
      default: MDP_CONCURRENCY,
      min: 1,
      help: "how many requests to work on at once (useful with a broker's --worker-prefetch)",
    },
    ...CLIENT_SECURITY_FLAGS,
    metrics: METRICS_FLAG,
  },
  metrics: WORKER_METRICS,
  details: [
    "Says what is true about the broker: 'connecting to <endpoint>', 'READY sent; waiting for",
    "the broker to answer', then 'broker at <endpoint> answered: serving <service>' on the",
    "broker's first message. A broker that never answers, or is lost, is reported once (not",
    "at every reconnection, which -v shows) until it answers again.",
    "",
    "With --concurrency N the worker handles up to N requests at once and replies as each is",
    "done, in any order; a broker sends it more than one at a time only with --worker-prefetch.",
    "",
    "example: zkit mdp worker --connect tcp://localhost:5555 --service echo",
    "         zkit mdp worker --service echo --work-ms 50 --concurrency 8",
  ].join("\n"),
  async run(ctx) {
    const workMs = ctx.flags["work-ms"];
    const where = ctx.flags.connect;
    const reconnectMs = ctx.flags["reconnect-ms"];
    const security = await clientSecurity(ctx);
    const w = new MajordomoWorker({
      endpoint: where,
      security,
      service: ctx.flags.service,
      heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
      liveness: ctx.flags.liveness,
      reconnectMs,
      concurrency: ctx.flags.concurrency,
      handler: async (request) => {
        if (workMs > 0) await sleep(workMs);
        return request;
      },
      ...traceOption(ctx),
    });
    // Once per change, not per attempt: the broker's silence is reported once
    // until it answers again; -v shows every attempt.
    let silenceReported = false;
    w.on("connecting", ({ connection }) => {
      if (connection === 1) ctx.out(`connecting to ${where}`);
      else if (ctx.flags.verbose) ctx.out(`I: connecting to ${where} again (connection ${connection})`);
    });
    w.on("ready", ({ connection }) => {
      if (connection === 1) ctx.out("READY sent; waiting for the broker to answer");
      else if (ctx.flags.verbose) ctx.out(`I: READY sent on connection ${connection}`);
    });
    w.on("connected", () => {
      silenceReported = false;
      ctx.out(`broker at ${where} answered: serving ${w.service}`);
    });
    w.on("disconnected", ({ reason, answered, silentMs, error }) => {
      if (error !== undefined) {
        if (!silenceReported) ctx.err(`${error.message}; retrying every ${reconnectMs} ms or more`);
        silenceReported = true;
        return;
      }
      if (reason === "disconnect") {
        ctx.out(`the broker at ${where} sent DISCONNECT; reconnecting`);
        return;
      }
      if (answered) {
        ctx.out(`lost the broker at ${where} (silent for ${silentMs} ms); reconnecting every ${reconnectMs} ms until it answers`);
      } else if (!silenceReported) {
        ctx.out(`no broker answered at ${where} within ${silentMs} ms; reconnecting every ${reconnectMs} ms until one does`);
      }
      silenceReported = true;
    });
    w.on("reconnecting", ({ delayMs, attempt }) => {
      if (ctx.flags.verbose && attempt > 1) ctx.out(`I: still no answer; reconnecting in ${delayMs} ms`);
    });
    await withMetrics(ctx, WORKER_METRICS, w, () => serveUntilAborted(ctx.signal, w));
    ctx.out(`worker stopped: ${w.stats.replies} replies`);
  },
});

const request = defineCommand({
  path: ["mdp", "request"],
  summary: "sends requests to a Majordomo service and prints the replies, or a throughput summary",
  positionals: "BODY...",
  flags: {
    connect: CONNECT,
    service: { type: "string", default: "echo", help: "the service to ask" },
    requests: { type: "number", default: 1, min: 1, help: "how many requests to send" },
    inflight: { type: "number", default: 1, min: 1, help: "how many requests in flight at once (more than 1 uses the async client)" },
    multiplex: {
      type: "string",
      default: "auto",
      help: "with --inflight > 1: one socket for every request (on; zkit brokers), a socket per request in flight (off; any broker), or ask the broker (auto)",
      check: (value: string) => {
        if (value !== "auto" && value !== "on" && value !== "off") throw new UsageError(`expected auto, on or off, got ${JSON.stringify(value)}`);
      },
    },
    "timeout-ms": TIMEOUT,
    retries: RETRIES,
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Each BODY argument is one frame of the request body. With --requests 1 the reply's",
    "frames are printed one per line (text, or 0x and hex); with more, a summary line:",
    "requests, requests/s, and latency percentiles.",
    "",
    "With --inflight > 1 the async client carries the requests: against a zkit broker all on",
    "one socket (zkit's envelope extension, found out with the mmi.zkit.envelope question),",
    "elsewhere on a socket per request in flight (--multiplex; the choice is printed).",
    "",
    "examples: zkit mdp request --service echo 'Hello world'",
    "          zkit mdp request --service echo --requests 100000 --inflight 100 hello",
  ].join("\n"),
  async run(ctx) {
    const body = ctx.args;
    const { requests: n, inflight } = ctx.flags;
    const opts = { timeoutMs: ctx.flags["timeout-ms"], retries: ctx.flags.retries, signal: ctx.signal };
    const trace = traceOption(ctx);
    const security = await clientSecurity(ctx);
    const multiplex = ctx.flags.multiplex as MultiplexMode;
    let client: MajordomoClient | MajordomoAsyncClient;
    if (inflight > 1) {
      const asyncClient = new MajordomoAsyncClient({ endpoint: ctx.flags.connect, maxSockets: Math.min(inflight, 1000), maxInFlight: inflight, multiplex, security, ...trace });
      asyncClient.on("mode", ({ mode, reason }) => ctx.out(`requests travel ${mode === "multiplexed" ? "on one socket (multiplexed)" : "on a socket each"}: ${reason}`));
      client = asyncClient;
    } else {
      client = new MajordomoClient({ endpoint: ctx.flags.connect, security, ...trace });
    }
    try {
      if (n === 1) {
        const reply = await client.request(ctx.flags.service, body, opts);
        for (const frame of reply) ctx.out(showFrame(frame));
        return 0;
      }
      const latencies = new Float64Array(n);
      let next = 0;
      let failed = 0;
      const t0 = performance.now();
      const lane = async (): Promise<void> => {
        while (next < n && !ctx.signal.aborted) {
          const i = next++;
          const started = performance.now();
          try {
            await client.request(ctx.flags.service, body, opts);
            latencies[i] = performance.now() - started;
          } catch (err) {
            if (ctx.signal.aborted) return;
            failed++;
            latencies[i] = NaN;
            ctx.err(`request ${i}: ${(err as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(inflight, n) }, lane));
      const seconds = (performance.now() - t0) / 1000;
      const ok = Array.from(latencies.subarray(0, next))
        .filter((x) => Number.isFinite(x) && x > 0)
        .sort((a, b) => a - b);
      const pct = (p: number): string => (ok.length ? ok[Math.min(ok.length - 1, Math.ceil((p / 100) * ok.length) - 1)]!.toFixed(2) : "-");
      ctx.out(
        `${ok.length} replies to ${next} requests (${inflight} in flight) in ${seconds.toFixed(2)} s: ` +
          `${Math.round(ok.length / seconds)} requests/s, latency p50 ${pct(50)} ms, p99 ${pct(99)} ms, ${failed} failed`,
      );
      return failed > 0 ? 1 : 0;
    } finally {
      await client.close();
    }
  },
});

const mmi = defineCommand({
  path: ["mdp", "mmi"],
  summary: "asks the broker whether a service has workers (8/MMI), or queries an mmi.* service",
  positionals: "SERVICE",
  flags: {
    connect: CONNECT,
    "timeout-ms": TIMEOUT,
    retries: RETRIES,
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "With a service name, sends mmi.service and prints the answer: 200 (a worker serves it)",
    "or 404; exits 0 only on 200. With an mmi.* name, sends that request and prints every",
    "reply frame: `zkit mdp mmi mmi.stats` prints the broker's counters as JSON.",
    "",
    "example: zkit mdp mmi --connect tcp://localhost:5555 echo",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length !== 1) throw new UsageError(`expected one SERVICE, got ${ctx.args.length}`);
    const service = ctx.args[0]!;
    const security = await clientSecurity(ctx);
    const client = new MajordomoClient({
      endpoint: ctx.flags.connect,
      security,
      timeoutMs: ctx.flags["timeout-ms"],
      retries: ctx.flags.retries,
      ...traceOption(ctx),
    });
    try {
      const direct = service.startsWith(MMI_PREFIX);
      const reply = await client.request(direct ? service : MMI_SERVICE, direct ? [] : [service], { signal: ctx.signal });
      for (const frame of reply) ctx.out(showFrame(frame));
      return reply[0]?.toString() === MMI_OK ? 0 : 1;
    } finally {
      await client.close();
    }
  },
});

/** The mdp commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const mdpCommands: Command<any>[] = [broker, worker, request, mmi];
