/**
 * Majordomo client (Guide chapter 4, "Service-Oriented Reliable Queuing"):
 * sends "Hello world" to the "echo" service N times, one at a time, each
 * with Lazy Pirate retries, and prints how many round trips completed.
 *
 *   node --conditions=@zkit/source --import tsx ch4/mdclient.ts [--connect tcp://localhost:5555] [--requests 100000] [-v]
 */
import { interruptSignal } from "@zkit/core";
import { MajordomoClient } from "@zkit/mdp";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "mdclient",
  'Majordomo client: N synchronous "Hello world" requests to the echo service.',
  {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the broker (CZMQ endpoint list)" },
    service: { type: "string", default: "echo", help: "the service to ask" },
    requests: { type: "number", default: 100000, help: "how many requests to send" },
    "timeout-ms": { type: "number", default: 2500, min: 1, help: "reply timeout per attempt, in msecs" },
    retries: { type: "number", default: 3, help: "resends after a timeout" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const session = new MajordomoClient({
    endpoint: opts.connect,
    timeoutMs: opts["timeout-ms"],
    retries: opts.retries,
    ...(opts.verbose ? { trace: ({ direction, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} broker:\n${ZMsg.fromBuffers([...frames]).dump()}`) } : {}),
  });
  let count = 0;
  try {
    for (; count < opts.requests; count++) {
      await session.request(opts.service, "Hello world", { signal: interruptSignal() });
    }
  } finally {
    // like the Guide: report what got through, also after a failure or Ctrl-C
    console.log(`${count} requests/replies processed`);
    await session.close();
  }
});
