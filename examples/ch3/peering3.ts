/**
 * Full cluster simulation (Guide chapter 3, "Putting it All Together"): the
 * state flow of peering1 and the task flow of peering2 in one broker, with
 * a monitor. A broker named 'me' tells its peers ('you') how many of its
 * workers are free (PUB/SUB, `NAME-state.ipc`) and routes each of its
 * clients' tasks to a free local worker, else to a peer that said it has
 * some (ROUTER pair, `NAME-cloud.ipc`); tasks from peers go to local
 * workers. Clients report each reply, or a lost task, to the broker's
 * monitor (PULL, `NAME-monitor.ipc`), which prints it. The broker is a
 * ZLoop: readers on the backends, the state and the monitor always; on the
 * local frontend while any capacity is known (local or in the cloud) and
 * on the cloud frontend while a local worker is free. Clients and workers
 * are actors in threads (ch3/peering3-client.ts, ch3/peering3-worker.ts).
 *
 *   node --conditions=@zkit/source --import tsx ch3/peering3.ts me {you}... [--dir .] [--clients 10] [--workers 5] [options]
 *
 * e.g. `peering3 DC1 DC2 DC3`, `peering3 DC2 DC1 DC3` and `peering3 DC3 DC1
 * DC2` in three terminals; `--workers 0` makes a broker send every task to
 * the cloud. On its end a broker says how many tasks it routed where.
 *
 * Beyond the Guide: the state is also sent once a second (`--state-ms`),
 * not only on a change, so a peer that starts later learns it; the cloud
 * capacity is kept per peer and a task goes to a peer that has some (the
 * Guide keeps the last number heard and picks any peer); and a task for a
 * peer we are not connected to (yet) waits here instead of being dropped.
 */
import { ZSocket } from "@zkit/core";
import { ZLoop, type ReaderHandler } from "@zkit/zloop";
import { ZMsg, type ZFrame } from "@zkit/zmsg";
import { ZActor } from "@zkit/zthread";
import { main, parseOptions } from "../lib/cli.js";
import { brokerNames, destroyActors, ipcEndpoint, isReady, randof, removeIpcFiles, splitNames, startAll } from "./common.js";
import type { Peering3ClientArgs } from "./peering3-client.js";
import type { Peering3WorkerArgs } from "./peering3-worker.js";

const { names, flags } = splitNames(process.argv.slice(2));
const opts = parseOptions(
  "peering3 me {you}...",
  "Cluster simulation: broker 'me' shares its free worker count with its peers ('you') and routes tasks to them when it has none.",
  {
    dir: { type: "string", default: ".", help: "the directory of the ipc socket files" },
    clients: { type: "number", default: 10, help: "how many client actors" },
    workers: { type: "number", default: 5, help: "how many worker actors" },
    "max-pause-ms": { type: "number", default: 4000, help: "a client pauses 0 to N msecs before each burst" },
    "max-burst": { type: "number", default: 14, help: "a burst is 0 to N tasks" },
    "work-ms": { type: "number", default: 1000, help: "a task takes 0 or N msecs, at random" },
    "timeout-ms": { type: "number", default: 10_000, min: 1, help: "a client reports a task lost after N msecs without its reply" },
    "state-ms": { type: "number", default: 1000, min: 1, help: "send our state to the peers every N msecs, and on each change" },
  },
  flags,
);
const { self, peers } = brokerNames("peering3", names);

