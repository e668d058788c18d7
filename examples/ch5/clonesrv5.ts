/**
 * Clone server, model five (Guide chapter 5, "Ephemeral Values" and "Using
 * a Reactor"): the five-frame kvmsg with uuid and properties; updates with
 * a `ttl` property expire, and the server deletes them and publishes the
 * delete; HUGZ when idle. This is `CloneServer` of @zkit/clone, which
 * keeps ttls as absolute deadlines and publishes in the RFC's form (or the
 * Guide's C programs', with `--dialect guide`).
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonesrv5.ts [--port 5556] [--dialect rfc] [--verbose]
 */
import { CLONE_PORT, CloneServer, type CloneDialect } from "@zkit/clone";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("clonesrv5", "Clone server, model five: kvmsg, ephemeral values, HUGZ (CloneServer).", {
  port: { type: "number", default: CLONE_PORT, help: "the snapshot port P; updates go out on P + 1, come in on P + 2 (0: free ones)" },
  host: { type: "string", default: "*", help: "the interface to bind" },
  dialect: { type: "string", default: "rfc", help: "rfc (12/CHP) or guide (the Guide's C programs' KVSYNC, KTHXBAI and HUGZ)" },
  verbose: { type: "boolean", help: "print every update and expiry" },
});

await main(async () => {
  const server = new CloneServer({ port: opts.port, host: opts.host, dialect: opts.dialect as CloneDialect });
  if (opts.verbose) {
    server.on("update", ({ key, sequence }) => console.log(`I: publishing update=${sequence} ${key}`));
    server.on("expired", ({ key, sequence }) => console.log(`I: publishing delete=${sequence} ${key}`));
    server.on("snapshot", ({ sequence, keys }) => console.log(`I: sending shapshot=${sequence} (${keys} keys)`));
  }
  await server.start();
  console.log(`listening on tcp://${opts.host === "*" ? "localhost" : opts.host}:${server.port}`);
  await server.done;
  console.log(`Interrupted\n${server.stats.updates} updates, ${server.stats.expired} expired`);
});
