/**
 * The `zkit` subcommands of clone (12/CHP, the Guide's Clone pattern): a
 * server, and clients that set, get and watch keys.
 * @module
 */
import { TimeoutError } from "@zkit/core";
import { BSTAR_HEARTBEAT_INTERVAL_MS } from "@zkit/bstar";
import {
  CLONE_DIALECT,
  CLONE_HUGZ_INTERVAL_MS,
  CLONE_PEER_TTL_MS,
  CLONE_PORT,
  CLONE_SERVER_TTL_MS,
  CLONE_SET_TIMEOUT_MS,
  CloneClient,
  CloneServer,
  type CloneChange,
  type CloneDialect,
  type ClonePairOptions,
} from "@zkit/clone";
import type { SecurityOptions } from "@zkit/security";
import { UsageError, defineCommand, type Command, type CommandContext } from "../command.js";
import { METRICS_FLAG, defineMetrics, withMetrics } from "../metrics.js";
import { CLIENT_SECURITY_FLAGS, SERVER_SECURITY_FLAGS, clientSecurity, withServerSecurity } from "../security.js";
import { traceOption } from "../trace.js";
import { aborted, serveUntilAborted, showFrame } from "./common.js";

const CONNECT = {
  type: "string",
  default: `tcp://localhost:${CLONE_PORT}`,
  help: "the server, tcp://host:P (its snapshot port), or a pair as tcp://a:P,tcp://b:P",
} as const;
const SERVER_TTL = { type: "number", default: CLONE_SERVER_TTL_MS, min: 1, help: "a server silent this long (no update, no HUGZ) is taken for dead, in ms" } as const;
const TIMEOUT = { type: "number", default: 10_000, min: 1, help: "give up after this many ms (exit 1)" } as const;
const SET_TIMEOUT = { ...TIMEOUT, default: CLONE_SET_TIMEOUT_MS } as const;

function servers(flag: string): string[] {
  const list = flag
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0 || list.length > 2) throw new UsageError(`--connect takes one server or a pair, tcp://host:P[,tcp://host:P], got "${flag}"`);
  for (const s of list) if (!/^tcp:\/\/[^\s/]+:\d+$/.test(s)) throw new UsageError(`--connect: "${s}" is not tcp://host:P (P is the server's snapshot port)`);
  return list;
}

function client(ctx: CommandContext<{ connect: typeof CONNECT; "server-ttl-ms": typeof SERVER_TTL }>, subtree: string, security: SecurityOptions | undefined): CloneClient {
  const c = new CloneClient({ servers: servers(ctx.flags.connect), subtree, serverTtlMs: ctx.flags["server-ttl-ms"], ...(security !== undefined && { security }), ...traceOption(ctx) });
  c.on("failover", ({ from, to, reason }) => ctx.err(`W: ${from} ${reason === "silent" ? "is silent" : "sent no snapshot"}, moving to ${to}`));
  c.on("gap", ({ expected, got }) => ctx.err(`W: updates lost (expected sequence ${expected}, got ${got}), resyncing`));
  return c;
}

