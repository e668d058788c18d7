/**
 * Task worker with a kill signal (Guide chapter 2, "Handling Errors and
 * ETERM"). The worker of ch1/taskwork.ts, plus a SUB socket on the sink's
 * control channel (ch2/tasksink2.ts): when the batch is done the sink
 * publishes "KILL" and every worker exits by itself.
 *
 *   node --conditions=@zkit/source --import tsx ch2/taskwork2.ts [--vent tcp://localhost:5557] [--sink tcp://localhost:5558] [--control tcp://localhost:5559]
 *
 * A ZPoller waits on both the tasks and the control socket, as the Guide's
 * zmq_poll does; tasks come first when both are ready.
 */
import { ZSocket, interruptSignal, sleep } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { connecting, main, parseOptions, print } from "../lib/cli.js";

const opts = parseOptions("taskwork2", "Task worker that also listens for the sink's KILL: pulls tasks, pushes results, exits on KILL.", {
  vent: { type: "string", default: "tcp://localhost:5557", help: "the ventilator to get tasks from" },
  sink: { type: "string", default: "tcp://localhost:5558", help: "the sink to send results to" },
  control: { type: "string", default: "tcp://localhost:5559", help: "the sink's control channel (KILL)" },
});

await main(async () => {
  // Tasks from the ventilator
  const receiver = await ZSocket.pull(connecting(opts.vent));
  // Results to the sink
  const sender = await ZSocket.push(connecting(opts.sink));
  // Socket for control input: every message on it means KILL
  const controller = await ZSocket.sub(connecting(opts.control), "", { linger: 0 });
  console.log(`ready: tasks from ${opts.vent}, results to ${opts.sink}, control from ${opts.control}`);

  // Wait on both; tasks come first when both have a message
  const poller = new ZPoller<ZSocket>(receiver, controller);
  let done = 0;
  try {
    for (;;) {
      const sock = await poller.wait();
      if (sock === null) break; // interrupted (Ctrl-C)
      const [msg] = await sock.receive();
      if (sock === controller) {
        // Whatever comes on the control socket means KILL
        console.log(`\n${msg}: the batch is done`);
        break;
      }
      const workload = Number(String(msg));
      print(`${workload}.`); // Show progress
      await sleep(workload, interruptSignal()); // Do the work
      await sender.send(""); // Send results to sink
      done++;
    }
  } finally {
    console.log(`${done} tasks done`);
  }
});
