/**
 * Child processes for the mdp benchmarks: a Majordomo broker, echo workers
 * and a raw zeromq.js ROUTER echo server, each in its own Node process (run
 * from source through tsx), as they run in production; plus the RSS of a
 * child, read from /proc.
 *
 * Run directly, this file is the child: `mdp-children.ts broker [prefetch]`,
 * `mdp-children.ts workers <endpoint> <n> [concurrency] [work ms]`,
 * `mdp-children.ts raw-echo` (with `BENCH_CURVE` in the environment, the
 * broker, the workers and the raw echo speak CURVE), and the same Majordomo roles written on bare
 * zeromq.js (the least a broker in Node can do, without zkit's checks,
 * heartbeats or expiry): `mdp-children.ts raw-broker [prefetch]`,
 * `mdp-children.ts raw-workers <endpoint> <n>`. `prefetch` is how many
 * requests the broker sends a worker before its reply (default 1, 7/MDP's
 * one at a time); `concurrency` how many a zkit worker's handler works on at
 * once (default 1). It prints `ready <endpoint>` once it serves and ends on
 * SIGTERM. A line `cpu` on its stdin makes it print `cpu <us>`: the CPU time
 * (user + system, every thread) of its process so far, from its own
 * `process.cpuUsage()`.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A child process that printed its `ready` line. */
