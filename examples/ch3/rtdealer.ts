/**
 * ROUTER-to-DEALER load balancing (Guide chapter 3, "ROUTER Broker and DEALER
 * Workers"). The broker is rtreq's, frame for frame: a ROUTER gets
 * [identity][empty]["Hi Boss"] from whichever worker is ready and answers
 * [identity][empty]["Work harder"], then "Fired!" after a while (5 s). The
 * workers are DEALER sockets, which send and strip that empty delimiter
 * themselves where a REQ does it for them (`zthread.new`,
 * ch3/rtdealer-worker.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch3/rtdealer.ts [--bind tcp://*:5671] [--workers 10] [--run-ms 5000] [--max-work-ms 500]
 */
import { ZSocket, now } from "@zkit/core";
import { zthread, type ZThread } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, startAll, stopThreads } from "./common.js";
import type { RtdealerWorkerArgs } from "./rtdealer-worker.js";

const opts = parseOptions("rtdealer", "ROUTER-to-DEALER: a ROUTER hands tasks to DEALER worker threads, least recently used first, then fires them.", {
  bind: { type: "string", default: "tcp://*:5671", help: "where the broker's ROUTER binds (CZMQ endpoint list)" },
  workers: { type: "number", default: 10, min: 1, help: "how many worker threads" },
  "run-ms": { type: "number", default: 5000, help: "how long to hand out work before firing the workers, in msecs" },
  "max-work-ms": { type: "number", default: 500, min: 1, help: "each task takes 1 to N msecs" },
});

await main(async () => {
  const broker = await ZSocket.router(binding(opts.bind));
  console.log(`listening on ${broker.endpoints.join(",")}`);

  const args: RtdealerWorkerArgs = { endpoint: connectable(broker.endpoint), maxWorkMs: opts["max-work-ms"] };
  const threads: ZThread[] = [];
  try {
    const worker = new URL("./rtdealer-worker.ts", import.meta.url);
    await startAll(
      Array.from({ length: opts.workers }, () => zthread.new(worker, args)),
      threads,
    );

    // Run for five seconds and then tell workers to end. The Guide's threads
    // start at once; a Worker thread takes a moment to load, so the five
    // seconds count from when every worker has asked for work.
    const checkedIn = new Set<string>();
    let endTime = Infinity;
    let workersFired = 0;
    let tasks = 0;
    while (workersFired < opts.workers) {
      // Next message gives us least recently used worker: [identity][empty]["Hi Boss"]
      const [identity] = await broker.receive();
      if (endTime === Infinity) {
        checkedIn.add(identity!.toString("hex"));
        if (checkedIn.size === opts.workers) endTime = now() + opts["run-ms"];
      }
      // Encourage workers until it's time to fire them
      if (now() < endTime) {
        await broker.send([identity!, "", "Work harder"]);
        tasks++;
      } else {
        await broker.send([identity!, "", "Fired!"]);
        workersFired++;
      }
    }
    console.log(`Handed out ${tasks} tasks to ${opts.workers} workers`);
    await Promise.all(threads.map((t) => t.done));
  } finally {
    await stopThreads(threads);
  }
});
