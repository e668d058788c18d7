/**
 * The `zkit` subcommands of clone (12/CHP, the Guide's Clone pattern): a
 * server, and clients that set, get and watch keys.
 * @module
 */
import { TimeoutError } from "@zkit/core";
import { CLONE_DIALECT, CLONE_HUGZ_INTERVAL_MS, CLONE_PORT, CLONE_SERVER_TTL_MS, CLONE_SET_TIMEOUT_MS, CloneClient, CloneServer, type CloneChange, type CloneDialect } from "@zkit/clone";
import { UsageError, defineCommand, type Command, type CommandContext } from "../command.js";
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
  const list = flag.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0 || list.length > 2) throw new UsageError(`--connect takes one server or a pair, tcp://host:P[,tcp://host:P], got "${flag}"`);
  for (const s of list) if (!/^tcp:\/\/[^\s/]+:\d+$/.test(s)) throw new UsageError(`--connect: "${s}" is not tcp://host:P (P is the server's snapshot port)`);
  return list;
}

function client(ctx: CommandContext<{ connect: typeof CONNECT; "server-ttl-ms": typeof SERVER_TTL }>, subtree: string): CloneClient {
  const c = new CloneClient({ servers: servers(ctx.flags.connect), subtree, serverTtlMs: ctx.flags["server-ttl-ms"], ...traceOption(ctx) });
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

const server = defineCommand({
  path: ["clone", "server"],
  summary: "runs a Clone server (12/CHP): snapshots on P, updates on P+1, the collector on P+2",
  flags: {
    port: { type: "number", default: CLONE_PORT, min: 0, help: "the base port P (0 picks three free ports in a row)" },
    host: { type: "string", default: "*", help: "the interface to bind, * for every one" },
    dialect: { type: "string", default: CLONE_DIALECT, help: "the form of KVSYNC, KTHXBAI and HUGZ it sends: rfc (12/CHP) or guide (the Guide's C programs)" },
    "hugz-ms": { type: "number", default: CLONE_HUGZ_INTERVAL_MS, min: 1, help: "publish HUGZ after this many ms without an update" },
  },
  details: [
    "Prints 'clone server ready: snapshots <endpoint>, updates <endpoint>, collector <endpoint>'",
    "once bound. Every update a client sends takes the next sequence number and is",
    "published; keys sent with a ttl are deleted (and the delete published) when it",
    "expires. With -v it prints each update and expiry as the Guide's clonesrv does,",
    "and every message frame by frame.",
    "",
    "example: zkit clone server --port 5556",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument "${ctx.args[0]}"`);
    const dialect = ctx.flags.dialect;
    if (dialect !== "rfc" && dialect !== "guide") throw new UsageError(`--dialect must be rfc or guide, got "${dialect}"`);
    if (ctx.flags.port > 65533) throw new UsageError(`--port must leave room for P + 2 (at most 65533), got ${ctx.flags.port}`);
    const s = new CloneServer({ port: ctx.flags.port, host: ctx.flags.host, dialect: dialect as CloneDialect, hugzIntervalMs: ctx.flags["hugz-ms"], ...traceOption(ctx) });
    s.on("malformed", ({ socket, reason }) => ctx.err(`W: ${socket}: dropped a malformed message: ${reason}`));
    if (ctx.flags.verbose) {
      s.on("update", ({ key, sequence, deleted }) => ctx.out(`I: publishing update=${sequence} ${key}${deleted ? " (delete)" : ""}`));
      s.on("expired", ({ key, sequence }) => ctx.out(`I: publishing delete=${sequence} ${key} (ttl expired)`));
      s.on("snapshot", ({ client: peer, subtree, keys, sequence }) => ctx.out(`I: sending snapshot=${sequence} to ${peer} (${keys} keys of "${subtree}")`));
    }
    await serveUntilAborted(ctx.signal, s, {
      started: () => ctx.out(`clone server ready: snapshots ${s.snapshotEndpoint}, updates ${s.publisherEndpoint}, collector ${s.collectorEndpoint}`),
      until: () => s.done,
    });
    const st = s.stats;
    ctx.out(`clone server stopped at sequence ${s.sequence}: ${s.size} keys, ${st.updates} updates, ${st.expired} expired, ${st.snapshots} snapshots`);
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
  },
  details: ["Prints 'KEY set at sequence N' once the server published it.", "", "example: zkit clone set /config/mode fast --ttl 30"].join("\n"),
  async run(ctx) {
    if (ctx.args.length !== 2) throw new UsageError("zkit clone set takes KEY and VALUE");
    const [key, value] = ctx.args as [string, string];
    if (key === "") throw new UsageError("KEY must not be empty");
    // a client of the key's own subtree: its snapshot is that key, not the whole map
    const c = client(ctx, key);
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
  flags: { connect: CONNECT, "server-ttl-ms": SERVER_TTL, "timeout-ms": TIMEOUT },
  details: ["example: zkit clone get /config/mode"].join("\n"),
  async run(ctx) {
    if (ctx.args.length !== 1 || ctx.args[0] === "") throw new UsageError("zkit clone get takes one KEY");
    const key = ctx.args[0]!;
    const c = client(ctx, key);
    try {
      const ok = await within(c.waitSynced().then(() => true), ctx.flags["timeout-ms"], ctx.signal, "snapshot from the server");
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
  },
  details: [
    "Prints each key of the snapshot as 'KEY = VALUE', then 'synced at sequence N (K keys)',",
    "then each change as 'N KEY = VALUE' or 'N KEY deleted'. A failover or a resync prints",
    "a warning on stderr and the differences as changes.",
    "",
    "example: zkit clone watch --subtree /client/",
  ].join("\n"),
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument "${ctx.args[0]}"`);
    const c = client(ctx, ctx.flags.subtree);
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
    try {
      await c.start();
      await Promise.race([aborted(ctx.signal), enough, c.done]);
    } finally {
      await c.close();
    }
  },
});

/** The clone commands, in the order `zkit --help` lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const cloneCommands: Command<any>[] = [server, set, get, watch];
