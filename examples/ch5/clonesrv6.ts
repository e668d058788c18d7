/**
 * Clone server, model six (Guide chapter 5, "Adding the Binary Star Pattern
 * for Reliability"): two clonesrv5 servers made a Binary Star pair with
 * @zkit/bstar. The primary serves; the backup follows it and keeps the
 * updates clients send it (they send every update to both) until it sees
 * the primary publish them; when the primary dies and clients ask the
 * backup for a snapshot, the backup takes over and publishes what it still
 * holds, so no update is lost. This is `CloneServer` of @zkit/clone with
 * its `bstar` option; the Guide's ports by default (the primary on 5556
 * with its state on 5003, the backup on 5566 with 5004).
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonesrv6.ts -p | -b
 *     [--port 5556] [--peer localhost:5566] [--local tcp://*:5003] [--remote tcp://localhost:5004] [--verbose]
 */
import { CLONE_PORT, CloneServer } from "@zkit/clone";
import { main, parseOptions } from "../lib/cli.js";
import { roleArgs } from "../ch4/bstar-common.js";

const { role, argv } = roleArgs("clonesrv6");
const guide =
  role === "primary"
    ? { port: CLONE_PORT, peer: `localhost:${CLONE_PORT + 10}`, local: "tcp://*:5003", remote: "tcp://localhost:5004" }
    : { port: CLONE_PORT + 10, peer: `localhost:${CLONE_PORT}`, local: "tcp://*:5004", remote: "tcp://localhost:5003" };
const opts = parseOptions(
  "clonesrv6",
  "Clone server, model six (-p primary or -b backup): a Binary Star pair of Clone servers (CloneServer with bstar).",
  {
    primary: { type: "boolean", help: "primary server (-p)" },
    backup: { type: "boolean", help: "backup server (-b)" },
    port: { type: "number", default: guide.port, help: "the snapshot port P; updates go out on P + 1, come in on P + 2" },
    host: { type: "string", default: "*", help: "the interface to bind" },
    peer: { type: "string", default: guide.peer, help: "the other server of the pair, HOST:PORT (its P)" },
    local: { type: "string", default: guide.local, help: "where this server publishes its Binary Star state (binds)" },
    remote: { type: "string", default: guide.remote, help: "the peer's Binary Star state (connects)" },
    "heartbeat-ms": { type: "number", default: 1000, min: 1, help: "Binary Star heartbeat, in msecs; the peer is dead after 2" },
    verbose: { type: "boolean", help: "print every update" },
  },
  argv,
);

await main(async () => {
  const server = new CloneServer({
    port: opts.port,
    host: opts.host,
    bstar: { role, local: opts.local, remote: opts.remote, peer: `tcp://${opts.peer}`, heartbeatIntervalMs: opts["heartbeat-ms"] },
  });
  server.on("active", ({ reason, republished }) => console.log(`I: ${reason === "failover" ? "failover successful, " : ""}ready active (${republished} pending updates published)`));
  server.on("passive", () => console.log("I: ready passive"));
  server.on("resynced", ({ sequence, keys }) => console.log(`I: received snapshot=${sequence} (${keys} keys)`));
  if (opts.verbose) server.on("update", ({ key, sequence }) => console.log(`I: publishing update=${sequence} ${key}`));
  await server.start();
  console.log(`listening on tcp://${opts.host === "*" ? "localhost" : opts.host}:${server.port}`);
  console.log(role === "primary" ? "I: primary, waiting for backup" : "I: backup, waiting for primary");
  await server.done;
  console.log(`Interrupted\n${server.stats.updates} updates, ${server.stats.republished} published from the pending list`);
});
