/**
 * Load-balancing broker (Guide chapter 3, "A Load Balancing Message
 * Broker"), frame by frame. Clients (REQ) send to a ROUTER frontend, workers
 * (REQ) to a ROUTER backend. A worker's first message is "READY"; after
 * that each of its messages is a reply to pass back to a client. The broker
 * queues ready workers and reads the frontend only while one is free, then
 * hands the request to the least recently used one. It ends once every
 * client has its reply. Clients and workers are threads (`zthread.new`,
 * ch3/lbbroker-client.ts and ch3/lbbroker-worker.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch3/lbbroker.ts [--frontend ipc://frontend.ipc] [--backend ipc://backend.ipc] [--clients 10] [--workers 3]
 *
 * ch3/lbbroker2.ts is the same broker on ZMsg, ch3/lbbroker3.ts on ZLoop.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { zthread, type ZThread } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, startAll, stopThreads } from "./common.js";
import type { LbClientArgs } from "./lbbroker-client.js";
import type { LbWorkerArgs } from "./lbbroker-worker.js";

const opts = parseOptions("lbbroker", "Load-balancing broker: routes each client request to the least recently used worker (raw frames).", {
  frontend: { type: "string", default: "ipc://frontend.ipc", help: "where the ROUTER for clients binds" },
  backend: { type: "string", default: "ipc://backend.ipc", help: "where the ROUTER for workers binds" },
  clients: { type: "number", default: 10, help: "how many client threads (one request each)" },
  workers: { type: "number", default: 3, help: "how many worker threads (0: only workers that connect from elsewhere)" },
});

await main(async () => {
  // Prepare our sockets
  const frontend = await ZSocket.router(binding(opts.frontend));
  const backend = await ZSocket.router(binding(opts.backend));
  console.log(`listening on ${frontend.endpoints.join(",")} (frontend, clients)`);
  console.log(`listening on ${backend.endpoints.join(",")} (backend, workers)`);

  const threads: ZThread[] = [];
  try {
    const clientArgs: LbClientArgs = { endpoint: connectable(frontend.endpoint) };
    const workerArgs: LbWorkerArgs = { endpoint: connectable(backend.endpoint) };
    const client = new URL("./lbbroker-client.ts", import.meta.url);
    const worker = new URL("./lbbroker-worker.ts", import.meta.url);
    await startAll([...Array.from({ length: opts.clients }, () => zthread.new(client, clientArgs)), ...Array.from({ length: opts.workers }, () => zthread.new(worker, workerArgs))], threads);

    // Queue of available workers (their identities)
    const workerQueue: Buffer[] = [];
    // Poll the backend always, the frontend only while a worker is free:
    // requests wait in the frontend meanwhile.
    const poller = new ZPoller(backend);
    let clientsLeft = opts.clients;
    while (clientsLeft > 0) {
      const sock = await poller.wait();
      if (sock === null) return; // interrupted

      if (sock === backend) {
        // Handle worker activity on backend: [worker id][empty][READY], or
        // [worker id][empty][client id][empty][reply]
        const [workerId, , clientId, , reply] = await backend.receive();
        // Queue worker identity for load-balancing
        workerQueue.push(workerId!);
        if (workerQueue.length === 1) poller.add(frontend);
        // Third frame is READY or else a client reply identity
        if (String(clientId) !== "READY") {
          // If client reply, send rest back to frontend
          await frontend.send([clientId!, "", reply!]);
          clientsLeft--; // Exit after N messages
        }
      } else {
        // Here is how we handle a client request: [client id][empty][request]
        const [clientId, , request] = await frontend.receive();
        // Route it to the least recently used worker
        await backend.send([workerQueue.shift()!, "", clientId!, "", request!]);
        if (workerQueue.length === 0) poller.remove(frontend);
      }
    }
    // The clients end by themselves once they have their reply.
    await Promise.all(threads.slice(0, opts.clients).map((t) => t.done));
  } finally {
    await stopThreads(threads);
  }
});
