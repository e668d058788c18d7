/**
 * The `zkit` subcommands of flclient (Freelance, 10/FLP, the ZeroMQ Guide's
 * chapter 4): an echo server and a client over several servers.
 * @module
 */
import { TimeoutError, sleep } from "@zkit/core";
import { FLP_ATTEMPT_TIMEOUT_MS, FLP_CONCURRENCY, FLP_DEMOTION_MS, FLP_PING_INTERVAL_MS, FLP_SERVER_TTL_MS, FLP_TIMEOUT_MS, FreelanceClient, FreelanceServer } from "@zkit/flclient";
import { defineCommand, type Command } from "../command.js";
import { METRICS_FLAG, defineMetrics, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, SERVER_SECURITY_FLAGS, clientSecurity, withServerSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { serveUntilAborted, showFrame, workFlag } from "./common.js";

/** What `zkit fl server --metrics` serves: the server's `stats` (requests being handled and waiting are gauges). */
const SERVER_METRICS = defineMetrics<FreelanceServer>()({
  prefix: "zkit_fl_server",
  counters: {
    pings: "PINGs answered with PONG.",
    requests: "Requests received.",
    replies: "Replies handed to the socket (those that could not be delivered also count in undeliverable).",
    handlerErrors: "Requests whose handler failed: no reply sent.",
    malformed: "Malformed messages dropped.",
    undeliverable: "Replies and PONGs that could not be delivered: the client had gone, or its connection was full.",
    discarded: "Requests dropped unanswered before a handler took them, because their client's connection ended.",
  },
  statGauges: {
    active: "Requests being handled now.",
    queued: "Requests waiting for a handler now (--concurrency are handled at once).",
  },
});

const server = defineCommand({
  path: ["fl", "server"],
  summary: "runs a Freelance (10/FLP) echo server until Ctrl-C",
  flags: {
    bind: { type: "string", default: "tcp://*:5555", help: "where the server's ROUTER binds ('tcp://127.0.0.1:*' takes an ephemeral port)" },
    endpoint: { type: "string", help: "the endpoint clients connect to, which is the server's routing id (default: the bound one, with * as localhost)" },
    "work-ms": workFlag("how long each request's 'work' takes before the echo, in ms"),
    concurrency: { type: "number", default: FLP_CONCURRENCY, min: 1, help: "how many requests to work on at once" },
    metrics: METRICS_FLAG,
    ...SERVER_SECURITY_FLAGS,
  },
  metrics: SERVER_METRICS,
  details: [
    "Answers PING with PONG and each request [control][body...] with [control][body...]: an",
    "echo. Prints 'listening on <bound endpoint>' and 'serving as <endpoint>': clients must",
    "connect to exactly that endpoint (a 10/FLP server's routing id is its endpoint), so",
    "`--bind tcp://*:5555` serves as tcp://localhost:5555; pass --endpoint for another name.",
    "",
    "example: zkit fl server --bind tcp://*:5555",
    "         zkit fl server --bind tcp://*:5556 --endpoint tcp://myhost:5556 -v",
  ].join("\n"),
  async run(ctx) {
    await withServerSecurity(ctx, async (security) => {
      const workMs = ctx.flags["work-ms"];
      const s = new FreelanceServer({
        bind: ctx.flags.bind,
        security,
        ...(ctx.flags.endpoint !== undefined ? { endpoint: ctx.flags.endpoint } : {}),
        concurrency: ctx.flags.concurrency,
        handler: async (request, { signal }) => {
          if (workMs > 0) await sleep(workMs, signal);
          return request;
        },
        ...traceOption(ctx),
      });
      if (ctx.flags.verbose) {
        s.on("malformed", ({ reason, peer }) => ctx.out(`W: malformed message from ${peer ?? "?"} dropped: ${reason}`));
        s.on("handler-error", ({ error }) => ctx.out(`W: a request got no reply: ${(error as Error)?.message ?? String(error)}`));
      }
      await withMetrics(ctx, SERVER_METRICS, s, () =>
        serveUntilAborted(ctx.signal, s, {
          started: () => {
            ctx.out(`listening on ${s.boundEndpoint}`);
            ctx.out(`serving as ${s.endpoint}`);
          },
          until: () => s.done,
        }),
      );
      const st = s.stats;
      ctx.out(`server stopped: ${st.requests} requests, ${st.replies} replies, ${st.pings} pings, ${st.handlerErrors} failed, ${st.malformed} malformed`);
    });
  },
});

const client = defineCommand({
  path: ["fl", "client"],
  summary: "sends requests to Freelance servers and prints the replies, or a throughput summary",
  positionals: "BODY...",
  flags: {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the servers, as they name themselves (comma-separated)" },
    requests: { type: "number", default: 1, min: 1, help: "how many requests to send" },
    inflight: { type: "number", default: 1, min: 1, help: "how many requests in flight at once" },
    "timeout-ms": { type: "number", default: FLP_TIMEOUT_MS, min: 1, help: "how long a request may take in all, in ms" },
    "attempt-timeout-ms": { type: "number", default: FLP_ATTEMPT_TIMEOUT_MS, min: 1, help: "how long one server has to answer before the request goes to another, in ms" },
    "ping-ms": { type: "number", default: FLP_PING_INTERVAL_MS, min: 1, help: "how often quiet servers are PINGed, in ms" },
    "server-ttl-ms": { type: "number", default: FLP_SERVER_TTL_MS, min: 2, help: "how long a server may stay silent before it counts as dead, in ms (more than --ping-ms)" },
    "demotion-ms": { type: "number", default: FLP_DEMOTION_MS, min: 1, help: "how long a server that let a request time out gets none, in ms (doubling)" },
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Each BODY argument is one frame of the request. Each request goes to one live server;",
    "when it does not answer in --attempt-timeout-ms, or dies, to another, until --timeout-ms.",
    "With --requests 1 the reply's frames are printed one per line (text, or 0x and hex); with",
    "more, a summary line: replies, requests/s, latency percentiles, failures, resends. With",
    "-v: every frame, and servers coming and going.",
    "",
    "examples: zkit fl client --connect tcp://localhost:5555,tcp://localhost:5556 'random name'",
    "          zkit fl client --connect tcp://localhost:5555,tcp://localhost:5556,tcp://localhost:5557 \\",
    "            --requests 100000 --inflight 100 hello",
  ].join("\n"),
  async run(ctx) {
    const body = ctx.args;
    const n = ctx.flags.requests;
    const inflight = ctx.flags.inflight;
    const c = new FreelanceClient({
      endpoints: ctx.flags.connect,
      timeoutMs: ctx.flags["timeout-ms"],
      attemptTimeoutMs: ctx.flags["attempt-timeout-ms"],
      pingIntervalMs: ctx.flags["ping-ms"],
      serverTtlMs: ctx.flags["server-ttl-ms"],
      demotionMs: ctx.flags["demotion-ms"],
      security: await clientSecurity(ctx),
      ...traceOption(ctx),
    });
    c.on("handshake-failed", ({ endpoint, error }) => ctx.err(`W: server ${endpoint}: ${error.message}`));
    if (ctx.flags.verbose) {
      c.on("connected", ({ endpoint }) => ctx.out(`I: server ${endpoint} is alive`));
      c.on("disconnected", ({ endpoint, reason }) => ctx.out(`W: server ${endpoint} lost (${reason})`));
      c.on("server-demoted", ({ endpoint, delayMs }) => ctx.out(`W: server ${endpoint} demoted for ${delayMs} ms`));
      c.on("retry", ({ endpoint, reason, attempt }) => ctx.out(`W: request resent after attempt ${attempt} on ${endpoint} (${reason})`));
      c.on("malformed", ({ reason, peer }) => ctx.out(`W: message from ${peer ?? "?"} dropped: ${reason}`));
    }
    await c.start();
    try {
      const opts = { signal: ctx.signal };
      if (n === 1) {
        const reply = await c.request(body, opts);
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
            await c.request(body, opts);
            latencies[i] = performance.now() - started;
          } catch (err) {
            if (ctx.signal.aborted) return;
            if (!(err instanceof TimeoutError)) throw err;
            failed++;
            latencies[i] = NaN;
            ctx.err(`request ${i}: ${err.message}`);
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
          `${Math.round(ok.length / seconds)} requests/s, latency p50 ${pct(50)} ms, p99 ${pct(99)} ms, ${failed} failed, ${c.stats.retries} resent`,
      );
      return failed > 0 ? 1 : 0;
    } finally {
      await c.close();
    }
  },
});

/** The fl commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const flCommands: Command<any>[] = [server, client];
