/**
 * Multithreaded service (Guide chapter 2, "Multithreading with ZeroMQ").
 * A Hello World server (ch1/hwclient.ts talks to it) whose requests are
 * answered by a pool of worker threads: a ROUTER binds for clients, a DEALER
 * binds inproc://workers, each worker thread (ch2/mtserver-worker.ts, run
 * with zthread.fork) connects a REP socket to it, and a ZLoop proxies
 * between the ROUTER and the DEALER.
 *
 *   node --conditions=@zkit/source --import tsx ch2/mtserver.ts [--bind tcp://*:5555] [--workers 5] [--work-ms 1000]
 *
 * The threads share nothing but messages: each has its own sockets, and
 * inproc works between them because every thread of a Node process shares
 * zeromq.js's default context. With N workers, N requests are worked on at
 * the same time.
 */
import { ZSocket } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { waitSignal, zthread, type ForkedThread } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import type { WorkerArgs } from "./mtserver-worker.js";

const opts = parseOptions("mtserver", "Multithreaded Hello World server: a ROUTER, a DEALER on inproc, and REP worker threads.", {
  bind: { type: "string", default: "tcp://*:5555", help: "where the ROUTER for clients binds" },
  workers: { type: "number", default: 5, min: 1, help: "how many worker threads" },
  "work-ms": { type: "number", default: 1000, help: "how long each request's 'work' takes, in msecs" },
});

const WORKERS_ENDPOINT = "inproc://workers";

await main(async () => {
  // Clients connect here
  const clients = await ZSocket.router(binding(opts.bind));
  // Worker threads connect here, in this process only
  const workers = await ZSocket.dealer(`@${WORKERS_ENDPOINT}`);

  // Start the worker threads; each signals on its pipe once connected.
  const threads: ForkedThread[] = [];
  try {
    for (let id = 1; id <= opts.workers; id++) {
      const args: WorkerArgs = { endpoint: WORKERS_ENDPOINT, id, workMs: opts["work-ms"] };
      threads.push(await zthread.fork(new URL("./mtserver-worker.ts", import.meta.url), args));
    }
    await Promise.all(threads.map((t) => waitSignal(t.pipe)));
    console.log(`listening on ${clients.endpoints.join(",")}`);
    console.log(`${threads.length} worker threads ready on ${WORKERS_ENDPOINT}`);

    // Shuttle requests to the workers and replies back to the clients
    const loop = new ZLoop();
    loop.reader(clients, (msg) => workers.send(msg));
    loop.reader(workers, (msg) => clients.send(msg));
    await loop.start(); // until Ctrl-C
  } finally {
    // Closes each thread's sockets (a worker in the middle of its work stops
    // at once) and waits for the thread to end.
    await Promise.all(threads.map((t) => t.stop()));
  }
});