/** Waits for `p`, or for Ctrl-C (then undefined), or throws TimeoutError after `ms`. */
async function within<T>(p: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, aborted(signal).then(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Guide's clonesrv6 pair: the primary on 5556 with Binary Star state on 5003, the backup on 5566 with 5004. */
const GUIDE_PAIR = {
  primary: { port: CLONE_PORT, local: 5003, peerPort: CLONE_PORT + 10, remote: 5004 },
  backup: { port: CLONE_PORT + 10, local: 5004, peerPort: CLONE_PORT, remote: 5003 },
} as const;

/** What `zkit clone server --metrics` serves: the server's `stats`, its map and its state. */
const SERVER_METRICS = defineMetrics<CloneServer>()({
  prefix: "zkit_clone_server",
  counters: {
    updates: "Updates applied and published (client updates, and held updates published on becoming active).",
    expired: "Ephemeral keys expired (their deletes published).",
    snapshots: "Snapshots sent whole.",
    snapshotsDropped: "Snapshots cut short: the client left or stopped reading.",
    kvsyncs: "KVSYNC messages sent in snapshots.",
    hugz: "HUGZ published while idle.",
    malformed: "Malformed messages dropped.",
    held: "Client updates held while passive (a pair), until the active published them.",
    settled: "Held updates settled by the active's publication or snapshot (a pair).",
    republished: "Held updates published on becoming active (a pair).",
    unidentified: "Updates without a uuid that a passive server could not hold (a pair).",
    refused: "Snapshot requests refused while not active (a pair: Binary Star's vote).",
  },
  statGauges: {
    pending: "Client updates held now, not yet seen published by the active (a pair).",
  },
  gauges: {
    keys: { help: "Keys in the map now.", read: (s) => s.size },
    sequence: { help: "The sequence of the last change now.", read: (s) => s.sequence },
    active: { help: "1 while this server serves clients (always for a single server), 0 while passive or waiting for its peer.", read: (s) => (s.active ? 1 : 0) },
  },
});

/** `host:port` or `tcp://host:port` of the peer's Clone server, as `tcp://host:port`. */
function peerEndpoint(flag: string): string {
  const m = /^(?:tcp:\/\/)?([^\s/:]+|\[[^\]]+\]):(\d+)$/.exec(flag);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65533)) throw new UsageError(`--peer must be the peer Clone server's HOST:PORT (its base port P), e.g. localhost:5566, got "${flag}"`);
  return `tcp://${m[1]}:${port}`;
}

