// The proofs of @zkit/clone as functions, so the test suite runs a short
// version and `pnpm soak clone-converge` / `clone-late-joiner` the full one,
// with the same code: only @zkit/clone and @zkit/core, no test framework.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CloneClient, type CloneClientOptions, type CloneServer } from "@zkit/clone";
import type { KVMsg } from "@zkit/kvmsg";

/** The sha256 of a map: its keys in order, each with its body. */
export function mapDigest(map: ReadonlyMap<string, KVMsg>): string {
  const h = createHash("sha256");
  for (const key of [...map.keys()].sort()) h.update(key).update("\0").update(map.get(key)!.body).update("\0");
  return h.digest("hex");
}

/** Polls `cond` every `everyMs` until true, or throws after `ms` saying what did not happen. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 20): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const JOINER = fileURLToPath(new URL("./fixtures/client.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Timings suited to a loaded machine and a local server. */
const PROOF_CLIENT: CloneClientOptions = { serverTtlMs: 10_000, snapshotTimeoutMs: 30_000, subscribeSettleMs: 300, resyncInitialMs: 50, resyncMaxMs: 1000 };

async function clientOf(server: CloneServer, extra: CloneClientOptions = {}): Promise<CloneClient> {
  const c = new CloneClient({ ...PROOF_CLIENT, ...extra, servers: [`tcp://127.0.0.1:${server.port}`] });
  await c.waitSynced({ timeoutMs: 60_000 });
  return c;
}

/** True when every client holds the server's map at the server's sequence. */
function converged(server: CloneServer, clients: CloneClient[]): boolean {
  if (!clients.every((c) => c.synced && c.sequence === server.sequence)) return false;
  const want = mapDigest(server.entries());
  return clients.every((c) => mapDigest(c.map) === want);
}

/** What {@link convergence} measured. */
export interface ConvergenceResult {
  clients: number;
  updatesSent: number;
  ephemeral: number;
  deletes: number;
  sendSeconds: number;
  convergeSeconds: number;
  serverKeys: number;
  serverSequence: number;
  gaps: number;
  failovers: number;
}

/**
 * Convergence: `clients` clients each send `updates` updates at once, with
 * random keys among `keys`, random values, a ttl (0.2 to `maxTtlSeconds` s)
 * on `ttlFraction` of them and deletes on `deleteFraction`. Then waits until
 * every ephemeral key expired and every client's map equals the server's,
 * byte for byte, at the server's sequence. Closes its clients.
 */
