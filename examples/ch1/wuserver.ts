/**
 * Weather update server (Guide chapter 1, "Getting the Message Out").
 * Binds a PUB socket and publishes random weather updates, as fast as it
 * can, forever: "zipcode temperature relhumidity", e.g. "10001 45 32".
 *
 *   node --conditions=@zkit/source --import tsx ch1/wuserver.ts [--bind tcp://*:5556] [--zipcodes 100000]
 */
import { ZSocket, interrupted } from "@zkit/core";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { binding, main, parseOptions } from "../lib/cli.js";

const opts = parseOptions("wuserver", "Weather update server: a PUB socket that publishes random weather updates forever.", {
  bind: { type: "string", default: "tcp://*:5556", help: "where the PUB socket binds (CZMQ endpoint list)" },
  zipcodes: { type: "number", default: 100_000, min: 1, help: "zipcodes are drawn from 0 to N-1" },
});

const randomOf = (n: number): number => Math.floor(Math.random() * n);

await main(async () => {
  const publisher = await ZSocket.pub(binding(opts.bind));
  console.log(`listening on ${publisher.endpoints.join(",")}`);

  let sent = 0;
  try {
    while (!interrupted()) {
      // Get values that will fool the boss
      const zipcode = randomOf(opts.zipcodes);
      const temperature = randomOf(215) - 80;
      const relhumidity = randomOf(50) + 10;

      // Send message to all subscribers. A PUB never waits for anyone: with
      // no subscriber, or a slow one, updates are simply dropped.
      await publisher.send(`${String(zipcode).padStart(5, "0")} ${temperature} ${relhumidity}`);
      sent++;
      // Node has one thread: let timers and signals (Ctrl-C) in now and then.
      if (sent % 500 === 0) await yieldToEventLoop();
    }
  } finally {
    console.log(`published ${sent} updates`);
  }
});
