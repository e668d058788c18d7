/**
 * @zkit/titanic: how many `titanic.request`s a Titanic stores per second,
 * over tcp://127.0.0.1 in one process (a Majordomo broker, Titanic on a
 * fresh temporary directory, `TitanicClient`s calling `submit()` one after
 * the other). Nothing serves the requests' service, so what is measured is
 * the store: each `200` goes out once its request is on disk.
 *
 * The baseline is the same Titanic with the store's fsync off (durability
 * `"write"`: a `200` then survives a crash of the process, not of the
 * machine; the Guide's C titanic works this way). zkit/raw is what the
 * fsyncs cost.
 *
 * - `titanic/1-client`: one client, requests one after the other.
 * - `titanic/10-clients`: ten clients at once, and beside it one client in
 *   the same run; `gain` is ten clients' rate over one client's, the group
 *   commit's effect (concurrent writes share their fsyncs). Its limit, the
 *   promise: >= 5 with fsync.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { MajordomoBroker } from "@zkit/mdp";
import { Titanic, TitanicClient, type TitanicDurability } from "@zkit/titanic";
import type { BenchCase, RunContext, Sample } from "../harness.js";

const REQUESTS = { one: { full: 400, quick: 40 }, ten: { full: 2000, quick: 200 } };

interface Stack {
  endpoint: string;
  close(): Promise<void>;
}

async function stack(durability: TitanicDurability): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "zkit-bench-titanic-"));
  const broker = new MajordomoBroker();
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  await broker.start();
  const titanic = new Titanic({ endpoint, dir, durability });
  await titanic.start();
  return {
    endpoint,
    async close() {
      await titanic.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Requests stored per second: `clients` clients share `requests` submits, each one after the other. */
async function rate(endpoint: string, clients: number, requests: number): Promise<number> {
  const cs = Array.from({ length: clients }, () => new TitanicClient({ endpoint, timeoutMs: 30_000, retries: 0 }));
  try {
    await Promise.all(cs.map((c) => c.submit("bench.later", "warm")));
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      cs.map(async (c) => {
        while (next < requests) {
          next++;
          await c.submit("bench.later", "payload");
        }
      }),
    );
    return requests / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(cs.map((c) => c.close()));
  }
}

function oneClient(durability: TitanicDurability) {
  return async (ctx: RunContext): Promise<Sample> => {
    const s = await stack(durability);
    try {
      return { rate: await rate(s.endpoint, 1, ctx.quick ? REQUESTS.one.quick : REQUESTS.one.full) };
    } finally {
      await s.close();
    }
  };
}

function tenClients(durability: TitanicDurability) {
  return async (ctx: RunContext): Promise<Sample> => {
    const s = await stack(durability);
    try {
      const one = await rate(s.endpoint, 1, ctx.quick ? REQUESTS.one.quick : REQUESTS.one.full);
      const ten = await rate(s.endpoint, 10, ctx.quick ? REQUESTS.ten.quick : REQUESTS.ten.full);
      return { rate: ten, gain: ten / one };
    } finally {
      await s.close();
    }
  };
}

export const cases: BenchCase[] = [
  {
    name: "titanic/1-client",
    description: "titanic.request stored per second, one client; raw = the same Titanic with fsync off (durability write)",
    metrics: [{ key: "rate", unit: "req/s", better: "higher", target: null }],
    run: { zkit: oneClient("fsync"), raw: oneClient("write") },
  },
  {
    name: "titanic/10-clients",
    description: "titanic.request stored per second, ten clients at once; gain = over one client in the same run (group commit); raw = fsync off",
    metrics: [
      { key: "rate", unit: "req/s", better: "higher", target: null },
      { key: "gain", unit: "x", better: "higher", target: null, limit: { op: ">=", value: 5 } },
    ],
    run: { zkit: tenClients("fsync"), raw: tenClients("write") },
  },
];
