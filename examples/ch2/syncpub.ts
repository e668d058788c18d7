/**
 * Synchronized publisher (Guide chapter 2, "Node Coordination"). Waits until
 * a known number of subscribers (ch2/syncsub.ts) have synchronized over
 * REQ-REP, then publishes a batch of updates and "END", so that no
 * subscriber misses the start of the batch.
 *
 *   node --conditions=@zkit/source --import tsx ch2/syncpub.ts [--bind tcp://*:5561] [--sync tcp://*:5562] [--subscribers 10] [--updates 1000000]
 *
 * A PUB sends only to subscriptions it already has, and a SUB's connection
 * and subscription travel separately from its REQ, so a sync request can
 * arrive first. The Guide's subscriber sleeps a second before syncing to
 * make that unlikely, and calls it a hack. This publisher binds an XPUB
 * instead of a PUB (the same socket to a SUB, but it hands us each
 * subscription as a message) and waits until it has both every sync request
 * and every subscription, so no sleep is needed and nothing is lost. It stays
 * compatible with the Guide's syncsub: one subscription and one sync each.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("syncpub", "Synchronized publisher: waits for N subscribers over REQ-REP, then publishes a batch and END.", {
  bind: { type: "string", default: "tcp://*:5561", help: "where the publisher (XPUB) binds" },
  sync: { type: "string", default: "tcp://*:5562", help: "where the REP socket for sync requests binds" },
  subscribers: { type: "number", default: 10, min: 1, help: "how many subscribers to wait for" },
  updates: { type: "number", default: 1_000_000, help: "how many updates to publish" },
});

await main(async () => {
  // Updates go out here. The high-water mark holds the whole batch for
  // a slow subscriber (above it a PUB drops); linger lets it drain at exit.
  const publisher = await ZSocket.xpub(binding(opts.bind), {
    sendHighWaterMark: opts.updates + 1,
    verbosity: "allSubs", // every subscription, not only the first for a prefix
    linger: 10_000,
  });
  // Subscribers say they are there here
  const syncservice = await ZSocket.rep(binding(opts.sync));
  console.log(`listening on ${publisher.endpoints.join(",")} (updates)`);
  console.log(`listening on ${syncservice.endpoints.join(",")} (sync)`);

  console.log("Waiting for subscribers");
  const poller = new ZPoller<ZSocket>(syncservice, publisher);
  let synced = 0;
  let subscriptions = 0;
  while (synced < opts.subscribers || subscriptions < opts.subscribers) {
    const sock = await poller.wait();
    if (sock === null) return; // interrupted (Ctrl-C)
    const [frame] = await sock.receive();
    if (sock === syncservice) {
      // A subscriber is there: answer, so its REQ can go on
      await syncservice.send("");
      console.log(`synchronized subscriber ${++synced} of ${opts.subscribers}`);
    } else if (frame?.[0] === 1) {
      subscriptions++; // 0x01 + prefix: a subscriber's subscription reached us
    }
  }

  // Everyone is there: the batch, then END
  console.log("Broadcasting messages");
  for (let n = 0; n < opts.updates; n++) {
    await publisher.send("Rhubarb");
    if (n % 500 === 499) await yieldToEventLoop(); // let Ctrl-C in
  }
  await publisher.send("END");
  console.log(`Sent ${opts.updates} updates to ${opts.subscribers} subscribers`);
  publisher.close(); // the rest is delivered within the linger time
});
