// Test helpers for @zkit/clone: servers on free ports of 127.0.0.1, clients
// with test-sized timings, and a map comparison byte for byte.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { track } from "@zkit/testkit";
import { CloneClient, CloneServer, type CloneClientOptions, type CloneServerOptions } from "@zkit/clone";
import type { KVMsg } from "@zkit/kvmsg";

/** Where a test file lives next to this one. */
export const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Generous deadlines: the machine is loaded. */
export const WAIT = 60_000;
/** The HUGZ interval of test servers. */
export const HUGZ_MS = 100;

/** A started server on three free ports of 127.0.0.1 (tracked). */
export async function startServer(options: CloneServerOptions = {}): Promise<CloneServer> {
  const s = track(new CloneServer({ port: 0, host: "127.0.0.1", hugzIntervalMs: HUGZ_MS, ...options }));
  await s.start();
  return s;
}

/** The endpoint a client connects to for `port`. */
export const endpoint = (port: number): string => `tcp://127.0.0.1:${port}`;

/** A client of `ports` with test timings (tracked, not started). */
export function newClient(ports: number[], options: CloneClientOptions = {}): CloneClient {
  return track(new CloneClient({ servers: ports.map(endpoint), serverTtlMs: 3000, snapshotTimeoutMs: 5000, subscribeSettleMs: 500, resyncInitialMs: 50, resyncMaxMs: 1000, ...options }));
}

/** A started, synced client. */
export async function syncedClient(ports: number[], options: CloneClientOptions = {}): Promise<CloneClient> {
  const c = newClient(ports, options);
  await c.waitSynced({ timeoutMs: WAIT });
  return c;
}

/** A map as sorted [key, body hex] pairs, for comparisons byte for byte. */
export function dump(map: ReadonlyMap<string, KVMsg>): [string, string][] {
  return [...map].map(([k, m]): [string, string] => [k, m.body.toString("hex")]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The sha256 of a map: its keys in order, each with its body (as the client fixture prints it). */
export function digest(map: ReadonlyMap<string, KVMsg>): string {
  const h = createHash("sha256");
  for (const key of [...map.keys()].sort()) h.update(key).update("\0").update(map.get(key)!.body).update("\0");
  return h.digest("hex");
}
