/**
 * Task worker (Guide chapter 1, "Divide and Conquer").
 * Connects a PULL socket to the ventilator and a PUSH socket to the sink;
 * for each task, "works" (sleeps) for its workload in msecs, then tells the
 * sink it is done. Start as many as you like; Ctrl-C to stop one.
 *
 *   node --conditions=@zkit/source --import tsx ch1/taskwork.ts [--vent tcp://localhost:5557] [--sink tcp://localhost:5558]
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { connecting, main, parseOptions, print } from "../lib/cli.js";

const opts = parseOptions("taskwork", "Task worker: pulls tasks from the ventilator, pushes results to the sink.", {
  vent: { type: "string", default: "tcp://localhost:5557", help: "the ventilator to get tasks from" },
  sink: { type: "string", default: "tcp://localhost:5558", help: "the sink to send results to" },
});

await main(async () => {
  // Socket to receive messages on
  const receiver = await ZSocket.pull(connecting(opts.vent));
  // Socket to send messages to
  const sender = await ZSocket.push(connecting(opts.sink));
  console.log(`ready: tasks from ${opts.vent}, results to ${opts.sink}`);

  let done = 0;
  try {
    // Process tasks forever (until Ctrl-C closes the sockets)
    for await (const [task] of receiver) {
      const workload = Number(String(task));
      print(`${workload}.`); // Simple progress indicator for the viewer
      await sleep(workload, interruptSignal()); // Do the work
      await sender.send(""); // Send results to sink
      done++;
    }
  } finally {
    console.log(`\n${done} tasks done`);
  }
});
