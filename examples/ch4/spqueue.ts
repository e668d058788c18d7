/**
 * Simple Pirate queue (Guide chapter 4, "Basic Reliable Queuing"): clients
 * connect to the frontend, REQ workers to the backend; requests go to the
 * least recently used ready worker. Over @zkit/spp.
 *
 *   node --conditions=@zkit/source --import tsx ch4/spqueue.ts [--frontend tcp://*:5555] [--backend tcp://*:5556]
 */
import { SimplePirateQueue } from "@zkit/spp";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("spqueue", "Simple Pirate queue: an LRU queue between Lazy Pirate clients and REQ workers.", {
  frontend: { type: "string", default: "tcp://*:5555", help: "where clients connect (the frontend binds)" },
  backend: { type: "string", default: "tcp://*:5556", help: "where workers connect (the backend binds)" },
});

await main(async () => {
  const queue = new SimplePirateQueue({ frontend: binding(opts.frontend), backend: binding(opts.backend) });
  queue.on("worker-ready", ({ worker }) => console.log(`I: worker ${worker} ready`));
  queue.on("worker-gone", ({ worker, reason, inHand }) => console.log(`W: worker ${worker} gone (${reason})${inHand > 0 ? ": its request goes to the next worker" : ""}`));
  await queue.start();
  console.log(`listening on ${queue.frontendEndpoint} (frontend)`);
  console.log(`listening on ${queue.backendEndpoint} (backend)`);
  await queue.done; // until Ctrl-C
});
