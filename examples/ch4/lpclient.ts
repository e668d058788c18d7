/**
 * Lazy Pirate client (Guide chapter 4, "Client-Side Reliability"). Sends
 * sequence numbers over REQ and accepts only a reply that echoes the number;
 * when none comes within the timeout it closes the socket, opens a fresh one
 * and resends, then gives up after the last retry. Over @zkit/lpp.
 *
 *   node --conditions=@zkit/source --import tsx ch4/lpclient.ts [--connect tcp://localhost:5555] [--requests 0]
 *     [--timeout-ms 2500] [--retries 2]
 */
import { interruptSignal } from "@zkit/core";
import { LazyPirateClient, RetriesExhaustedError, echoMatch, encodeSequence } from "@zkit/lpp";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("lpclient", "Lazy Pirate client: sends sequence numbers, retries on a fresh socket, gives up when the server is gone.", {
  connect: { type: "string", default: "tcp://localhost:5555", help: "the server (or queue frontend) to connect to" },
  requests: { type: "number", default: 0, help: "how many requests to send; 0 = until the server seems offline or Ctrl-C" },
  "timeout-ms": { type: "number", default: 2500, min: 1, help: "how long to wait for each reply, in msecs" },
  retries: { type: "number", default: 2, help: "resends before giving up (2: three sends in all, the Guide's REQUEST_RETRIES 3)" },
});

await main(async () => {
  console.log("I: connecting to server...");
  const client = new LazyPirateClient({
    endpoint: connecting(opts.connect),
    timeoutMs: opts["timeout-ms"],
    retries: opts.retries,
    match: echoMatch, // the reply must be our sequence number, as in the Guide
  });
  client.on("unmatched", ({ reply }) => console.log(`E: malformed reply from server: ${reply.map(String).join(" ")}`));
  client.on("retry", () => {
    console.log("W: no response from server, retrying...");
    console.log("I: reconnecting to server...");
  });
  try {
    for (let sequence = 1; opts.requests === 0 || sequence <= opts.requests; sequence++) {
      try {
        const reply = await client.request(encodeSequence(sequence), { signal: interruptSignal() });
        console.log(`I: server replied OK (${reply[0]})`);
      } catch (err) {
        if (!(err instanceof RetriesExhaustedError)) throw err;
        console.log("E: server seems to be offline, abandoning");
        process.exitCode = 1;
        break;
      }
    }
  } finally {
    await client.close();
  }
});
