// Test helpers for @zkit/zmsg: endpoints for every transport (tcp ephemeral
// port, ipc in a temp dir, unique inproc), and a seeded random generator so
// fuzz failures can be replayed. Deadlines come from @zkit/testkit.
import { bindEndpoint as bindEndpointFor, type Transport } from "@zkit/testkit";

/** The transports every dialogue runs over (testkit's). */
export { TRANSPORTS, removeTempDirs, type Transport } from "@zkit/testkit";

/** A bind endpoint (with `@`) for `transport`; read the real one back from the socket. */
export function bindEndpoint(transport: Transport): string {
  return bindEndpointFor(transport, "zmsg");
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
