/**
 * What the chapter 3 examples share: the Guide's `randof` and printable
 * identities (zhelpers.h), the worker-ready frame of the load-balancing
 * brokers, the endpoint a thread connects to when the broker bound a
 * wildcard, broker names from the command line and their ipc endpoints,
 * waiting for Enter, and an actor's interruptible pause.
 * @module
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { ZActor, type ZThread } from "@zkit/zthread";

/** A random integer from 0 to `n - 1` (zhelpers' `randof`). */
export function randof(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Four uppercase hex digits, e.g. `"0A3F"`. */
export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, "0");
}

/** A printable identity like zhelpers' `s_set_id`: `"%04X-%04X"`, e.g. `"1A2B-3C4D"`. */
export function randomIdentity(): string {
  return `${hex4(randof(0x10000))}-${hex4(randof(0x10000))}`;
}

/**
 * The one-byte frame a worker sends when it is ready for work, in
 * lbbroker2, lbbroker3 and the peering brokers (the Guide's `WORKER_READY`).
 */
export const WORKER_READY = Buffer.from([1]);

/** True when `frames` is a worker's ready message (one frame, `WORKER_READY`). */
export function isReady(frames: readonly Buffer[]): boolean {
  return frames.length === 1 && frames[0]!.equals(WORKER_READY);
}

/**
 * The endpoint a local thread connects to, for the real endpoint a socket
 * bound: `tcp://0.0.0.0:5555` (from `tcp://*:5555`) becomes
 * `tcp://127.0.0.1:5555`, `tcp://[::]:5555` becomes `tcp://[::1]:5555`;
 * anything else is unchanged.
 */
export function connectable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/0\.0\.0\.0:/, "tcp://127.0.0.1:").replace(/^tcp:\/\/\[::\]:/, "tcp://[::1]:");
}

/**
 * A broker's ipc endpoint, named after it as in the Guide:
 * `ipc://DC1-localfe.ipc` in the current directory (`dir` `"."`), or
 * `ipc:///tmp/x/DC1-localfe.ipc` with `dir` `/tmp/x`.
 *
 * @param dir - the directory of the socket files
 * @param name - the broker's name
 * @param kind - `localfe`, `localbe`, `cloud`, `state` or `monitor`
 */
export function ipcEndpoint(dir: string, name: string, kind: string): string {
  return `ipc://${join(dir, `${name}-${kind}.ipc`)}`;
}

/**
 * Splits a command line into the leading names (`DC1 DC2 DC3`) and the
 * flags after them (`--dir /tmp/x`), for the peering brokers:
 * `peering1 me {you}... [options]`.
 */
export function splitNames(argv: string[]): { names: string[]; flags: string[] } {
  const first = argv.findIndex((a) => a.startsWith("-"));
  return first === -1 ? { names: argv, flags: [] } : { names: argv.slice(0, first), flags: argv.slice(first) };
}

/**
 * This broker's name and its peers' from the leading arguments. Without a
 * name, or with a name that cannot be part of a file name and a routing id,
 * prints the syntax and exits 2.
 */
export function brokerNames(program: string, names: string[]): { self: string; peers: string[] } {
  const fail = (problem: string): never => {
    process.stderr.write(`${program}: ${problem}\nsyntax: ${program} me {you}... [options] (--help for the options)\n`);
    process.exit(2);
  };
  if (names.length === 0) fail("the first argument must be this broker's name");
  for (const name of names) if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail(`bad broker name "${name}": use letters, digits, '_', '.' and '-'`);
  const [self, ...peers] = names as [string, ...string[]];
  if (peers.includes(self)) fail(`"${self}" cannot be its own peer`);
  return { self, peers };
}

/**
 * An actor's pause: waits `ms` while watching its pipe, the way a CZMQ
 * actor sleeps in `zpoller_wait(pipe, ms)`. Resolves true when the owner
 * sent `$TERM` (or the pipe closed): the actor should return; false when
 * `ms` passed (or the owner sent something else).
 */
export async function termWithin(pipe: ZSocket<"PAIR">, ms: number): Promise<boolean> {
  const poller = new ZPoller(pipe);
  poller.nonstop = true;
  const ready = await poller.wait(ms);
  if (ready === null) return poller.terminated;
  return ZActor.isTerm(await pipe.receive());
}

/** Ends threads (closing their sockets) and waits for them; the first failure, if any, is thrown. */
export async function stopThreads(threads: readonly ZThread[]): Promise<void> {
  const results = await Promise.allSettled(threads.map((t) => t.stop()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Destroys actors ($TERM, then wait) and waits for them; the first failure, if any, is thrown. */
export async function destroyActors(actors: readonly ZActor[]): Promise<void> {
  const results = await Promise.allSettled(actors.map((a) => a.destroy()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Waits for threads or actors that are starting: each one that started is
 * added to `into` (so the caller can stop it), then the first failure, if
 * any, is thrown.
 */
export async function startAll<T>(starting: readonly Promise<T>[], into: T[]): Promise<void> {
  const results = await Promise.allSettled(starting);
  for (const r of results) if (r.status === "fulfilled") into.push(r.value);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Removes the socket files of ipc endpoints this process bound (libzmq
 * 4.3.5 leaves them behind); call it once their sockets are closed. Other
 * endpoints are ignored.
 */
export function removeIpcFiles(bound: readonly string[]): void {
  for (const endpoint of bound) {
    if (endpoint.startsWith("ipc://") && !endpoint.startsWith("ipc://@")) rmSync(endpoint.slice("ipc://".length), { force: true });
  }
}
