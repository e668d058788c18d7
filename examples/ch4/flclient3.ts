/**
 * Freelance client, model 3 (Guide chapter 4, "Model Three: Complex and
 * Nasty", flcliapi): one ROUTER to every server, PINGs, server liveness, each
 * request to the best live server and on to another when it does not
 * answer. Sends N "random name" requests (`--inflight` at a time) and prints
 * the average round trip. Over @zkit/flclient's FreelanceClient.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flclient3.ts
 *     [--connect tcp://localhost:5555,tcp://localhost:5556,tcp://localhost:5557] [--requests 10000] [--inflight 1] [-v]
 */
import { TimeoutError, interruptSignal } from "@zkit/core";
import { FreelanceClient } from "@zkit/flclient";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "flclient3",
  "Freelance client, model 3: brokerless reliable requests over several servers.",
  {
    connect: { type: "string", default: "tcp://localhost:5555,tcp://localhost:5556,tcp://localhost:5557", help: "the servers, as they name themselves (comma-separated)" },
    requests: { type: "number", default: 10000, min: 1, help: "how many requests to send" },
    inflight: { type: "number", default: 1, min: 1, help: "how many requests in flight at once" },
    "timeout-ms": { type: "number", default: 3000, min: 1, help: "how long a request may take in all, in msecs" },
    verbose: { type: "boolean", help: "print servers coming and going, and resends (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const client = new FreelanceClient({ endpoints: opts.connect, timeoutMs: opts["timeout-ms"] });
  for (const endpoint of client.endpoints) console.log(`I: connecting to ${endpoint}...`);
  if (opts.verbose) {
    client.on("connected", ({ endpoint }) => console.log(`I: server ${endpoint} is alive`));
    client.on("disconnected", ({ endpoint, reason }) => console.log(`W: server ${endpoint} lost (${reason})`));
    client.on("server-demoted", ({ endpoint, delayMs }) => console.log(`W: server ${endpoint} demoted for ${delayMs} msecs`));
    client.on("retry", ({ endpoint, reason }) => console.log(`W: no reply from ${endpoint} (${reason}), resending`));
  }
  await client.start();
  const start = performance.now();
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < opts.requests && !failed) {
      next++;
      try {
        await client.request("random name", { signal: interruptSignal() });
        done++;
      } catch (err) {
        if (!(err instanceof TimeoutError) || failed) throw err;
        failed = true;
        console.log("E: name service not available, aborting");
        process.exitCode = 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.inflight, opts.requests) }, lane));
  } finally {
    await client.close();
  }
  if (done > 0) console.log(`Average round trip cost: ${Math.round(((performance.now() - start) * 1000) / done)} usec`);
});
