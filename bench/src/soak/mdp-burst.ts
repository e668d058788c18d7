/**
 * `pnpm soak mdp-burst [--requests=N] [--workers=N]`: the Guide's `mdclient2`
 * against a broker with every option at its default. A client (a raw
 * zeromq.js DEALER speaking 7/MDP, as `mdcliapi2`) sends `--requests`
 * requests at once, then reads as many replies; `--workers` echo workers
 * serve them. Every reply is checked (header, service, and each request
 * answered exactly once).
 *
 * Prints the replies, the time, and the broker process's peak resident
 * memory (sampled every 100 ms, from /proc) with its idle memory before the
 * burst; writes `results/soak/mdp-burst.json`. Exits 1 unless every request
 * was answered exactly once. The Guide's broker answers all of them; a
 * broker whose defaults drop queued work does not.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import { rssOf, startChild } from "../benchmarks/mdp-children.js";
import { option, parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2), ["requests", "workers"]);
const REQUESTS = option(flags, "requests", 100_000);
const WORKERS = option(flags, "workers", 2);
const MB = 1024 * 1024;

const broker = await startChild("broker");
const workers = await startChild("workers", [broker.ready, String(WORKERS)]);
await new Promise((r) => setTimeout(r, 1000));
const idleMB = rssOf(broker.pid) / MB;

const EMPTY = Buffer.alloc(0);
const MDPC01 = Buffer.from("MDPC01");
const ECHO = Buffer.from("echo");
const client = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
client.connect(broker.ready);

let peakMB = idleMB;
const sampler = setInterval(() => {
  const rss = rssOf(broker.pid) / MB;
  if (rss > peakMB) peakMB = rss;
}, 100);

const t0 = performance.now();
for (let i = 0; i < REQUESTS; i++) await client.send([EMPTY, MDPC01, ECHO, Buffer.from(String(i))]);
const sentS = (performance.now() - t0) / 1000;
const seen = new Uint8Array(REQUESTS);
let replies = 0;
let bad = 0;
let duplicates = 0;
client.receiveTimeout = 60_000;
try {
  while (replies < REQUESTS) {
    const m = await client.receive();
    replies++;
    if (m.length !== 4 || m[0]!.length !== 0 || !m[1]!.equals(MDPC01) || !m[2]!.equals(ECHO)) {
      bad++;
      continue;
    }
    const n = Number(m[3]!.toString());
    if (seen[n] === 1) duplicates++;
    seen[n] = 1;
  }
} catch {
  // 60 s without a reply: the rest are not coming
}
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
const answered = seen.reduce((a, b) => a + b, 0);
client.close();
await workers.stop();
await broker.stop();

const ok = answered === REQUESTS && bad === 0 && duplicates === 0;
console.log(
  `${REQUESTS} requests sent at once (${sentS.toFixed(1)} s), ${answered} answered (${bad} bad, ${duplicates} twice) in ${seconds.toFixed(1)} s ` +
    `(${Math.round(answered / seconds)} req/s); broker RSS idle ${idleMB.toFixed(1)} MB, peak ${peakMB.toFixed(1)} MB; every request answered once: ${ok ? "yes" : "NO"}`,
);
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}mdp-burst.json`,
  `${JSON.stringify({ when: new Date().toISOString(), requests: REQUESTS, workers: WORKERS, answered, bad, duplicates, seconds, idleMB, peakMB }, null, 2)}\n`,
);
if (!ok) process.exitCode = 1;
