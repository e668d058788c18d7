/**
 * kvmsg (Guide chapter 5, "Working with Subtrees" onwards): the key-value
 * message of the later Clone models, five frames with a uuid and
 * properties. Like the Guide's `kvmsg_test`, it sends a message with a
 * uuid, properties and a ttl over a pair of inproc DEALER sockets, reads it
 * back, stores it into a map and prints what arrived. Over @zkit/kvmsg.
 *
 *   node --conditions=@zkit/source --import tsx ch5/kvmsg.ts
 */
import { ZSocket } from "@zkit/core";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";

parseOptions("kvmsg", "kvmsg self-test: a five-frame key-value message out and back over inproc.", {});

await main(async () => {
  const output = await ZSocket.dealer(`@inproc://kvmsg-${process.pid}`);
  const input = await ZSocket.dealer(`>inproc://kvmsg-${process.pid}`);

  const msg = new KVMsg({ key: "key", sequence: 1, body: "body" });
  msg.setUuid();
  msg.setProp("prop1", "value1").setProp("prop2", "value1");
  msg.setProp("prop2", "value2"); // replaces, in place
  msg.ttl = 30; // a Clone server deletes the key 30 s after it stores it
  await msg.send(output);

  const copy = await KVMsg.recv(input);
  const map = new Map<string, KVMsg>();
  copy.store(map);
  console.log(`sent     ${msg.dump()}`);
  console.log(`received ${copy.dump()}`);
  console.log(`equal: ${copy.equals(msg)}; prop2=${copy.getProp("prop2")}; ttl=${copy.ttl}; map holds ${map.size} key(s)`);

  // an empty body deletes the key
  await new KVMsg({ key: "key", sequence: 2 }).send(output);
  (await KVMsg.recv(input)).store(map);
  console.log(`after a delete the map holds ${map.size} key(s)`);
  output.close();
  input.close();
});
