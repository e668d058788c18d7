/**
 * Prototype local and cloud flow (Guide chapter 3, "Prototyping the Local
 * and Cloud Flows"). A broker named 'me' serves its own clients and workers
 * (ROUTER localfe and localbe, ipc) and is joined to its peers ('you') by a
 * ROUTER pair: cloudfe takes requests from peers, cloudbe sends requests to
 * them. Both carry this broker's name as routing id, so a reply for a peer
 * starts with the peer's name. A local request goes to a random peer 20% of
 * the time (`--cloud-percent`), else to the least recently used local
 * worker; a request from a peer always goes to a local worker. Clients and
 * workers are the actors of lbbroker2 (ch3/lbclient.ts: "HELLO" once a
 * second; ch3/lbworker.ts: "OK").
 *
 *   node --conditions=@zkit/source --import tsx ch3/peering2.ts me {you}... [--dir .] [--clients 10] [--workers 3] [--cloud-percent 20] [--pause-ms 1000] [--no-wait]
 *
 * e.g. `peering2 DC1 DC2` and `peering2 DC2 DC1` in two terminals, then
 * Enter in each once both run. On its end a broker says how many requests
 * it routed where.
 */
import { ZSocket, interruptSignal } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { ZMsg, type ZFrame } from "@zkit/zmsg";
import { ZActor } from "@zkit/zthread";
import { enterPressed, main, parseOptions } from "../lib/cli.js";
import { brokerNames, destroyActors, ipcEndpoint, isReady, randof, removeIpcFiles, splitNames, startAll } from "./common.js";
import type { LbClientArgs } from "./lbclient.js";
import type { LbWorkerArgs } from "./lbworker.js";

const { names, flags } = splitNames(process.argv.slice(2));
const opts = parseOptions(
  "peering2 me {you}...",
  "Local and cloud flow prototype: broker 'me' routes its clients' requests to its workers or to peers ('you').",
  {
    dir: { type: "string", default: ".", help: "the directory of the ipc socket files" },
    clients: { type: "number", default: 10, help: "how many client actors" },
    workers: { type: "number", default: 3, help: "how many worker actors" },
    "cloud-percent": { type: "number", default: 20, help: "the share of local requests sent to a peer, 0 to 100" },
    "pause-ms": { type: "number", default: 1000, help: "a client's pause after each reply, in msecs" },
    "no-wait": { type: "boolean", help: "start the clients and workers at once instead of waiting for Enter" },
  },
  flags,
);
const { self, peers } = brokerNames("peering2", names);
if (opts["cloud-percent"] > 100) {
  process.stderr.write(`peering2: --cloud-percent must be 0 to 100, got ${opts["cloud-percent"]}\n`);
  process.exit(2);
}

