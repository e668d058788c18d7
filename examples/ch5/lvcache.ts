/**
 * Last Value Cache (Guide chapter 5, "Last Value Caching"): a proxy between
 * a publisher (ch5/pathopub.ts) and its subscribers (ch5/pathosub.ts) that
 * keeps the last message of every topic and gives it to a new subscriber
 * of that topic at once, so a late joiner does not wait for the next
 * update.
 *
 *   node --conditions=@zkit/source --import tsx ch5/lvcache.ts [--frontend tcp://*:5557] [--backend tcp://*:5558]
 *
 * Then `ch5/pathopub.ts --endpoint '>tcp://localhost:5557' --wait-for-subscriber`
 * and any number of `ch5/pathosub.ts --connect tcp://localhost:5558`.
 *
 * Only the new subscriber gets the cached value. The Guide's lvcache sends
 * it on its XPUB, which delivers it to every subscriber of the topic: with
 * the XPUB's default options the second subscriber of a topic is not even
 * reported (an XPUB passes on unique subscriptions only), and with verbose
 * ones every old subscriber gets the value again. This one uses libzmq's
 * manual XPUB mode:
 *
 * - `manual`: a subscription is only reported; the XPUB applies it when we
 *   call `subscribe(topic)`, for the peer that sent it (the last one read).
 * - `manualLastValue` (`ZMQ_XPUB_MANUAL_LAST_VALUE`): the next message sent
 *   goes only to that peer. So on a subscription with a cached value:
 *   turn it on, `subscribe(topic)`, send the cached value (to the new
 *   subscriber alone), turn it off (which clears `manual` too, in libzmq)
 *   and set `manual` again. Without a cached value: just `subscribe`.
 *   Turning it on only around that one send matters: left on, whatever is
 *   sent next would go to the last subscriber only, and every other
 *   subscriber would miss it.
 *
 * Everything is done in one sequence (a ZPoller), so no update from the
 * publisher can be sent between the `subscribe` and the cached send.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("lvcache", "Last Value Cache: gives each new subscriber the last value of its topic, and only to it.", {
  frontend: { type: "string", default: "tcp://*:5557", help: "where the publisher connects (a SUB binds here)" },
  backend: { type: "string", default: "tcp://*:5558", help: "where subscribers connect (an XPUB binds here)" },
});

await main(async () => {
  // The publisher feeds us here; we take every topic
  const frontend = await ZSocket.sub(binding(opts.frontend), "");
  // Subscribers connect here; we apply their subscriptions ourselves
  const backend = await ZSocket.xpub(binding(opts.backend), { manual: true });
  console.log(`listening on ${frontend.endpoint} (publisher)`);
  console.log(`listening on ${backend.endpoint} (subscribers)`);

  const cache = new Map<string, Buffer[]>();
  const poller = new ZPoller<ZSocket>(frontend, backend);
  let updates = 0;
  try {
    for (;;) {
      const sock = await poller.wait();
      if (sock === null) return; // Ctrl-C
      const msg = await sock.receive();
      if (sock === frontend) {
        // An update: remember it, pass it on
        cache.set(String(msg[0]), msg);
        await backend.send(msg);
        updates++;
        continue;
      }
      // A subscription (0x01 + topic) or an unsubscription (0x00 + topic)
      const [event] = msg;
      if (event === undefined || event.length === 0 || event[0]! > 1) continue; // not for us
      const topic = event.subarray(1);
      if (event[0] === 0) {
        backend.unsubscribe(topic);
        continue;
      }
      const cached = cache.get(topic.toString());
      if (cached === undefined) {
        backend.subscribe(topic);
        continue;
      }
      console.log(`Sending cached topic ${topic}`);
      backend.set("manualLastValue", true); // the next send goes to this subscriber only
      backend.subscribe(topic);
      await backend.send(cached);
      backend.set("manualLastValue", false); // libzmq: this clears manual too...
      backend.set("manual", true); // ...so set it again
    }
  } finally {
    console.log(`forwarded ${updates} updates; ${cache.size} topics cached`);
  }
});
