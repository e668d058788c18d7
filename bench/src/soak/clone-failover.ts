/**
 * `pnpm soak clone-failover [--clients=3] [--updates=10000] [--keys=2000] [--trials=3] [--fault-percent=40] [--sigkill=1] [--sigstop=1]`:
 * the failover proof of a Binary Star pair of Clone servers at full size.
 * A primary and a backup run as child processes; `--clients` CloneClients
 * connected to both each send `--updates` updates to keys of their own
 * (`--keys` each, so every key has one writer and its expected value is
 * that writer's last); when `--fault-percent` of all updates were sent, the
 * active primary gets SIGKILL (or, in the other half of the trials,
 * SIGSTOP: frozen, and thawed once the backup took over, when it must step
 * down and follow; `--sigkill=0` or `--sigstop=0` leaves one out). Each trial passes when every client, and the new
 * active, holds exactly the expected map, byte for byte: none lost, none
 * applied twice. The test suite runs the same code
 * (packages/clone/test/pair-proof.ts) with 1500 updates per client.
 *
 * Prints, per trial: updates sent (and at the fault), updates the new
 * active published from its pending list, the time until every client was
 * synced with it and until every map was complete, lost and duplicated
 * counts; writes `results/soak/clone-failover.json`. Exits 1 when a trial
 * fails.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { failoverStorm, type FailoverResult } from "../../../packages/clone/test/pair-proof.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["clients", "updates", "keys", "trials", "fault-percent", "sigkill", "sigstop"]);
const o = {
  clients: option(flags, "clients", 3),
  updates: option(flags, "updates", 10_000),
  keys: option(flags, "keys", 2000),
  trials: option(flags, "trials", 3),
  faultAt: option(flags, "fault-percent", 40) / 100,
  faults: (["SIGKILL", "SIGSTOP"] as const).filter((f) => option(flags, f.toLowerCase(), 1) !== 0),
};

const results: (FailoverResult | { fault: string; error: string })[] = [];
let failed = 0;
for (const fault of o.faults) {
  for (let t = 1; t <= o.trials; t++) {
    try {
      const r = await failoverStorm({ clients: o.clients, updates: o.updates, keys: o.keys, fault, faultAt: o.faultAt, timeoutMs: 600_000, thaw: true });
      results.push(r);
      const ok = r.lost === 0 && r.duplicated === 0 && r.newActiveEqual && r.keysAtNewActive === r.keysExpected && (fault === "SIGKILL" || r.thawedConverged === true);
      if (!ok) failed++;
      console.log(
        `${fault} #${t}: ${r.updatesSent} updates (${r.sentAtFault} when the fault came), ${r.keysExpected} keys; the backup published ${r.republished} from its pending list; ` +
          `clients on the backup after ${r.failoverSeconds.toFixed(1)} s, every map complete after ${r.convergeSeconds.toFixed(1)} s; ` +
          `lost ${r.lost}, duplicated ${r.duplicated}, new active equal ${r.newActiveEqual}, final sequence ${r.finalSequence}` +
          `${r.thawedConverged === undefined ? "" : `, thawed primary follows: ${r.thawedConverged}`}${ok ? "" : ": FAILED"}`,
      );
    } catch (err) {
      failed++;
      results.push({ fault, error: (err as Error).message });
      console.log(`${fault} #${t}: FAILED: ${(err as Error).message}`);
    }
  }
}
console.log(`${results.length - failed} of ${results.length} trials passed (target: all; 0 lost, 0 duplicated)`);
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}clone-failover.json`, `${JSON.stringify({ flags: o, results, date: new Date().toISOString() }, null, 2)}\n`);
process.exitCode = failed === 0 ? 0 : 1;
