/**
 * Request-reply worker (Guide chapter 2, "Shared Queue (DEALER and ROUTER
 * sockets)"). Connects a REP socket to the broker's backend
 * (ch2/rrbroker.ts or ch2/msgqueue.ts) and answers each "Hello" with
 * "World" after some "work". Start as many as you like: the broker deals
 * the requests out to them.
 *
 *   node --conditions=@zkit/source --import tsx ch2/rrworker.ts [--connect tcp://localhost:5560] [--work-ms 1000]
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("rrworker", 'Request-reply worker: a REP socket behind a broker that answers every request with "World".', {
  connect: { type: "string", default: "tcp://localhost:5560", help: "the broker's backend to connect to" },
  "work-ms": { type: "number", default: 1000, help: "how long each request's 'work' takes, in msecs" },
});

await main(async () => {
  // The REP socket connects, the broker binds: workers come and go, the broker stays.
  const responder = await ZSocket.rep(connecting(opts.connect));
  console.log(`ready: requests from ${opts.connect}`);

  let done = 0;
  try {
    // The loop ends when Ctrl-C closes the socket (handleInterrupts, in main()).
    for await (const [request] of responder) {
      console.log(`Received request: [${request}]`);
      await sleep(opts["work-ms"], interruptSignal()); // Do some 'work'
      await responder.send("World"); // Send reply back to client
      done++;
    }
  } finally {
    console.log(`${done} requests answered`);
  }
});
