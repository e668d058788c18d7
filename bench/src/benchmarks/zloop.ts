/**
 * Benchmarks of `@zkit/zloop`, each beside raw zeromq.js (or plain Node
 * timers) on the same workload in the same run.
 *
 * The socket cases are fed by a child process (./zloop-flood.ts) that
 * queues a backlog of 16-byte messages in each PULL socket (no high-water
 * mark) before the clock starts: the sockets are flooded, busy all through
 * the measurement, and no sender competes with the receiver for the CPU
 * meanwhile. (On 2 cores a sender running during the measurement takes the
 * receiver's CPU in bursts of tens of ms, and the figures then measure the
 * machine rather than the loop.)
 *
 * - `zloop/dispatch`: one PULL over tcp://127.0.0.1 with 300,000 messages
 *   queued; messages per second taken off it by a ZLoop reader with a
 *   synchronous handler vs a raw `for await` loop on a zeromq.js Pull, and
 *   the main thread's CPU time per message (../cpu.ts). Target: zkit's
 *   throughput at least 0.9 of raw's.
 * - `zloop/timer-lag`: a 5 ms repeating timer while 50 PULL sockets, each
 *   with a backlog, are read for 1 s: a ZLoop timer beside 50 ZLoop readers
 *   vs `setInterval` beside 50 raw `for await` loops. The lag of a firing
 *   is how much more than 5 ms passed since the previous one (0 if less),
 *   the same measure for both (it counts a stall once, where lateness
 *   against a drift-free schedule would count it again in each catch-up
 *   firing of the ZLoop timer). p99 over the window; zkit's must stay
 *   within 5 ms. The messages per second read meanwhile show the readers
 *   were not starved either. A round fails if a backlog ran dry before the
 *   window ended.
 * - `zloop/tickets`: 10,000 tickets (delay 5 s, so none expires) reset
 *   10,000 times per second (100 every 10 ms, by the same `setInterval` on
 *   both sides) vs 10,000 `setTimeout` handles with a `clearTimeout` +
 *   `setTimeout` per reset: the main thread's CPU ms per wall second (the
 *   `cpu` figure, in ms), and the time spent per reset.
 *
 * Every child process is killed when its round ends or fails, and when the
 * bench process exits.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ZSocket } from "@zkit/core";
import { ZLoop, type Ticket } from "@zkit/zloop";
import * as zmq from "zeromq";
import { mainThreadCpuUs, threadCpuAvailable } from "../cpu.js";
import { type BenchCase, type MetricSpec, type RunContext, type Sample, percentile } from "../harness.js";

// ------------------------------------------------------------------ flooder

const FLOODER = fileURLToPath(new URL("./zloop-flood.ts", import.meta.url));
const floods = new Set<ChildProcess>();

// Last resort: if the bench process dies, no flooder outlives it (they also
// stop by themselves when their stdin closes).
process.on("exit", () => {
  for (const child of floods) child.kill("SIGKILL");
});

/** A running flooder child process. */
interface Flood {
  /** Resolves once it has queued every message; rejects if it exits first or takes over 60 s. */
  readonly sent: Promise<void>;
  /** Stops it: SIGTERM, then SIGKILL after 2 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts ./zloop-flood.ts, with this process's Node flags (tsx): one PUSH
 * socket per endpoint, `count` messages on each.
 */
function startFlood(count: number, endpoints: readonly string[]): Flood {
  const child = spawn(process.execPath, [...process.execArgv, FLOODER, String(count), ...endpoints], { stdio: ["pipe", "pipe", "inherit"] });
  floods.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  void exited.then(() => floods.delete(child));
  const sent = new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the flooder did not queue its messages within 60 s")), 60_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("sent\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the flooder exited (code ${child.exitCode}, signal ${child.signalCode}) before queueing its messages`));
    });
  });
  sent.catch(() => {}); // awaited by the caller; a late rejection after stop() is not a failure
  return {
    sent,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        child.kill("SIGTERM");
      }
      const force = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Waits until every socket has a message: the backlog has started to land. */
async function landed(sockets: readonly { readonly readable: boolean }[]): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (!sockets.every((s) => s.readable)) {
    if (performance.now() > deadline) throw new Error("the flood never reached the receivers");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Receivers keep everything the flooder queued: no high-water mark. */
const NO_HWM = { linger: 0, receiveHighWaterMark: 0 } as const;

const cpuMetric: MetricSpec[] = threadCpuAvailable ? [{ key: "cpu", unit: "us/msg", better: "lower" }] : [];

// ----------------------------------------------------------------- dispatch

const DISPATCH_MESSAGES = 300_000;
const QUICK_DISPATCH_MESSAGES = 30_000;

/** Times `n` messages taken by `take`, which resolves once it has them all. */
async function timeDispatch(n: number, take: () => Promise<void>): Promise<Sample> {
  const t0 = performance.now();
  const cpu0 = mainThreadCpuUs();
  await take();
  const ms = performance.now() - t0;
  return { throughput: (n / ms) * 1000, cpu: (mainThreadCpuUs() - cpu0) / n };
}

async function dispatchRaw(ctx: RunContext): Promise<Sample> {
  const n = ctx.quick ? QUICK_DISPATCH_MESSAGES : DISPATCH_MESSAGES;
  const pull = new zmq.Pull(NO_HWM);
  let flood: Flood | undefined;
  try {
    await pull.bind("tcp://127.0.0.1:*");
    flood = startFlood(n, [pull.lastEndpoint!]);
    await flood.sent;
    await landed([pull]);
    return await timeDispatch(n, async () => {
      let i = 0;
      for await (const _ of pull) if (++i === n) break;
    });
  } finally {
    await flood?.stop();
    pull.close();
  }
}

async function dispatchZkit(ctx: RunContext): Promise<Sample> {
  const n = ctx.quick ? QUICK_DISPATCH_MESSAGES : DISPATCH_MESSAGES;
  const pull = await ZSocket.pull("@tcp://127.0.0.1:*", NO_HWM);
  const loop = new ZLoop();
  let flood: Flood | undefined;
  try {
    flood = startFlood(n, [pull.endpoint]);
    await flood.sent;
    await landed([pull]);
    let i = 0;
    loop.reader(pull, () => (++i === n ? -1 : undefined));
    return await timeDispatch(n, () => loop.start());
  } finally {
    loop.destroy();
    await flood?.stop();
    pull.close();
  }
}

// ---------------------------------------------------------------- timer lag

const BUSY_SOCKETS = 50;
const TICK_MS = 5;
const LAG_WINDOW_MS = 1000;
const QUICK_LAG_WINDOW_MS = 500;
/**
 * Backlog per socket: enough for a reader taking 800k messages/s in all
 * to stay busy through the window (a round fails if a backlog runs dry).
 */
const backlog = (windowMs: number): number => Math.ceil((800_000 * windowMs) / 1000 / BUSY_SOCKETS);

/** Throws unless every socket still had messages when the window ended. */
function checkStillBusy(readPerSocket: readonly number[], perSocket: number): void {
  const dry = readPerSocket.filter((n) => n >= perSocket).length;
  if (dry > 0) throw new Error(`${dry} of ${BUSY_SOCKETS} sockets ran out of messages before the window ended: raise the backlog`);
}

async function lagRaw(ctx: RunContext): Promise<Sample> {
  const windowMs = ctx.quick ? QUICK_LAG_WINDOW_MS : LAG_WINDOW_MS;
  const perSocket = backlog(windowMs);
  const pulls = Array.from({ length: BUSY_SOCKETS }, () => new zmq.Pull(NO_HWM));
  const readPerSocket = pulls.map(() => 0);
  let flood: Flood | undefined;
  const readers: Promise<void>[] = [];
  try {
    for (const p of pulls) await p.bind("tcp://127.0.0.1:*");
    flood = startFlood(
      perSocket,
      pulls.map((p) => p.lastEndpoint!),
    );
    await flood.sent;
    await landed(pulls);
    const lags: number[] = [];
    const t0 = performance.now();
    const ticking = new Promise<void>((resolve) => {
      let last = t0;
      const iv = setInterval(() => {
        const t = performance.now();
        lags.push(Math.max(0, t - last - TICK_MS)); // how much longer than a period since the last firing
        last = t;
        if (t - t0 >= windowMs) {
          clearInterval(iv);
          resolve();
        }
      }, TICK_MS);
    });
    for (const [i, p] of pulls.entries()) {
      readers.push(
        (async () => {
          try {
            for await (const _ of p) readPerSocket[i]!++;
          } catch {
            // closed at the end of the round
          }
        })(),
      );
    }
    await ticking;
    const ms = performance.now() - t0;
    const read = readPerSocket.reduce((a, b) => a + b, 0);
    checkStillBusy(readPerSocket, perSocket);
    return {
      lag: percentile(
        lags.sort((a, b) => a - b),
        99,
      ),
      read: (read / ms) * 1000,
    };
  } finally {
    await flood?.stop();
    for (const p of pulls) p.close();
    await Promise.all(readers);
  }
}

async function lagZkit(ctx: RunContext): Promise<Sample> {
  const windowMs = ctx.quick ? QUICK_LAG_WINDOW_MS : LAG_WINDOW_MS;
  const perSocket = backlog(windowMs);
  const pulls: ZSocket<"PULL">[] = [];
  const loop = new ZLoop();
  let flood: Flood | undefined;
  try {
    for (let i = 0; i < BUSY_SOCKETS; i++) pulls.push(await ZSocket.pull("@tcp://127.0.0.1:*", NO_HWM));
    flood = startFlood(
      perSocket,
      pulls.map((p) => p.endpoint),
    );
    await flood.sent;
    await landed(pulls);
    const readPerSocket = pulls.map(() => 0);
    for (const [i, p] of pulls.entries()) loop.reader(p, () => void readPerSocket[i]!++);
    const lags: number[] = [];
    const t0 = performance.now();
    let last = t0;
    loop.timer(TICK_MS, 0, () => {
      const t = performance.now();
      lags.push(Math.max(0, t - last - TICK_MS)); // the same measure as the raw side
      last = t;
      return t - t0 >= windowMs ? -1 : undefined;
    });
    await loop.start();
    const ms = performance.now() - t0;
    const read = readPerSocket.reduce((a, b) => a + b, 0);
    checkStillBusy(readPerSocket, perSocket);
    return {
      lag: percentile(
        lags.sort((a, b) => a - b),
        99,
      ),
      read: (read / ms) * 1000,
    };
  } finally {
    loop.destroy();
    await flood?.stop();
    for (const p of pulls) p.close();
  }
}

// ------------------------------------------------------------------ tickets

const TICKETS = 10_000;
const TICKET_DELAY_MS = 5000; // far beyond a round: a ticket never expires
const RESET_EVERY_MS = 10;
const RESETS_PER_TICK = (TICKETS * RESET_EVERY_MS) / 1000; // 10,000 resets per second
const TICKETS_WINDOW_MS = 3000;
const QUICK_TICKETS_WINDOW_MS = 1000;

function expired(): never {
  throw new Error("a ticket expired: the bench did not reset it within 5 s");
}

/**
 * The same driver for both sides: a `setInterval` that resets the next
 * {@link RESETS_PER_TICK} tickets round-robin every {@link RESET_EVERY_MS}
 * for `windowMs`. Returns the main thread's CPU ms per wall second over the
 * window, and the time spent inside the reset batches per reset (finer
 * than the CPU clock).
 */
async function driveResets(windowMs: number, reset: (i: number) => void): Promise<Sample> {
  let next = 0;
  let resetMs = 0;
  let resets = 0;
  const cpu0 = mainThreadCpuUs();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const iv = setInterval(() => {
      const t = performance.now();
      for (let i = 0; i < RESETS_PER_TICK; i++) {
        reset(next);
        next = (next + 1) % TICKETS;
      }
      resetMs += performance.now() - t;
      resets += RESETS_PER_TICK;
      if (performance.now() - t0 >= windowMs) {
        clearInterval(iv);
        resolve();
      }
    }, RESET_EVERY_MS);
  });
  const wallMs = performance.now() - t0;
  return { cpu: (mainThreadCpuUs() - cpu0) / 1000 / (wallMs / 1000), reset: (resetMs * 1000) / resets };
}

async function ticketsRaw(ctx: RunContext): Promise<Sample> {
  const handles = Array.from({ length: TICKETS }, () => setTimeout(expired, TICKET_DELAY_MS));
  try {
    return await driveResets(ctx.quick ? QUICK_TICKETS_WINDOW_MS : TICKETS_WINDOW_MS, (i) => {
      clearTimeout(handles[i]);
      handles[i] = setTimeout(expired, TICKET_DELAY_MS);
    });
  } finally {
    for (const h of handles) clearTimeout(h);
  }
}

async function ticketsZkit(ctx: RunContext): Promise<Sample> {
  const loop = new ZLoop({ ticketDelayMs: TICKET_DELAY_MS });
  const tickets: Ticket[] = Array.from({ length: TICKETS }, () => loop.ticket(expired));
  const running = loop.start(); // the tickets expire only while the loop runs
  running.catch(() => {}); // awaited below
  try {
    return await driveResets(ctx.quick ? QUICK_TICKETS_WINDOW_MS : TICKETS_WINDOW_MS, (i) => {
      loop.ticketReset(tickets[i]!);
    });
  } finally {
    loop.destroy();
    await running; // rejects if a ticket expired
  }
}

// -------------------------------------------------------------------- cases

export const cases: BenchCase[] = [
  {
    name: "zloop/dispatch",
    description: `a ZLoop reader vs a raw for-await loop taking a backlog of ${DISPATCH_MESSAGES} x 16 B off one PULL (tcp), queued by a child process`,
    metrics: [{ key: "throughput", unit: "msg/s", better: "higher" }, ...cpuMetric],
    run: { raw: dispatchRaw, zkit: dispatchZkit },
  },
  {
    name: "zloop/timer-lag",
    description: `p99 lag of a ${TICK_MS} ms timer while ${BUSY_SOCKETS} sockets with backlogs are read for ${LAG_WINDOW_MS} ms: ZLoop timer + readers vs setInterval + raw for-await loops`,
    metrics: [
      // the raw figure is shown for comparison; zkit's must stay within 5 ms
      { key: "lag", unit: "ms", better: "lower", target: null, limit: { op: "<=", value: 5 } },
      { key: "read", unit: "msg/s", better: "higher", target: null },
    ],
    run: { raw: lagRaw, zkit: lagZkit },
  },
  {
    name: "zloop/tickets",
    description: `${TICKETS} tickets reset ${TICKETS} times/s (ZLoop tickets vs clearTimeout + setTimeout per reset): main-thread CPU ms per second, time per reset`,
    metrics: [
      // CPU ms per wall second ("ms" for one decimal in the table)
      ...(threadCpuAvailable ? [{ key: "cpu", unit: "ms", better: "lower" } as const] : []),
      { key: "reset", unit: "us/reset", better: "lower" },
    ],
    run: { raw: ticketsRaw, zkit: ticketsZkit },
  },
];
