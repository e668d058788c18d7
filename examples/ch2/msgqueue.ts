/**
 * Message queue broker (Guide chapter 2, "ZeroMQ's Built-In Proxy Function").
 * The same broker as ch2/rrbroker.ts, a ROUTER for clients and a DEALER for
 * workers, but the forwarding is a ZLoop reactor: one reader per socket that
 * sends each message on to the other socket.
 *
 *   node --conditions=@zkit/source --import tsx ch2/msgqueue.ts [--frontend tcp://*:5559] [--backend tcp://*:5560]
 *
 * The Guide calls zmq_proxy here. zeromq.js has a native Proxy, but each one
 * holds a libuv threadpool thread for its whole life (there are 4 by
 * default, and file reads and DNS need them too). A ZLoop proxy costs no
 * thread, keeps every message in order, and yields to the event loop under
 * load so Ctrl-C and timers still run.
 */
import { ZSocket } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("msgqueue", "Message queue broker: a ROUTER-DEALER proxy on a ZLoop.", {
  frontend: { type: "string", default: "tcp://*:5559", help: "where the ROUTER for clients binds" },
  backend: { type: "string", default: "tcp://*:5560", help: "where the DEALER for workers binds" },
});

await main(async () => {
  // Clients connect here
  const frontend = await ZSocket.router(binding(opts.frontend));
  // Workers (services) connect here
  const backend = await ZSocket.dealer(binding(opts.backend));
  console.log(`listening on ${frontend.endpoints.join(",")} (clients)`);
  console.log(`listening on ${backend.endpoints.join(",")} (workers)`);

  let requests = 0;
  let replies = 0;
  // The proxy: one reader per socket, sending on to the other. The loop
  // reads a socket's next message once its handler is done, that is once the
  // send is (back-pressure: with no worker, requests wait in the ROUTER).
  const loop = new ZLoop();
  loop.reader(frontend, async (msg) => {
    await backend.send(msg);
    requests++;
  });
  loop.reader(backend, async (msg) => {
    await frontend.send(msg);
    replies++;
  });
  try {
    await loop.start(); // until Ctrl-C
  } finally {
    console.log(`routed ${requests} requests and ${replies} replies`);
  }
});
