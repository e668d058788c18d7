/**
 * Asynchronous client/server (Guide chapter 3, "Asynchronous
 * Client/Server"). Clients (DEALER) send a request once a second and take
 * replies whenever they come; the server's ROUTER frontend passes each
 * request to a pool of workers through a DEALER backend (a proxy), and the
 * workers answer each with 0 to 4 replies, at random times. Nothing is in
 * lockstep: one client talks to several workers at once. The server is an
 * actor in this thread (`ZActor.create`) whose proxy is a ZLoop; its
 * workers and the clients are actors in threads (`ZActor.fork`,
 * ch3/asyncsrv-worker.ts and ch3/asyncsrv-client.ts). It all runs for 5 s,
 * then stops.
 *
 *   node --conditions=@zkit/source --import tsx ch3/asyncsrv.ts [--bind tcp://*:5570] [--clients 3] [--workers 5] [--run-ms 5000] [--tick-ms 1000] [--max-reply-ms 1000]
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { ZActor, signal, type ActorFn } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, destroyActors, startAll } from "./common.js";
import type { AsyncClientArgs } from "./asyncsrv-client.js";
import type { AsyncWorkerArgs } from "./asyncsrv-worker.js";

const opts = parseOptions("asyncsrv", "Asynchronous client/server: DEALER clients, a ROUTER-DEALER proxy, workers sending 0 to 4 replies.", {
  bind: { type: "string", default: "tcp://*:5570", help: "where the server's ROUTER frontend binds" },
  clients: { type: "number", default: 3, help: "how many client actors" },
  workers: { type: "number", default: 5, min: 1, help: "how many server worker actors" },
  "run-ms": { type: "number", default: 5000, help: "how long to run, in msecs; 0 = until Ctrl-C" },
  "tick-ms": { type: "number", default: 1000, min: 1, help: "a client sends one request per tick, in msecs" },
  "max-reply-ms": { type: "number", default: 1000, min: 1, help: "a worker's delay before each reply: 1 to N msecs" },
});

/** What the server actor is started with. */
interface ServerArgs {
  bind: string;
  workers: number;
  maxReplyMs: number;
}

/**
 * The server: a ROUTER frontend for the clients, a DEALER backend for the
 * workers, and a proxy between them. It sends the frontend's endpoints on
 * its pipe once it is ready, and runs until `$TERM`.
 */
const serverTask: ActorFn<ServerArgs> = async (pipe, { bind, workers, maxReplyMs }) => {
  const frontend = await ZSocket.router(binding(bind));
  // inproc: the workers are threads of this process. The name is ours alone.
  const backend = await ZSocket.dealer(`@inproc://asyncsrv-backend-${process.pid}`);
  const pool: ZActor[] = [];
  const loop = new ZLoop();
  try {
    // Launch pool of worker threads, precise number is not critical
    const args: AsyncWorkerArgs = { endpoint: backend.endpoint, maxReplyMs };
    await startAll(
      Array.from({ length: workers }, () => ZActor.fork(new URL("./asyncsrv-worker.ts", import.meta.url), args)),
      pool,
    );
    await signal(pipe, 0); // ready: ZActor.create resolves
    await pipe.send(frontend.endpoints.join(","));

    // Connect backend to frontend via a proxy: requests go to the workers
    // (the DEALER deals them round-robin), replies back to their client.
    loop.reader(frontend, (msg) => backend.send(msg));
    loop.reader(backend, (msg) => frontend.send(msg));
    // Wait for shutdown signal
    loop.reader(pipe, (msg) => (ZActor.isTerm(msg) ? -1 : undefined));
    await loop.start(); // until $TERM, or Ctrl-C
  } finally {
    loop.destroy();
    await destroyActors(pool);
    frontend.close();
    backend.close();
  }
};

await main(async () => {
  const actors: ZActor[] = [];
  try {
    const server = await ZActor.create(serverTask, { bind: opts.bind, workers: opts.workers, maxReplyMs: opts["max-reply-ms"] });
    actors.push(server);
    const [endpoints] = await server.receive();
    console.log(`listening on ${endpoints}`);

    const args: AsyncClientArgs = { endpoint: connectable(String(endpoints).split(",").pop()!), tickMs: opts["tick-ms"] };
    await startAll(
      Array.from({ length: opts.clients }, () => ZActor.fork(new URL("./asyncsrv-client.ts", import.meta.url), args)),
      actors,
    );

    // Run for 5 seconds then quit (or until Ctrl-C)
    if (opts["run-ms"] > 0) await sleep(opts["run-ms"], interruptSignal());
    else await new Promise<void>((resolve) => interruptSignal().addEventListener("abort", () => resolve(), { once: true }));
  } finally {
    // The clients first, so that none is left talking to a server that is gone.
    await destroyActors(actors.slice(1));
    await destroyActors(actors.slice(0, 1));
  }
});
