/**
 * Synchronized subscriber (Guide chapter 2, "Node Coordination"). Subscribes
 * to the publisher (ch2/syncpub.ts), tells it over REQ-REP that it is there,
 * then counts updates until "END".
 *
 *   node --conditions=@zkit/source --import tsx ch2/syncsub.ts [--connect tcp://localhost:5561] [--sync tcp://localhost:5562] [--settle-ms 1000]
 *
 * Start the publisher and as many subscribers as it waits for, in any order.
 * The Guide waits a second between subscribing and syncing, so that the
 * subscription reaches a plain PUB before the sync request does
 * (`--settle-ms`, 1000 like the Guide, for such a publisher). zkit's
 * syncpub waits for the subscription itself: with it, `--settle-ms 0`
 * loses nothing.
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("syncsub", "Synchronized subscriber: subscribes, syncs with the publisher over REQ-REP, counts updates until END.", {
  connect: { type: "string", default: "tcp://localhost:5561", help: "the publisher to subscribe to" },
  sync: { type: "string", default: "tcp://localhost:5562", help: "the publisher's sync service" },
  "settle-ms": { type: "number", default: 1000, help: "how long to wait between subscribing and syncing, in msecs" },
});

await main(async () => {
  // 1. Subscribe to everything
  const subscriber = await ZSocket.sub(connecting(opts.connect), "", { linger: 0 });
  console.log(`ready: updates from ${opts.connect}`);

  // Give the subscription time to reach a plain PUB (see above)
  if (opts["settle-ms"] > 0) await sleep(opts["settle-ms"], interruptSignal());

  // 2. Tell the publisher we are there, and wait for its answer
  const syncclient = await ZSocket.req(connecting(opts.sync), { linger: 0 });
  await syncclient.send("");
  await syncclient.receive();
  syncclient.close();
  console.log("synchronized");

  // 3. Count the updates until END
  let updates = 0;
  let ended = false;
  for await (const [msg] of subscriber) {
    if (String(msg) === "END") {
      ended = true;
      break;
    }
    updates++;
  }
  subscriber.close();
  if (ended) console.log(`Received ${updates} updates`);
});
