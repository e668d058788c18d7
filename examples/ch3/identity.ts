/**
 * Identity check (Guide chapter 3, "Identities and Addresses").
 * A ROUTER socket gets one message from each of two REQ sockets and dumps
 * it as the ROUTER sees it: the sender's identity, the empty delimiter the
 * REQ added, the body. The first REQ sets no identity, so the ROUTER makes
 * up a 5-byte one (a zero byte and a 32-bit counter, shown in hex); the
 * second sets its routing id, and the ROUTER uses that.
 *
 *   node --conditions=@zkit/source --import tsx ch3/identity.ts [--id PEER2]
 */
import { ZSocket } from "@zkit/core";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("identity", "Identity check: dumps what a ROUTER receives from an anonymous REQ and from one with a routing id.", {
  id: { type: "string", default: "PEER2", help: "the routing id the second REQ sets (1 to 255 bytes)" },
});
// libzmq takes 1 to 255 bytes, not starting with a zero byte (those are its own).
const idBytes = Buffer.byteLength(opts.id);
if (idBytes < 1 || idBytes > 255) {
  process.stderr.write(`identity: --id must be 1 to 255 bytes, got ${idBytes}\n`);
  process.exit(2);
}

/** Prints a message the way the Guide's s_dump does: a rule, then one line per frame. */
function dump(msg: ZMsg): void {
  console.log("-".repeat(40));
  console.log(msg.dump());
}

await main(async () => {
  // inproc: all three sockets live in this one process.
  const endpoint = `inproc://example-${process.pid}`;
  const sink = await ZSocket.router(`@${endpoint}`);

  // First allow ZeroMQ to set the identity
  const anonymous = await ZSocket.req(`>${endpoint}`);
  await anonymous.send("ROUTER uses a generated 5 byte identity");
  dump(await ZMsg.recv(sink));

  // Then set the identity ourselves (before connecting: it is sent when the
  // connection is made)
  const identified = await ZSocket.req(`>${endpoint}`, { routingId: opts.id });
  await identified.send("ROUTER socket uses REQ's socket identity");
  dump(await ZMsg.recv(sink));

  anonymous.close();
  identified.close();
  sink.close();
});
