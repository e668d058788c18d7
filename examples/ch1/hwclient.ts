/**
 * Hello World client (Guide chapter 1, "Ask and Ye Shall Receive").
 * Connects a REQ socket to the server, sends "Hello" and waits for "World",
 * a number of times, then exits.
 *
 *   node --conditions=@zkit/source --import tsx ch1/hwclient.ts [--connect tcp://localhost:5555] [--requests 10]
 */
import { ZSocket } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("hwclient", 'Hello World client: a REQ socket that sends "Hello" and waits for "World", N times.', {
  connect: { type: "string", default: "tcp://localhost:5555", help: "the server to connect to (CZMQ endpoint list)" },
  requests: { type: "number", default: 10, help: "how many requests to send" },
});

await main(async () => {
  console.log("Connecting to hello world server...");
  // Connecting works before the server is up: libzmq connects, and reconnects,
  // in the background. Linger 0: once we have the last reply nothing is left to
  // deliver, and a Ctrl-C while the server is away exits at once.
  const requester = await ZSocket.req(connecting(opts.connect), { linger: 0 });

  for (let n = 0; n < opts.requests; n++) {
    console.log(`Sending Hello ${n}...`);
    await requester.send("Hello");
    // REQ is strictly send-then-receive: one reply per request.
    const [reply] = await requester.receive();
    console.log(`Received ${reply} ${n}`);
  }
  requester.close();
});
