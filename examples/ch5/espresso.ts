/**
 * Espresso pattern (Guide chapter 5, "Pub-Sub Tracing (Espresso Pattern)"):
 * tracing a pub-sub network with a proxy that copies every message to a
 * listener. A publisher sends random updates `A-12345` ... `J-99999`, a
 * subscriber asks for A and B and stops after a few, and between them a
 * ZProxy (XSUB frontend, XPUB backend) passes updates down and
 * subscriptions up, with a capture socket whose listener prints every
 * message as CZMQ's `zframe_print` does. Over @zkit/socket-tools.
 *
 *   node --conditions=@zkit/source --import tsx ch5/espresso.ts [--publish tcp://*:6000] [--subscribe tcp://*:6001]
 *     [--interval-ms 100] [--count 5]
 *
 * What the listener shows: the subscriptions on their way up (`[002] 0141`:
 * the byte 0x01 "subscribe" and "A"), then only A and B updates, because
 * the proxy forwarded the subscriptions to the publisher and the publisher
 * filters. When the subscriber leaves, its unsubscriptions (`[002] 0041`)
 * go up too, and the updates stop. Runs until Ctrl-C.
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { ZProxy } from "@zkit/socket-tools";
import { ZFrame } from "@zkit/zmsg";
import { binding, main, parseOptions } from "../lib/cli.js";
import { connectable, randof } from "../ch3/common.js";

const opts = parseOptions("espresso", "Espresso pattern: a publisher, a subscriber, and a tracing proxy between them.", {
  publish: { type: "string", default: "tcp://*:6000", help: "where the publisher binds (the proxy's XSUB connects to it)" },
  subscribe: { type: "string", default: "tcp://*:6001", help: "where the proxy's XPUB binds for subscribers" },
  "interval-ms": { type: "number", default: 100, min: 1, help: "time between two updates of the publisher, in msecs" },
  count: { type: "number", default: 5, min: 1, help: "how many updates the subscriber reads before it leaves" },
});

const CAPTURE = `inproc://espresso-capture-${process.pid}`;

await main(async () => {
  // The publisher: random updates on topics A to J
  const publisher = await ZSocket.pub(binding(opts.publish));
  console.log(`listening on ${publisher.endpoint} (publisher)`);

  // The listener: every message through the proxy, frame by frame
  const listener = await ZSocket.pull(`@${CAPTURE}`);

  // The proxy: XSUB to the publisher, XPUB for subscribers, a copy of each message to the listener
  const proxy = new ZProxy({
    frontend: { type: "XSUB", endpoints: `>${connectable(publisher.endpoint)}` },
    backend: { type: "XPUB", endpoints: binding(opts.subscribe) },
    capture: `>${CAPTURE}`,
  });
  await proxy.start();
  console.log(`listening on ${proxy.backendEndpoint} (subscribers)`);

  const listening = (async () => {
    for await (const message of listener) for (const frame of message) console.log(new ZFrame(frame).dump());
  })();

  const publishing = (async () => {
    try {
      while (!publisher.closed) {
        await publisher.send(`${String.fromCharCode(65 + randof(10))}-${String(randof(100_000)).padStart(5, "0")}`);
        await sleep(opts["interval-ms"], interruptSignal());
      }
    } catch {
      // the socket closed under a send: Ctrl-C
    }
  })();

  // The subscriber: A and B, a few updates, then it leaves
  const subscriber = await ZSocket.sub(`>${connectable(proxy.backendEndpoint)}`, ["A", "B"]);
  for (let n = 1; n <= opts.count; n++) {
    const [update] = await subscriber.receive();
    console.log(`subscriber: ${update} (${n} of ${opts.count})`);
  }
  subscriber.close();
  console.log("subscriber: done");

  try {
    await proxy.done; // until Ctrl-C
  } finally {
    const { frontendToBackend, backendToFrontend, captured } = proxy.stats;
    console.log(`proxy: ${frontendToBackend} updates down, ${backendToFrontend} (un)subscriptions up, ${captured} copies to the listener`);
    await proxy.close();
    listener.close();
    publisher.close();
    await Promise.allSettled([listening, publishing]);
  }
});
