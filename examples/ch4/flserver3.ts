/**
 * Freelance server, model 3 (Guide chapter 4, "Model Three: Complex and
 * Nasty"): a ROUTER whose routing id is its public endpoint, so that
 * clients (ROUTERs too) address it by name; PING gets PONG, a request
 * [control][body] gets [control]["OK"]. Over @zkit/flclient's FreelanceServer.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flserver3.ts [--bind tcp://*:5555] [--endpoint tcp://localhost:5555] [-v]
 */
import { interruptSignal } from "@zkit/core";
import { FreelanceServer } from "@zkit/flclient";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "flserver3",
  "Freelance server, model 3: ROUTER named by its endpoint, PING/PONG, replies [control][OK].",
  {
    bind: { type: "string", default: "tcp://*:5555", help: "where the server binds" },
    endpoint: { type: "string", default: "", help: "the endpoint clients connect to, its routing id (default: the bound one, * as localhost)" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const server = new FreelanceServer({
    bind: opts.bind,
    ...(opts.endpoint !== "" ? { endpoint: opts.endpoint } : {}),
    handler: () => "OK",
    ...(opts.verbose ? { trace: ({ frames }) => console.log(ZMsg.fromBuffers([...frames]).dump()) } : {}),
  });
  await server.start();
  console.log(`I: service is ready at ${server.endpoint}`);
  await new Promise<void>((resolve) => interruptSignal().addEventListener("abort", () => resolve(), { once: true }));
  await server.close();
  console.log("W: interrupted");
});
