/**
 * `@zkit/socket-tools`'s ZProxy beside a forwarding loop written on raw
 * zeromq.js sockets, on the same workload in the same process:
 *
 *   PUSH --tcp--> [PULL | proxy | PUSH] --tcp--> PULL
 *
 * 100,000 messages of 16 bytes (10,000 with --quick) over tcp://127.0.0.1;
 * messages per second from the first send until the last message is at the
 * far PULL, and on Linux the main thread's CPU time per message (../cpu.ts).
 * The sender awaits each send; the receiver reads in its own loop.
 *
 * - `proxy/forward`: raw side `for await (const msg of pull) await push.send(msg)`;
 *   zkit side a `ZProxy` (a ZLoop reader per direction, each send awaited).
 * - `proxy/capture`: the same with a capture socket whose copies a third
 *   PULL reads. Raw side: the copy is sent (awaited) before the message, as
 *   libzmq's own proxy does; zkit side: `ZProxy`'s `capture` option (a PUSH
 *   with `sendTimeout: 0`, never awaited, copies it cannot take dropped).
 *   The round fails if a copy was lost, so both sides do the same work.
 *
 * Neither side uses zeromq.js's native `Proxy` (which pins a libuv
 * threadpool thread for its life).
 * @module
 */
import { performance } from "node:perf_hooks";
import { ZSocket } from "@zkit/core";
import { ZProxy } from "@zkit/socket-tools";
import * as zmq from "zeromq";
import { mainThreadCpuUs, threadCpuAvailable } from "../cpu.js";
import type { BenchCase, MetricSpec, RunContext, Sample } from "../harness.js";

const MESSAGES = 100_000;
const QUICK_MESSAGES = 10_000;
const PAYLOAD = Buffer.alloc(16, 0x61);
const PROBE = Buffer.from("probe");

/** The clocked part, shared by both sides: send `n` messages, wait until `received()` reached `n`. */
async function workload(n: number, send: (buf: Buffer) => Promise<void>, receivedAll: Promise<void>): Promise<Sample> {
  const t0 = performance.now();
  const cpu0 = mainThreadCpuUs();
  for (let i = 0; i < n; i++) await send(PAYLOAD);
  await receivedAll;
  const ms = performance.now() - t0;
  return { throughput: (n / ms) * 1000, cpu: (mainThreadCpuUs() - cpu0) / n };
}

/** Reads `n` messages off a raw zeromq.js socket. */
async function drainRaw(sock: zmq.Pull, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await sock.receive();
}

async function raw(ctx: RunContext, withCapture: boolean): Promise<Sample> {
  const n = ctx.quick ? QUICK_MESSAGES : MESSAGES;
  const front = new zmq.Pull({ linger: 0 });
  const back = new zmq.Push({ linger: 0 });
  const source = new zmq.Push({ linger: 0 });
  const sink = new zmq.Pull({ linger: 0 });
  const capture = new zmq.Push({ linger: 0 });
  const tap = new zmq.Pull({ linger: 0 });
  try {
    await front.bind("tcp://127.0.0.1:*");
    await back.bind("tcp://127.0.0.1:*");
    source.connect(front.lastEndpoint!);
    sink.connect(back.lastEndpoint!);
    if (withCapture) {
      await tap.bind("tcp://127.0.0.1:*");
      capture.connect(tap.lastEndpoint!);
    }
    // the forwarding loop: the raw zeromq.js way, one receive and one awaited send at a time
    const forwarding = (async () => {
      for (;;) {
        const msg = await front.receive();
        if (withCapture) await capture.send(msg);
        await back.send(msg);
      }
    })();
    forwarding.catch(() => {}); // ends when the sockets close
    await source.send(PROBE); // connected and flowing before the clock starts
    await sink.receive();
    if (withCapture) await tap.receive();
    const received = Promise.all([drainRaw(sink, n), withCapture ? drainRaw(tap, n) : Promise.resolve()]).then(() => {});
    return await workload(n, (buf) => source.send(buf), received);
  } finally {
    for (const s of [source, sink, front, back, capture, tap]) s.close();
  }
}

async function zkit(ctx: RunContext, withCapture: boolean): Promise<Sample> {
  const n = ctx.quick ? QUICK_MESSAGES : MESSAGES;
  const tap = withCapture ? await ZSocket.pull("@tcp://127.0.0.1:*", { linger: 0 }) : undefined;
  const proxy = new ZProxy({
    frontend: { type: "PULL", endpoints: "@tcp://127.0.0.1:*", options: { linger: 0 } },
    backend: { type: "PUSH", endpoints: "@tcp://127.0.0.1:*", options: { linger: 0 } },
    // a high-water mark the tap keeps below, so that no copy is dropped
    ...(tap ? { capture: `>${tap.endpoint}`, captureOptions: { linger: 0, sendHighWaterMark: n + 10 } } : {}),
  });
  await proxy.start();
  const source = await ZSocket.push(`>${proxy.frontendEndpoint}`, { linger: 0 });
  const sink = await ZSocket.pull(`>${proxy.backendEndpoint}`, { linger: 0 });
  try {
    await source.send(PROBE);
    await sink.receive();
    if (tap) await tap.receive();
    const drain = async (sock: ZSocket<"PULL">): Promise<void> => {
      for (let i = 0; i < n; i++) await sock.receive();
    };
    const received = Promise.all([drain(sink), tap ? drain(tap) : Promise.resolve()]).then(() => {});
    const sample = await workload(n, (buf) => source.send(buf), received);
    if (proxy.stats.captureDropped > 0) throw new Error(`proxy/capture: ${proxy.stats.captureDropped} copies dropped; the round does not compare like with like`);
    return sample;
  } finally {
    await proxy.close({ lingerMs: 0 });
    source.close();
    sink.close();
    tap?.close();
  }
}

const metrics: MetricSpec[] = [{ key: "throughput", unit: "msg/s", better: "higher" }, ...(threadCpuAvailable ? [{ key: "cpu", unit: "us/msg", better: "lower" } as const] : [])];

export const cases: BenchCase[] = [
  {
    name: "proxy/forward",
    description: `PUSH->[PULL|proxy|PUSH]->PULL tcp, ${MESSAGES} x 16 B: ZProxy vs a raw zeromq.js forwarding loop`,
    metrics,
    run: { raw: (ctx) => raw(ctx, false), zkit: (ctx) => zkit(ctx, false) },
  },
  {
    name: "proxy/capture",
    description: `the same with a capture socket read by a third PULL (every copy must arrive)`,
    metrics,
    run: { raw: (ctx) => raw(ctx, true), zkit: (ctx) => zkit(ctx, true) },
  },
];
