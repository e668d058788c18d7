/**
 * Clone client, model six (Guide chapter 5, "Adding the Binary Star Pattern
 * for Reliability", and the clone class of "Building a Multithreaded Stack
 * and API"): the client of model five, given two servers (a primary and a
 * backup): when the one it follows stops sending updates and HUGZ for
 * `--server-ttl-ms`, it moves to the other and takes a fresh snapshot; a
 * gap in the sequences makes it resync too.
 * This is `CloneClient` of @zkit/clone: it subscribes before it asks for
 * the snapshot, keeps the updates that come meanwhile, and prints each
 * change as `I: received update=N KEY`.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli6.ts [--connect tcp://localhost:5556,tcp://localhost:5566] [--count 0]
 */
import { CLONE_SERVER_TTL_MS, CloneClient } from "@zkit/clone";
import { interruptSignal, sleep } from "@zkit/core";
import { main, parseOptions } from "../lib/cli.js";
import { randof } from "./clone-common.js";

const opts = parseOptions("clonecli6", "Clone client, model six: CloneClient with a primary and a backup server.", {
  connect: { type: "string", default: "tcp://localhost:5556,tcp://localhost:5566", help: "the primary's and the backup's snapshot ports, comma-separated" },
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
