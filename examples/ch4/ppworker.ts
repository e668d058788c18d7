/**
 * Paranoid Pirate worker (Guide chapter 4, "Robust Reliable Queuing";
 * 6/PPP): heartbeats the queue, echoes requests after a second of "work",
 * reconnects with exponential back-off when the queue falls silent; after a
 * few requests it randomly simulates a crash or a CPU overload. Over @zkit/ppp.
 *
 *   node --conditions=@zkit/source --import tsx ch4/ppworker.ts [--connect tcp://localhost:5556] [--work-ms 1000]
 *     [--heartbeat-ms 1000] [--liveness 3] [--reconnect-ms 1000] [--reconnect-max-ms 32000]
 *     [--chaos 5] [--chaos-after 3] [--overload-ms 3000] [--crash-at 0] [--overload-at 0]
 */
import { interruptSignal, sleep } from "@zkit/core";
import { ParanoidPirateWorker } from "@zkit/ppp";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("ppworker", "Paranoid Pirate worker: heartbeats, echo, reconnects; simulates crashes and overloads.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the queue's backend to connect to" },
  "work-ms": { type: "number", default: 1000, help: "how long each normal request takes, in msecs" },
  "heartbeat-ms": { type: "number", default: 1000, min: 1, help: "heartbeat interval, in msecs (the queue's too)" },
  liveness: { type: "number", default: 3, min: 1, help: "heartbeat intervals the queue may stay silent" },
  "reconnect-ms": { type: "number", default: 1000, help: "first wait before reconnecting, in msecs (doubles each time)" },
  "reconnect-max-ms": { type: "number", default: 32000, help: "longest wait before reconnecting, in msecs" },
  chaos: { type: "number", default: 5, help: "1-in-N chance of a crash, then of an overload, per request; 0 = never" },
  "chaos-after": { type: "number", default: 3, help: "requests served normally before any chaos" },
  "overload-ms": { type: "number", default: 3000, help: "how long a simulated overload takes, in msecs" },
  "crash-at": { type: "number", default: 0, help: "always crash on request N (counted from 1); 0 = only by chance" },
  "overload-at": { type: "number", default: 0, help: "always overload on request N (counted from 1); 0 = only by chance" },
});

const chance = (): boolean => opts.chaos > 0 && Math.floor(Math.random() * opts.chaos) === 0;

await main(async () => {
  let cycles = 0;
  const worker = new ParanoidPirateWorker({
    endpoint: connecting(opts.connect),
    heartbeatIntervalMs: opts["heartbeat-ms"],
    liveness: opts.liveness,
    reconnectInitialMs: opts["reconnect-ms"],
    reconnectMaxMs: Math.max(opts["reconnect-max-ms"], opts["reconnect-ms"]),
    handler: async (request) => {
      cycles++;
      const chaotic = cycles > opts["chaos-after"];
      if (cycles === opts["crash-at"] || (chaotic && chance())) {
        console.log("I: simulating a crash");
        process.exit(0); // gone, the request in hand unanswered
      } else if (cycles === opts["overload-at"] || (chaotic && chance())) {
        // unlike the Guide's worker, ours keeps heartbeating while it works
        console.log("I: simulating CPU overload");
        await sleep(opts["overload-ms"], interruptSignal());
      }
      console.log("I: normal reply");
      await sleep(opts["work-ms"], interruptSignal()); // Do some heavy work
      return request;
    },
  });
  worker.on("ready", () => console.log("I: worker ready"));
  worker.on("disconnected", () => console.log("W: heartbeat failure, can't reach queue"));
  worker.on("reconnecting", ({ delayMs }) => console.log(`W: reconnecting in ${delayMs} msec...`));
  await worker.start();
  await worker.done; // until Ctrl-C
});