await main(async () => {
  console.log(`I: preparing broker at ${self}...`);
  const sockets: ZSocket[] = [];
  const bound: string[] = [];
  /** Binds `sock` to this broker's ipc endpoint of `kind`. */
  const bind = async <S extends ZSocket>(sock: S, kind: string, what: string): Promise<S> => {
    sockets.push(sock);
    bound.push(await sock.bind(ipcEndpoint(opts.dir, self, kind)));
    console.log(`listening on ${sock.endpoint} (${what})`);
    return sock;
  };
  const actors: ZActor[] = [];
  const loop = new ZLoop();
  const stats = { local: 0, fromCloud: 0, toCloud: 0 };
  try {
    // Linger 0 everywhere: the broker stops only on Ctrl-C, and what is still
    // queued then (for peers that may be gone too) is dropped, not waited for.
    // Prepare local frontend and backend
    const localfe = await bind(await ZSocket.router(undefined, { linger: 0 }), "localfe", "local frontend, clients");
    const localbe = await bind(await ZSocket.router(undefined, { linger: 0 }), "localbe", "local backend, workers");
    // Bind cloud frontend to endpoint; its routing id is our name
    const cloudfe = await bind(await ZSocket.router(undefined, { routingId: self, linger: 0 }), "cloud", "cloud frontend");
    // Connect cloud backend to all peers (mandatory, no send timeout: a task
    // for a peer we are not connected to fails at once, and waits here)
    const cloudbe = await ZSocket.router(undefined, { routingId: self, mandatory: true, sendTimeout: 0, linger: 0 });
    sockets.push(cloudbe);
    for (const peer of peers) {
      console.log(`I: connecting to cloud frontend at '${peer}'`);
      cloudbe.connect(ipcEndpoint(opts.dir, peer, "cloud"));
    }
    // Bind state backend to endpoint
    const statebe = await bind(await ZSocket.pub(undefined, { linger: 0 }), "state", "state backend");
    // Connect state frontend to all peers
    const statefe = await ZSocket.sub(undefined, "", { linger: 0 });
    sockets.push(statefe);
    for (const peer of peers) {
      console.log(`I: connecting to state backend at '${peer}'`);
      statefe.connect(ipcEndpoint(opts.dir, peer, "state"));
    }
    // Prepare monitor socket
    const monitor = await bind(await ZSocket.pull(undefined, { linger: 0 }), "monitor", "monitor");

    // After binding and connecting all our sockets, we start our child
    // tasks - workers and clients
    const workerArgs: Peering3WorkerArgs = { localbe: localbe.endpoint, workMs: opts["work-ms"] };
    const clientArgs: Peering3ClientArgs = {
      localfe: localfe.endpoint,
      monitor: monitor.endpoint,
      maxPauseMs: opts["max-pause-ms"],
      maxBurst: opts["max-burst"],
      timeoutMs: opts["timeout-ms"],
    };
    await startAll(
      [
        ...Array.from({ length: opts.workers }, () => ZActor.fork(new URL("./peering3-worker.ts", import.meta.url), workerArgs)),
        ...Array.from({ length: opts.clients }, () => ZActor.fork(new URL("./peering3-client.ts", import.meta.url), clientArgs)),
      ],
      actors,
    );

    // Queue of available workers: the local capacity is its length
    const workers: ZFrame[] = [];
    // The cloud capacity: each peer's free workers, as it last said
    const cloud = new Map<string, number>();
    // Tasks we could not route yet (the peer chosen was not reachable)
    const waiting: { msg: ZMsg; reroutable: boolean }[] = [];
    let announced = -1;

    const cloudCapacity = (): number => {
      let n = 0;
      for (const c of cloud.values()) n += c;
      return n;
    };
    const isPeer = (frame: ZFrame | undefined): boolean => frame !== undefined && peers.some((peer) => frame.streq(peer));

    /** Sends our state: our name, then our free worker count. */
    const announce = (): Promise<void> => {
      announced = workers.length;
      return statebe.send([self, String(workers.length)]);
    };

    /**
     * After any change of capacity: read the cloud frontend only while a
     * local worker is free, the local frontend while any capacity is known;
     * tell the peers when our own capacity changed.
     */
    const capacityChanged = (): Promise<void> | undefined => {
      setReader(cloudfe, workers.length > 0, handleCloudfe);
      setReader(localfe, workers.length + cloudCapacity() > 0, handleLocalfe);
      return workers.length !== announced ? announce() : undefined;
    };
    const reading = new Set<ZSocket>();
    const setReader = (sock: ZSocket, on: boolean, handler: ReaderHandler): void => {
      if (on && !reading.has(sock)) {
        loop.reader(sock, handler);
        reading.add(sock);
      } else if (!on && reading.has(sock)) {
        loop.readerEnd(sock);
        reading.delete(sock);
      }
    };

    /**
     * Routes a task: to a local worker if one is free, else (a local task
     * only) to a random peer that has workers free, else it waits.
     */
    const routeTask = async (msg: ZMsg, reroutable: boolean): Promise<void> => {
      const worker = workers.shift();
      if (worker !== undefined) {
        msg.wrap(worker);
        stats.local++;
        if (!reroutable) stats.fromCloud++;
        await Promise.all([msg.send(localbe), capacityChanged()]);
        return;
      }
      while (reroutable) {
        const candidates = peers.filter((peer) => (cloud.get(peer) ?? 0) > 0);
        if (candidates.length === 0) break;
        // Route to random broker peer
        const peer = candidates[randof(candidates.length)]!;
        try {
          await cloudbe.send([Buffer.from(peer), ...msg.frames]);
          stats.toCloud++;
          return;
        } catch {
          // Not connected to it: count it out until it speaks again.
          cloud.set(peer, 0);
          await capacityChanged();
        }
      }
      waiting.push({ msg, reroutable });
    };

    /** Routes the tasks that waited, once there may be capacity for them. */
    const retryWaiting = async (): Promise<void> => {
      for (const { msg, reroutable } of waiting.splice(0)) await routeTask(msg, reroutable);
    };

    /** Routes a reply: to the cloud if it is addressed to a broker, else to a client. */
    const routeReply = (msg: ZMsg): Promise<void> => msg.send(isPeer(msg.first()) ? cloudfe : localfe);

    // Tasks from our clients may go anywhere; tasks from peers stay here.
    const handleLocalfe: ReaderHandler = (frames) => routeTask(ZMsg.fromBuffers(frames), true);
    const handleCloudfe: ReaderHandler = (frames) => routeTask(ZMsg.fromBuffers(frames), false);

    // Handle reply from local worker (or its ready message)
    loop.reader(localbe, async (frames) => {
      const msg = ZMsg.fromBuffers(frames);
      workers.push(msg.unwrap()!);
      await capacityChanged();
      if (!isReady(msg.frames)) await routeReply(msg);
      if (waiting.length > 0) await retryWaiting();
    });
    // Or handle reply from peer broker
    loop.reader(cloudbe, (frames) => {
      const msg = ZMsg.fromBuffers(frames);
      msg.unwrap(); // We don't use peer broker identity for anything
      return routeReply(msg);
    });
    // Handle capacity updates: [peer name][free workers]
    loop.reader(statefe, async ([peer, status]) => {
      const name = String(peer);
      if (!peers.includes(name) || status === undefined) return; // not one of ours
      cloud.set(name, Math.max(0, Number.parseInt(String(status), 10) || 0));
      await capacityChanged();
      if (waiting.length > 0) await retryWaiting();
    });
    // Handle monitor message
    loop.reader(monitor, ([status]) => console.log(String(status)));
    // Our state, also now and then: a peer that started after our last change learns it
    loop.timer(opts["state-ms"], 0, () => announce());

    await announce();
    await loop.start(); // until Ctrl-C
  } finally {
    loop.destroy();
    await destroyActors(actors);
    for (const sock of sockets) sock.close();
    removeIpcFiles(bound);
    console.log(`I: ${self} routed ${stats.local} tasks to its workers (${stats.fromCloud} from peers) and ${stats.toCloud} to peers`);
  }
});
