/**
 * Pathological publisher (Guide chapter 5, "Last Value Caching"): sends one
 * message on each of 1000 topics (`000` to `999`, "Save Roger"), then one
 * random topic per second ("Off with his head!"). A subscriber that joins
 * after the first burst waits on average 1000 seconds for news of its
 * topic: the slow-joiner problem that ch5/lvcache.ts solves.
 *
 *   node --conditions=@zkit/source --import tsx ch5/pathopub.ts [--endpoint @tcp://*:5556] [--topics 1000]
 *     [--interval-ms 1000] [--settle-ms 1000] [--wait-for-subscriber]
 *
 * Each message is two frames, `[topic][text]`. `--endpoint` is a CZMQ
 * endpoint: `@` binds (subscribers connect here), `>` connects (to feed
 * ch5/lvcache.ts: `--endpoint '>tcp://localhost:5557'`). Before the burst
 * it sleeps `--settle-ms`, as the Guide does, so that subscribers have time
 * to connect; with `--wait-for-subscriber` it waits instead until a first
 * subscription has reached it (it publishes through an XPUB, which shows
 * subscriptions), which is how a cache in front of it gets every topic.
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { main, parseOptions } from "../lib/cli.js";
import { randof } from "../ch3/common.js";

const opts = parseOptions("pathopub", "Pathological publisher: one message per topic, then one random topic per interval.", {
  endpoint: { type: "string", default: "@tcp://*:5556", help: "CZMQ endpoint: @ binds for subscribers, > connects (e.g. to lvcache)" },
  topics: { type: "number", default: 1000, min: 1, help: "how many topics (000 to N-1)" },
  "interval-ms": { type: "number", default: 1000, min: 1, help: "time between two random updates, in msecs" },
  "settle-ms": { type: "number", default: 1000, help: "how long to wait before the first burst, for subscribers to connect" },
  "wait-for-subscriber": { type: "boolean", help: "wait for a first subscription instead of --settle-ms" },
});

const topic = (n: number): string => String(n).padStart(3, "0");

await main(async () => {
  // An XPUB is a PUB that also hands us the subscriptions it gets
  const publisher = await ZSocket.xpub(opts.endpoint);
  const bound = opts.endpoint.startsWith("@");
  console.log(bound ? `listening on ${publisher.endpoint}` : `connected to ${publisher.endpoint}`);

  if (opts["wait-for-subscriber"]) {
    const [subscription] = await publisher.receive();
    console.log(`subscriber here: ${subscription![0] === 1 ? "subscribe" : "message"} ${JSON.stringify(subscription!.subarray(1).toString())}`);
  } else {
    await sleep(opts["settle-ms"], interruptSignal()); // the Guide's way: give subscribers time to connect
  }

  // One message on every topic
  for (let n = 0; n < opts.topics; n++) await publisher.send([topic(n), "Save Roger"]);
  console.log(`sent ${opts.topics} topics`);

  // Then one random update per interval, until Ctrl-C
  let updates = 0;
  try {
    for (;;) {
      await sleep(opts["interval-ms"], interruptSignal());
      const t = topic(randof(opts.topics));
      await publisher.send([t, "Off with his head!"]);
      updates++;
    }
  } finally {
    console.log(`sent ${updates} updates`);
  }
});
