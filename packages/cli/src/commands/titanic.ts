/**
 * The `zkit` subcommands of titanic (the Titanic server, 9/TSP over
 * Majordomo, and a client that sends one request through it).
 * @module
 */
import { TimeoutError } from "@zkit/core";
import { MDP_HEARTBEAT_INTERVAL_MS } from "@zkit/mdp";
import {
  TITANIC_DIR,
  TITANIC_DISPATCH_CONCURRENCY,
  TITANIC_DISPATCH_INTERVAL_MS,
  TITANIC_DISPATCH_TIMEOUT_MS,
  TITANIC_DURABILITY,
  TITANIC_POLL_INTERVAL_MS,
  TITANIC_REQUEST_CONCURRENCY,
  Titanic,
  TitanicClient,
} from "@zkit/titanic";
import { UsageError, defineCommand, type Command } from "../command.js";
import { METRICS_FLAG, defineMetrics, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, clientSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { connectFlag, heartbeatFlag, serveUntilAborted, showFrame } from "./common.js";

const CONNECT = connectFlag("the Majordomo broker to connect to (CZMQ endpoint list)");

/** What `zkit titanic --metrics` serves: Titanic's `stats`, with its store's pending and stored requests. */
const TITANIC_METRICS = defineMetrics<Titanic>()({
  prefix: "zkit_titanic_server",
  counters: {
    requests: "Requests stored on disk and acknowledged (titanic.request answered 200).",
    polls: "titanic.reply calls.",
    closes: "titanic.close calls.",
    dispatched: "Requests forwarded to their service (a request may be forwarded more than once).",
    replies: "Replies stored on disk.",
    dispatchTimeouts: "Forwards whose reply did not come within --dispatch-timeout-ms.",
    recovered: "Pending requests found in the directory at start.",
    corrupt: "Damaged files found and moved to corrupt/.",
    malformed: "Malformed requests to the titanic.* services, answered 400.",
    storageErrors: "Reads or writes of the store that failed (answered 500, or retried later).",
  },
  statGauges: {
    pending: "Requests stored and not answered yet now.",
    stored: "Requests in the store now: pending or answered, not closed.",
  },
});

const server = defineCommand({
  path: ["titanic"],
  summary: "runs a Titanic server (9/TSP): stores requests on disk, forwards them when their service is up",
  flags: {
    connect: CONNECT,
    dir: { type: "string", default: TITANIC_DIR, help: "the storage directory (created if missing; one Titanic per directory)" },
    "heartbeat-ms": heartbeatFlag("heartbeat interval with the broker, in ms (use the broker's)", MDP_HEARTBEAT_INTERVAL_MS),
    "dispatch-interval-ms": { type: "number", default: TITANIC_DISPATCH_INTERVAL_MS, min: 1, help: "how often pending requests are retried, in ms" },
    "dispatch-timeout-ms": { type: "number", default: TITANIC_DISPATCH_TIMEOUT_MS, min: 1, help: "how long a forwarded request waits for its reply, in ms" },
    concurrency: { type: "number", default: TITANIC_DISPATCH_CONCURRENCY, min: 1, help: "the most requests forwarded at once" },
    durability: {
      type: "string",
      default: TITANIC_DURABILITY,
      help: "fsync: a 200 survives a crash of the machine; write: of this process only (no fsync, faster)",
    },
    "request-concurrency": {
      type: "number",
      default: TITANIC_REQUEST_CONCURRENCY,
      min: 1,
      help: "how many titanic.request messages are stored at once (that many workers at the broker; their fsyncs are shared)",
    },
    ...CLIENT_SECURITY_FLAGS,
    metrics: METRICS_FLAG,
  },
  metrics: TITANIC_METRICS,
  details: [
    "Registers titanic.request, titanic.reply and titanic.close with the broker and prints",
    "'titanic ready ...' once it serves. Every request is fsynced to the directory before",
    "it is acknowledged (requests stored at the same time share their fsyncs; --durability",
    "write skips them: a 200 then survives kill -9, not a power loss); a Titanic restarted",
    "on the same directory (even after kill -9) forwards whatever was pending. Damaged",
    "files are reported on stderr, moved to <dir>/corrupt/ and skipped. With -v it prints",
    "every message frame by frame, and each request stored, forwarded and answered.",
    "",
    "example: zkit titanic --connect tcp://localhost:5555 --dir /var/lib/titanic",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument "${ctx.args[0]}"`);
    const durability = ctx.flags.durability;
    if (durability !== "fsync" && durability !== "write") throw new UsageError(`--durability must be fsync or write, got "${durability}"`);
    const t = new Titanic({
      endpoint: ctx.flags.connect,
      dir: ctx.flags.dir,
      heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
      reconnectMs: ctx.flags["heartbeat-ms"],
      dispatchIntervalMs: ctx.flags["dispatch-interval-ms"],
      dispatchTimeoutMs: ctx.flags["dispatch-timeout-ms"],
      dispatchConcurrency: ctx.flags.concurrency,
      durability,
      requestConcurrency: ctx.flags["request-concurrency"],
      security: await clientSecurity(ctx),
      ...traceOption(ctx),
    });
    let refused = false;
    t.on("handshake-failed", ({ error }) => {
      if (!refused) ctx.err(`E: ${error.message}`); // once: the three workers retry every heartbeat
      refused = true;
    });
    t.on("corrupt", ({ file, reason, movedTo }) => ctx.err(`W: damaged file ${file}: ${reason}${movedTo ? ` (moved to ${movedTo})` : ""}`));
    t.on("storage-error", ({ operation, uuid, error }) => ctx.err(`E: ${operation} ${uuid ?? ""} failed: ${error.message}`));
    if (ctx.flags.verbose) {
      t.on("stored", ({ uuid, service }) => ctx.out(`I: stored request ${uuid} for ${service}`));
      t.on("dispatched", ({ uuid, service }) => ctx.out(`I: forwarding request ${uuid} to ${service}`));
      t.on("replied", ({ uuid, service }) => ctx.out(`I: stored the reply of ${service} to ${uuid}`));
      t.on("closed", ({ uuid }) => ctx.out(`I: closed request ${uuid}`));
      t.on("malformed", ({ service, reason }) => ctx.out(`W: malformed ${service} request answered 400: ${reason}`));
    }
    await withMetrics(ctx, TITANIC_METRICS, t, () =>
      serveUntilAborted(ctx.signal, t, {
        started: () => {
          const s = t.stats;
          ctx.out(`titanic ready at ${ctx.flags.connect}, store ${t.dir} (${s.pending} pending, ${s.stored - s.pending} answered)`);
        },
      }),
    );
    const s = t.stats;
    ctx.out(`titanic stopped: ${s.requests} requests stored, ${s.replies} replies stored, ${s.closes} closed, ${s.pending} pending`);
  },
});

const request = defineCommand({
  path: ["titanic", "request"],
  summary: "sends one request through Titanic and prints the reply once its service answered",
  positionals: "BODY...",
  flags: {
    connect: CONNECT,
    service: { type: "string", default: "echo", help: "the service to send it to" },
    "poll-ms": { type: "number", default: TITANIC_POLL_INTERVAL_MS, min: 0, help: "how often to ask titanic.reply while the request is pending, in ms" },
    "timeout-ms": { type: "number", default: 0, help: "give up after this many ms (exit 1); 0 waits as long as it takes" },
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Each BODY argument is one frame. Prints 'I: request UUID <uuid>' once Titanic stored",
    "the request, then the reply's frames one per line, and closes the request.",
    "",
    "example: zkit titanic request --connect tcp://localhost:5555 --service echo 'Hello world'",
  ].join("\n"),
  async run(ctx) {
    const client = new TitanicClient({ endpoint: ctx.flags.connect, security: await clientSecurity(ctx), ...traceOption(ctx) });
    const timeoutMs = ctx.flags["timeout-ms"] > 0 ? ctx.flags["timeout-ms"] : Infinity;
    try {
      const reply = await client.request(ctx.flags.service, ctx.args, {
        pollIntervalMs: ctx.flags["poll-ms"],
        timeoutMs,
        signal: ctx.signal,
        onAccepted: (uuid) => ctx.out(`I: request UUID ${uuid}`),
      });
      for (const frame of reply) ctx.out(showFrame(frame));
      return 0;
    } catch (err) {
      if (err instanceof TimeoutError) {
        ctx.err(`E: no reply within ${timeoutMs} ms`);
        return 1;
      }
      throw err;
    } finally {
      await client.close();
    }
  },
});

/** The titanic commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const titanicCommands: Command<any>[] = [server, request];
