/**
 * `pnpm soak clone-converge [--clients=3] [--updates=10000] [--keys=2000] [--ttl-percent=20] [--delete-percent=10]`:
 * the convergence proof of @zkit/clone at full size. `--clients` CloneClients
 * each send `--updates` updates at once (random keys among `--keys`, random
 * values, a ttl of 0.2 to 3 s on `--ttl-percent` of them, deletes on
 * `--delete-percent`) through one CloneServer, in the RFC's form and then in
 * the Guide's; each run ends when every ephemeral key expired and every
 * client's map equals the server's, byte for byte, at the server's
 * sequence. The test suite runs the same code (packages/clone/test/proofs.ts)
 * with 1000 updates per client.
 *
 * Prints, per run: updates sent, ephemeral, deletes, the time to send them
 * all and to converge, gaps and failovers seen by the clients; writes
 * `results/soak/clone-converge.json`. Exits 1 when a run does not converge
 * within 10 minutes.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CloneServer } from "@zkit/clone";
import { convergence, type ConvergenceResult } from "../../../packages/clone/test/proofs.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["clients", "updates", "keys", "ttl-percent", "delete-percent"]);
const o = {
  clients: option(flags, "clients", 3),
  updates: option(flags, "updates", 10_000),
  keys: option(flags, "keys", 2000),
  ttlFraction: option(flags, "ttl-percent", 20) / 100,
  deleteFraction: option(flags, "delete-percent", 10) / 100,
  maxTtlSeconds: 3,
  timeoutMs: 600_000,
};

const results: Record<string, ConvergenceResult> = {};
let failed = false;
for (const dialect of ["rfc", "guide"] as const) {
  const server = new CloneServer({ port: 0, host: "127.0.0.1", dialect, ttlCheckIntervalMs: 50 });
  await server.start();
  try {
    const r = await convergence(server, o);
    results[dialect] = r;
    console.log(
      `${dialect}: ${r.clients} clients x ${o.updates} updates = ${r.updatesSent} (${r.ephemeral} ephemeral, ${r.deletes} deletes); ` +
        `sent in ${r.sendSeconds.toFixed(1)} s, converged in ${r.convergeSeconds.toFixed(1)} s; server ${r.serverKeys} keys at sequence ${r.serverSequence}; ` +
        `gaps ${r.gaps}, failovers ${r.failovers}: every map equal to the server's`,
    );
  } catch (err) {
    failed = true;
    console.log(`${dialect}: FAILED: ${(err as Error).message}`);
  } finally {
    await server.close();
  }
}
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}clone-converge.json`, `${JSON.stringify({ flags: o, results, date: new Date().toISOString() }, null, 2)}\n`);
process.exitCode = failed ? 1 : 0;
