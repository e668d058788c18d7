/**
 * The publisher thread of ch5/suisnail.ts (Guide chapter 5, "Slow
 * Subscriber Detection (Suicidal Snail Pattern)"). Run by `zthread.fork`:
 * binds a PUB socket, tells the main thread its real endpoint on the pipe,
 * then publishes the current time (wall clock, ms, as decimal text) about
 * once a millisecond, until the main thread closes the pipe.
 */
import { ZSocket, sleep } from "@zkit/core";
import type { AttachedFn } from "@zkit/zthread";

/** What ch5/suisnail.ts passes to the publisher thread. */
export interface PublisherArgs {
  /** Where the PUB socket binds (a CZMQ endpoint). */
  endpoint: string;
  /** Time between two messages, in msecs (the Guide: 1). */
  intervalMs: number;
}

const publisher: AttachedFn<PublisherArgs> = async (pipe, { endpoint, intervalMs }) => {
  const pub = await ZSocket.pub(endpoint);
  let running = true;
  const stop = (): void => {
    running = false;
    pub.close();
  };
  pipe.receive().then(stop, stop); // anything on the pipe, or its close, stops us
  await pipe.send(pub.endpoint);
  let sent = 0;
  try {
    while (running) {
      await pub.send(String(Date.now()));
      sent++;
      await sleep(intervalMs);
    }
  } catch (err) {
    if (running) throw err; // a send interrupted by the stop is a normal end
  }
  console.log(`publisher: sent ${sent} messages`);
};
export default publisher;
