/**
 * Clone client, model one (Guide chapter 5, "Simplest Clone Model"): a SUB
 * that stores every kvsimple update into its map. It has no way to get the
 * updates that came before it joined. Over @zkit/kvmsg.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli1.ts [--connect tcp://localhost:5556] [--count 0]
 */
import { ZSocket } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("clonecli1", "Clone client, model one: stores the updates a PUB sends.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the server's PUB" },
  count: { type: "number", default: 0, help: "stop after this many updates (0: until Ctrl-C)" },
});

await main(async () => {
  const updates = await ZSocket.sub(`>${opts.connect}`, "");
  const kvmap = new Map<string, KVMsg>();
  let sequence = 0;
  let received = 0;
  try {
    while (opts.count === 0 || received < opts.count) {
      const msg = await KVMsg.recvSimple(updates);
      msg.store(kvmap);
      sequence = msg.sequence;
      received++;
    }
  } finally {
    console.log(`${received} messages in (last sequence ${sequence}, ${kvmap.size} keys)`);
  }
});
