/**
 * The `zkit` subcommands of bstar (Binary Star, the ZeroMQ Guide's chapter
 * 4): a server of the pair with an echo service, and a client that fails
 * over between the two.
 * @module
 */
import { AbortError, sleep } from "@zkit/core";
import { BSTAR_HEARTBEAT_INTERVAL_MS, BSTAR_TIMEOUT_MS, BSTAR_SETTLE_DELAY_MS, BinaryStar, BinaryStarClient, BSTAR_RETRIES, RetriesExhaustedError } from "@zkit/bstar";
import { UsageError, defineCommand, type Command } from "../command.js";
import { METRICS_FLAG, defineMetrics, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, SERVER_SECURITY_FLAGS, clientSecurity, withServerSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { retriesFlag, serveUntilAborted, timeoutFlag } from "./common.js";

/** The Guide's endpoints: primary frontend 5001, state 5003; backup frontend 5002, state 5004. */
const GUIDE = {
  primary: { frontend: "tcp://*:5001", local: "tcp://*:5003", remote: "tcp://localhost:5004" },
  backup: { frontend: "tcp://*:5002", local: "tcp://*:5004", remote: "tcp://localhost:5003" },
} as const;

/** What `zkit bstar server --metrics` serves: the server's `stats`, its state and the peer's. */
const SERVER_METRICS = defineMetrics<BinaryStar>()({
  prefix: "zkit_bstar_server",
  counters: {
    votesAccepted: "Client requests accepted (handed to the handler).",
    votesRejected: "Client requests rejected: this server was passive, or not yet sure of its peer.",
    rejectionsAnswered: "Rejected requests answered with BSTAR-REJECTED (--answer-rejected).",
    replies: "Replies sent to clients.",
    handlerErrors: "Requests whose handler failed: no reply sent.",
    dropped: "Requests accepted but dropped before their handler ran, because the server stepped down to passive.",
    statesSent: "State messages published to the peer.",
    statesReceived: "State messages received from the peer.",
    malformed: "Messages on the state socket that were not states, dropped.",
    activations: "Times this server became active.",
    failovers: "Of those, failovers: a passive server took over from a silent peer.",
    splitBrains: "Split brains detected (both active or both passive).",
    stalls: "Stalls of this process's event loop as long as a peer expiry or more.",
  },
  gauges: {
    active: { help: "1 while this server is active (serving clients), 0 while passive or deciding.", read: (s) => (s.active ? 1 : 0) },
    state: {
      help: "This server's Binary Star state now: 1 for the current one (primary or backup while deciding, then active or passive).",
      labelNames: ["state"],
      read: (s) => [{ labels: { state: s.starState }, value: 1 }],
    },
  },
});

const server = defineCommand({
  path: ["bstar", "server"],
  summary: "runs one server of a Binary Star pair (an echo service) until Ctrl-C",
  flags: {
    primary: { type: "boolean", short: "p", help: "this is the primary server (the one that serves when both start)" },
    backup: { type: "boolean", short: "b", help: "this is the backup server" },
    frontend: { type: "string", help: "where clients connect: the voter ROUTER binds here (default tcp://*:5001, backup tcp://*:5002)" },
    local: { type: "string", help: "where this server publishes its state: binds (default tcp://*:5003, backup tcp://*:5004)" },
    remote: { type: "string", help: "the peer's state publisher: connects (default tcp://localhost:5004, backup tcp://localhost:5003)" },
    "heartbeat-ms": { type: "number", default: BSTAR_HEARTBEAT_INTERVAL_MS, min: 1, help: "state heartbeat, in ms; the peer is gone after 2 (the same on both servers)" },
    "answer-rejected": { type: "boolean", help: "answer rejected requests with BSTAR-REJECTED so zkit clients switch at once (a zkit extension)" },
    metrics: METRICS_FLAG,
    ...SERVER_SECURITY_FLAGS,
  },
  metrics: SERVER_METRICS,
  details: [
    "Give exactly one of --primary and --backup. The defaults are the Guide's bstarsrv ports, so",
    "`zkit bstar server -p` and `zkit bstar server -b` on one host make a pair that the Guide's C or",
    "Python bstarcli (and `zkit bstar client`) talks to; either may be swapped for the Guide's bstarsrv.",
    "Prints 'listening on <endpoint> (frontend|state)', then every state change; -v adds every",
    "message, frame by frame, and every rejected request.",
    "",
    "With --curve-secret both servers must use the same certificate (clients have one server",
    "key); the state link is CURVE too, so an --auth-dir must also hold the pair's public",
    "certificate.",
    "",
    "example: zkit bstar server --primary --frontend tcp://*:5001 --local tcp://*:5003 --remote tcp://backup-host:5004",
  ].join("\n"),
  async run(ctx) {
    const { primary, backup } = ctx.flags;
    if (primary === backup) throw new UsageError("give exactly one of --primary and --backup");
    const role = primary ? "primary" : "backup";
    await withServerSecurity(ctx, async (security) => {
      const s = new BinaryStar({
        security,
        role,
        voter: ctx.flags.frontend ?? GUIDE[role].frontend,
        local: ctx.flags.local ?? GUIDE[role].local,
        remote: ctx.flags.remote ?? GUIDE[role].remote,
        heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
        answerRejectedVotes: ctx.flags["answer-rejected"],
        handler: (request) => request,
        ...traceOption(ctx),
      });
      s.on("active", ({ from, reason }) => ctx.out(`I: active (${reason}, was ${from})`));
      s.on("passive", ({ from, reason }) => ctx.out(`I: passive (${reason}, was ${from})`));
      s.on("peer-lost", ({ silentMs }) => ctx.out(`W: peer silent for ${Math.round(silentMs)} ms`));
      s.on("peer-seen", ({ state }) => ctx.out(`I: peer is ${state}`));
      s.on("split-brain", ({ kind, decision }) => ctx.out(`E: split brain (${kind}): ${decision}`));
      s.on("stalled", ({ stalledMs, quietMs }) => ctx.out(`W: stalled for ${Math.round(stalledMs)} ms: serving nobody for ${quietMs} ms`));
      s.on("malformed", ({ reason }) => ctx.err(`W: malformed state message dropped: ${reason}`));
      s.on("handler-error", ({ error }) => ctx.err(`E: request dropped: ${(error as Error)?.message ?? String(error)}`));
      if (ctx.flags.verbose) s.on("vote-rejected", ({ state, reason }) => ctx.out(`W: request rejected (${state}, ${reason})`));
      await withMetrics(ctx, SERVER_METRICS, s, () =>
        serveUntilAborted(ctx.signal, s, {
          started: () => {
            ctx.out(`listening on ${s.voterEndpoint} (frontend)`);
            ctx.out(`listening on ${s.stateEndpoint} (state)`);
            ctx.out(`I: ${role}, waiting for the peer`);
          },
          until: () => s.done,
        }),
      );
      const st = s.stats;
      ctx.out(`I: ${st.votesAccepted} requests served, ${st.votesRejected} rejected, ${st.failovers} failovers, ${st.splitBrains} split brains, ${st.malformed} malformed dropped`);
    });
  },
});

const client = defineCommand({
  path: ["bstar", "client"],
  summary: "sends numbered requests to a Binary Star pair, failing over between the two servers",
  flags: {
    servers: { type: "string", default: "tcp://localhost:5001,tcp://localhost:5002", help: "the two servers' frontends, primary first" },
    requests: { type: "number", default: 10, min: 0, help: "how many requests to send; 0 = until Ctrl-C" },
    "interval-ms": { type: "number", default: 0, help: "pause between requests, in ms (the Guide's bstarcli: 1000)" },
    "timeout-ms": timeoutFlag("how long each attempt waits for the reply, in ms", BSTAR_TIMEOUT_MS),
    "settle-ms": { type: "number", default: BSTAR_SETTLE_DELAY_MS, help: "wait after switching servers before resending, in ms" },
    retries: retriesFlag("resends (each on the other server) before giving up", BSTAR_RETRIES),
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Each request is a sequence number and only a reply that echoes it counts, as in the Guide's",
    "bstarcli: any Binary Star pair of echo servers answers it (`zkit bstar server`, the Guide's",
    "bstarsrv). With no reply within the timeout it switches to the other server, waits the settle",
    "delay and resends. Exits 0 when every request got its reply, 1 when it gave up on one.",
    "",
    "example: zkit bstar client --servers tcp://host1:5001,tcp://host2:5002 --requests 0 --interval-ms 1000",
  ].join("\n"),
  async run(ctx) {
    const c = new BinaryStarClient({
      servers: ctx.flags.servers,
      timeoutMs: ctx.flags["timeout-ms"],
      settleDelayMs: ctx.flags["settle-ms"],
      retries: ctx.flags.retries,
      closeOnInterrupt: false,
      security: await clientSecurity(ctx),
      ...traceOption(ctx),
    });
    c.on("failover", ({ to, reason }) => {
      ctx.out(reason === "timeout" ? "W: no response from server, failing over" : "W: server rejected the request, failing over");
      ctx.out(`I: connecting to server at ${to}...`);
    });
    ctx.out(`I: connecting to server at ${c.server}...`);
    let code = 0;
    try {
      for (let seq = 1; ctx.flags.requests === 0 || seq <= ctx.flags.requests; seq++) {
        try {
          const reply = await c.request(String(seq), { signal: ctx.signal });
          if (reply.text() === String(seq)) ctx.out(`I: server replied OK (${seq})`);
          else {
            ctx.out(`E: bad reply from server: ${reply.texts().join(" ")}`);
            code = 1;
            break;
          }
          if (ctx.flags["interval-ms"] > 0) await sleep(ctx.flags["interval-ms"], ctx.signal);
        } catch (err) {
          if (err instanceof AbortError || ctx.signal.aborted) break;
          if (!(err instanceof RetriesExhaustedError)) throw err;
          ctx.out("E: no server answers, abandoning");
          code = 1;
          break;
        }
      }
    } finally {
      await c.close();
    }
    const s = c.stats;
    ctx.out(`I: ${s.requests} requests, ${s.replies} replies, ${s.failovers} failovers, ${s.failed} failed`);
    return code;
  },
});

/** The bstar commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const bstarCommands: Command<any>[] = [server, client];
