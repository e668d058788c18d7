/**
 * What the Clone models share (Guide chapter 5): binding a server's
 * sockets on P, P + 1, P + 2 (`--port 0` picks a free base at random, as
 * `CloneServer` does), the Guide's `randof`, the kvsimple snapshot
 * exchange a client does before it reads updates (models 1 to 4), and the
 * `CloneClient` program of models 5 and 6.
 * @module
 */
import { CLONE_SERVER_TTL_MS, CloneClient } from "@zkit/clone";
import { ErrorCode, ZSocket, ZkitError, interruptSignal, now, sleep } from "@zkit/core";
import { ZLoop, ZPoller } from "@zkit/zloop";
import { KVMsg } from "@zkit/kvmsg";
import { main, parseOptions } from "../lib/cli.js";

/** A random integer from 0 to `n - 1` (zhelpers' `randof`). */
export function randof(n: number): number {
  return Math.floor(Math.random() * n);
}

/**
 * Binds `sockets[i]` on `tcp://host:(base + i)`. With `port` 0 the base is
 * picked at random from 20000 to 60000, again while a port is taken.
 * @returns the base port
 */
export async function bindBase(host: string, port: number, sockets: ZSocket[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = port !== 0 ? port : 20_000 + Math.floor(Math.random() * 40_000);
    const bound: string[] = [];
    try {
      for (let i = 0; i < sockets.length; i++) bound.push(await sockets[i]!.bind(`tcp://${host}:${base + i}`));
      return base;
    } catch (err) {
      for (let i = 0; i < bound.length; i++) await sockets[i]!.unbind(bound[i]!).catch(() => {});
      if (port !== 0 || !(err instanceof ZkitError && err.code === ErrorCode.AddressInUse)) throw err;
    }
  }
  throw new ZkitError(ErrorCode.AddressInUse, "no three free ports in a row found");
}

/**
 * Asks the server at `endpoint` for a snapshot of `subtree` in the kvsimple
 * form (models 2 to 4) and stores it into `map`.
 * @returns the sequence of the snapshot (KTHXBAI's)
 */
export async function kvsimpleSnapshot(endpoint: string, subtree: string | undefined, map: Map<string, KVMsg>): Promise<number> {
  const snapshot = await ZSocket.dealer(`>${endpoint}`, { linger: 0 });
  try {
    await snapshot.send(subtree === undefined ? [Buffer.from("ICANHAZ?")] : [Buffer.from("ICANHAZ?"), Buffer.from(subtree)]);
    for (;;) {
      const msg = await KVMsg.recvSimple(snapshot);
      if (msg.key === "KTHXBAI") {
        console.log(`I: received snapshot=${msg.sequence}`);
        return msg.sequence;
      }
      msg.store(map);
    }
  } finally {
    snapshot.close();
  }
}

/**
 * The server of models 3 and 4: a snapshot ROUTER on P, a PUB on P + 1 and
 * a PULL collector on P + 2. Each update a client pushes gets the next
 * sequence, is stored and published; `ICANHAZ?` gets the map (with
 * `subtrees`, only the keys under the subtree asked for), then `KTHXBAI`.
 * Prints `I: publishing update=N` and `I: sending shapshot=N` as the Guide's do.
 * Runs until Ctrl-C.
 */
export async function kvsimpleServer(o: { host: string; port: number; subtrees: boolean; verbose: boolean }): Promise<void> {
  const snapshot = new ZSocket("ROUTER");
  const publisher = new ZSocket("PUB");
  const collector = new ZSocket("PULL");
  const port = await bindBase(o.host, o.port, [snapshot, publisher, collector]);
  console.log(`listening on tcp://${o.host === "*" ? "localhost" : o.host}:${port}`);
  const kvmap = new Map<string, KVMsg>();
  let sequence = 0;
  const loop = new ZLoop();
  loop.reader(collector, (frames) => {
    const msg = KVMsg.decodeSimple(frames);
    if (!(msg instanceof KVMsg)) {
      console.log(`E: dropped a malformed update: ${msg.message}`);
      return;
    }
    msg.sequence = ++sequence;
    void msg.sendSimple(publisher);
    msg.store(kvmap);
    if (o.verbose) console.log(`I: publishing update=${sequence} ${msg.key}`);
  });
  loop.reader(snapshot, async ([identity, request, subtree]) => {
    if (request?.toString() !== "ICANHAZ?") {
      console.log("E: bad request, aborting");
      return;
    }
    const prefix = o.subtrees ? (subtree?.toString() ?? "") : "";
    const seq = sequence;
    for (const msg of [...kvmap.values()]) if (msg.key.startsWith(prefix)) await snapshot.send([identity!, ...msg.encodeSimple()]);
    console.log(`I: sending shapshot=${seq}`);
    await snapshot.send([identity!, ...new KVMsg({ key: "KTHXBAI", sequence: seq, body: o.subtrees ? prefix : "" }).encodeSimple()]);
  });
  await loop.start();
  console.log(`Interrupted\n${sequence} messages handled`);
}

