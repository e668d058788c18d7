/**
 * Load-balancing broker on ZMsg (Guide chapter 3, "A High-Level API for
 * ZeroMQ"): ch3/lbbroker.ts rewritten the way CZMQ writes it. Whole
 * messages instead of frames: `unwrap()` takes the worker's address off a
 * backend message, `wrap()` puts one on a request. Workers say they are
 * ready with a one-byte frame (1). Clients and workers are actors in
 * threads (`ZActor.fork`, ch3/lbclient.ts and ch3/lbworker.ts); as in the
 * Guide, each client sends "HELLO" once a second, forever. With
 * `--requests N` each client stops after N and the broker ends once every
 * client is done.
 *
 *   node --conditions=@zkit/source --import tsx ch3/lbbroker2.ts [--frontend ipc://frontend.ipc] [--backend ipc://backend.ipc] [--clients 10] [--workers 3] [--requests 0] [--pause-ms 1000]
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { ZMsg, type ZFrame } from "@zkit/zmsg";
import { ZActor } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, destroyActors, isReady, startAll } from "./common.js";
import type { LbClientArgs } from "./lbclient.js";
import type { LbWorkerArgs } from "./lbworker.js";

const opts = parseOptions("lbbroker2", "Load-balancing broker on ZMsg: routes each client request to the least recently used worker.", {
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
  const workers: ZActor[] = [];
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
        workers,
      ),
    ]);

    // Queue of available workers: the address frames they last spoke from
    const ready: ZFrame[] = [];
    // The backend always, the frontend only while a worker is free
    const poller = new ZPoller(backend);
    let replies = 0;
    const total = opts.clients * opts.requests; // 0: forever
    while (total === 0 || replies < total) {
      const sock = await poller.wait();
      if (sock === null) return; // interrupted

      if (sock === backend) {
        // Use worker identity for load-balancing
        const msg = await ZMsg.recv(backend);
        const identity = msg.unwrap()!;
        ready.push(identity);
        if (ready.length === 1) poller.add(frontend);
        // Forward message to client if it's not a READY
        if (!isReady(msg.frames)) {
          await msg.send(frontend);
          replies++;
        }
      } else {
        // Get client request, route to first available worker
        const msg = await ZMsg.recv(frontend);
        msg.wrap(ready.shift()!);
        await msg.send(backend);
        if (ready.length === 0) poller.remove(frontend);
      }
    }
    // Every reply is on its way: wait for each client to say it is done.
    for (const client of clients) await client.receive();
  } finally {
    await destroyActors([...clients, ...workers]);
  }
});
