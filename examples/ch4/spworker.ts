/**
 * Simple Pirate worker (Guide chapter 4, "Basic Reliable Queuing"): a REQ
 * worker that tells the queue it is ready and echoes each request after a
 * second of "work"; after a few requests it randomly simulates a crash or a
 * CPU overload. Over @zkit/spp.
 *
 *   node --conditions=@zkit/source --import tsx ch4/spworker.ts [--connect tcp://localhost:5556] [--work-ms 1000]
 *     [--chaos 5] [--chaos-after 3] [--overload-ms 3000] [--crash-at 0] [--overload-at 0]
 */
import { interruptSignal, sleep } from "@zkit/core";
import { SimplePirateWorker } from "@zkit/spp";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("spworker", "Simple Pirate worker: READY, then echo; simulates crashes and overloads.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the queue's backend to connect to" },
  "work-ms": { type: "number", default: 1000, help: "how long each normal request takes, in msecs" },
  chaos: { type: "number", default: 5, help: "1-in-N chance of a crash, then of an overload, per request; 0 = never" },
  "chaos-after": { type: "number", default: 3, help: "requests served normally before any chaos" },
  "overload-ms": { type: "number", default: 3000, help: "how long a simulated overload takes, in msecs" },
  "crash-at": { type: "number", default: 0, help: "always crash on request N (counted from 1); 0 = only by chance" },
  "overload-at": { type: "number", default: 0, help: "always overload on request N (counted from 1); 0 = only by chance" },
});

const hex4 = (): string =>
  Math.floor(Math.random() * 0x10000)
    .toString(16)
    .toUpperCase()
    .padStart(4, "0");
const identity = `${hex4()}-${hex4()}`; // for the printout, as in the Guide
const chance = (): boolean => opts.chaos > 0 && Math.floor(Math.random() * opts.chaos) === 0;

await main(async () => {
  let cycles = 0;
  const worker = new SimplePirateWorker({
    endpoint: connecting(opts.connect),
    handler: async (request) => {
      cycles++;
      const chaotic = cycles > opts["chaos-after"];
      if (cycles === opts["crash-at"] || (chaotic && chance())) {
        console.log(`I: (${identity}) simulating a crash`);
        process.exit(0); // gone, the request in hand unanswered
      } else if (cycles === opts["overload-at"] || (chaotic && chance())) {
        console.log(`I: (${identity}) simulating CPU overload`);
        await sleep(opts["overload-ms"], interruptSignal());
      }
      console.log(`I: (${identity}) normal reply`);
      await sleep(opts["work-ms"], interruptSignal()); // Do some heavy work
      return request;
    },
  });
  worker.on("ready", () => console.log(`I: (${identity}) worker ready`));
  await worker.start();
  await worker.done; // until Ctrl-C
});
