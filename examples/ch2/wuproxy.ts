/**
 * Weather update proxy (Guide chapter 2, "Transport Bridging"). Sits between
 * the weather server (ch1/wuserver.ts) and subscribers on another network:
 * an XSUB connects to the server, an XPUB binds for the subscribers, and a
 * ZLoop forwards updates downstream and subscriptions upstream.
 *
 *   node --conditions=@zkit/source --import tsx ch2/wuproxy.ts [--frontend tcp://localhost:5556] [--backend tcp://*:8100]
 *
 * Subscribers connect to the proxy (e.g. ch1/wuclient.ts --connect
 * tcp://localhost:8100) as if it were the server. XSUB and XPUB are PUB and
 * SUB that expose subscriptions as messages (a 0x01 byte and the prefix to
 * subscribe, 0x00 to unsubscribe). Forwarding them upstream is what makes
 * the proxy transparent: the server's PUB filters for the proxy exactly as
 * it would for the subscribers themselves. The proxy prints each one.
 */
import { ZSocket } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { binding, connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("wuproxy", "Weather update proxy: XSUB from the weather server, XPUB for subscribers, subscriptions forwarded upstream.", {
  frontend: { type: "string", default: "tcp://localhost:5556", help: "the weather server to connect to (where it sits)" },
  backend: { type: "string", default: "tcp://*:8100", help: "where the XPUB for subscribers binds (our public endpoint)" },
});

/** A subscription message as text: `subscribe "10001 "`. */
function describeSubscription(frame: Buffer): string {
  const verb = frame[0] === 1 ? "subscribe" : frame[0] === 0 ? "unsubscribe" : `message 0x${frame.subarray(0, 1).toString("hex")}`;
  return `${verb} ${JSON.stringify(frame.subarray(1).toString())}`;
}

await main(async () => {
  // Upstream: the weather server, which binds
  const frontend = await ZSocket.xsub(connecting(opts.frontend));
  // Downstream: where subscribers connect, as they would to the server
  const backend = await ZSocket.xpub(binding(opts.backend));
  console.log(`listening on ${backend.endpoints.join(",")}`);
  console.log(`forwarding from ${opts.frontend}`);

  let updates = 0;
  // Updates down, subscriptions up, until Ctrl-C
  const loop = new ZLoop();
  loop.reader(frontend, async (msg) => {
    await backend.send(msg); // an update, downstream
    updates++;
  });
  loop.reader(backend, (msg) => {
    console.log(describeSubscription(msg[0]!)); // a subscription, upstream
    return frontend.send(msg);
  });
  try {
    await loop.start();
  } finally {
    console.log(`forwarded ${updates} updates`);
  }
});
