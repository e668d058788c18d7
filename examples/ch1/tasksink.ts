/**
 * Task sink (Guide chapter 1, "Divide and Conquer").
 * Binds a PULL socket, waits for the ventilator's start of batch, collects
 * one result per task from the workers, and reports how long the batch took.
 *
 *   node --conditions=@zkit/source --import tsx ch1/tasksink.ts [--bind tcp://*:5558] [--tasks 100]
 */
import { ZSocket, now } from "@zkit/core";
import { binding, main, parseOptions, print } from "../lib/cli.js";

const opts = parseOptions("tasksink", "Task sink: collects the workers' results of one batch and times it.", {
  bind: { type: "string", default: "tcp://*:5558", help: "where the PULL socket binds" },
  tasks: { type: "number", default: 100, help: "how many results make a batch" },
});

await main(async () => {
  // PULL fair-queues: it reads from the ventilator and every worker in turn.
  const receiver = await ZSocket.pull(binding(opts.bind));
  console.log(`listening on ${receiver.endpoints.join(",")}`);

  // The batch starts with the ventilator's "0"; each worker result is an
  // empty message. The "0" and the results come over different connections,
  // so a fast worker's result may overtake it: the clock starts at whichever
  // arrives first, and the batch ends once both the "0" and every result came.
  let started: number | undefined;
  let gotStart = false;
  let results = 0;
  for await (const [msg] of receiver) {
    started ??= now();
    if (String(msg) === "0") gotStart = true;
    else print(++results % 10 === 0 ? ":" : ".");
    if (gotStart && results >= opts.tasks) break;
  }
  receiver.close();
  if (started === undefined || !gotStart || results < opts.tasks) return; // interrupted
  console.log(`\nReceived ${results} results`);
  console.log(`Total elapsed time: ${Math.round(now() - started)} msec`);
});
