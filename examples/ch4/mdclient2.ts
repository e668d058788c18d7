/**
 * Asynchronous Majordomo client (Guide chapter 4, "Asynchronous Majordomo
 * Pattern"): sends N "Hello world" requests without waiting, then collects
 * the N replies, each matched to its own request, and prints the count.
 *
 *   node --conditions=@zkit/source --import tsx ch4/mdclient2.ts [--connect tcp://localhost:5555] [--requests 100000] [-v]
 */
import { interruptSignal } from "@zkit/core";
import { MajordomoAsyncClient } from "@zkit/mdp";
import { ZMsg } from "@zkit/zmsg";
import { main, parseOptions } from "../lib/cli.js";

const opts = parseOptions(
  "mdclient2",
  'Asynchronous Majordomo client: N "Hello world" requests in flight at once, then their replies.',
  {
    connect: { type: "string", default: "tcp://localhost:5555", help: "the broker (CZMQ endpoint list)" },
    service: { type: "string", default: "echo", help: "the service to ask" },
    requests: { type: "number", default: 100000, help: "how many requests to send" },
    sockets: { type: "number", default: 256, min: 1, help: "how many requests on the wire at once (all on one connection against a zkit broker, one connection each against others)" },
    "timeout-ms": { type: "number", default: 2500, min: 1, help: "reply timeout, in msecs from the send" },
    verbose: { type: "boolean", help: "print every message (also -v)" },
  },
  process.argv.slice(2).map((a) => (a === "-v" ? "--verbose" : a)),
);

await main(async () => {
  const session = new MajordomoAsyncClient({
    endpoint: opts.connect,
    maxSockets: opts.sockets,
    maxInFlight: opts.sockets,
    timeoutMs: opts["timeout-ms"],
    ...(opts.verbose ? { trace: ({ direction, frames }) => console.log(`I: ${direction === "in" ? "received from" : "sending to"} broker:\n${ZMsg.fromBuffers([...frames]).dump()}`) } : {}),
  });
  const signal = interruptSignal();
  // every request goes out at once (past --sockets they wait their turn)
  const replies = Array.from({ length: opts.requests }, (_, i) =>
    session.request(opts.service, `Hello world ${i}`, { signal }).then(([frame]) => {
      if (frame?.toString() !== `Hello world ${i}`) throw new Error(`request ${i} got someone else's reply: ${frame}`);
    }),
  );
  const results = await Promise.allSettled(replies);
  const received = results.filter((r) => r.status === "fulfilled").length;
  console.log(`${received} replies received`);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  await session.close();
  if (failure !== undefined && !signal.aborted) throw failure.reason;
});