export async function convergence(
  server: CloneServer,
  o: { clients: number; updates: number; keys: number; ttlFraction: number; deleteFraction: number; maxTtlSeconds: number; timeoutMs: number },
): Promise<ConvergenceResult> {
  const clients = await Promise.all(Array.from({ length: o.clients }, () => clientOf(server)));
  try {
    const before = server.stats.updates;
    let ephemeral = 0;
    let deletes = 0;
    const t0 = performance.now();
    await Promise.all(
      clients.map((c) => {
        const sets: Promise<string>[] = [];
        for (let i = 0; i < o.updates; i++) {
          const key = `/conv/${Math.floor(Math.random() * o.keys)}`;
          const r = Math.random();
          if (r < o.deleteFraction) {
            deletes++;
            sets.push(c.delete(key, { timeoutMs: o.timeoutMs }));
          } else if (r < o.deleteFraction + o.ttlFraction) {
            ephemeral++;
            sets.push(c.set(key, randomBytes(8 + Math.floor(Math.random() * 56)), { ttlSeconds: 0.2 + Math.random() * (o.maxTtlSeconds - 0.2), timeoutMs: o.timeoutMs }));
          } else {
            sets.push(c.set(key, randomBytes(8 + Math.floor(Math.random() * 56)), { timeoutMs: o.timeoutMs }));
          }
        }
        return Promise.all(sets);
      }),
    );
    const total = o.clients * o.updates;
    await until(() => server.stats.updates - before >= total, o.timeoutMs, `${total} updates at the server`);
    const sendSeconds = (performance.now() - t0) / 1000;
    // every ephemeral key expires, then every map is the server's
    await until(() => [...server.entries().values()].every((m) => m.ttl === undefined) && converged(server, clients), o.timeoutMs, "every client's map equal to the server's", 100);
    return {
      clients: o.clients,
      updatesSent: total,
      ephemeral,
      deletes,
      sendSeconds,
      convergeSeconds: (performance.now() - t0) / 1000,
      serverKeys: server.size,
      serverSequence: server.sequence,
      gaps: clients.reduce((n, c) => n + c.stats.gaps, 0),
      failovers: clients.reduce((n, c) => n + c.stats.failovers, 0),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** What {@link lateJoiner} measured. */
export interface LateJoinerResult {
  keys: number;
  snapshotSeconds: number;
  updatesDuringJoin: number;
  convergeSeconds: number;
  gaps: number;
  snapshots: number;
  failovers: number;
}

/** The lines of a joiner process (test/fixtures/client.ts) that matter here. */
function joinerLines(out: string, kind: "synced" | "gap" | "failover" | "digest"): string[][] {
  return out
    .split("\n")
    .filter((l) => l.startsWith(`${kind} `))
    .map((l) => l.split(" ").slice(1));
}

/**
 * Late joiner: fills the store with `keys` keys (values of 32 bytes), then
 * lets a writer update random keys without pause while a new client joins.
 * The new client runs in a process of its own (test/fixtures/client.ts), as
 * a real one does: in this process it would share one thread with the
 * server and the writer, and at 100,000 keys its reads starved until the
 * server dropped the snapshot at its send timeout. It must sync once (one
 * snapshot, no gap, no failover), and equal the server's map once the
 * writer stops. Closes its clients and ends the joiner's process.
 */
export async function lateJoiner(server: CloneServer, o: { keys: number; timeoutMs: number }): Promise<LateJoinerResult> {
  const writer = await clientOf(server, { subtree: "/late/" });
  let joiner: ChildProcess | undefined;
  try {
    const fill: Promise<string>[] = [];
    for (let i = 0; i < o.keys; i++) fill.push(writer.set(`/late/${i}`, randomBytes(16).toString("hex"), { timeoutMs: o.timeoutMs }));
    await Promise.all(fill);
    await until(() => server.size >= o.keys, o.timeoutMs, `${o.keys} keys at the server`);
    // a writer that never stops while the joiner syncs: batches of 50 every
    // 10 ms at most (up to 5,000 updates/s), and never more than 1,000 ahead
    // of the server, whose process it shares
    let writing = true;
    let sent = server.stats.updates;
    const storm = (async () => {
      while (writing) {
        const batch: Promise<string>[] = [];
        for (let i = 0; i < 50; i++) batch.push(writer.set(`/late/${Math.floor(Math.random() * (o.keys + 1000))}`, randomBytes(16).toString("hex"), { timeoutMs: o.timeoutMs }));
        sent += 50;
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 10));
        while (writing && server.stats.updates < sent - 1000) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = performance.now();
    const seqAtJoin = server.sequence;
    let out = "";
    const child = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", JOINER, String(server.port), "1000", "0", "10000"], {
      cwd: PACKAGE_DIR,
      stdio: ["ignore", "pipe", "inherit"],
    });
    joiner = child;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    const alive = (): boolean => child.exitCode === null && child.signalCode === null;
    const check = (): void => {
      if (!alive()) throw new Error(`the joiner process exited (${child.exitCode ?? child.signalCode}); its output: ${out.slice(-500)}`);
    };
    await until(
      () => {
        check();
        return joinerLines(out, "synced").length > 0;
      },
      o.timeoutMs,
      "the joiner's snapshot",
    );
    const snapshotSeconds = (performance.now() - t0) / 1000;
    // let some live updates follow the snapshot, then stop the writer
    const seqSynced = Number(joinerLines(out, "synced")[0]![0]);
    await until(
      () => {
        check();
        return joinerLines(out, "digest").some(([seq]) => Number(seq) > seqSynced + 200);
      },
      o.timeoutMs,
      "live updates after the snapshot",
    );
    writing = false;
    await storm;
    const updatesDuringJoin = server.sequence - seqAtJoin;
    await until(
      () => {
        check();
        const want = `${server.sequence} ${mapDigest(server.entries())}`;
        return joinerLines(out, "digest").some((d) => d.join(" ") === want);
      },
      o.timeoutMs,
      "the late joiner equal to the server",
      100,
    );
    return {
      keys: o.keys,
      snapshotSeconds,
      updatesDuringJoin,
      convergeSeconds: (performance.now() - t0) / 1000,
      gaps: joinerLines(out, "gap").length,
      snapshots: joinerLines(out, "synced").length,
      failovers: joinerLines(out, "failover").length,
    };
  } finally {
    if (joiner !== undefined && joiner.exitCode === null && joiner.signalCode === null) {
      const j = joiner;
      const gone = new Promise((r) => j.once("exit", r));
      j.kill("SIGKILL");
      await gone;
    }
    await writer.close();
  }
}
