/**
 * Task sink with a kill signal (Guide chapter 2, "Handling Errors and
 * ETERM"). The sink of ch1/tasksink.ts, plus a PUB socket: once the batch is
 * in, it publishes "KILL" so the workers (ch2/taskwork2.ts) exit by themselves.
 *
 *   node --conditions=@zkit/source --import tsx ch2/tasksink2.ts [--bind tcp://*:5558] [--control tcp://*:5559] [--tasks 100]
 *
 * Run it with ch1/taskvent.ts and a few ch2/taskwork2.ts, in the order of
 * chapter 1's pipeline (sink, ventilator, workers, then Enter).
 */
import { ZSocket, now } from "@zkit/core";
import { binding, main, parseOptions, print } from "../lib/cli.js";

const opts = parseOptions("tasksink2", "Task sink that tells the workers to exit (KILL on a PUB socket) once the batch is in.", {
  bind: { type: "string", default: "tcp://*:5558", help: "where the PULL socket for results binds" },
  control: { type: "string", default: "tcp://*:5559", help: "where the PUB socket for the workers' KILL binds" },
  tasks: { type: "number", default: 100, help: "how many results make a batch" },
});

await main(async () => {
  // Results from the workers (and the ventilator's start of batch)
  const receiver = await ZSocket.pull(binding(opts.bind));
  // Commands to the workers. Linger: closing right after KILL still delivers it.
  const controller = await ZSocket.pub(binding(opts.control), { linger: 5000 });
  console.log(`listening on ${receiver.endpoints.join(",")} (results)`);
  console.log(`listening on ${controller.endpoints.join(",")} (control)`);

  // The batch starts with the ventilator's "0"; each worker result is an
  // empty message. A fast worker's result may overtake the "0" (they come
  // over different connections): the clock starts at whichever comes first.
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

  // The batch is in: tell every worker to exit
  await controller.send("KILL");
  console.log("Sent KILL to the workers");
  controller.close(); // libzmq delivers the KILL within the linger time
});
