/**
 * `pnpm soak mdp-kill [--requests=N] [--clients=N] [--work-ms=N] [--kill-every-ms=N]`:
 * Majordomo under fire. A broker process and three worker processes (each
 * one `MajordomoWorker`, `--work-ms` of work per request, bundled to plain
 * JavaScript and kept warm, so that a killed worker is replaced within
 * milliseconds and process start-up is not what is measured); `--clients`
 * `MajordomoClient`s with their default retry settings (2500 ms x 3 resends)
 * share `--requests` requests, each body unique, each reply checked against
 * it. The same workload runs twice in one go: first with no faults, then
 * while one of the three workers, picked at random, is SIGKILLed every
 * `--kill-every-ms` and restarted at once.
 *
 * Prints, per run: requests answered, replies that were not the answer to
 * their request (a duplicate or a stray: must be 0), client timeouts
 * (retries), failures, kills, and the time; then the ratio of the two times
 * (target <= 1.2) and writes `results/soak/mdp-kill.json`. Exits 1 when a
 * request went unanswered or a reply was wrong.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { MajordomoClient } from "@zkit/mdp";
import { startChild } from "../benchmarks/mdp-children.js";
import { option, parseFlags } from "./flags.js";
import { bundleWorker, spawnWorker, type WorkerProcess } from "./workers.js";

interface RunResult {
  kills: number;
  answered: number;
  wrong: number;
  failed: number;
  timeouts: number;
  seconds: number;
  brokerRequeued: number;
  brokerWorkersLost: number;
}

const flags = parseFlags(process.argv.slice(2), ["requests", "clients", "work-ms", "kill-every-ms", "workers"]);
const REQUESTS = option(flags, "requests", 10_000);
const CLIENTS = option(flags, "clients", 2);
const WORK_MS = option(flags, "work-ms", 10);
const KILL_EVERY_MS = option(flags, "kill-every-ms", 1000);
const WORKERS = option(flags, "workers", 3);

async function brokerStats(endpoint: string): Promise<Record<string, number>> {
  const client = new MajordomoClient({ endpoint, timeoutMs: 5000 });
  try {
    const [, json] = await client.request("mmi.stats", []);
    return JSON.parse(json!.toString()) as Record<string, number>;
  } finally {
    await client.close();
  }
}

const script = await bundleWorker();

async function run(label: string, kill: boolean): Promise<RunResult> {
  const broker = await startChild("broker");
  const endpoint = broker.ready;
  const spawnWarm = (): Promise<WorkerProcess> => spawnWorker(script, endpoint, WORK_MS);
  const workers: WorkerProcess[] = await Promise.all(Array.from({ length: WORKERS }, spawnWarm));
  await Promise.all(workers.map((w) => w.start()));
  // spares, warm, for the replacements
  const spares: Promise<WorkerProcess>[] = kill ? [spawnWarm(), spawnWarm()] : [];
  const all = new Set<Promise<WorkerProcess>>([...workers.map((w) => Promise.resolve(w)), ...spares]);
  let kills = 0;
  let stopping = false;
  let killer: Promise<void> = Promise.resolve();
  if (kill) {
    killer = (async () => {
      while (!stopping) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        if (stopping) break;
        const i = Math.floor(Math.random() * workers.length);
        workers[i]!.kill("SIGKILL");
        kills++;
        // a warm spare takes its place at once; a new spare warms up meanwhile
        const next = await spares.shift()!;
        const spare = spawnWarm();
        spares.push(spare);
        all.add(spare);
        workers[i] = next;
        await next.start();
      }
    })();
  }
  const clients = Array.from({ length: CLIENTS }, () => new MajordomoClient({ endpoint }));
  let next = 0;
  let answered = 0;
  let wrong = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let n = next++; n < REQUESTS; n = next++) {
        const body = `${label}-${c}-${n}`;
        try {
          const [reply] = await client.request("echo", body);
          if (reply?.toString() === body) answered++;
          else wrong++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await killer;
  const stats = await brokerStats(endpoint);
  const timeouts = clients.reduce((sum, c) => sum + c.stats.timeouts, 0);
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([...all].map(async (w) => (await w).stop()));
  await broker.stop();
  const result = { kills, answered, wrong, failed, timeouts, seconds, brokerRequeued: stats.requeued ?? 0, brokerWorkersLost: stats.workersLost ?? 0 };
  console.log(
    `${label.padEnd(10)} ${String(answered).padStart(6)}/${REQUESTS} answered, ${wrong} wrong, ${failed} failed, ${timeouts} client timeouts, ${kills} kills, ` +
      `broker: ${result.brokerWorkersLost} workers lost, ${result.brokerRequeued} requests requeued; ${seconds.toFixed(1)} s`,
  );
  return result;
}

console.log(`mdp-kill: ${REQUESTS} requests from ${CLIENTS} clients (default retries), ${WORKERS} workers of ${WORK_MS} ms; a worker SIGKILLed every ${KILL_EVERY_MS} ms in the second run`);
const calm = await run("no kills", false);
const fire = await run("kills", true);
const ratio = fire.seconds / calm.seconds;
const ok = fire.answered === REQUESTS && calm.answered === REQUESTS && fire.wrong === 0 && calm.wrong === 0;
console.log(`time with kills / without: ${ratio.toFixed(2)} (target <= 1.2) ${ratio <= 1.2 ? "met" : "MISSED"}; every request answered once: ${ok ? "yes" : "NO"}`);
const dir = fileURLToPath(new URL("../../results/soak/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}mdp-kill.json`,
  `${JSON.stringify({ when: new Date().toISOString(), requests: REQUESTS, clients: CLIENTS, workers: WORKERS, workMs: WORK_MS, killEveryMs: KILL_EVERY_MS, calm, fire, ratio }, null, 2)}\n`,
);
if (!ok) process.exitCode = 1;
