/**
 * kvsimple (Guide chapter 5, "Centralized Versus Decentralized" and the
 * first Clone model): the three-frame key-value message `[key][sequence][body]`
 * of the Guide's `kvsimple` class. Like its self-test, it sends a message
 * over a pair of inproc DEALER sockets, reads it back and stores it into a
 * map. The Clone models 1 to 3 (`clonesrv1-3`, `clonecli1-3`) speak this
 * form; from model 4 on, the five-frame kvmsg (`ch5/kvmsg.ts`). Over
 * @zkit/kvmsg.
 *
 *   node --conditions=@zkit/source --import tsx ch5/kvsimple.ts
 */
import { ZSocket } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";

parseOptions("kvsimple", "kvsimple self-test: a three-frame key-value message out and back over inproc.", {});

await main(async () => {
  const output = await ZSocket.dealer(`@inproc://kvsimple-${process.pid}`);
  const input = await ZSocket.dealer(`>inproc://kvsimple-${process.pid}`);

  const msg = new KVMsg({ key: "key", sequence: 1, body: "body" });
  await msg.sendSimple(output);
  const frames = await input.receive();
  console.log(`frames: ${frames.length} (${frames.map((f) => f.toString("hex") || '""').join(" ")})`);
  const copy = KVMsg.decodeSimple(frames);
  if (!(copy instanceof KVMsg)) throw copy;
  const map = new Map<string, KVMsg>();
  copy.store(map);
  console.log(`received ${copy.dump()}`);
  console.log(`equal: ${copy.key === msg.key && copy.sequence === msg.sequence && copy.body.equals(msg.body)}; map holds ${map.size} key(s)`);
  output.close();
  input.close();
});
