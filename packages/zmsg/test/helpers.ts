// Test helpers for @zkit/zmsg: deadlines instead of sleeps, endpoints for
// every transport (tcp ephemeral port, ipc in a temp dir, unique inproc),
// and a seeded random generator so fuzz failures can be replayed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Resolves `p`, or rejects after `ms` with a message naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** The transports every dialogue runs over. */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/** One of {@link TRANSPORTS}. */
export type Transport = (typeof TRANSPORTS)[number];

let counter = 0;
const dirs: string[] = [];

/** A bind endpoint (with `@`) for `transport`; read the real one back from the socket. */
export function bindEndpoint(transport: Transport): string {
  counter++;
  switch (transport) {
    case "tcp":
      return "@tcp://127.0.0.1:*";
    case "ipc": {
      const dir = mkdtempSync(join(tmpdir(), "zkit-zmsg-"));
      dirs.push(dir);
      return `@ipc://${join(dir, `s${counter}`)}`;
    }
    case "inproc":
      return `@inproc://zmsg-test-${process.pid}-${counter}`;
  }
}

/** Removes the temp dirs made for ipc endpoints. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A small seeded PRNG (mulberry32): the same seed gives the same bytes. */
export function prng(seed: number): { int(max: number): number; bytes(n: number): Buffer } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (max) => Math.floor(next() * max),
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}
