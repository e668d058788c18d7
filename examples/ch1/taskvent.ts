/**
 * Task ventilator (Guide chapter 1, "Divide and Conquer").
 * Binds a PUSH socket that hands tasks out to the workers, and tells the sink
 * that a batch starts. Each task is a workload in msecs.
 *
 *   node --conditions=@zkit/source --import tsx ch1/taskvent.ts [--bind tcp://*:5557] [--sink tcp://localhost:5558] [--tasks 100] [--no-wait]
 *
 * Start the sink and the workers first, then press Enter: a PUSH socket deals
 * tasks round-robin to the workers connected at that moment, so a worker that
 * connects late gets nothing (and the first one to connect may get them all).
 */
import { ZSocket, interruptSignal } from "@zkit/core";
import { binding, connecting, enterPressed, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("taskvent", "Task ventilator: sends a batch of tasks to the workers through a PUSH socket.", {
  bind: { type: "string", default: "tcp://*:5557", help: "where the PUSH socket to the workers binds" },
  sink: { type: "string", default: "tcp://localhost:5558", help: "the sink to send the start of batch to" },
  tasks: { type: "number", default: 100, help: "how many tasks in the batch" },
  "no-wait": { type: "boolean", help: "send at once instead of waiting for Enter" },
});

await main(async () => {
  // Linger: when we close below, libzmq keeps up to 5 s to deliver what is
  // still queued (the Guide sleeps one second for that). Tasks are not lost
  // because the program ends.
  const sender = await ZSocket.push(binding(opts.bind), { linger: 5000 });
  const sink = await ZSocket.push(connecting(opts.sink), { linger: 5000 });
  console.log(`listening on ${sender.endpoints.join(",")}`);

  if (!opts["no-wait"]) {
    console.log("Press Enter when the workers are ready: ");
    await enterPressed(interruptSignal());
  }
  console.log("Sending tasks to workers...");

  // The first message is "0" and signals start of batch
  await sink.send("0");

  // Send the tasks, each a random workload from 1 to 100 msecs
  let totalMs = 0;
  for (let n = 0; n < opts.tasks; n++) {
    const workload = 1 + Math.floor(Math.random() * 100);
    totalMs += workload;
    await sender.send(String(workload));
  }
  console.log(`Total expected cost: ${totalMs} msec`);
  sink.close();
  sender.close();
});
