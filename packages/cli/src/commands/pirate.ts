/**
 * The `zkit` subcommands of lpp, spp and ppp (Lazy, Simple and Paranoid
 * Pirate, the ZeroMQ Guide's chapter 4): the two queues, echo workers for
 * them, and a Lazy Pirate client.
 * @module
 */
import { AbortError, sleep } from "@zkit/core";
import { LPP_RETRIES, LPP_TIMEOUT_MS, LazyPirateClient, RetriesExhaustedError, decodeSequence, echoMatch, encodeSequence } from "@zkit/lpp";
import { ParanoidPirateQueue, ParanoidPirateWorker, PPP_HEARTBEAT_INTERVAL_MS, PPP_LIVENESS, PPP_RECONNECT_INITIAL_MS, PPP_RECONNECT_MAX_MS } from "@zkit/ppp";
import { SimplePirateQueue, SimplePirateWorker } from "@zkit/spp";
import { defineCommand, type Command } from "../command.js";
import { METRICS_FLAG, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, SERVER_SECURITY_FLAGS, clientSecurity, withServerSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { bindFlag, connectFlag, heartbeatFlag, livenessFlag, retriesFlag, serveUntilAborted, timeoutFlag, workFlag } from "./common.js";
import { PPP_QUEUE_METRICS, PPP_WORKER_METRICS, SPP_QUEUE_METRICS, SPP_WORKER_METRICS } from "./pirate-metrics.js";

const FRONTEND = bindFlag("where clients connect: the frontend ROUTER binds here (CZMQ endpoint list)", "tcp://*:5555");
const BACKEND = bindFlag("where workers connect: the backend ROUTER binds here (CZMQ endpoint list)", "tcp://*:5556");
const WORKER_CONNECT = connectFlag("the queue's backend to connect to (CZMQ endpoint list)", "tcp://localhost:5556");
const WORK_MS = workFlag("how long each request's 'work' takes before the echo, in ms");
const HEARTBEAT_MS = heartbeatFlag("heartbeat interval, in ms (the same on queue and workers)", PPP_HEARTBEAT_INTERVAL_MS);
const LIVENESS = livenessFlag("heartbeat intervals of silence before the peer counts as dead", PPP_LIVENESS);

/**
 * Runs a Pirate queue until Ctrl-C (or until it fails): prints where it
 * listens, the workers coming and going, the requests it drops, and a
 * summary at the end. Both queues are the same server (`QueueServer` of
 * `@zkit/reliability`); `left` is how the summary names the workers gone
 * ("lost" where nothing expires, "expired" where heartbeats do).
 */
async function serveQueue(ctx: { signal: AbortSignal; out(line: string): void }, q: SimplePirateQueue | ParanoidPirateQueue, left: "lost" | "expired"): Promise<void> {
  q.on("worker-ready", ({ worker }) => ctx.out(`I: worker ${worker} ready`));
  q.on("worker-gone", ({ worker, reason, inHand }) =>
    ctx.out(`W: worker ${worker} ${left === "lost" ? "gone" : "expired"} (${reason})${inHand > 0 ? ", its request goes to the next worker" : ""}`),
  );
  q.on("request-dropped", ({ client }) => ctx.out(`W: request from ${client} dropped: no worker answered it`));
  await serveUntilAborted(ctx.signal, q, {
    started: () => {
      ctx.out(`listening on ${q.frontendEndpoint} (frontend)`);
      ctx.out(`listening on ${q.backendEndpoint} (backend)`);
    },
    until: () => q.done,
  });
  const s = q.stats;
  ctx.out(
    `I: ${s.requests} requests, ${s.replies} replies, ${s.workersExpired} workers ${left}, ${s.redispatched} requests re-dispatched, ${s.lostRequests} requests lost, ` +
      `${s.malformed + s.unexpected} bad messages dropped`,
  );
}

/** An echo handler that "works" `workMs` first (interrupted by Ctrl-C). */
function echoAfter(ctx: { flags: { "work-ms": number }; signal: AbortSignal }): (request: Buffer[]) => Promise<Buffer[]> {
  const workMs = ctx.flags["work-ms"];
  return async (request) => {
    if (workMs > 0) await sleep(workMs, ctx.signal);
    return request;
  };
}

const sppQueue = defineCommand({
  path: ["spp", "queue"],
  summary: "runs a Simple Pirate queue (LRU, REQ workers) until Ctrl-C",
  flags: { frontend: FRONTEND, backend: BACKEND, ...SERVER_SECURITY_FLAGS, metrics: METRICS_FLAG },
  metrics: SPP_QUEUE_METRICS,
  details: [
    "Clients are Lazy Pirate REQ clients (`zkit lpp client`); workers are REQ sockets that send",
    "READY (0x01) once (`zkit spp worker`). Each bound endpoint is printed as",
    "'listening on <endpoint> (frontend|backend)'; 'tcp://127.0.0.1:*' takes an ephemeral port.",
    "A worker whose connection ends is reported at once ('W: worker <id> gone'), and the request",
    "it held goes to the next worker.",
    "",
    "example: zkit spp queue --frontend tcp://*:5555 --backend tcp://*:5556 -v",
  ].join("\n"),
  async run(ctx) {
    await withServerSecurity(ctx, async (security) => {
      const q = new SimplePirateQueue({
        frontend: ctx.flags.frontend,
        backend: ctx.flags.backend,
        security,
        ...traceOption(ctx),
      });
      await withMetrics(ctx, SPP_QUEUE_METRICS, q, () => serveQueue(ctx, q, "lost"));
    });
  },
});

const sppWorker = defineCommand({
  path: ["spp", "worker"],
  summary: "runs a Simple Pirate echo worker until Ctrl-C",
  flags: { connect: WORKER_CONNECT, "work-ms": WORK_MS, ...CLIENT_SECURITY_FLAGS, metrics: METRICS_FLAG },
  metrics: SPP_WORKER_METRICS,
  details: [
    "Sends READY (0x01) over a REQ socket, then answers each request with its own frames.",
    "Simple Pirate has no heartbeats: the queue says nothing until it sends a request, so",
    "the worker prints 'READY sent' and then 'first request from the queue'. A request that",
    "fails, or a malformed one, leaves a REQ socket stuck: the worker starts over on a fresh",
    "socket with a new READY ('W: starting over ...').",
    "",
    "example: zkit spp worker --connect tcp://localhost:5556 --work-ms 100",
  ].join("\n"),
  async run(ctx) {
    const w = new SimplePirateWorker({ endpoint: ctx.flags.connect, handler: echoAfter(ctx), security: await clientSecurity(ctx), ...traceOption(ctx) });
    let first = true;
    ctx.out(`I: connecting to ${ctx.flags.connect}`);
    w.on("ready", ({ connection }) => {
      if (connection === 1) ctx.out("I: READY sent; Simple Pirate has no heartbeat: the queue's first request will show it is there");
      else if (ctx.flags.verbose) ctx.out(`I: READY sent on connection ${connection}`);
    });
    w.on("connected", () => {
      if (first) ctx.out("I: first request from the queue: serving");
      first = false;
    });
    w.on("disconnected", ({ error }) => {
      if (error !== undefined) ctx.err(`E: ${error.message}`);
    });
    w.on("reconnecting", ({ reason }) => {
      if (reason !== "handshake") ctx.out(`W: starting over on a fresh socket (${reason === "malformed" ? "a malformed request" : "the request failed"})`);
    });
    w.on("handler-error", ({ error }) => ctx.err(`E: request dropped: ${(error as Error)?.message ?? String(error)}`));
    await withMetrics(ctx, SPP_WORKER_METRICS, w, () => serveUntilAborted(ctx.signal, w, { until: () => w.done }));
    ctx.out(`I: ${w.stats.replies} requests answered, ${w.stats.reconnects} reconnects`);
  },
});

const pppQueue = defineCommand({
  path: ["ppp", "queue"],
  summary: "runs a Paranoid Pirate queue (6/PPP: heartbeats, worker expiry) until Ctrl-C",
  flags: { frontend: FRONTEND, backend: BACKEND, "heartbeat-ms": HEARTBEAT_MS, liveness: LIVENESS, ...SERVER_SECURITY_FLAGS, metrics: METRICS_FLAG },
  metrics: PPP_QUEUE_METRICS,
  details: [
    "Clients are Lazy Pirate REQ clients (`zkit lpp client`); workers speak 6/PPP over DEALER",
    "(`zkit ppp worker`). Workers silent for liveness x heartbeat-ms are expired, idle or busy.",
    "Each bound endpoint is printed as 'listening on <endpoint> (frontend|backend)'.",
    "",
    "example: zkit ppp queue --frontend tcp://*:5555 --backend tcp://*:5556 -v",
  ].join("\n"),
  async run(ctx) {
    await withServerSecurity(ctx, async (security) => {
      const q = new ParanoidPirateQueue({
        frontend: ctx.flags.frontend,
        backend: ctx.flags.backend,
        heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
        liveness: ctx.flags.liveness,
        security,
        ...traceOption(ctx),
      });
      await withMetrics(ctx, PPP_QUEUE_METRICS, q, () => serveQueue(ctx, q, "expired"));
    });
  },
});

const pppWorker = defineCommand({
  path: ["ppp", "worker"],
  summary: "runs a Paranoid Pirate (6/PPP) echo worker until Ctrl-C",
  flags: {
    connect: WORKER_CONNECT,
    "work-ms": WORK_MS,
    "heartbeat-ms": HEARTBEAT_MS,
    liveness: LIVENESS,
    "reconnect-ms": { type: "number", default: PPP_RECONNECT_INITIAL_MS, help: "first wait before reconnecting to a silent queue, in ms (doubles each time)" },
    "reconnect-max-ms": { type: "number", default: PPP_RECONNECT_MAX_MS, help: "longest wait before reconnecting, in ms" },
    ...CLIENT_SECURITY_FLAGS,
    metrics: METRICS_FLAG,
  },
  metrics: PPP_WORKER_METRICS,
  details: [
    "Sends READY (0x01) over a DEALER socket and heartbeats (0x02); answers each request with its",
    "own frames. When the queue is silent for liveness x heartbeat-ms it reconnects on a fresh",
    "socket, waiting reconnect-ms, then twice as long each time up to reconnect-max-ms.",
    "",
    "Prints 'I: connecting to <endpoint>', 'I: READY sent; ...', then 'I: worker ready: the queue",
    "at <endpoint> answered' on the queue's first heartbeat. The back-off is printed when its",
    "delay changes, not at every attempt (-v shows each).",
    "",
    "example: zkit ppp worker --connect tcp://localhost:5556 --work-ms 100",
  ].join("\n"),
  async run(ctx) {
    const w = new ParanoidPirateWorker({
      endpoint: ctx.flags.connect,
      heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
      liveness: ctx.flags.liveness,
      reconnectInitialMs: ctx.flags["reconnect-ms"],
      reconnectMaxMs: Math.max(ctx.flags["reconnect-max-ms"], ctx.flags["reconnect-ms"]),
      handler: echoAfter(ctx),
      security: await clientSecurity(ctx),
      ...traceOption(ctx),
    });
    const where = ctx.flags.connect;
    // What is true, once per change: the queue answered or not, and the
    // back-off delay when it changes (-v: every attempt).
    let connections = 0;
    let seen = false; // the queue answered on the current connection
    let silenceReported = false;
    let lastDelay: number | undefined;
    ctx.out(`I: connecting to ${where}`);
    w.on("ready", () => {
      connections++;
      seen = false;
      if (connections === 1) ctx.out("I: READY sent; waiting for the queue to answer");
      else if (ctx.flags.verbose) ctx.out(`I: READY sent on connection ${connections}`);
    });
    w.on("connected", () => {
      seen = true;
      silenceReported = false;
      lastDelay = undefined;
      ctx.out(`I: worker ready: the queue at ${where} answered`);
    });
    w.on("disconnected", ({ silentMs, error }) => {
      if (error !== undefined) {
        if (!silenceReported) ctx.err(`E: ${error.message}`);
      } else if (seen) ctx.out("W: heartbeat failure, can't reach queue");
      else if (!silenceReported) ctx.out(`W: no queue answered at ${where} within ${Math.round(silentMs)} ms`);
      silenceReported = true;
    });
    w.on("reconnecting", ({ delayMs, reason }) => {
      if (reason === "handshake") {
        if (ctx.flags.verbose) ctx.out(`I: reconnecting in ${delayMs} msec after the failed handshake`);
      } else if (reason !== "silent") ctx.out("W: reconnecting at once (the request failed)");
      else if (delayMs !== lastDelay || ctx.flags.verbose) ctx.out(`W: reconnecting in ${delayMs} msec...`);
      if (reason === "silent") lastDelay = delayMs;
    });
    w.on("handler-error", ({ error }) => ctx.err(`E: request dropped: ${(error as Error)?.message ?? String(error)}`));
    await withMetrics(ctx, PPP_WORKER_METRICS, w, () => serveUntilAborted(ctx.signal, w, { until: () => w.done }));
    ctx.out(`I: ${w.stats.replies} requests answered, ${w.stats.reconnects} reconnects`);
  },
});

const lppClient = defineCommand({
  path: ["lpp", "client"],
  summary: "sends N requests through a Lazy Pirate client (timeout, retries, fresh socket) and prints a summary",
  flags: {
    connect: connectFlag("the server or queue frontend to connect to (CZMQ endpoint list)"),
    requests: { type: "number", default: 10, min: 1, help: "how many requests to send" },
    "timeout-ms": timeoutFlag("how long each attempt waits for the reply, in ms", LPP_TIMEOUT_MS),
    retries: retriesFlag("resends after the first attempt before giving up", LPP_RETRIES),
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Each request is a sequence number (1, 2, ...) and only a reply that echoes it counts, as in",
    "the Guide's lpclient; any echo server, queue + echo workers, or `zkit spp/ppp worker`",
    "answers it. Exits 0 when every request got its reply, 1 when it gave up on one.",
    "",
    "example: zkit lpp client --connect tcp://localhost:5555 --requests 100 --timeout-ms 1000",
  ].join("\n"),
  async run(ctx) {
    const client = new LazyPirateClient({
      endpoint: ctx.flags.connect,
      timeoutMs: ctx.flags["timeout-ms"],
      retries: ctx.flags.retries,
      match: echoMatch,
      security: await clientSecurity(ctx),
      ...traceOption(ctx),
    });
    client.on("retry", ({ attempt }) => ctx.out(`W: no response from server, retrying... (attempt ${attempt + 1})`));
    client.on("unmatched", ({ reply }) => ctx.out(`E: malformed reply from server: ${reply.map(String).join(" ")}`));
    let code = 0;
    try {
      for (let seq = 1; seq <= ctx.flags.requests; seq++) {
        try {
          const reply = await client.request(encodeSequence(seq), { signal: ctx.signal });
          ctx.out(`I: server replied OK (${decodeSequence(reply) as number})`);
        } catch (err) {
          if (err instanceof AbortError) break;
          if (!(err instanceof RetriesExhaustedError)) throw err;
          ctx.out("E: server seems to be offline, abandoning");
          code = 1;
          break;
        }
      }
    } finally {
      await client.close();
    }
    const s = client.stats;
    ctx.out(`I: ${s.requests} requests, ${s.replies} replies, ${s.retries} retries, ${s.failed} failed`);
    return code;
  },
});

/** The pirate commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const pirateCommands: Command<any>[] = [lppClient, sppQueue, sppWorker, pppQueue, pppWorker];
