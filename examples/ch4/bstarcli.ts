/**
 * Binary Star client (Guide chapter 4, "High-Availability Pair"): sends a
 * sequence number once a second to the pair; with no reply within the
 * timeout it fails over to the other server, waits the settle delay and
 * resends. Over `BinaryStarClient` from @zkit/bstar.
 *
 *   node --conditions=@zkit/source --import tsx ch4/bstarcli.ts [--servers tcp://localhost:5001,tcp://localhost:5002]
 *     [--requests 0] [--interval-ms 1000] [--timeout-ms 1000] [--settle-ms 2000]
 */
import { interruptSignal, sleep } from "@zkit/core";
import { BinaryStarClient } from "@zkit/bstar";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("bstarcli", "Binary Star client: numbered requests to the pair, failing over between its two servers.", {
  servers: { type: "string", default: "tcp://localhost:5001,tcp://localhost:5002", help: "the two servers' frontends, primary first" },
  requests: { type: "number", default: 0, help: "how many requests to send; 0 = until Ctrl-C" },
  "interval-ms": { type: "number", default: 1000, help: "pause between requests, in msecs (one request per second)" },
  "timeout-ms": { type: "number", default: 1000, min: 1, help: "how long to wait for each reply, in msecs (REQUEST_TIMEOUT)" },
  "settle-ms": { type: "number", default: 2000, help: "wait before failing over, in msecs (SETTLE_DELAY)" },
});

await main(async () => {
  const client = new BinaryStarClient({
    servers: opts.servers,
    timeoutMs: opts["timeout-ms"],
    settleDelayMs: opts["settle-ms"],
    retries: Infinity, // like the Guide's client, it never gives up
  });
  client.on("failover", ({ to }) => {
    console.log("W: no response from server, failing over");
    console.log(`I: connecting to server at ${to}...`);
  });
  console.log(`I: connecting to server at ${client.server}...`);
  try {
    for (let sequence = 1; opts.requests === 0 || sequence <= opts.requests; sequence++) {
      const reply = await client.request(String(sequence), { signal: interruptSignal() });
      // we got a reply from the server, must match sequence
      if (reply.text() === String(sequence)) console.log(`I: server replied OK (${reply.text()})`);
      else console.log(`E: bad reply from server: ${reply.text()}`);
      if (opts["interval-ms"] > 0) await sleep(opts["interval-ms"], interruptSignal());
    }
  } finally {
    await client.close();
  }
});
