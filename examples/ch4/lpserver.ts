/**
 * Lazy Pirate server (Guide chapter 4, "Client-Side Reliability"): a plain
 * REP echo server that, after a few requests, randomly simulates a crash
 * (it exits without answering) or a CPU overload (it answers late), so that
 * lpclient has something to survive.
 *
 *   node --conditions=@zkit/source --import tsx ch4/lpserver.ts [--bind tcp://*:5555] [--work-ms 1000]
 *     [--chaos 3] [--chaos-after 3] [--overload-ms 2000] [--crash-at 0] [--overload-at 0]
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("lpserver", "Lazy Pirate server: a REP echo server that simulates crashes and overloads.", {
  bind: { type: "string", default: "tcp://*:5555", help: "where the REP socket binds" },
  "work-ms": { type: "number", default: 1000, help: "how long each normal request takes, in msecs" },
  chaos: { type: "number", default: 3, help: "1-in-N chance of a crash, then of an overload, per request; 0 = never" },
  "chaos-after": { type: "number", default: 3, help: "requests served normally before any chaos" },
  "overload-ms": { type: "number", default: 2000, help: "how long a simulated overload takes, in msecs" },
  "crash-at": { type: "number", default: 0, help: "always crash on request N (counted from 1); 0 = only by chance" },
  "overload-at": { type: "number", default: 0, help: "always overload on request N (counted from 1); 0 = only by chance" },
});

const chance = (): boolean => opts.chaos > 0 && Math.floor(Math.random() * opts.chaos) === 0;

await main(async () => {
  const server = await ZSocket.rep(binding(opts.bind));
  console.log(`listening on ${server.endpoints.join(",")}`);
  let cycles = 0;
  for await (const request of server) {
    cycles++;
    const chaotic = cycles > opts["chaos-after"];
    // Simulate various problems, after a few cycles
    if (cycles === opts["crash-at"] || (chaotic && chance())) {
      console.log("I: simulating a crash");
      break;
    } else if (cycles === opts["overload-at"] || (chaotic && chance())) {
      console.log("I: simulating CPU overload");
      await sleep(opts["overload-ms"], interruptSignal());
    }
    console.log(`I: normal request (${request.map(String).join(" ")})`);
    await sleep(opts["work-ms"], interruptSignal()); // Do some heavy work
    await server.send(request);
  }
  // A crash: the request in hand is never answered. Closing at once (linger
  // 0) is what a crashed process does to its connections.
  server.set("linger", 0);
  server.close();
});
