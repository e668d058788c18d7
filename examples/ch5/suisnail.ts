/**
 * Suicidal Snail (Guide chapter 5, "Slow Subscriber Detection (Suicidal
 * Snail Pattern)"): a subscriber that notices it has fallen too far behind
 * its publisher, and kills itself loudly instead of silently serving stale
 * data. A publisher thread sends a timestamp about every millisecond; a
 * subscriber thread works 1 to 2 ms on each message, falls behind, and once
 * a message is more than a second old prints
 * `E: subscriber cannot keep up, aborting` and ends. The main thread then
 * stops the publisher and exits. Threads are `zthread.fork` Workers, as
 * the Guide's are pthreads.
 *
 *   node --conditions=@zkit/source --import tsx ch5/suisnail.ts [--bind tcp://127.0.0.1:5556] [--max-delay-ms 1000]
 *     [--work-ms 1] [--jitter-ms 1] [--interval-ms 1] [--duration-ms 0]
 *
 * The timestamps are the publisher's wall clock, which both threads share;
 * across machines the clocks must agree (NTP) for this check to mean
 * anything. `--work-ms 0 --jitter-ms 0 --duration-ms 3000` shows a
 * subscriber that keeps up: it reports that, and the program exits 0 too.
 */
import { zthread } from "@zkit/zthread";
import { binding, main, parseOptions } from "../lib/cli.js";
import type { PublisherArgs } from "./suisnail-publisher.js";
import type { SubscriberArgs } from "./suisnail-subscriber.js";

const opts = parseOptions("suisnail", "Suicidal Snail: a subscriber that detects it is too slow and kills itself.", {
  bind: { type: "string", default: "tcp://127.0.0.1:5556", help: "where the publisher thread binds" },
  "max-delay-ms": { type: "number", default: 1000, min: 1, help: "how late a message may be before the subscriber gives up" },
  "work-ms": { type: "number", default: 1, help: "the subscriber's fixed work per message, in msecs" },
  "jitter-ms": { type: "number", default: 1, help: "random extra work per message, 0 to this many msecs" },
  "interval-ms": { type: "number", default: 1, min: 1, help: "time between two messages of the publisher, in msecs" },
  "duration-ms": { type: "number", default: 0, help: "stop after this long if the subscriber keeps up (0: wait for it to die)" },
});

await main(async () => {
  const publisherArgs: PublisherArgs = { endpoint: binding(opts.bind), intervalMs: opts["interval-ms"] };
  const publisher = await zthread.fork(new URL("./suisnail-publisher.ts", import.meta.url), publisherArgs);
  const [endpoint] = await publisher.pipe.receive();
  console.log(`listening on ${endpoint}`);

  const subscriberArgs: SubscriberArgs = {
    endpoint: String(endpoint),
    maxDelayMs: opts["max-delay-ms"],
    workMs: opts["work-ms"],
    jitterMs: opts["jitter-ms"],
    durationMs: opts["duration-ms"],
  };
  const subscriber = await zthread.fork(new URL("./suisnail-subscriber.ts", import.meta.url), subscriberArgs);
  try {
    const [how] = await subscriber.pipe.receive(); // until the snail croaks (or keeps up)
    console.log(`main: the subscriber ${how}; stopping the publisher`);
    await subscriber.done;
  } finally {
    await Promise.all([publisher.stop(), subscriber.stop()]);
  }
});
