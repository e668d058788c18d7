/**
 * Pathological subscriber (Guide chapter 5, "Last Value Caching"):
 * subscribes to one topic, random unless given, and prints each message of
 * it. Against ch5/pathopub.ts directly, a late subscriber waits a long time
 * for its first message; against ch5/lvcache.ts, it gets the topic's last
 * value at once.
 *
 *   node --conditions=@zkit/source --import tsx ch5/pathosub.ts [--connect tcp://localhost:5556] [--topic 042] [--messages 0]
 *
 * Prints `subscribed to <topic>`, then the text of each message; exits
 * after `--messages` messages (0: runs until Ctrl-C). A message of another
 * topic is an error, as the Guide asserts.
 */
import { ZSocket } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";
import { randof } from "../ch3/common.js";

const opts = parseOptions("pathosub", "Pathological subscriber: one topic, each message printed.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the publisher (or the last value cache) to connect to" },
  topic: { type: "string", default: "", help: "the topic to subscribe to (default: a random one, 000 to 999)" },
  messages: { type: "number", default: 0, help: "exit after this many messages (0: run until Ctrl-C)" },
});

await main(async () => {
  const subscription = opts.topic || String(randof(1000)).padStart(3, "0");
  const subscriber = await ZSocket.sub(connecting(opts.connect), subscription);
  console.log(`subscribed to ${subscription}`);
  let received = 0;
  for await (const [topic, data] of subscriber) {
    if (String(topic) !== subscription) throw new Error(`got topic ${JSON.stringify(String(topic))}, subscribed to ${subscription}`);
    console.log(String(data));
    if (++received === opts.messages) break;
  }
});
