/**
 * Titanic broker (Guide chapter 4, "Disconnected Reliability"): connects to
 * a Majordomo broker as the titanic.request, titanic.reply and
 * titanic.close services, stores every request on disk (fsynced) before
 * acknowledging it, and forwards stored requests to their service whenever
 * a worker serves it. Restarted on the same directory, it picks up where it
 * stopped. Runs until Ctrl-C. Over @zkit/titanic.
 *
 *   node --conditions=@zkit/source --import tsx ch4/titanic.ts [--connect tcp://localhost:5555] [--dir .titanic] [-v]
 */
import { Titanic } from "@zkit/titanic";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "titanic",
  "Titanic: durable request storage and forwarding over a Majordomo broker (9/TSP).",
  {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the Majordomo broker (CZMQ endpoint list)" },
    dir: { type: "string", default: ".titanic", help: "where requests and replies are stored" },
    "heartbeat-ms": { type: "number", default: 2500, min: 1, help: "heartbeat interval with the broker, in msecs (use the broker's)" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const titanic = new Titanic({
    endpoint: opts.connect,
    dir: opts.dir,
    heartbeatIntervalMs: opts["heartbeat-ms"],
    reconnectMs: opts["heartbeat-ms"],
    ...(opts.verbose
      ? { trace: ({ direction, socket, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} ${socket}:\n${ZMsg.fromBuffers([...frames]).dump()}`) }
      : {}),
  });
  titanic.on("stored", ({ uuid, service }) => console.log(`I: stored request ${uuid} for ${service}`));
  titanic.on("replied", ({ uuid }) => console.log(`I: request ${uuid} answered`));
  titanic.on("closed", ({ uuid }) => console.log(`I: request ${uuid} closed`));
  titanic.on("corrupt", ({ file, reason }) => console.log(`W: damaged file ${file} skipped: ${reason}`));
  await titanic.start();
  console.log(`I: titanic ready, ${titanic.stats.pending} pending request(s) in ${titanic.dir}`);
  await titanic.done; // until Ctrl-C: Titanic closes itself (the services finish the request in hand)
  console.log(`I: titanic stopped with ${titanic.stats.pending} pending request(s)`);
});
