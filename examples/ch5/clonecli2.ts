/**
 * Clone client, model two (Guide chapter 5, "Getting an Out-of-Band
 * Snapshot"): subscribes first, then asks the server for a snapshot, then
 * applies only the updates newer than the snapshot: no update is missed or
 * applied twice. Over @zkit/kvmsg.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli2.ts [--connect tcp://localhost:5556] [--count 0]
 */
import { ZSocket } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";
import { kvsimpleSnapshot } from "./clone-common.js";

const opts = parseOptions("clonecli2", "Clone client, model two: a snapshot, then the updates after it.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the server's snapshot port P (updates come from P + 1)" },
  count: { type: "number", default: 0, help: "stop after this many updates (0: until Ctrl-C)" },
});

await main(async () => {
  const [host, port] = [opts.connect.slice(0, opts.connect.lastIndexOf(":")), Number(opts.connect.slice(opts.connect.lastIndexOf(":") + 1))];
  // subscribe first, so nothing published from now on is missed
  const subscriber = await ZSocket.sub(`>${host}:${port + 1}`, "");
  const kvmap = new Map<string, KVMsg>();
  let sequence = await kvsimpleSnapshot(opts.connect, undefined, kvmap);
  console.log(`I: ${kvmap.size} keys in the snapshot`);
  let applied = 0;
  let skipped = 0;
  let gaps = 0;
  try {
    while (opts.count === 0 || applied < opts.count) {
      const msg = await KVMsg.recvSimple(subscriber);
      if (msg.sequence <= sequence) {
        skipped++; // already in the snapshot
        continue;
      }
      if (msg.sequence !== sequence + 1) gaps++;
      sequence = msg.sequence;
      msg.store(kvmap);
      applied++;
    }
  } finally {
    console.log(`${applied} updates applied after the snapshot, ${skipped} older ones skipped, ${gaps} gaps; last sequence ${sequence}`);
  }
});