/**
 * The client of models 3 and 4: subscribes (to `subtree`, if any), takes a
 * snapshot, then applies newer updates and pushes a random update of its
 * own every `intervalMs` (key `subtree` + a random number, or a random
 * number). Stops after `count` updates applied (0: until Ctrl-C).
 */
export async function kvsimpleClient(o: { connect: string; subtree: string | undefined; intervalMs: number; count: number }): Promise<void> {
  const i = o.connect.lastIndexOf(":");
  const [host, port] = [o.connect.slice(0, i), Number(o.connect.slice(i + 1))];
  const subscriber = await ZSocket.sub(`>${host}:${port + 1}`, o.subtree ?? "");
  const publisher = await ZSocket.push(`>${host}:${port + 2}`);
  const kvmap = new Map<string, KVMsg>();
  let sequence = await kvsimpleSnapshot(o.connect, o.subtree, kvmap);
  let applied = 0;
  let sent = 0;
  let alarm = now() + o.intervalMs;
  const poller = new ZPoller<ZSocket>(subscriber);
  try {
    while (o.count === 0 || applied < o.count) {
      const ready = await poller.wait(Math.max(0, alarm - now()));
      if (ready !== null) {
        const msg = await KVMsg.recvSimple(subscriber);
        if (msg.sequence > sequence) {
          sequence = msg.sequence;
          msg.store(kvmap);
          applied++;
          console.log(`I: received update=${sequence} ${msg.key}`);
        }
      } else if (poller.terminated) {
        return;
      }
      if (now() >= alarm) {
        const key = `${o.subtree ?? ""}${randof(10_000)}`;
        await new KVMsg({ key, body: String(randof(1_000_000)) }).sendSimple(publisher);
        sent++;
        alarm = now() + o.intervalMs;
      }
    }
  } finally {
    console.log(`${applied} updates applied, ${sent} sent; ${kvmap.size} keys; last sequence ${sequence}`);
    publisher.close();
  }
}

/**
 * The client of models 5 and 6, `CloneClient` of @zkit/clone: replicates
 * `--subtree` of the servers in `--connect` (one, or a primary and a backup,
 * comma-separated), sets a random key under it every `--interval-ms` with a
 * ttl of `--ttl` s, and prints each change as `I: received update=N KEY`,
 * each snapshot, failover and gap. Stops after `--count` changes (0: at
 * Ctrl-C).
 */
export async function cloneClientProgram(name: string, description: string, connect: { default: string; help: string }): Promise<void> {
  const opts = parseOptions(name, description, {
    connect: { type: "string", ...connect },
    subtree: { type: "string", default: "/client/", help: "the subtree to replicate and write" },
    "interval-ms": { type: "number", default: 1000, min: 1, help: "one update of its own every this many msecs" },
    ttl: { type: "number", default: 30, help: "the ttl of its updates, in seconds (0: none)" },
    "server-ttl-ms": { type: "number", default: CLONE_SERVER_TTL_MS, min: 1, help: "a server silent this long is taken for dead" },
    count: { type: "number", default: 0, help: "stop after this many changes (0: until Ctrl-C)" },
  });
  await main(async () => {
    const clone = new CloneClient({ subtree: opts.subtree, serverTtlMs: opts["server-ttl-ms"] });
    for (const server of opts.connect.split(",")) clone.connect(server);
    let changes = 0;
    const enough = new Promise<void>((resolve) => {
      clone.on("change", ({ key, value, sequence }) => {
        console.log(`I: received update=${sequence} ${key}${value === undefined ? " (deleted)" : ""}`);
        if (++changes === opts.count) resolve();
      });
    });
    clone.on("synced", ({ server, sequence, keys }) => console.log(`I: synced with ${server} at sequence=${sequence} (${keys} keys)`));
    clone.on("failover", ({ from, to }) => console.log(`I: server at ${from} didn't give HUGZ, moving to ${to}`));
    clone.on("gap", ({ expected, got }) => console.log(`W: updates lost (expected ${expected}, got ${got}), resyncing`));
    await clone.start();
    const writing = (async () => {
      while (!clone.closed) {
        await clone.set(`${opts.subtree}${randof(10_000)}`, String(randof(1_000_000)), opts.ttl > 0 ? { ttlSeconds: opts.ttl } : {}).catch(() => {});
        await sleep(opts["interval-ms"], interruptSignal()).catch(() => {});
        if (interruptSignal().aborted) return;
      }
    })();
    await Promise.race([enough, clone.done, new Promise((r) => interruptSignal().addEventListener("abort", r, { once: true }))]);
    console.log(`${changes} changes; ${clone.size} keys at sequence ${clone.sequence}`);
    await clone.close();
    await writing;
  });
}
