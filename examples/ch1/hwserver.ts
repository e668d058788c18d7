/**
 * Hello World server (Guide chapter 1, "Ask and Ye Shall Receive").
 * Binds a REP socket, expects "Hello" from clients, replies with "World".
 *
 *   node --conditions=@zkit/source --import tsx ch1/hwserver.ts [--bind tcp://*:5555] [--work-ms 1000]
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("hwserver", 'Hello World server: a REP socket that answers every request with "World".', {
  bind: { type: "string", default: "tcp://*:5555", help: "where the REP socket binds (CZMQ endpoint list)" },
  "work-ms": { type: "number", default: 1000, help: "how long each request's 'work' takes, in msecs" },
});

await main(async () => {
  // A REP socket answers each request in turn: receive, then send, then receive again.
  const responder = await ZSocket.rep(binding(opts.bind));
  console.log(`listening on ${responder.endpoints.join(",")}`);

  // The loop ends when Ctrl-C closes the socket (handleInterrupts, in main()).
  for await (const [request] of responder) {
    console.log(`Received ${request}`);
    await sleep(opts["work-ms"], interruptSignal()); // Do some "work"
    await responder.send("World");
  }
});
