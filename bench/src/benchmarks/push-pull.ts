/**
 * PUSH -> PULL over tcp://127.0.0.1 in one process: 200k messages of 16
 * bytes, messages per second from the first send until the PULL side has
 * received the last one; and, on Linux, the main thread's CPU time per
 * message (see ../cpu.ts).
 *
 * - `push-pull/awaited`: one sender awaits each send (raw:
 *   `await push.send(buf)`; zkit: `await push.send(buf)` on a ZSocket).
 * - `push-pull/100-senders`: 100 async producers send their share on one
 *   socket at once, each awaiting its own sends, with no coordination. Raw
 *   zeromq.js throws EBUSY for that, so the raw side sends through the
 *   minimal promise chain of ../raw-send-queue.ts; zkit's ZSocket queues
 *   by itself.
 * @module
 */
import { performance } from "node:perf_hooks";
import { ZSocket } from "@zkit/core";
import * as zmq from "zeromq";
import { mainThreadCpuUs, threadCpuAvailable } from "../cpu.js";
import type { BenchCase, MetricSpec, RunContext, Sample } from "../harness.js";
import { chainedSender } from "../raw-send-queue.js";

const MESSAGES = 200_000;
const QUICK_MESSAGES = 20_000;
const PRODUCERS = 100;
const PAYLOAD = Buffer.alloc(16, 0x61);
const PROBE = Buffer.from("probe");

type Send = (buf: Buffer) => Promise<void>;
type Receive = () => Promise<unknown>;

/**
 * The workload, shared by both sides: `producers` async loops send
 * `n / producers` messages each through `send` while one loop receives `n`.
 */
async function workload(n: number, producers: number, send: Send, receive: Receive): Promise<Sample> {
  const t0 = performance.now();
  const cpu0 = mainThreadCpuUs();
  const received = (async () => {
    for (let i = 0; i < n; i++) await receive();
  })();
  // if a sender fails, the caller closes the sockets and this loop rejects: not unhandled
  received.catch(() => {});
  const share = n / producers;
  const senders: Promise<void>[] = [];
  for (let p = 0; p < producers; p++) {
    senders.push(
      (async () => {
        for (let i = 0; i < share; i++) await send(PAYLOAD);
      })(),
    );
  }
  await Promise.all(senders);
  await received;
  const ms = performance.now() - t0;
  return { throughput: (n / ms) * 1000, cpu: (mainThreadCpuUs() - cpu0) / n };
}

async function raw(ctx: RunContext, producers: number): Promise<Sample> {
  const n = ctx.quick ? QUICK_MESSAGES : MESSAGES;
  const pull = new zmq.Pull({ linger: 0 });
  const push = new zmq.Push({ linger: 0 });
  try {
    await pull.bind("tcp://127.0.0.1:*");
    push.connect(pull.lastEndpoint!);
    await push.send(PROBE); // connected and flowing before the clock starts
    await pull.receive();
    const send: Send = producers === 1 ? (buf) => push.send(buf) : chainedSender(push);
    return await workload(n, producers, send, () => pull.receive());
  } finally {
    push.close();
    pull.close();
  }
}

async function zkit(ctx: RunContext, producers: number): Promise<Sample> {
  const n = ctx.quick ? QUICK_MESSAGES : MESSAGES;
  const pull = await ZSocket.pull("@tcp://127.0.0.1:*", { linger: 0 });
  const push = await ZSocket.push(`>${pull.endpoint}`, { linger: 0 });
  try {
    await push.send(PROBE);
    await pull.receive();
    return await workload(
      n,
      producers,
      (buf) => push.send(buf),
      () => pull.receive(),
    );
  } finally {
    push.close();
    pull.close();
  }
}

const metrics: MetricSpec[] = [{ key: "throughput", unit: "msg/s", better: "higher" }, ...(threadCpuAvailable ? [{ key: "cpu", unit: "us/msg", better: "lower" } as const] : [])];

export const cases: BenchCase[] = [
  {
    name: "push-pull/awaited",
    description: `PUSH->PULL tcp, ${MESSAGES} x 16 B, one sender awaiting each send`,
    metrics,
    run: { raw: (ctx) => raw(ctx, 1), zkit: (ctx) => zkit(ctx, 1) },
  },
  {
    name: `push-pull/${PRODUCERS}-senders`,
    description: `PUSH->PULL tcp, ${MESSAGES} x 16 B, ${PRODUCERS} concurrent senders on one socket (raw: promise chain)`,
    metrics,
    run: { raw: (ctx) => raw(ctx, PRODUCERS), zkit: (ctx) => zkit(ctx, PRODUCERS) },
  },
];
