/**
 * Paranoid Pirate queue (Guide chapter 4, "Robust Reliable Queuing";
 * 6/PPP): the Simple Pirate queue plus heartbeats both ways and expiry of
 * workers that fall silent, idle or busy. Over @zkit/ppp.
 *
 *   node --conditions=@zkit/source --import tsx ch4/ppqueue.ts [--frontend tcp://*:5555] [--backend tcp://*:5556]
 *     [--heartbeat-ms 1000] [--liveness 3]
 */
import { ParanoidPirateQueue } from "@zkit/ppp";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("ppqueue", "Paranoid Pirate queue: LRU queue with heartbeats and worker expiry (6/PPP).", {
  frontend: { type: "string", default: "tcp://*:5555", help: "where clients connect (the frontend binds)" },
  backend: { type: "string", default: "tcp://*:5556", help: "where workers connect (the backend binds)" },
  "heartbeat-ms": { type: "number", default: 1000, min: 1, help: "heartbeat interval, in msecs (the workers' too)" },
  liveness: { type: "number", default: 3, min: 1, help: "heartbeat intervals a worker may stay silent" },
});

await main(async () => {
  const queue = new ParanoidPirateQueue({
    frontend: binding(opts.frontend),
    backend: binding(opts.backend),
    heartbeatIntervalMs: opts["heartbeat-ms"],
    liveness: opts.liveness,
  });
  queue.on("worker-ready", ({ worker }) => console.log(`I: worker ${worker} ready`));
  queue.on("worker-gone", ({ worker, reason, inHand }) => console.log(`W: worker ${worker} gone (${reason})${inHand > 0 ? ": its request goes to the next worker" : ""}`));
  await queue.start();
  console.log(`listening on ${queue.frontendEndpoint} (frontend)`);
  console.log(`listening on ${queue.backendEndpoint} (backend)`);
  await queue.done; // until Ctrl-C
});
