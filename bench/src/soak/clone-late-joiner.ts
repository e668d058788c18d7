/**
 * `pnpm soak clone-late-joiner [--keys=100000]`: the late-joiner proof of
 * @zkit/clone at full size. One CloneServer is filled with `--keys` keys;
 * then a writer in the server's process updates random keys without pause
 * (up to 5,000 updates/s) while a new CloneClient, in a process of its own,
 * joins. The joiner must sync once (one snapshot, no gap, no failover) and
 * equal the server's map, byte for byte, once the writer stops. The test
 * suite runs the same code (packages/clone/test/proofs.ts) with 5,000 keys.
 *
 * Prints the snapshot time, the updates that happened while the client
 * joined, and the time to converge; writes `results/soak/clone-late-joiner.json`.
 * Exits 1 when the joiner resynced, saw a gap, or did not converge.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CloneServer } from "@zkit/clone";
import { lateJoiner } from "../../../packages/clone/test/proofs.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["keys"]);
const keys = option(flags, "keys", 100_000);
const server = new CloneServer({ port: 0, host: "127.0.0.1" });
await server.start();
let ok = false;
let result: unknown;
try {
  const r = await lateJoiner(server, { keys, timeoutMs: 600_000 });
  result = r;
  ok = r.snapshots === 1 && r.gaps === 0 && r.failovers === 0;
  console.log(
    `late joiner on ${r.keys} keys: synced in ${r.snapshotSeconds.toFixed(1)} s while ${r.updatesDuringJoin} updates went by; ` +
      `equal to the server ${r.convergeSeconds.toFixed(1)} s after joining; snapshots ${r.snapshots}, gaps ${r.gaps}, failovers ${r.failovers}${ok ? "" : ": FAILED"}`,
  );
} catch (err) {
  console.log(`late joiner: FAILED: ${(err as Error).message}`);
} finally {
  await server.close();
}
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}clone-late-joiner.json`, `${JSON.stringify({ keys, result, date: new Date().toISOString() }, null, 2)}\n`);
process.exitCode = ok ? 0 : 1;