export interface BenchChild {
  /** What followed `ready ` on its first line (an endpoint). */
  readonly ready: string;
  readonly pid: number;
  /** Its resident set size now, in bytes (Linux), or NaN. */
  rss(): number;
  /** The CPU time (user + system, all threads) it has used so far, in microseconds, from its own `process.cpuUsage()`. */
  cpuUs(): Promise<number>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it is gone. */
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

/**
 * CURVE keys for the children (mdp-curve.ts): the broker and the raw echo
 * are CURVE servers with `server`, workers CURVE clients with `client`.
 * Passed in the environment as JSON (`BENCH_CURVE`).
 */
export interface BenchCurve {
  server: { publicKey: string; secretKey: string };
  client: { publicKey: string; secretKey: string; serverKey: string };
}

/** Starts `mdp-children.ts <role> ...args` and waits for its `ready` line (at most 60 s); with `curve`, over CURVE. */
export function startChild(role: "broker" | "workers" | "raw-echo" | "raw-broker" | "raw-workers", args: string[] = [], curve?: BenchCurve): Promise<BenchChild> {
  const child: ChildProcess = spawn(process.execPath, ["--conditions=@zkit/source", "--import", "tsx", SELF, role, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
    env: curve === undefined ? process.env : { ...process.env, BENCH_CURVE: JSON.stringify(curve) },
  });
  // answers to `cpu` queries, in order
  const cpuWaiters: ((us: number) => void)[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise<BenchChild>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${role} child did not start within 60 s: ${out}`));
    }, 60_000);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${role} child exited (${code}) before it was ready: ${out}`));
    };
    child.once("exit", early);
    child.stdout!.setEncoding("utf8");
    let lines = "";
    let readySeen = false;
    child.stdout!.on("data", (d: string) => {
      lines += d;
      for (let nl = lines.indexOf("\n"); nl >= 0; nl = lines.indexOf("\n")) {
        const cpu = /^cpu (\d+)$/.exec(lines.slice(0, nl));
        lines = lines.slice(nl + 1);
        if (cpu !== null) cpuWaiters.shift()?.(Number(cpu[1]));
      }
    });
    child.stdout!.on("data", (d: string) => {
      if (readySeen) return;
      out += d;
      const m = /^ready (\S*)$/m.exec(out);
      if (m === null) return;
      readySeen = true;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({
        ready: m[1]!,
        pid: child.pid!,
        rss: () => rssOf(child.pid!),
        cpuUs: () =>
          new Promise<number>((resolve) => {
            cpuWaiters.push(resolve);
            child.stdin!.write("cpu\n");
          }),
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/** The resident set size of process `pid` in bytes, from /proc (NaN elsewhere). */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ------------------------------------------------------------ the children

async function child(role: string, args: string[]): Promise<void> {
  const { handleInterrupts, interruptSignal } = await import("@zkit/core");
  handleInterrupts();
  const stopped = new Promise<void>((resolve) => interruptSignal().addEventListener("abort", () => resolve(), { once: true }));
  const curve = process.env.BENCH_CURVE === undefined ? undefined : (JSON.parse(process.env.BENCH_CURVE) as BenchCurve);
  if (role === "broker") {
    const { MajordomoBroker } = await import("@zkit/mdp");
    // the defaults, but for pipelining: what a user runs
    const broker = new MajordomoBroker({ workerPrefetch: Number(args[0] ?? 1), ...(curve !== undefined ? { security: { curve: curve.server } } : {}) });
    const endpoint = await broker.bind("tcp://127.0.0.1:*");
    await broker.start();
    console.log(`ready ${endpoint}`);
    await stopped;
    await broker.close();
  } else if (role === "workers") {
    const { MajordomoWorker } = await import("@zkit/mdp");
    const concurrency = Number(args[2] ?? 1);
    const workMs = Number(args[3] ?? 0);
    const { sleep } = await import("@zkit/core");
    const handler = workMs > 0 ? async (request: Buffer[]) => (await sleep(workMs), request) : (request: Buffer[]) => request;
    const workers = Array.from(
      { length: Number(args[1] ?? 2) },
      () => new MajordomoWorker({ endpoint: args[0]!, service: "echo", concurrency, handler, ...(curve !== undefined ? { security: { curve: curve.client } } : {}) }),
    );
    await Promise.all(workers.map((w) => w.start()));
    console.log(`ready ${args[0]}`);
    await stopped;
    await Promise.all(workers.map((w) => w.close()));
  } else if (role === "raw-echo") {
    const zmq = await import("zeromq");
    // no high-water mark: a ROUTER drops what does not fit, and a dropped
    // reply would leave the client waiting forever at 1000 in flight
    const router = new zmq.Router({
      linger: 0,
      sendHighWaterMark: 0,
      ...(curve !== undefined ? { curveSecretKey: curve.server.secretKey, curvePublicKey: curve.server.publicKey, curveServer: true } : {}),
    });
    await router.bind("tcp://127.0.0.1:*");
    console.log(`ready ${router.lastEndpoint}`);
    const echo = (async () => {
      try {
        for (;;) await router.send(await router.receive());
      } catch {
        // closed
      }
    })();
    await stopped;
    router.close();
    await echo;
  } else if (role === "raw-broker") {
    await rawBroker(stopped, Number(args[0] ?? 1));
  } else if (role === "raw-workers") {
    await rawWorkers(args[0]!, Number(args[1] ?? 2), stopped);
  } else {
    throw new Error(`unknown role ${role}`);
  }
}

const EMPTY = Buffer.alloc(0);
const MDPW01 = Buffer.from("MDPW01");
const MDPC01 = Buffer.from("MDPC01");

/**
 * A bare zeromq.js Majordomo broker: one ROUTER, FIFO requests per service,
 * each worker sent up to `prefetch` requests before it replies (with 1:
 * idle workers in LRU order, as 7/MDP; above 1, a worker with the fewest in
 * hand first, found by a scan); no heartbeats, expiry, MMI or checks. Sends
 * are chained (zeromq.js allows one at a time).
 */
async function rawBroker(stopped: Promise<void>, prefetch: number): Promise<void> {
  const zmq = await import("zeromq");
  const router = new zmq.Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  interface Worker {
    id: Buffer;
    held: Buffer[];
  }
  interface Service {
    workers: Worker[];
    queue: Buffer[][];
    name: Buffer;
  }
  const services = new Map<string, Service>();
  const workers = new Map<string, { worker: Worker; service: Service }>();
  let sending: Promise<void> = Promise.resolve();
  const send = (frames: Buffer[]): void => {
    sending = sending.then(() => router.send(frames));
  };
  const service = (name: Buffer): Service => {
    const key = name.toString("latin1");
    let s = services.get(key);
    if (s === undefined) services.set(key, (s = { workers: [], queue: [], name }));
    return s;
  };
  const pick = (s: Service): Worker | undefined => {
    let best: Worker | undefined;
    for (const w of s.workers) if (w.held.length < prefetch && (best === undefined || w.held.length < best.held.length)) best = w;
    if (best !== undefined && prefetch === 1) s.workers.push(...s.workers.splice(s.workers.indexOf(best), 1)); // LRU
    return best;
  };
  const dispatch = (s: Service): void => {
    while (s.queue.length > 0) {
      const worker = pick(s);
      if (worker === undefined) return;
      const m = s.queue.shift()!;
      worker.held.push(m[0]!);
      send([worker.id, EMPTY, MDPW01, Buffer.from([2]), m[0]!, EMPTY, ...m.slice(4)]);
    }
  };
  console.log(`ready ${router.lastEndpoint}`);
  const loop = (async () => {
    try {
      for await (const m of router) {
        if (m[2]!.equals(MDPC01)) {
          const s = service(m[3]!);
          s.queue.push(m);
          dispatch(s);
        } else if (m[3]![0] === 1) {
          const s = service(m[4]!);
          const worker = { id: m[0]!, held: [] };
          workers.set(m[0]!.toString("latin1"), { worker, service: s });
          s.workers.push(worker);
          dispatch(s);
        } else if (m[3]![0] === 3) {
          const { worker, service: s } = workers.get(m[0]!.toString("latin1"))!;
          const i = worker.held.findIndex((c) => c.equals(m[4]!));
          if (i >= 0) worker.held.splice(i, 1);
          send([m[4]!, EMPTY, MDPC01, s.name, ...m.slice(6)]);
          dispatch(s);
        }
      }
    } catch {
      // closed
    }
  })();
  await stopped;
  router.close();
  await loop;
}

/** Bare zeromq.js Majordomo echo workers: READY, then REPLY to each REQUEST. */
async function rawWorkers(endpoint: string, n: number, stopped: Promise<void>): Promise<void> {
  const zmq = await import("zeromq");
  const dealers = Array.from({ length: n }, () => new zmq.Dealer({ linger: 0 }));
  const loops = dealers.map(async (dealer) => {
    dealer.connect(endpoint);
    await dealer.send([EMPTY, MDPW01, Buffer.from([1]), Buffer.from("echo")]);
    try {
      for await (const m of dealer) {
        if (m[2]![0] === 2) await dealer.send([EMPTY, MDPW01, Buffer.from([3]), m[3]!, EMPTY, ...m.slice(5)]);
      }
    } catch {
      // closed
    }
  });
  console.log(`ready ${endpoint}`);
  await stopped;
  for (const d of dealers) d.close();
  await Promise.all(loops);
}

/** Answers `cpu` lines on stdin with `cpu <us>` (this process's CPU time so far) until stdin ends or `stop` is called. */
function answerCpuQueries(): () => void {
  const start = process.cpuUsage();
  const onData = (d: string): void => {
    for (const line of d.split("\n")) {
      if (line.trim() !== "cpu") continue;
      const u = process.cpuUsage(start);
      process.stdout.write(`cpu ${u.user + u.system}\n`);
    }
  };
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", onData);
  return () => {
    process.stdin.off("data", onData);
    process.stdin.destroy();
  };
}

if (process.argv[1] === SELF) {
  const [role = "", ...args] = process.argv.slice(2);
  const stopAnswering = answerCpuQueries();
  child(role, args)
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(stopAnswering);
}