const server = defineCommand({
  path: ["clone", "server"],
  summary: "runs a Clone server (12/CHP): snapshots on P, updates on P+1, the collector on P+2; or one of a Binary Star pair",
  flags: {
    port: { type: "number", min: 0, help: `the base port P (default ${CLONE_PORT}; ${GUIDE_PAIR.backup.port} with --backup, as the Guide's clonesrv6; 0 picks three free ports in a row)` },
    host: { type: "string", default: "*", help: "the interface to bind, * for every one" },
    dialect: { type: "string", default: CLONE_DIALECT, help: "the form of KVSYNC, KTHXBAI and HUGZ it sends: rfc (12/CHP) or guide (the Guide's C programs)" },
    "hugz-ms": { type: "number", default: CLONE_HUGZ_INTERVAL_MS, min: 1, help: "publish HUGZ after this many ms without an update" },
    primary: { type: "boolean", short: "p", help: "the primary of a Binary Star pair (the one that serves when both start)" },
    backup: { type: "boolean", short: "b", help: "the backup of a Binary Star pair" },
    peer: {
      type: "string",
      help: `the other server of the pair, HOST:PORT (its base port; default localhost:${GUIDE_PAIR.primary.peerPort} for the primary, localhost:${GUIDE_PAIR.backup.peerPort} for the backup)`,
    },
    local: { type: "string", help: `where this server publishes its Binary Star state: binds (default tcp://*:${GUIDE_PAIR.primary.local}, backup tcp://*:${GUIDE_PAIR.backup.local})` },
    remote: { type: "string", help: `the peer's Binary Star state: connects (default tcp://<peer host>:${GUIDE_PAIR.primary.remote}, backup :${GUIDE_PAIR.backup.remote})` },
    "heartbeat-ms": { type: "number", default: BSTAR_HEARTBEAT_INTERVAL_MS, min: 1, help: "Binary Star state heartbeat, in ms; the peer is gone after 2 (the same on both servers)" },
    "peer-ttl-ms": { type: "number", default: CLONE_PEER_TTL_MS, min: 1, help: "the passive resyncs its copy after this many ms without a word from the active" },
    metrics: METRICS_FLAG,
    ...SERVER_SECURITY_FLAGS,
  },
  metrics: SERVER_METRICS,
  details: [
    "Prints 'clone server ready: snapshots <endpoint>, updates <endpoint>, collector <endpoint>'",
    "once bound. Every update a client sends takes the next sequence number and is",
    "published; keys sent with a ttl are deleted (and the delete published) when it",
    "expires. With -v it prints each update and expiry as the Guide's clonesrv does,",
    "and every message frame by frame.",
    "",
    "With --primary or --backup it is one server of a Binary Star pair (the Guide's",
    "clonesrv6): the active serves, the passive follows it and holds the updates it has",
    "not seen published, and publishes them when it takes over. The defaults are the",
    "Guide's ports, so `zkit clone server -p` and `zkit clone server -b` on one host make",
    "a pair; clients connect to both (--connect tcp://localhost:5556,tcp://localhost:5566).",
    "It prints 'I: active (...)' and 'I: passive (...)' as the pair changes.",
    "",
    "With --curve-secret its three sockets are CURVE servers; clients need its public key",
    "(--curve-server-key). In a pair both servers must use the same certificate (clients have",
    "one server key; the state link and the passive's copy of the active's map are CURVE too),",
    "so an --auth-dir must also hold the pair's public certificate.",
    "",
    "example: zkit clone server --port 5556",
    "         zkit clone server --primary --peer backup-host:5566",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument "${ctx.args[0]}"`);
    const dialect = ctx.flags.dialect;
    if (dialect !== "rfc" && dialect !== "guide") throw new UsageError(`--dialect must be rfc or guide, got "${dialect}"`);
    const { primary, backup } = ctx.flags;
    if (primary && backup) throw new UsageError("give one of --primary and --backup, not both");
    const role = primary ? "primary" : backup ? "backup" : undefined;
    if (role === undefined) {
      for (const f of ["peer", "local", "remote"] as const) if (ctx.flags[f] !== undefined) throw new UsageError(`--${f} is for a Binary Star pair: give --primary or --backup too`);
    }
    const port = ctx.flags.port ?? (role === "backup" ? GUIDE_PAIR.backup.port : CLONE_PORT);
    if (port > 65533) throw new UsageError(`--port must leave room for P + 2 (at most 65533), got ${port}`);
    let bstar: ClonePairOptions | undefined;
    if (role !== undefined) {
      const guide = GUIDE_PAIR[role];
      const peer = peerEndpoint(ctx.flags.peer ?? `localhost:${guide.peerPort}`);
      const peerHost = peer.slice("tcp://".length, peer.lastIndexOf(":"));
      bstar = {
        role,
        local: ctx.flags.local ?? `tcp://*:${guide.local}`,
        remote: ctx.flags.remote ?? `tcp://${peerHost}:${guide.remote}`,
        peer,
        heartbeatIntervalMs: ctx.flags["heartbeat-ms"],
        peerTtlMs: ctx.flags["peer-ttl-ms"],
      };
    }
    // the ZAuth of the security flags is closed again whatever happens inside
    await withServerSecurity(ctx, async (security) => {
      let s: CloneServer;
      try {
        s = new CloneServer({
          port,
          host: ctx.flags.host,
          dialect: dialect as CloneDialect,
          hugzIntervalMs: ctx.flags["hugz-ms"],
          ...(bstar !== undefined && { bstar }),
          ...(security !== undefined && { security }),
          ...traceOption(ctx),
        });
      } catch (err) {
        // a bad --local or --remote endpoint, named by the library
        if (err instanceof Error && bstar !== undefined) throw new UsageError(err.message);
        throw err;
      }
      s.on("malformed", ({ socket, reason }) => ctx.err(`W: ${socket}: dropped a malformed message: ${reason}`));
      s.on("active", ({ from, reason, republished, sequence }) => ctx.out(`I: active (${reason}, was ${from}): ${republished} held updates published, at sequence ${sequence}`));
      s.on("passive", ({ from, reason }) => ctx.out(`I: passive (${reason}, was ${from}): following ${bstar?.peer}`));
      s.on("resynced", ({ sequence, keys, pruned }) => ctx.out(`I: passive: copy of the active's map at sequence ${sequence} (${keys} keys, ${pruned} held updates settled)`));
      if (ctx.flags.verbose) {
        s.on("update", ({ key, sequence, deleted }) => ctx.out(`I: publishing update=${sequence} ${key}${deleted ? " (delete)" : ""}`));
        s.on("expired", ({ key, sequence }) => ctx.out(`I: publishing delete=${sequence} ${key} (ttl expired)`));
        s.on("snapshot", ({ client: peer, subtree, keys, sequence }) => ctx.out(`I: sending snapshot=${sequence} to ${peer} (${keys} keys of "${subtree}")`));
      }
      if (ctx.flags.verbose && bstar !== undefined) s.on("snapshot-refused", ({ state }) => ctx.out(`W: snapshot request refused (${state})`));
      await withMetrics(ctx, SERVER_METRICS, s, () =>
        serveUntilAborted(ctx.signal, s, {
          started: () => {
            ctx.out(`clone server ready: snapshots ${s.snapshotEndpoint}, updates ${s.publisherEndpoint}, collector ${s.collectorEndpoint}`);
            if (bstar !== undefined) ctx.out(`I: ${bstar.role} of a Binary Star pair, state on ${s.stateEndpoint}, peer ${bstar.peer}; waiting for the peer`);
          },
          until: () => s.done,
        }),
      );
      const st = s.stats;
      ctx.out(
        `clone server stopped at sequence ${s.sequence}: ${s.size} keys, ${st.updates} updates, ${st.expired} expired, ${st.snapshots} snapshots${bstar !== undefined ? `, ${st.republished} republished, ${st.pending} held` : ""}`,
      );
    });
  },
});

