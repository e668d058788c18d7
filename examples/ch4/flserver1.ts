/**
 * Freelance server, model 1 (Guide chapter 4, "Brokerless Reliability"): a
 * trivial REP echo service. Start one or more; flclient1 tries them in turn.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flserver1.ts [--bind tcp://*:5555]
 */
import { ZSocket } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("flserver1", "Freelance server, model 1: a REP echo service.", {
  bind: { type: "string", default: "tcp://*:5555", help: "where the REP socket binds" },
});

await main(async () => {
  const server = await ZSocket.rep(binding(opts.bind));
  console.log(`I: echo service is ready at ${server.endpoint}`);
  for await (const msg of server) await server.send(msg); // echo, until Ctrl-C closes the socket
});
