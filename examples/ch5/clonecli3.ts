/**
 * Clone client, model 3 (Guide chapter 5, "Republishing Updates from
 * Clients"): subscribes, takes a snapshot,
 * applies the newer updates, and every second pushes a random update of
 * its own to the server's collector. kvsimple frames. Over
 * @zkit/kvmsg and @zkit/zloop (`kvsimpleClient` in clone-common.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli3.ts [--connect tcp://localhost:5556] [--interval-ms 1000] [--count 0]
 */
import { main, parseOptions } from "../lib/cli.js";
import { kvsimpleClient } from "./clone-common.js";

const opts = parseOptions("clonecli3", "Clone client, model 3: a snapshot, the updates after it, and updates of its own.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the server's snapshot port P" },
  "interval-ms": { type: "number", default: 1000, min: 1, help: "one update of its own every this many msecs" },
  count: { type: "number", default: 0, help: "stop after this many updates applied (0: until Ctrl-C)" },
});

await main(() => kvsimpleClient({ connect: opts.connect, subtree: undefined, intervalMs: opts["interval-ms"], count: opts.count }));
