/**
 * Multiple socket poller (Guide chapter 2, "Handling Multiple Sockets").
 * Reads tasks from the ventilator (PULL, ch1/taskvent.ts) and weather
 * updates for one zipcode (SUB, ch1/wuserver.ts) with a ZPoller: the program
 * sleeps until one of the two sockets has a message, then takes it.
 *
 *   node --conditions=@zkit/source --import tsx ch2/mspoller.ts [--vent tcp://localhost:5557] [--weather tcp://localhost:5556] [--zipcode 10001]
 *
 * This is the right way to read several sockets (compare ch2/msreader.ts):
 * no busy loop and no delay. `poller.wait()` never takes a message itself (it
 * uses each socket's one-message lookahead), so nothing is lost, and it
 * returns the first readable socket in the order given, like zmq_poll's items.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("mspoller", "Reads a ventilator's tasks and a weather server's updates with a ZPoller.", {
  vent: { type: "string", default: "tcp://localhost:5557", help: "the task ventilator to pull tasks from" },
  weather: { type: "string", default: "tcp://localhost:5556", help: "the weather server to subscribe to" },
  zipcode: { type: "number", default: 10001, help: "the zipcode of the weather updates to read" },
});

await main(async () => {
  // Tasks, from the ventilator
  const receiver = await ZSocket.pull(connecting(opts.vent));
  // Weather for one zipcode, from the weather server
  const filter = `${String(opts.zipcode).padStart(5, "0")} `;
  const subscriber = await ZSocket.sub(connecting(opts.weather), filter, { linger: 0 });
  console.log(`ready: tasks from ${opts.vent}, weather for '${filter.trim()}' from ${opts.weather}`);

  const poller = new ZPoller<ZSocket>(receiver, subscriber);
  let tasks = 0;
  let updates = 0;
  try {
    // Whichever socket has a message first (tasks win a tie)
    for (;;) {
      const sock = await poller.wait(); // -1: no timeout
      if (sock === null) break; // interrupted (Ctrl-C)
      const [msg] = await sock.receive(); // read ahead by the poller: no wait
      if (sock === receiver) {
        tasks++;
        console.log(`task: ${msg}`); // process task
      } else {
        updates++;
        console.log(`weather: ${msg}`); // process weather update
      }
      // Node has one thread: under a flood, let timers and signals in now and then.
      if ((tasks + updates) % 500 === 0) await yieldToEventLoop();
    }
  } finally {
    console.log(`${tasks} tasks, ${updates} weather updates`);
  }
});
