/**
 * Majordomo worker (Guide chapter 4, "Service-Oriented Reliable Queuing"):
 * serves the "echo" service, replying with each request's body. Heartbeats,
 * and reconnects by itself when the broker goes away. Runs until Ctrl-C.
 *
 *   node --conditions=@zkit/source --import tsx ch4/mdworker.ts [--connect tcp://localhost:5555] [--service echo] [-v]
 */
import { MajordomoWorker } from "@zkit/mdp";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "mdworker",
  "Majordomo echo worker: registers a service with the broker and echoes every request.",
  {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the broker (CZMQ endpoint list)" },
    service: { type: "string", default: "echo", help: "the service to serve" },
    "heartbeat-ms": { type: "number", default: 2500, min: 1, help: "heartbeat interval, in msecs (use the broker's)" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const worker = new MajordomoWorker({
    endpoint: opts.connect,
    service: opts.service,
    heartbeatIntervalMs: opts["heartbeat-ms"],
    reconnectMs: opts["heartbeat-ms"],
    handler: (request) => request, // echo
    ...(opts.verbose ? { trace: ({ direction, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} broker:\n${ZMsg.fromBuffers([...frames]).dump()}`) } : {}),
  });
  worker.on("ready", ({ service }) => console.log(`worker ready for ${service} at ${opts.connect}`));
  await worker.start();
  await worker.done; // until Ctrl-C: it finishes the request in hand, then DISCONNECT
});
