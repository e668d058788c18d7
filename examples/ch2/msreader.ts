/**
 * Multiple socket reader (Guide chapter 2, "Handling Multiple Sockets").
 * Reads tasks from the ventilator (PULL, ch1/taskvent.ts) and weather
 * updates for one zipcode (SUB, ch1/wuserver.ts) in one loop, the Guide's
 * first and naive way: look at each socket in turn, take what is waiting,
 * then nap for a millisecond.
 *
 *   node --conditions=@zkit/source --import tsx ch2/msreader.ts [--vent tcp://localhost:5557] [--weather tcp://localhost:5556] [--zipcode 10001]
 *
 * The Guide reads with ZMQ_DONTWAIT in a busy loop. zeromq.js has no
 * non-blocking receive, so the honest equivalent is `readable` (libzmq's
 * ZMQ_EVENTS: is a message waiting?) before each `receive()`, and a 1 ms
 * sleep, which is also what gives Node's event loop (timers, Ctrl-C) its turn.
 * It works, but it wakes up a thousand times a second when idle and adds up
 * to a millisecond of delay to every message. ch2/mspoller.ts is the right
 * way: a ZPoller sleeps until one of the sockets has a message.
 */
import { ZSocket, interruptSignal, interrupted, sleep } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("msreader", "Reads a ventilator's tasks and a weather server's updates by checking each socket in turn.", {
  vent: { type: "string", default: "tcp://localhost:5557", help: "the task ventilator to pull tasks from" },
  weather: { type: "string", default: "tcp://localhost:5556", help: "the weather server to subscribe to" },
  zipcode: { type: "number", default: 10001, help: "the zipcode of the weather updates to read" },
});

/** At most this many messages from one socket per pass, so the other one and Ctrl-C get their turn. */
const BATCH = 100;

await main(async () => {
  // Tasks, from the ventilator
  const receiver = await ZSocket.pull(connecting(opts.vent));
  // Weather for one zipcode, from the weather server
  const filter = `${String(opts.zipcode).padStart(5, "0")} `;
  const subscriber = await ZSocket.sub(connecting(opts.weather), filter, { linger: 0 });
  console.log(`ready: tasks from ${opts.vent}, weather for '${filter.trim()}' from ${opts.weather}`);

  let tasks = 0;
  let updates = 0;
  try {
    // Each pass: whatever the task socket holds, then whatever the weather socket holds.
    while (!interrupted()) {
      for (let n = 0; n < BATCH && receiver.readable; n++) {
        const [task] = await receiver.receive(); // a message is waiting: this does not wait
        tasks++;
        console.log(`task: ${task}`); // process task
      }
      for (let n = 0; n < BATCH && subscriber.readable; n++) {
        const [update] = await subscriber.receive();
        updates++;
        console.log(`weather: ${update}`); // process weather update
      }
      // Nothing more waiting: nap for 1 msec (the Guide sleeps on every pass too)
      await sleep(1, interruptSignal());
    }
  } finally {
    console.log(`${tasks} tasks, ${updates} weather updates`);
  }
});
