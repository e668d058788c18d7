/**
 * Pub-sub envelope subscriber (Guide chapter 2, "Pub-Sub Message Envelopes").
 * Subscribes to the messages whose key frame is "B" (ch2/psenvpub.ts) and
 * prints each as "[key] content".
 *
 *   node --conditions=@zkit/source --import tsx ch2/psenvsub.ts [--connect tcp://localhost:5563] [--envelope B] [--messages 0]
 */
import { ZSocket } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("psenvsub", "Pub-sub envelope subscriber: prints the messages whose key frame starts with the envelope.", {
  connect: { type: "string", default: "tcp://localhost:5563", help: "the publisher to connect to" },
  envelope: { type: "string", default: "B", help: "the key (first frame prefix) to subscribe to" },
  messages: { type: "number", default: 0, help: "exit after this many messages (0: run until Ctrl-C)" },
});

await main(async () => {
  // The subscription matches the first frame, the key
  const subscriber = await ZSocket.sub(connecting(opts.connect), opts.envelope, { linger: 0 });
  console.log(`ready: envelope '${opts.envelope}' from ${opts.connect}`);

  let count = 0;
  for await (const [address, contents] of subscriber) {
    // Both frames come together: a multipart message is all or nothing
    console.log(`[${address}] ${contents}`);
    if (++count === opts.messages) break;
  }
  subscriber.close();
});
