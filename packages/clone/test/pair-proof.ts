// The failover proof of a Binary Star pair of Clone servers, as a function,
// so the test suite runs a short version and `pnpm soak clone-failover` the
// full one with the same code: two servers in processes of their own
// (test/fixtures/pair-server.ts), clients writing a storm of updates, the
// active SIGKILLed (or frozen with SIGSTOP) in the middle of it.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CloneClient, type CloneClientOptions } from "@zkit/clone";
import { startNode, type Child, type TestSecurity } from "@zkit/testkit";
import { mapDigest, until } from "./proofs.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/pair-server.ts", import.meta.url));

/** What {@link failoverStorm} measured. */
export interface FailoverResult {
  /** `"SIGKILL"` or `"SIGSTOP"`: what was done to the active. */
  fault: "SIGKILL" | "SIGSTOP";
  clients: number;
  /** Updates the clients sent (every set() resolved). */
  updatesSent: number;
  /** Updates sent when the fault came. */
  sentAtFault: number;
  /** Keys written (each by one client only), and the keys at the new active at the end: equal. */
  keysExpected: number;
  keysAtNewActive: number;
  /** Keys missing, extra, or holding another value than their writer's last, summed over the clients: must be 0. */
  lost: number;
  /** The new active's map equals the expected one, byte for byte. */
  newActiveEqual: boolean;
  /** Updates a client saw applied twice (the same uuid as two live updates): must be 0. */
  duplicated: number;
  /** Updates the new active held as passive and published when it took over. */
  republished: number;
  /** From the fault until every client was synced with the new active, in s. */
  failoverSeconds: number;
  /** From the fault until every map equalled the expected one, in s. */
  convergeSeconds: number;
  /** The sequence the new active ended at, and the old active's last one seen by a client. */
  finalSequence: number;
  failovers: number;
  gaps: number;
  /** SIGSTOP with `thaw` only: the thawed server stepped down and its map equals the new active's. */
  thawedConverged: boolean | undefined;
}

/** Client timings for the proof: a server silent for 3 s is gone. */
const PAIR_CLIENT: CloneClientOptions = { serverTtlMs: 3000, snapshotTimeoutMs: 3000, subscribeSettleMs: 300, resyncInitialMs: 50, resyncMaxMs: 1000 };

interface ServerProc {
  readonly child: Child;
  readonly port: number;
  readonly state: string;
  readonly endpoint: string;
}

async function startPairServer(role: "primary" | "backup", timeoutMs: number, env: Record<string, string> | undefined): Promise<ServerProc> {
  const child = startNode(FIXTURE, [role, "200", "1000", "3000"], { stdin: "pipe", name: `clone ${role}`, ...(env !== undefined && { env }) });
  const m = await child.waitFor(/^port (\d+) state (\S+)$/m, timeoutMs);
  const port = Number(m[1]);
  return { child, port, state: m[2]!, endpoint: `tcp://127.0.0.1:${port}` };
}

async function dump(s: ServerProc, timeoutMs: number): Promise<{ digest: string; keys: number; sequence: number; stats: Record<string, number> }> {
  const from = s.child.stdout().length;
  s.child.write("dump\n");
  const m = await s.child.waitFor(/^dump (\S+) (\d+) (\d+) (.*)$/m, timeoutMs, { from });
  return { digest: m[1]!, keys: Number(m[2]), sequence: Number(m[3]), stats: JSON.parse(m[4]!) as Record<string, number> };
}

function digestOf(expected: Map<string, string>): string {
  const h = createHash("sha256");
  for (const key of [...expected.keys()].sort()) h.update(key).update("\0").update(expected.get(key)!).update("\0");
  return h.digest("hex");
}

/**
 * Failover during a write storm: a primary and a backup (child processes),
 * `clients` clients connected to both, each sending `updates` updates to
 * keys of its own (`keys` per client, so each key has one writer and its
 * expected value is that writer's last). When `faultAt` of all updates were
 * sent, the active gets `fault`. Waits until every client is synced with
 * the backup and its map, and the backup's, equal the expected map, byte
 * for byte; counts updates lost and seen twice. With SIGSTOP and `thaw`
 * the frozen server is then thawed: it must step down and follow the new
 * active (not reliable at a large backlog: see the README). With
 * `security` (testkit's matrix), the servers take its `server` key pair
 * (shared by the pair) and a ZAuth allowing its client key and the pair's,
 * the clients its `client` security.
 * Stops its processes and closes its clients.
 */