await main(async () => {
  console.log(`I: preparing broker at ${self}...`);
  const sockets: ZSocket[] = [];
  const bound: string[] = [];
  // Linger 0: the broker stops only on Ctrl-C, and what is still queued then
  // (for peers that may be gone too) is dropped, not waited for.
  /** A ROUTER bound to this broker's ipc endpoint of `kind`. */
  const router = async (kind: string, what: string, options: { routingId?: string } = {}): Promise<ZSocket<"ROUTER">> => {
    const sock = await ZSocket.router(undefined, { ...options, linger: 0 });
    sockets.push(sock);
    bound.push(await sock.bind(ipcEndpoint(opts.dir, self, kind)));
    console.log(`listening on ${sock.endpoint} (${what})`);
    return sock;
  };
  const actors: ZActor[] = [];
  const stats = { local: 0, fromCloud: 0, toCloud: 0 };
  try {
    // Bind cloud frontend to endpoint; its routing id is our name
    const cloudfe = await router("cloud", "cloud frontend", { routingId: self });
    // Connect cloud backend to all peers. Mandatory, with no send timeout: a
    // request for a peer we are not connected to (yet) fails at once
    // instead of being dropped, and is served here instead.
    const cloudbe = await ZSocket.router(undefined, { routingId: self, mandatory: true, sendTimeout: 0, linger: 0 });
    sockets.push(cloudbe);
    for (const peer of peers) {
      console.log(`I: connecting to cloud frontend at '${peer}'`);
      cloudbe.connect(ipcEndpoint(opts.dir, peer, "cloud"));
    }
    // Prepare local frontend and backend
    const localfe = await router("localfe", "local frontend, clients");
    const localbe = await router("localbe", "local backend, workers");

    // Get user to tell us when we can start...
    if (!opts["no-wait"]) {
      console.log("Press Enter when all brokers are started: ");
      await enterPressed(interruptSignal());
    }

    // Start local workers and local clients
    const clientArgs: LbClientArgs = { endpoint: localfe.endpoint, requests: 0, pauseMs: opts["pause-ms"] };
    const workerArgs: LbWorkerArgs = { endpoint: localbe.endpoint };
    await startAll(
      [
        ...Array.from({ length: opts.workers }, () => ZActor.fork(new URL("./lbworker.ts", import.meta.url), workerArgs)),
        ...Array.from({ length: opts.clients }, () => ZActor.fork(new URL("./lbclient.ts", import.meta.url), clientArgs)),
      ],
      actors,
    );

    // Least recently used queue of available workers
    const workers: ZFrame[] = [];
    // The backends always; the frontends only while we have a worker free
    // (then the cloud first: requests from peers have priority). The Guide
    // polls the frontends after each backend poll of up to 1 s; one poller
    // watching all four serves a request as soon as a worker is free.
    const poller = new ZPoller<ZSocket<"ROUTER">>(localbe, cloudbe);
    const capacityChanged = (): void => {
      if (workers.length > 0 && !poller.sockets.includes(cloudfe)) {
        poller.add(cloudfe);
        poller.add(localfe);
      } else if (workers.length === 0 && poller.sockets.includes(cloudfe)) {
        poller.remove(cloudfe);
        poller.remove(localfe);
      }
    };
    const isPeer = (frame: ZFrame | undefined): boolean => frame !== undefined && peers.some((peer) => frame.streq(peer));

    /** Gives a request to the least recently used local worker. */
    const toLocalWorker = async (msg: ZMsg): Promise<void> => {
      msg.wrap(workers.shift()!);
      capacityChanged();
      stats.local++;
      await msg.send(localbe);
    };

    for (;;) {
      const sock = await poller.wait();
      if (sock === null) break; // interrupted

      if (sock === localbe || sock === cloudbe) {
        // Handle reply from local worker, or from a peer broker
        const msg = await ZMsg.recv(sock);
        const identity = msg.unwrap()!; // a worker (kept), or a peer (dropped)
        if (sock === localbe) {
          workers.push(identity);
          capacityChanged();
          if (isReady(msg.frames)) continue; // a worker said it is ready
        }
        // Route reply to cloud if it's addressed to a broker, else to a client
        await msg.send(isPeer(msg.first()) ? cloudfe : localfe);
      } else if (sock === cloudfe) {
        // A request from a peer: always to a local worker
        stats.fromCloud++;
        await toLocalWorker(await ZMsg.recv(cloudfe));
      } else {
        // A request from a local client: to the cloud now and then (here we
        // would normally use cloud status information), else to a worker.
        const msg = await ZMsg.recv(localfe);
        if (peers.length > 0 && randof(100) < opts["cloud-percent"]) {
          // Route to random broker peer
          const peer = peers[randof(peers.length)]!;
          try {
            await cloudbe.send([Buffer.from(peer), ...msg.frames]);
            stats.toCloud++;
            continue;
          } catch {
            // not connected to that peer (yet): serve it here
          }
        }
        await toLocalWorker(msg);
      }
    }
  } finally {
    await destroyActors(actors);
    console.log(`I: ${self} routed ${stats.local} requests to its workers (${stats.fromCloud} from peers) and ${stats.toCloud} to peers`);
    for (const sock of sockets) sock.close();
    removeIpcFiles(bound);
  }
});
