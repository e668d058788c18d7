/**
 * Weather update client (Guide chapter 1, "Getting the Message Out").
 * Connects a SUB socket to the weather server, subscribes to one zipcode,
 * collects a number of updates and prints the average temperature.
 *
 *   node --conditions=@zkit/source --import tsx ch1/wuclient.ts [--connect tcp://localhost:5556] [--zipcode 10001] [--updates 100]
 */
import { ZSocket } from "@zkit/core";
import { connecting, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("wuclient", "Weather update client: a SUB socket that averages the temperature of one zipcode.", {
  connect: { type: "string", default: "tcp://localhost:5556", help: "the weather server to connect to (CZMQ endpoint list)" },
  zipcode: { type: "number", default: 10001, help: "the zipcode to subscribe to" },
  updates: { type: "number", default: 100, min: 1, help: "how many updates to collect" },
});

await main(async () => {
  console.log("Collecting updates from weather server...");
  // Subscribe to one zipcode: a SUB filters on the message's prefix. The
  // space ends the zipcode, so 10001 does not also match 100012.
  const filter = `${String(opts.zipcode).padStart(5, "0")} `;
  // Linger 0: a subscriber has nothing worth delivering when it closes.
  const subscriber = await ZSocket.sub(connecting(opts.connect), filter, { linger: 0 });

  let total = 0;
  let count = 0;
  for await (const [update] of subscriber) {
    const [, temperature] = String(update).split(" ");
    total += Number(temperature);
    if (++count === opts.updates) break;
  }
  subscriber.close();
  if (count < opts.updates) return; // interrupted
  console.log(`Average temperature for zipcode '${filter.trim()}' was ${Math.trunc(total / count)}F`);
});
