/**
 * Request-reply broker (Guide chapter 2, "Shared Queue (DEALER and ROUTER
 * sockets)"). Binds a ROUTER for clients (ch2/rrclient.ts) and a DEALER for
 * workers (ch2/rrworker.ts) and shuttles messages between them with a
 * ZPoller, as the Guide does with zmq_poll.
 *
 *   node --conditions=@zkit/source --import tsx ch2/rrbroker.ts [--frontend tcp://*:5559] [--backend tcp://*:5560]
 *
 * The ROUTER puts the client's identity in front of each request
 * ([identity][""]["Hello"]); the DEALER deals the requests out to the workers
 * in turn and fair-queues their replies; the REP worker hands the envelope
 * back untouched, so the ROUTER knows where the reply goes. The broker only
 * copies whole multipart messages: it never looks inside.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("rrbroker", "Request-reply broker: a ROUTER for clients, a DEALER for workers, a poller between them.", {
  frontend: { type: "string", default: "tcp://*:5559", help: "where the ROUTER for clients binds" },
  backend: { type: "string", default: "tcp://*:5560", help: "where the DEALER for workers binds" },
});

await main(async () => {
  const frontend = await ZSocket.router(binding(opts.frontend));
  const backend = await ZSocket.dealer(binding(opts.backend));
  console.log(`listening on ${frontend.endpoints.join(",")} (clients)`);
  console.log(`listening on ${backend.endpoints.join(",")} (workers)`);

  // Forward whole messages, whichever way they go
  const poller = new ZPoller<ZSocket>(frontend, backend);
  let requests = 0;
  let replies = 0;
  try {
    for (;;) {
      const sock = await poller.wait();
      if (sock === null) break; // interrupted (Ctrl-C)
      const msg = await sock.receive(); // all the frames of one message
      if (sock === frontend) {
        // Awaiting the send is the back-pressure: with no worker connected the
        // DEALER waits for one, and so does the broker, like zmq_proxy.
        await backend.send(msg);
        requests++;
      } else {
        await frontend.send(msg);
        replies++;
      }
      if ((requests + replies) % 500 === 0) await yieldToEventLoop(); // let Ctrl-C in under load
    }
  } finally {
    console.log(`routed ${requests} requests and ${replies} replies`);
  }
});
