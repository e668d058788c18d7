/**
 * Majordomo broker (Guide chapter 4, "Service-Oriented Reliable Queuing").
 * One ROUTER for clients and workers: requests go to the service's workers,
 * least recently used first; heartbeats both ways; MMI (mmi.service) answered
 * by the broker itself. Runs until Ctrl-C.
 *
 *   node --conditions=@zkit/source --import tsx ch4/mdbroker.ts [--bind tcp://*:5555] [-v]
 */
import { MajordomoBroker } from "@zkit/mdp";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "mdbroker",
  "Majordomo broker (7/MDP and 8/MMI): clients and workers connect to the same endpoint.",
  {
    bind: { type: "string", default: "tcp://*:5555", help: "where the broker binds (comma-separated list)" },
    "heartbeat-ms": { type: "number", default: 2500, min: 1, help: "heartbeat interval with workers, in msecs" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const broker = new MajordomoBroker({
    heartbeatIntervalMs: opts["heartbeat-ms"],
    ...(opts.verbose
      ? { trace: ({ direction, socket, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} ${socket}:\n${ZMsg.fromBuffers([...frames]).dump()}`) }
      : {}),
  });
  broker.on("worker-ready", ({ service }) => console.log(`I: worker ready for ${service}`));
  broker.on("worker-gone", ({ service, reason }) => console.log(`I: worker for ${service} gone (${reason})`));
  for (const endpoint of opts.bind.split(",")) {
    // the Guide's broker binds tcp://*:5555; the real address is printed
    console.log(`listening on ${await broker.bind(endpoint.trim())}`);
  }
  await broker.start();
  await broker.done; // until Ctrl-C: the broker closes itself (DISCONNECT to every worker)
  const s = broker.stats;
  console.log(`I: broker stopped after ${s.requests} requests and ${s.replies} replies`);
});
