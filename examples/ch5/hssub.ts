/**
 * High-speed subscriber, the Black Box pattern (Guide chapter 5, "High-Speed
 * Subscribers (Black Box Pattern)"): one subscriber thread reads the feed
 * and does nothing else, handing each message over inproc PUSH/PULL to a
 * pool of worker threads that do the work; the workers share the load and
 * the subscriber keeps up with a feed it could not process alone. It
 * prints the rate it achieved, and each worker's share.
 *
 *   node --conditions=@zkit/source --import tsx ch5/hssub.ts [--connect tcp://localhost:5556] [--workers 2]
 *
 * Run ch5/hspub.ts first; hssub reads until the publisher's `END`:
 *
 *   node --conditions=@zkit/source --import tsx ch5/hspub.ts --messages 1000000 &
 *   node --conditions=@zkit/source --import tsx ch5/hssub.ts --workers 2
 *
 * The Guide's next step, splitting the feed between two subscriber
 * threads by topic, each with its own I/O thread and network interface,
 * breaks the ceiling of one subscriber; in Node each zkit context shares
 * zeromq.js's default I/O thread, so this program shows the first step.
 */
import { ZSocket, sleep } from "@zkit/core";
import { waitSignal, zthread, type ForkedThread } from "@zkit/zthread";
import { connecting, main, parseOptions } from "../lib/cli.js";
import type { WorkerArgs } from "./hssub-worker.js";

const opts = parseOptions("hssub", "High-speed subscriber (Black Box): a subscriber thread feeding worker threads, measured.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the publisher to subscribe to" },
  workers: { type: "number", default: 2, min: 1, help: "how many worker threads" },
});

const WORKERS = `inproc://hssub-workers-${process.pid}`;

await main(async () => {
  // The workers' queue: round robin over their PULL sockets
  const push = await ZSocket.push(`@${WORKERS}`, { sendHighWaterMark: 100_000 });
  const threads: ForkedThread[] = [];
  try {
    for (let i = 0; i < opts.workers; i++) {
      const args: WorkerArgs = { endpoint: WORKERS };
      threads.push(await zthread.fork(new URL("./hssub-worker.ts", import.meta.url), args));
    }
    await Promise.all(threads.map((t) => waitSignal(t.pipe)));

    const subscriber = await ZSocket.sub(connecting(opts.connect), "", { receiveHighWaterMark: 100_000 });
    console.log(`${opts.workers} workers ready; subscribed to ${subscriber.endpoint}`);

    // The subscriber: read, hand over, nothing else
    let received = 0;
    let t0 = 0;
    for await (const msg of subscriber) {
      if (received === 0) t0 = performance.now();
      if (msg.length === 1 && msg[0]!.length === 3 && String(msg[0]) === "END") break;
      await push.send(msg);
      received++;
    }
    const ms = performance.now() - t0;
    // The publisher is gone: nothing of ours (a subscription kept for a
    // reconnect) needs to reach it
    subscriber.close({ lingerMs: 0 });
    console.log(`received ${received} messages in ${Math.round(ms)} ms: ${Math.round((received / ms) * 1000)} msg/s`);

    // Ask the workers for their counts until every message is accounted for
    // (a worker may still be taking the last ones off its queue)
    let reports: string[][] = [];
    for (;;) {
      reports = [];
      for (const t of threads) {
        await t.pipe.send("COUNT");
        reports.push((await t.pipe.receive()).map(String));
      }
      if (reports.reduce((sum, [count]) => sum + Number(count), 0) >= received) break;
      await sleep(10);
    }
    for (const [i, [count, topics, last]] of reports.entries()) console.log(`worker ${i + 1}: ${count} messages, ${topics} topics, last sequence ${last}`);
    console.log(`workers handled ${reports.reduce((sum, [count]) => sum + Number(count), 0)} of ${received}`);
  } finally {
    await Promise.all(threads.map((t) => t.stop()));
  }
});
