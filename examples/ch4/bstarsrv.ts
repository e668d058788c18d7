/**
 * Binary Star server, written by hand (Guide chapter 4, "High-Availability
 * Pair"): the first of the Guide's two servers, with its own sockets and
 * poll loop around the state machine. The machine is @zkit/bstar's
 * `BinaryStarMachine`, the one `BinaryStar` (bstarsrv2) runs too, so this
 * server has the fixes the Guide's hand-written one lacks: a primary waits
 * out the peer expiry before it serves, and dual active or dual passive is
 * resolved instead of ending the process.
 *
 *   node --conditions=@zkit/source --import tsx ch4/bstarsrv.ts -p | -b
 *     [--frontend tcp://*:5001] [--local tcp://*:5003] [--remote tcp://localhost:5004] [--heartbeat-ms 1000]
 */
import { ZSocket, now } from "@zkit/core";
import { BinaryStarMachine, decodeState, encodeState, type Transition } from "@zkit/bstar";
import { ZLoop } from "@zkit/zloop";
import { binding, connecting, main, parseOptions } from "../lib/cli.js";
import { describeTransition, guideEndpoints, roleArgs } from "./bstar-common.js";

const { role, argv } = roleArgs("bstarsrv");
const ep = guideEndpoints(role);
const opts = parseOptions(
  "bstarsrv",
  "Binary Star server (-p primary or -b backup): an echo service, hand-written around @zkit/bstar's state machine.",
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
  const statepub = await ZSocket.pub(binding(opts.local));
  const statesub = await ZSocket.sub(connecting(opts.remote), "");
  const frontend = await ZSocket.router(binding(opts.frontend));
  console.log(`listening on ${frontend.endpoint} (frontend)`);
  console.log(role === "primary" ? "I: Primary active, waiting for backup (passive)" : "I: Backup passive, waiting for primary (active)");

  const fsm = new BinaryStarMachine({ role, heartbeatIntervalMs: opts["heartbeat-ms"] }, now());
  const report = (t: Transition | undefined): void => {
    if (t !== undefined) console.log(describeTransition(t));
  };
  const loop = new ZLoop();
  loop.reader(frontend, async (msg) => {
    // a client request is an event too: served (echoed) only when the machine says so
    const outcome = fsm.vote(now());
    report(outcome.transition);
    if (outcome.accepted) await frontend.send(msg);
  });
  loop.reader(statesub, (msg) => {
    // the peer's state, as an event
    const decoded = decodeState(msg);
    if (!decoded.ok) {
      console.log(`W: malformed state from peer dropped: ${decoded.reason}`);
      return;
    }
    const outcome = fsm.peer(decoded.state, now());
    if (outcome.splitBrain) console.log(`E: split brain (${outcome.splitBrain.kind}): ${outcome.splitBrain.decision}`);
    report(outcome.transition);
  });
  loop.timer(opts["heartbeat-ms"], 0, () => {
    // send our state to the peer
    fsm.tick(now());
    void statepub.send(encodeState(fsm.state));
  });
  await loop.start(); // until Ctrl-C
  console.log("W: interrupted");
});
