/**
 * Clone server, model two (Guide chapter 5, "Getting an Out-of-Band
 * Snapshot"): publishes random updates like model one, keeps them in a map,
 * and answers a client's `ICANHAZ?` on a ROUTER with the whole map (one
 * kvsimple message per key) and `KTHXBAI` with the sequence of that moment.
 * The Guide keeps the map in a second thread fed through a pipe; here one
 * ZLoop does both, so the snapshot and the sequence always agree. Over
 * @zkit/kvmsg and @zkit/zloop.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonesrv2.ts [--port 5556] [--interval-ms 1] [--keys 10000]
 */
import { ZSocket } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { ZLoop } from "@zkit/zloop";
import { main, parseOptions } from "../lib/cli.js";
import { bindBase, randof } from "./clone-common.js";

const opts = parseOptions("clonesrv2", "Clone server, model two: random updates on P + 1, snapshots on P.", {
  port: { type: "number", default: 5556, help: "the snapshot port P; updates go out on P + 1 (0: free ones)" },
  host: { type: "string", default: "*", help: "the interface to bind" },
  "interval-ms": { type: "number", default: 1, min: 1, help: "one update every this many msecs" },
  keys: { type: "number", default: 10_000, min: 1, help: "keys are random from 0 to this - 1" },
});

await main(async () => {
  const snapshot = new ZSocket("ROUTER");
  const publisher = new ZSocket("PUB");
  const port = await bindBase(opts.host, opts.port, [snapshot, publisher]);
  console.log(`listening on tcp://${opts.host === "*" ? "localhost" : opts.host}:${port}`);
  const kvmap = new Map<string, KVMsg>();
  let sequence = 0;
  const loop = new ZLoop();
  loop.timer(opts["interval-ms"], 0, () => {
    const msg = new KVMsg({ key: String(randof(opts.keys)), sequence: ++sequence, body: String(randof(1_000_000)) });
    void msg.sendSimple(publisher);
    msg.store(kvmap);
  });
  loop.reader(snapshot, async ([identity, request]) => {
    if (request?.toString() !== "ICANHAZ?") {
      console.log("E: bad request, aborting");
      return;
    }
    for (const msg of kvmap.values()) await snapshot.send([identity!, ...msg.encodeSimple()]);
    console.log(`I: sending shapshot=${sequence}`);
    await snapshot.send([identity!, ...new KVMsg({ key: "KTHXBAI", sequence }).encodeSimple()]);
  });
  await loop.start();
  console.log(`Interrupted\n${sequence} messages handled`);
});
