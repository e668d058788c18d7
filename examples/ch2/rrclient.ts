/**
 * Request-reply client (Guide chapter 2, "Shared Queue (DEALER and ROUTER
 * sockets)"). Connects a REQ socket to the broker's frontend
 * (ch2/rrbroker.ts or ch2/msgqueue.ts), sends "Hello" and waits for "World",
 * a number of times. It never talks to a worker directly.
 *
 *   node --conditions=@zkit/source --import tsx ch2/rrclient.ts [--connect tcp://localhost:5559] [--requests 10]
 */
import { ZSocket } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("rrclient", 'Request-reply client: sends "Hello" to a broker and waits for "World", N times.', {
  connect: { type: "string", default: "tcp://localhost:5559", help: "the broker's frontend to connect to" },
  requests: { type: "number", default: 10, help: "how many requests to send" },
});

await main(async () => {
  // To the broker's frontend, never to a worker. Linger 0: a Ctrl-C while the broker is away exits at once.
  const requester = await ZSocket.req(connecting(opts.connect), { linger: 0 });
  console.log(`ready: requests to ${opts.connect}`);

  for (let n = 0; n < opts.requests; n++) {
    await requester.send("Hello");
    const [reply] = await requester.receive();
    console.log(`Received reply ${n} [${reply}]`);
  }
  requester.close();
});
