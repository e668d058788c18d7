/**
 * Clone server, model one (Guide chapter 5, "Simplest Clone Model"): a PUB
 * that publishes random key-value updates, each with the next sequence
 * number, in the three-frame kvsimple form. No snapshots yet: a client that
 * joins late misses what came before. Over @zkit/kvmsg.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonesrv1.ts [--port 5556] [--count 0] [--interval-ms 0]
 */
import { ZSocket, interrupted, sleep } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";
import { bindBase, randof } from "./clone-common.js";

const opts = parseOptions("clonesrv1", "Clone server, model one: publishes random updates (kvsimple) on a PUB.", {
  port: { type: "number", default: 5556, help: "the port to publish on (0: a free one)" },
  host: { type: "string", default: "*", help: "the interface to bind" },
  count: { type: "number", default: 0, help: "stop after this many updates (0: until Ctrl-C)" },
  "interval-ms": { type: "number", default: 0, help: "pause between two updates, in msecs (0: a yield only)" },
});

await main(async () => {
  const publisher = new ZSocket("PUB");
  const port = await bindBase(opts.host, opts.port, [publisher]);
  console.log(`listening on tcp://${opts.host === "*" ? "localhost" : opts.host}:${port}`);
  await sleep(200); // the Guide's pause so subscribers can connect
  let sequence = 0;
  while (!interrupted() && (opts.count === 0 || sequence < opts.count)) {
    const msg = new KVMsg({ key: String(randof(10_000)), sequence: ++sequence, body: String(randof(1_000_000)) });
    await msg.sendSimple(publisher);
    if (opts["interval-ms"] > 0) await sleep(opts["interval-ms"]).catch(() => {});
    else if (sequence % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  console.log(`${interrupted() ? "Interrupted\n" : ""}${sequence} messages out`);
  publisher.close();
});
