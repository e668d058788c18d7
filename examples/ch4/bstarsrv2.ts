/**
 * Binary Star server on the reactor (Guide chapter 4, "Binary Star Reactor"):
 * the Guide's bstarsrv2, an echo service on `BinaryStar` from @zkit/bstar,
 * which owns the state sockets and the voter and calls the handler only
 * while this server is active.
 *
 *   node --conditions=@zkit/source --import tsx ch4/bstarsrv2.ts -p | -b
 *     [--frontend tcp://*:5001] [--local tcp://*:5003] [--remote tcp://localhost:5004] [--heartbeat-ms 1000]
 */
import { BinaryStar } from "@zkit/bstar";
import { main, parseOptions } from "../lib/cli.js";
import { describeTransition, guideEndpoints, roleArgs } from "./bstar-common.js";

const { role, argv } = roleArgs("bstarsrv2");
const ep = guideEndpoints(role);
const opts = parseOptions(
  "bstarsrv2",
  "Binary Star server (-p primary or -b backup): an echo service on the BinaryStar reactor.",
  {
    primary: { type: "boolean", help: "primary server (-p)" },
    backup: { type: "boolean", help: "backup server (-b)" },
    frontend: { type: "string", default: ep.frontend, help: "where clients connect (binds)" },
    local: { type: "string", default: ep.local, help: "where this server publishes its state (binds)" },
    remote: { type: "string", default: ep.remote, help: "the peer's state publisher (connects)" },
    "heartbeat-ms": { type: "number", default: 1000, min: 1, help: "how often the state is published, in msecs; the peer is dead after 2" },
  },
  argv,
);

await main(async () => {
  const server = new BinaryStar({
    role,
    voter: opts.frontend,
    local: opts.local,
    remote: opts.remote,
    heartbeatIntervalMs: opts["heartbeat-ms"],
    handler: (request) => request, // we're just an echo server
  });
  server.on("active", (info) => console.log(describeTransition({ ...info, to: "active" })));
  server.on("passive", (info) => console.log(describeTransition({ ...info, to: "passive" })));
  server.on("split-brain", ({ kind, decision }) => console.log(`E: split brain (${kind}): ${decision}`));
  await server.start();
  console.log(`listening on ${server.voterEndpoint} (frontend)`);
  console.log(role === "primary" ? "I: Primary active, waiting for backup (passive)" : "I: Backup passive, waiting for primary (active)");
  await server.done; // until Ctrl-C
  console.log("W: interrupted");
});
