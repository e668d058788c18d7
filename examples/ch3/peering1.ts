/**
 * Prototype state flow between brokers (Guide chapter 3, "Prototyping the
 * State Flow"). Each broker publishes, once a second, its name and how many
 * workers it has free (a random number here) on a PUB socket, and prints
 * what its peers publish, read from a SUB socket connected to each of them.
 * The poll timeout is the broker's heartbeat.
 *
 *   node --conditions=@zkit/source --import tsx ch3/peering1.ts me {you}... [--dir .] [--interval-ms 1000]
 *
 * e.g. in three terminals:
 *
 *   node --conditions=@zkit/source --import tsx ch3/peering1.ts DC1 DC2 DC3
 *   node --conditions=@zkit/source --import tsx ch3/peering1.ts DC2 DC1 DC3
 *   node --conditions=@zkit/source --import tsx ch3/peering1.ts DC3 DC1 DC2
 *
 * The sockets are ipc files named after the broker, `DC1-state.ipc`, in
 * `--dir`.
 */
import { ZSocket, now } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { main, parseOptions } from "../lib/cli.js";
import { brokerNames, ipcEndpoint, randof, removeIpcFiles, splitNames } from "./common.js";

const { names, flags } = splitNames(process.argv.slice(2));
const opts = parseOptions(
  "peering1 me {you}...",
  "State flow prototype: a broker named 'me' publishes its free worker count and prints its peers' ('you').",
  {
    dir: { type: "string", default: ".", help: "the directory of the ipc socket files" },
    "interval-ms": { type: "number", default: 1000, min: 1, help: "how often to publish our state, in msecs" },
  },
  flags,
);
const { self, peers } = brokerNames("peering1", names);

await main(async () => {
  console.log(`I: preparing broker at ${self}...`);
  // Bind state backend to endpoint
  const statebe = await ZSocket.pub(undefined, { linger: 0 });
  const bound = [await statebe.bind(ipcEndpoint(opts.dir, self, "state"))];
  console.log(`listening on ${bound[0]} (state backend)`);
  try {
    // Connect statefe to all peers
    const statefe = await ZSocket.sub(undefined, "", { linger: 0 });
    for (const peer of peers) {
      console.log(`I: connecting to state backend at '${peer}'`);
      statefe.connect(ipcEndpoint(opts.dir, peer, "state"));
    }

    // The main loop sends out status messages to peers, and collects status
    // messages back from peers. The poll timeout defines our own heartbeat.
    // (The Guide sends only when a poll times out, so a chatty peer can hold
    // our state back; here the heartbeat keeps its own deadline.)
    const poller = new ZPoller(statefe);
    let heartbeat = now() + opts["interval-ms"];
    for (;;) {
      // Poll for activity, or until the next heartbeat
      const ready = await poller.wait(Math.max(0, heartbeat - now()));
      if (ready === null && poller.terminated) break; // interrupted
      if (ready === statefe) {
        // Handle incoming status messages: [peer name][available]
        const [peerName, available] = await statefe.receive();
        console.log(`${peerName} - ${available} workers free`);
      }
      if (now() >= heartbeat) {
        // Send random values for worker availability
        await statebe.send([self, String(randof(10))]);
        heartbeat += opts["interval-ms"];
        if (heartbeat < now()) heartbeat = now() + opts["interval-ms"]; // fell behind: no burst
      }
    }
  } finally {
    statebe.close();
    removeIpcFiles(bound);
  }
});
