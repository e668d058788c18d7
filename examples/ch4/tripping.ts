/**
 * Round-trip demonstrator (Guide chapter 4, "Asynchronous Majordomo
 * Pattern"): a broker, an echo worker and a client in one process; the
 * client first makes N requests one at a time (synchronous round trips),
 * then M requests all in flight at once (asynchronous), and prints the
 * calls per second of each. The gap is what asynchronous clients buy.
 *
 *   node --conditions=@zkit/source --import tsx ch4/tripping.ts [--requests 10000] [--async-requests 100000]
 */
import { interruptSignal } from "@zkit/core";
import { MajordomoAsyncClient, MajordomoBroker, MajordomoClient, MajordomoWorker } from "@zkit/mdp";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("tripping", "Synchronous vs asynchronous Majordomo round trips through a broker, in one process.", {
  requests: { type: "number", default: 10000, min: 1, help: "synchronous round trips" },
  "async-requests": { type: "number", default: 100000, min: 1, help: "asynchronous round trips" },
});

await main(async () => {
  const signal = interruptSignal();
  console.log("Setting up test...");
  const broker = new MajordomoBroker();
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  await broker.start();
  const worker = new MajordomoWorker({ endpoint, service: "echo", handler: (request) => request });
  await worker.start();

  console.log("Synchronous round-trip test...");
  const client = new MajordomoClient({ endpoint });
  let start = performance.now();
  for (let i = 0; i < opts.requests; i++) await client.request("echo", "hello", { signal });
  console.log(` ${Math.round((opts.requests * 1000) / (performance.now() - start))} calls/second`);

  console.log("Asynchronous round-trip test...");
  const asyncClient = new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000 });
  start = performance.now();
  await Promise.all(Array.from({ length: opts["async-requests"] }, () => asyncClient.request("echo", "hello", { signal })));
  console.log(` ${Math.round((opts["async-requests"] * 1000) / (performance.now() - start))} calls/second`);

  await asyncClient.close();
  await client.close();
  await worker.close();
  await broker.close();
});
