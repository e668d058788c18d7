/**
 * MMI echo query (Guide chapter 4, "Service Discovery"): asks the broker,
 * through 8/MMI's mmi.service, whether a worker serves "echo", and prints
 * the answer: 200 (yes) or 404 (no).
 *
 *   node --conditions=@zkit/source --import tsx ch4/mmiecho.ts [--connect tcp://localhost:5555] [--service echo] [-v]
 */
import { MMI_SERVICE, MajordomoClient } from "@zkit/mdp";
import { ZMsg } from "@zkit/zmsg";
import { interruptSignal } from "@zkit/core";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "mmiecho",
  "Asks the Majordomo broker whether a service has workers (mmi.service): 200 or 404.",
  {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the broker (CZMQ endpoint list)" },
    service: { type: "string", default: "echo", help: "the service to look up" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const session = new MajordomoClient({
    endpoint: opts.connect,
    ...(opts.verbose ? { trace: ({ direction, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} broker:\n${ZMsg.fromBuffers([...frames]).dump()}`) } : {}),
  });
  const [code] = await session.request(MMI_SERVICE, opts.service, { signal: interruptSignal() });
  console.log(`Lookup ${opts.service} service: ${code}`);
  await session.close();
});
