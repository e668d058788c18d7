/**
 * Titanic client (Guide chapter 4, "Disconnected Reliability"): hands
 * "Hello world" for the echo service to Titanic, then asks for the reply
 * until it is there (the echo worker may not even be running yet), prints
 * it and closes the request. Over @zkit/titanic.
 *
 *   node --conditions=@zkit/source --import tsx ch4/ticlient.ts [--connect tcp://localhost:5555] [--service echo]
 *     [--body "Hello world"] [--poll-ms 1000]
 */
import { TimeoutError, interruptSignal, sleep } from "@zkit/core";
import { TitanicClient } from "@zkit/titanic";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("ticlient", "Titanic client: one request through Titanic, polled until its reply comes.", {
  connect: { type: "string", default: "tcp://localhost:5555", help: "the Majordomo broker (CZMQ endpoint list)" },
  service: { type: "string", default: "echo", help: "the service to send the request to" },
  body: { type: "string", default: "Hello world", help: "the request" },
  "poll-ms": { type: "number", default: 1000, help: "how long to wait between two titanic.reply, in msecs" },
});

await main(async () => {
  const client = new TitanicClient({ endpoint: opts.connect });
  const signal = interruptSignal();
  try {
    // 1. titanic.request: Titanic stores it and gives us its uuid
    const uuid = await client.submit(opts.service, opts.body, { signal });
    console.log(`I: request UUID ${uuid}`);
    // 2. titanic.reply until the service has answered
    for (;;) {
      let answer: Awaited<ReturnType<TitanicClient["fetchReply"]>>;
      try {
        answer = await client.fetchReply(uuid, { signal });
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        // Titanic (or the broker) is down: it has our request on disk, so keep asking
        console.log("W: Titanic does not answer, trying again...");
        continue;
      }
      if (answer.kind === "reply") {
        console.log(`Reply: ${answer.body.map(String).join(" ")}`);
        break;
      }
      if (answer.kind === "unknown") throw new Error(`Titanic does not know request ${uuid}`);
      console.log("I: no reply yet, trying again...");
      await sleep(opts["poll-ms"], signal);
    }
    // 3. titanic.close: Titanic may forget it now
    await client.closeRequest(uuid, { signal });
  } finally {
    await client.close();
  }
});
