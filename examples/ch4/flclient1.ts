/**
 * Freelance client, model 1 (Guide chapter 4, "Model One: Simple Retry and
 * Failover"): sends "Hello world" over a fresh REQ socket to one server at a
 * time; a server silent for the timeout is left for the next. With one
 * server it tries 3 times, with several each once. Over @zkit/flclient's
 * FailoverClient.
 *
 *   node --conditions=@zkit/source --import tsx ch4/flclient1.ts [--connect tcp://localhost:5555,tcp://localhost:5556]
 *     [--requests 1] [--timeout-ms 1000]
 */
import { TimeoutError, interruptSignal } from "@zkit/core";
import { FailoverClient } from "@zkit/flclient";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("flclient1", "Freelance client, model 1: REQ to one server after the other.", {
  connect: { type: "string", default: "tcp://localhost:5555", help: "the servers, tried in this order (comma-separated)" },
  requests: { type: "number", default: 1, min: 1, help: "how many requests to send" },
  "timeout-ms": { type: "number", default: 1000, min: 1, help: "how long each server has to answer, in msecs" },
});

await main(async () => {
  const endpoints = opts.connect.split(",").map((e) => e.trim());
  const client = new FailoverClient({
    endpoints,
    timeoutMs: opts["timeout-ms"],
    trace: ({ direction, socket }) => direction === "out" && console.log(`I: trying echo service at ${socket}...`),
  });
  client.on("retry", ({ endpoint }) => console.log(endpoints.length === 1 ? `W: no response from ${endpoint}, retrying...` : `W: no response from ${endpoint}`));
  await client.start();
  try {
    for (let n = 0; n < opts.requests; n++) await client.request("Hello world", { signal: interruptSignal() });
    console.log("Service is running OK");
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err; // RetriesExhaustedError, a TimeoutError
    console.log("E: no server answered, giving up");
    process.exitCode = 1;
  } finally {
    await client.close();
  }
});