const set = defineCommand({
  path: ["clone", "set"],
  summary: "sets KEY to VALUE in a Clone server's map (an empty VALUE deletes it) and waits until it is published",
  positionals: "KEY VALUE",
  flags: {
    connect: CONNECT,
    ttl: { type: "number", default: 0, min: 0, float: true, help: "make the key ephemeral: the server deletes it after this many seconds (0: it stays)" },
    "server-ttl-ms": SERVER_TTL,
    "timeout-ms": SET_TIMEOUT,
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Prints 'KEY set at sequence N' once the server published it. With --curve-server-key it is",
    "a CURVE client (its key from --curve-secret); a handshake the server refuses exits 1 with",
    "the reason (ZKIT_HANDSHAKE).",
    "",
    "example: zkit clone set /config/mode fast --ttl 30",
    "         zkit clone set /config/mode fast --curve-secret alice.key_secret --curve-server-key clone.key",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length !== 2) throw new UsageError("zkit clone set takes KEY and VALUE");
    const [key, value] = ctx.args as [string, string];
    if (key === "") throw new UsageError("KEY must not be empty");
    // a client of the key's own subtree: its snapshot is that key, not the whole map
    const c = client(ctx, key, await clientSecurity(ctx));
    try {
      let uuid = "";
      const early: CloneChange[] = [];
      const published = new Promise<CloneChange>((resolve) => {
        c.on("change", (change) => {
          if (change.uuid !== "" && change.uuid === uuid) resolve(change);
          else if (uuid === "") early.push(change);
        });
      });
      const seen = await within(
        (async () => {
          await c.waitSynced();
          uuid = await c.set(key, value, ctx.flags.ttl > 0 ? { ttlSeconds: ctx.flags.ttl, timeoutMs: ctx.flags["timeout-ms"] } : { timeoutMs: ctx.flags["timeout-ms"] });
          return early.find((ch) => ch.uuid === uuid) ?? (await published);
        })(),
        ctx.flags["timeout-ms"],
        ctx.signal,
        "publication of the update",
      );
      if (seen === undefined) return 1;
      ctx.out(`${key} ${value === "" ? "deleted" : "set"} at sequence ${seen.sequence}`);
      return 0;
    } catch (err) {
      if (err instanceof TimeoutError) {
        ctx.err(`E: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await c.close();
    }
  },
});

const get = defineCommand({
  path: ["clone", "get"],
  summary: "prints the value of KEY in a Clone server's map (exit 1 if there is none)",
  positionals: "KEY",
  flags: { connect: CONNECT, "server-ttl-ms": SERVER_TTL, "timeout-ms": TIMEOUT, ...CLIENT_SECURITY_FLAGS },
  details: ["example: zkit clone get /config/mode"].join("\n"),
  async run(ctx) {
    if (ctx.args.length !== 1 || ctx.args[0] === "") throw new UsageError("zkit clone get takes one KEY");
    const key = ctx.args[0]!;
    const c = client(ctx, key, await clientSecurity(ctx));
    try {
      const ok = await within(
        c.waitSynced().then(() => true),
        ctx.flags["timeout-ms"],
        ctx.signal,
        "snapshot from the server",
      );
      if (ok === undefined) return 1;
      const value = c.get(key);
      if (value === undefined) {
        ctx.err(`E: no key ${key}`);
        return 1;
      }
      ctx.out(showFrame(value));
      return 0;
    } catch (err) {
      if (err instanceof TimeoutError) {
        ctx.err(`E: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await c.close();
    }
  },
});

const watch = defineCommand({
  path: ["clone", "watch"],
  summary: "prints a Clone server's map (or a subtree), then every change, until Ctrl-C",
  flags: {
    connect: CONNECT,
    subtree: { type: "string", default: "", help: "only keys starting with this, e.g. /client/ (empty: every key)" },
    count: { type: "number", default: 0, min: 0, help: "exit after this many changes (0: until Ctrl-C)" },
    "server-ttl-ms": SERVER_TTL,
    ...CLIENT_SECURITY_FLAGS,
  },
  details: [
    "Prints each key of the snapshot as 'KEY = VALUE', then 'synced at sequence N (K keys)',",
    "then each change as 'N KEY = VALUE' or 'N KEY deleted'. A failover or a resync prints",
    "a warning on stderr and the differences as changes.",
    "",
    "With --curve-server-key it is a CURVE client of the server (its own key from",
    "--curve-secret); a handshake the server refuses ends it with exit 1 and the reason.",
    "",
    "example: zkit clone watch --subtree /client/",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument "${ctx.args[0]}"`);
    const c = client(ctx, ctx.flags.subtree, await clientSecurity(ctx));
    let changes = 0;
    let first = true;
    const enough = new Promise<void>((resolve) => {
      c.on("synced", ({ sequence, keys }) => {
        if (first) for (const [key, msg] of [...c.map].sort((a, b) => (a[0] < b[0] ? -1 : 1))) ctx.out(`${key} = ${showFrame(msg.body)}`);
        ctx.out(`synced at sequence ${sequence} (${keys} keys)`);
        first = false;
      });
      c.on("change", (ch) => {
        if (first) return; // the first snapshot is printed whole
        ctx.out(`${ch.sequence} ${ch.key}${ch.value === undefined ? " deleted" : ` = ${showFrame(ch.value)}`}`);
        if (++changes === ctx.flags.count) resolve();
      });
    });
    // a refused handshake ends the watch (exit 1, the HandshakeError on stderr): it would not heal by itself
    const refused = new Promise<never>((_, reject) => c.once("handshake-failed", ({ error }) => reject(error)));
    try {
      await c.start();
      await Promise.race([aborted(ctx.signal), enough, c.done, refused]);
    } finally {
      await c.close();
    }
  },
});

/** The clone commands, in the order `zkit --help` lists them. */
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const cloneCommands: Command<any>[] = [server, set, get, watch];
