/**
 * Freelance client, model 2 (Guide chapter 4, "Model Two: Brutal Shotgun
 * Massacre"): each request goes to every server at once over one DEALER,
 * and the first reply wins. Sends N "random name" requests one after the
 * other and prints the average round trip. Over @zkit/flclient's ShotgunClient.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flclient2.ts [--connect tcp://localhost:5555,tcp://localhost:5556]
 *     [--requests 10000] [--timeout-ms 2500]
 */
import { TimeoutError, interruptSignal } from "@zkit/core";
import { ShotgunClient } from "@zkit/flclient";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("flclient2", "Freelance client, model 2: every request to every server, first reply wins.", {
  connect: { type: "string", default: "tcp://localhost:5555", help: "the servers (comma-separated)" },
  requests: { type: "number", default: 10000, min: 1, help: "how many requests to send" },
  "timeout-ms": { type: "number", default: 2500, min: 1, help: "how long a request waits for its first reply, in msecs" },
});

await main(async () => {
  const client = new ShotgunClient({ endpoints: opts.connect, timeoutMs: opts["timeout-ms"] });
  await client.start();
  const start = performance.now();
  let done = 0;
  try {
    for (; done < opts.requests; done++) await client.request("random name", { signal: interruptSignal() });
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    console.log("E: name service not available, aborting");
    process.exitCode = 1;
  } finally {
    await client.close();
  }
  if (done > 0) console.log(`Average round trip cost: ${Math.round(((performance.now() - start) * 1000) / done)} usec`);
});
