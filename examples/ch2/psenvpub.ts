/**
 * Pub-sub envelope publisher (Guide chapter 2, "Pub-Sub Message Envelopes").
 * Publishes two kinds of message, each of two frames: a key ("A" or "B") and
 * the content. Subscribers filter on the key frame alone.
 *
 *   node --conditions=@zkit/source --import tsx ch2/psenvpub.ts [--bind tcp://*:5563] [--interval-ms 1000]
 *
 * Subscription prefixes match the start of the first frame only, so putting
 * the key in a frame of its own means a subscription never has to look at
 * (or be fooled by) the content.
 */
import { ZSocket, interruptSignal, interrupted, sleep } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("psenvpub", "Pub-sub envelope publisher: [A][...] and [B][...] messages, forever.", {
  bind: { type: "string", default: "tcp://*:5563", help: "where the PUB socket binds" },
  "interval-ms": { type: "number", default: 1000, help: "pause between rounds (one A and one B), in msecs" },
});

await main(async () => {
  const publisher = await ZSocket.pub(binding(opts.bind));
  console.log(`listening on ${publisher.endpoints.join(",")}`);

  let rounds = 0;
  try {
    while (!interrupted()) {
      // Two messages of two frames: [key][content]
      await publisher.send(["A", "We don't want to see this"]);
      await publisher.send(["B", "We would like to see this"]);
      rounds++;
      await sleep(opts["interval-ms"], interruptSignal());
    }
  } finally {
    console.log(`published ${rounds} A and ${rounds} B messages`);
  }
});
