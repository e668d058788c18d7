/**
 * A fast publisher for ch5/hssub.ts (Guide chapter 5, "High-Speed
 * Subscribers (Black Box Pattern)"): waits for a subscriber, then publishes
 * `--messages` messages of `--size` bytes as fast as it can, then `END`.
 * The Guide's example feed: 100-byte market-data-like messages.
 *
 *   node --conditions=@zkit/source --import tsx ch5/hspub.ts [--bind tcp://*:5556] [--messages 1000000] [--size 100] [--topics 16]
 *
 * Each message is one frame: a topic of two digits (`00` to `15`), a space,
 * a sequence number, padded to `--size` bytes. It publishes through an XPUB
 * to see the subscription arrive (no slow-joiner sleep), with a high-water
 * mark that holds the whole run, so nothing is dropped for a subscriber
 * that is slower than the feed: how much slower is what hssub measures.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ZSocket } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("hspub", "High-speed publisher: N messages of M bytes as fast as possible, then END.", {
  bind: { type: "string", default: "tcp://*:5556", help: "where the publisher binds" },
  messages: { type: "number", default: 1_000_000, min: 1, help: "how many messages to publish" },
  size: { type: "number", default: 100, min: 16, help: "bytes per message" },
  topics: { type: "number", default: 16, min: 1, help: "how many topics (00 to N-1)" },
});

await main(async () => {
  const publisher = await ZSocket.xpub(binding(opts.bind), { sendHighWaterMark: opts.messages + 1, linger: 30_000 });
  console.log(`listening on ${publisher.endpoint}`);
  await publisher.receive(); // a subscriber is there
  console.log("subscriber here: publishing");
  const t0 = performance.now();
  for (let n = 0; n < opts.messages; n++) {
    const text = `${String(n % opts.topics).padStart(2, "0")} ${n}`;
    const msg = Buffer.alloc(opts.size, 0x20);
    msg.write(text);
    await publisher.send(msg);
    if (n % 1000 === 999) await yieldToEventLoop(); // let Ctrl-C in
  }
  await publisher.send("END");
  const ms = performance.now() - t0;
  console.log(`published ${opts.messages} messages of ${opts.size} bytes in ${Math.round(ms)} ms (${Math.round((opts.messages / ms) * 1000)} msg/s)`);
  publisher.close(); // the rest is delivered within the linger
});
