/**
 * Clone server, model 4 (Guide chapter 5, "Working with Subtrees"): clients push their updates to a PULL collector on
 * P + 2; the server gives each the next sequence, stores it and publishes
 * it on P + 1; `ICANHAZ?` on the ROUTER at P gets the map of the subtree
 * asked for (its keys start with it), then `KTHXBAI`. kvsimple frames. Over
 * @zkit/kvmsg and @zkit/zloop (`kvsimpleServer` in clone-common.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonesrv4.ts [--port 5556] [--verbose]
 */
import { main, parseOptions } from "../lib/cli.js";
import { kvsimpleServer } from "./clone-common.js";

const opts = parseOptions("clonesrv4", "Clone server, model 4: republishes client updates with a sequence, snapshots by subtree.", {
  port: { type: "number", default: 5556, help: "the snapshot port P; updates go out on P + 1, come in on P + 2 (0: free ones)" },
  host: { type: "string", default: "*", help: "the interface to bind" },
  verbose: { type: "boolean", help: "print every update" },
});

await main(() => kvsimpleServer({ host: opts.host, port: opts.port, subtrees: true, verbose: opts.verbose }));
