/**
 * `pnpm soak mdp-fuzz-memory [--minutes=N] [--fuzzers=N] [--quiet-s=N]`: the
 * Majordomo broker's memory under a long fuzz at full speed. A broker process
 * (default options) with two echo workers; first its idle memory; then
 * `--fuzzers` connections send random, mostly malformed messages (random
 * headers, commands, frame counts and sizes up to 64 KiB) as fast as the
 * broker takes them for `--minutes`, while eight more connections each try a
 * 200 MB frame once and a normal client keeps asking (every answer checked);
 * then `--quiet-s` seconds of quiet.
 *
 * Prints the broker's resident memory (RSS, from /proc), V8 heap and
 * external memory (from `mmi.stats`) when idle, at the peak and after the
 * quiet, the messages sent, how many the broker counted malformed, and the
 * target: RSS after the quiet within 1.5 x idle. Writes
 * `results/soak/mdp-fuzz-memory.json`.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { MajordomoClient } from "@zkit/mdp";
import * as zmq from "zeromq";
import { rssOf, startChild } from "../benchmarks/mdp-children.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["minutes", "fuzzers", "quiet-s"]);
const MINUTES = option(flags, "minutes", 10);
const FUZZERS = option(flags, "fuzzers", 4);
const QUIET_S = option(flags, "quiet-s", 30);
const MB = 1024 * 1024;

interface Memory {
  rssMB: number;
  heapMB: number;
  externalMB: number;
}

const broker = await startChild("broker");
const endpoint = broker.ready;
const workers = await startChild("workers", [endpoint, "2"]);
const client = new MajordomoClient({ endpoint, timeoutMs: 10_000, retries: 5 });

async function memory(): Promise<Memory> {
  const [, json] = await client.request("mmi.stats", []);
  const s = JSON.parse(json!.toString()) as { heapUsedBytes: number; externalBytes: number };
  return { rssMB: rssOf(broker.pid) / MB, heapMB: s.heapUsedBytes / MB, externalMB: s.externalBytes / MB };
}

async function brokerStats(): Promise<Record<string, number>> {
  const [, json] = await client.request("mmi.stats", []);
  return JSON.parse(json!.toString()) as Record<string, number>;
}

const show = (m: Memory): string => `RSS ${m.rssMB.toFixed(1)} MB, heap ${m.heapMB.toFixed(1)} MB, external ${m.externalMB.toFixed(1)} MB`;

// warm: the broker has served, then sits idle
for (let i = 0; i < 200; i++) await client.request("echo", `warm ${i}`);
await new Promise((r) => setTimeout(r, 5000));
const idle = await memory();
console.log(`idle:  ${show(idle)}`);

let seed = 42;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const bytes = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rnd(256);
  return b;
};
const pool = Array.from({ length: 64 }, (_, i) => bytes(i < 8 ? 64 * 1024 : rnd(64)));
const heads = [Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from("MDPW01"), Buffer.from("MDPC02"), bytes(6)];
const pieces = [Buffer.alloc(0), ...[1, 2, 3, 4, 5, 9].map((c) => Buffer.from([c])), Buffer.from("fuzz"), Buffer.from("mmi.service")];
function fuzz(): Buffer[] {
  if (rnd(4) === 0) return Array.from({ length: 1 + rnd(6) }, () => pool[rnd(pool.length)]!);
  const frames = [rnd(5) === 0 ? pool[8 + rnd(56)]! : Buffer.alloc(0), heads[rnd(heads.length)]!];
  for (let i = rnd(6); i > 0; i--) frames.push(rnd(3) === 0 ? pool[rnd(pool.length)]! : pieces[rnd(pieces.length)]!);
  if (frames.length === 1 && frames[0]!.length === 0) frames.push(Buffer.from("x")); // a lone empty frame reads as a disconnect notice
  return frames;
}

let sent = 0;
let stop = false;
const fuzzers = Array.from({ length: FUZZERS }, async () => {
  const dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 1000 });
  dealer.connect(endpoint);
  const drain = (async () => {
    try {
      for await (const _ of dealer) {
        // DISCONNECTs, MMI answers: read and dropped
      }
    } catch {
      // closed
    }
  })();
  while (!stop) {
    await dealer.send(fuzz());
    sent++;
  }
  dealer.close();
  await drain;
});
// eight connections, each one 200 MB frame at once: libzmq refuses them before receiving them
const giants = Array.from({ length: 8 }, async () => {
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  await dealer.send([Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from("echo"), Buffer.alloc(200 * MB)]);
  return dealer;
});
let answered = 0;
let wrong = 0;
const normal = (async () => {
  const c = new MajordomoClient({ endpoint, timeoutMs: 10_000, retries: 5 });
  for (let i = 0; !stop; i++) {
    const [reply] = await c.request("echo", `normal ${i}`);
    if (reply?.toString() === `normal ${i}`) answered++;
    else wrong++;
    await new Promise((r) => setTimeout(r, 10));
  }
  await c.close();
})();

let peak = idle;
const t0 = performance.now();
const end = t0 + MINUTES * 60_000;
let lastReport = t0;
while (performance.now() < end) {
  await new Promise((r) => setTimeout(r, 1000));
  const m = await memory();
  if (m.rssMB > peak.rssMB) peak = m;
  if (performance.now() - lastReport >= 30_000) {
    lastReport = performance.now();
    console.log(`${((lastReport - t0) / 1000).toFixed(0).padStart(4)} s: ${show(m)}; ${sent} fuzz messages sent, ${answered} normal answers`);
  }
}
stop = true;
await Promise.all([...fuzzers, normal]);
for (const g of await Promise.all(giants)) g.close();
const stats = await brokerStats();
console.log(`peak:  ${show(peak)}`);
await new Promise((r) => setTimeout(r, QUIET_S * 1000));
const after = await memory();
const afterStats = await brokerStats();
console.log(
  `after ${QUIET_S} s quiet: ${show(after)}; broker: ${afterStats.queued} queued (${((afterStats.queuedBytes ?? 0) / MB).toFixed(1)} MB), ${afterStats.services} services, ${afterStats.clients} clients`,
);
const ratio = after.rssMB / idle.rssMB;
console.log(
  `${sent} fuzz messages in ${MINUTES} min (broker counted ${stats.malformed} malformed), ${answered} normal answers, ${wrong} wrong; ` +
    `RSS after / idle ${ratio.toFixed(2)} (target <= 1.5) ${ratio <= 1.5 ? "met" : "MISSED"}`,
);
const mmapThreshold = process.env.MALLOC_MMAP_THRESHOLD_;
console.log(
  mmapThreshold === undefined
    ? "glibc's default (dynamic) mmap threshold; run with MALLOC_MMAP_THRESHOLD_=65536 to see the broker return its memory (docs/majordomo.md)"
    : `MALLOC_MMAP_THRESHOLD_=${mmapThreshold} (the broker inherits it)`,
);
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}mdp-fuzz-memory.json`,
  `${JSON.stringify({ when: new Date().toISOString(), mallocMmapThreshold: mmapThreshold ?? null, minutes: MINUTES, fuzzers: FUZZERS, quietS: QUIET_S, idle, peak, after, ratio, sent, malformed: stats.malformed, answered, wrong }, null, 2)}\n`,
);
await client.close();
await workers.stop();
await broker.stop();
if (wrong > 0) process.exitCode = 1;
