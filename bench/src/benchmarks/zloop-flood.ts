/**
 * The flooder of the zloop benchmarks, run as a child process: it connects
 * one raw zeromq.js PUSH socket (no high-water mark) to each endpoint on its
 * command line, sends `count` 16-byte messages on each, prints `sent` and
 * waits. Raw zeromq.js, not zkit, so the load is the same whichever side of
 * a benchmark it feeds.
 *
 * It stops on SIGTERM, or as soon as its stdin ends (the bench process
 * closed it, or went away): it closes its sockets and exits. It never
 * outlives the bench, and never keeps reconnecting to ports that later
 * rounds may reuse.
 *
 *   node <tsx flags> zloop-flood.ts <count> tcp://127.0.0.1:41234 ...
 * @module
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import * as zmq from "zeromq";

const PAYLOAD = Buffer.alloc(16, 0x61);
/** Sends per socket between yields, so that SIGTERM and stdin's end get in. */
const YIELD_EVERY = 256;

const [countArg, ...endpoints] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 1 || endpoints.length === 0) {
  process.stderr.write("usage: zloop-flood.ts <count per socket> <endpoint>...\n");
  process.exit(2);
}

// No high-water mark: everything queues, nothing blocks or drops.
const sockets = endpoints.map((endpoint) => {
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 0 });
  push.connect(endpoint);
  return push;
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const s of sockets) s.close();
  process.stdin.destroy();
}
process.on("SIGTERM", stop);
process.stdin.on("end", stop).on("close", stop).on("error", stop).resume();

await Promise.all(
  sockets.map(async (push) => {
    for (let sent = 1; sent <= count && !stopping; sent++) {
      try {
        await push.send(PAYLOAD);
      } catch {
        return; // closed by stop()
      }
      if (sent % YIELD_EVERY === 0) await yieldToEventLoop();
    }
  }),
);
if (!stopping) process.stdout.write("sent\n");
