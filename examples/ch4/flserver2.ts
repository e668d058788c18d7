/**
 * Freelance server, model 2 (Guide chapter 4, "Brokerless Reliability"): a
 * REP service that answers every request [sequence][body] with
 * [sequence]["OK"], so that flclient2 can match replies to requests.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flserver2.ts [--bind tcp://*:5555]
 */
import { ZSocket } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("flserver2", "Freelance server, model 2: replies [sequence][OK].", {
  bind: { type: "string", default: "tcp://*:5555", help: "where the REP socket binds" },
});

await main(async () => {
  const server = await ZSocket.rep(binding(opts.bind));
  console.log(`I: service is ready at ${server.endpoint}`);
  for await (const request of server) {
    if (request.length !== 2) {
      // the Guide's server asserts here; ours says so and answers nothing
      console.log(`E: expected [sequence][body], got ${request.length} frame(s)`);
      await server.send("");
      continue;
    }
    await server.send([request[0]!, "OK"]);
  }
});