export async function failoverStorm(o: {
  clients: number;
  updates: number;
  keys: number;
  fault: "SIGKILL" | "SIGSTOP";
  faultAt: number;
  timeoutMs: number;
  thaw: boolean;
  security?: TestSecurity;
}): Promise<FailoverResult> {
  const primary = await startPairServer("primary", o.timeoutMs, o.security?.env);
  const backup = await startPairServer("backup", o.timeoutMs, o.security?.env);
  const clients: CloneClient[] = [];
  try {
    primary.child.write(`peer ${backup.endpoint} ${backup.state}\n`);
    backup.child.write(`peer ${primary.endpoint} ${primary.state}\n`);
    await primary.child.waitFor(/^active /m, o.timeoutMs);
    await backup.child.waitFor(/^resynced /m, o.timeoutMs);

    for (let i = 0; i < o.clients; i++) clients.push(new CloneClient({ ...PAIR_CLIENT, servers: [primary.endpoint, backup.endpoint], security: o.security?.client }));
    await Promise.all(clients.map((c) => c.waitSynced({ timeoutMs: o.timeoutMs })));
    const seen = clients.map(() => new Set<string>());
    let duplicated = 0;
    for (const [i, c] of clients.entries()) {
      c.on("change", (ch) => {
        if (ch.origin !== "update" || ch.uuid === "") return;
        if (seen[i]!.has(ch.uuid)) duplicated++;
        else seen[i]!.add(ch.uuid);
      });
    }

    const expected = new Map<string, string>();
    const total = o.clients * o.updates;
    const faultAfter = Math.floor(total * o.faultAt);
    let sent = 0;
    let sentAtFault = -1;
    let faultAt = 0;
    const fault = (): void => {
      sentAtFault = sent;
      faultAt = performance.now();
      primary.child.kill(o.fault);
    };
    await Promise.all(
      clients.map(async (c, i) => {
        const sets: Promise<unknown>[] = [];
        for (let j = 0; j < o.updates; j++) {
          const key = `/storm/${i}/${j % o.keys}`;
          const value = `${i}:${j}`;
          expected.set(key, value);
          sets.push(
            c.set(key, value, { timeoutMs: o.timeoutMs }).then(() => {
              if (++sent === faultAfter) fault();
            }),
          );
          // a timer turn now and then: the storm goes on while the fault comes
          if (j % 200 === 199) await new Promise((r) => setTimeout(r, 1));
        }
        await Promise.all(sets);
      }),
    );
    if (sentAtFault < 0) fault();

    await until(() => clients.every((c) => c.synced && c.server === backup.endpoint), o.timeoutMs, "every client synced with the backup");
    const failoverSeconds = (performance.now() - faultAt) / 1000;
    const want = digestOf(expected);
    let last = await dump(backup, o.timeoutMs);
    await until(
      async () => {
        last = await dump(backup, o.timeoutMs);
        return last.digest === want && clients.every((c) => c.synced && c.server === backup.endpoint && mapDigest(c.map) === want);
      },
      o.timeoutMs,
      "the new active and every client to hold every update",
      200,
    ).catch(() => {});
    const convergeSeconds = (performance.now() - faultAt) / 1000;
    // what is missing or wrong at each client, key by key
    let lost = 0;
    for (const c of clients) {
      for (const [key, value] of expected) if (c.get(key)?.toString() !== value) lost++;
      for (const key of c.map.keys()) if (!expected.has(key)) lost++;
    }

    let thawedConverged: boolean | undefined;
    if (o.fault === "SIGSTOP" && o.thaw) {
      primary.child.kill("SIGCONT");
      try {
        await primary.child.waitFor(/^passive /m, o.timeoutMs);
        thawedConverged = false;
        await until(async () => (await dump(primary, o.timeoutMs)).digest === want, o.timeoutMs, "the thawed server to follow the new active", 200);
        thawedConverged = true;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${backup.child.describe()}`, { cause: err });
      }
    }
    return {
      fault: o.fault,
      clients: o.clients,
      updatesSent: sent,
      sentAtFault,
      keysExpected: expected.size,
      keysAtNewActive: last.keys,
      lost,
      newActiveEqual: last.digest === want,
      duplicated,
      republished: last.stats.republished ?? 0,
      failoverSeconds,
      convergeSeconds,
      finalSequence: last.sequence,
      failovers: clients.reduce((n, c) => n + c.stats.failovers, 0),
      gaps: clients.reduce((n, c) => n + c.stats.gaps, 0),
      thawedConverged,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const s of [primary, backup]) {
      s.child.kill("SIGCONT");
      s.child.kill("SIGKILL");
    }
    await Promise.allSettled([primary.child.exited, backup.child.exited]);
  }
}
