/**
 * Load-balancing broker on ZLoop (Guide chapter 3, "A High-Level API for
 * ZeroMQ", the reactor version): the broker of ch3/lbbroker2.ts as a
 * reactor. A reader on the backend queues each worker that speaks (and
 * passes its reply on); a reader on the frontend exists only while a worker
 * is free: it is added when the first worker becomes free and removed when
 * the last one is taken. Requests wait in the frontend meanwhile; ZLoop
 * never loses one by removing a reader. Clients and workers are the actors
 * of lbbroker2 (ch3/lbclient.ts, ch3/lbworker.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch3/lbbroker3.ts [--frontend ipc://frontend.ipc] [--backend ipc://backend.ipc] [--clients 10] [--workers 3] [--requests 0] [--pause-ms 1000]
 */
import { ZSocket } from "@zkit/core";
import { ZLoop, type ReaderHandler } from "@zkit/zloop";
import { ZMsg, type ZFrame } from "@zkit/zmsg";
import { ZActor } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, destroyActors, isReady, startAll } from "./common.js";
import type { LbClientArgs } from "./lbclient.js";
import type { LbWorkerArgs } from "./lbworker.js";

const opts = parseOptions("lbbroker3", "Load-balancing broker on ZLoop: routes each client request to the least recently used worker.", {
  frontend: { type: "string", default: "ipc://frontend.ipc", help: "where the ROUTER for clients binds" },
  backend: { type: "string", default: "ipc://backend.ipc", help: "where the ROUTER for workers binds" },
  clients: { type: "number", default: 10, help: "how many client actors" },
  workers: { type: "number", default: 3, help: "how many worker actors (0: only workers that connect from elsewhere)" },
  requests: { type: "number", default: 0, help: "requests per client; 0 = forever (until Ctrl-C)" },
  "pause-ms": { type: "number", default: 1000, help: "a client's pause after each reply, in msecs" },
});

await main(async () => {
  const frontend = await ZSocket.router(binding(opts.frontend));
  const backend = await ZSocket.router(binding(opts.backend));
  console.log(`listening on ${frontend.endpoints.join(",")} (frontend, clients)`);
  console.log(`listening on ${backend.endpoints.join(",")} (backend, workers)`);

  const clients: ZActor[] = [];
  const workerActors: ZActor[] = [];
  const loop = new ZLoop();
  try {
    const clientArgs: LbClientArgs = { endpoint: connectable(frontend.endpoint), requests: opts.requests, pauseMs: opts["pause-ms"] };
    const workerArgs: LbWorkerArgs = { endpoint: connectable(backend.endpoint) };
    await Promise.all([
      startAll(
        Array.from({ length: opts.clients }, () => ZActor.fork(new URL("./lbclient.ts", import.meta.url), clientArgs)),
        clients,
      ),
      startAll(
        Array.from({ length: opts.workers }, () => ZActor.fork(new URL("./lbworker.ts", import.meta.url), workerArgs)),
        workerActors,
      ),
    ]);

    // Queue of available workers
    const workers: ZFrame[] = [];
    let replies = 0;
    const total = opts.clients * opts.requests; // 0: forever

    // Handle input from client, on frontend
    const handleFrontend: ReaderHandler = async (frames) => {
      const msg = ZMsg.fromBuffers(frames);
      msg.wrap(workers.shift()!);
      // Cancel reader on frontend if we went from 1 to 0 workers
      if (workers.length === 0) loop.readerEnd(frontend);
      await msg.send(backend);
    };

    // Handle input from worker, on backend
    const handleBackend: ReaderHandler = async (frames) => {
      // Use worker identity for load-balancing
      const msg = ZMsg.fromBuffers(frames);
      workers.push(msg.unwrap()!);
      // Enable reader on frontend if we went from 0 to 1 workers
      if (workers.length === 1) loop.reader(frontend, handleFrontend);
      // Forward message to client if it's not a READY
      if (isReady(msg.frames)) return;
      await msg.send(frontend);
      if (++replies === total) return -1; // every client has all its replies
    };

    loop.reader(backend, handleBackend);
    await loop.start(); // until -1, or Ctrl-C
    if (total === 0 || replies < total) return; // interrupted
    // Every reply is on its way: wait for each client to say it is done.
    for (const client of clients) await client.receive();
  } finally {
    loop.destroy();
    await destroyActors([...clients, ...workerActors]);
  }
});
