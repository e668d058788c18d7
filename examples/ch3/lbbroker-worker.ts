/**
 * A worker thread of ch3/lbbroker.ts (Guide chapter 3, "A Load Balancing
 * Message Broker"), run by `zthread.new`: a REQ socket tells the broker it
 * is "READY", then answers each request with "OK". Its messages carry the
 * client's address: the REQ socket strips the broker's envelope, so the
 * worker gets [client identity][empty][request] and sends the same
 * envelope back with its reply. It runs until the broker stops it.
 */
import { ZSocket } from "@zkit/core";
import type { DetachedFn } from "@zkit/zthread";
import { randomIdentity } from "./common.js";

/** What lbbroker.ts passes to each worker thread. */
export interface LbWorkerArgs {
  /** The broker's backend. */
  endpoint: string;
}

const workerTask: DetachedFn<LbWorkerArgs> = async ({ endpoint }) => {
  const worker = await ZSocket.req(`>${endpoint}`, { routingId: randomIdentity() });
  // Tell broker we're ready for work
  await worker.send("READY");
  // The loop ends when the broker stops this thread (its sockets close).
  for await (const [identity, , request] of worker) {
    console.log(`Worker: ${request}`);
    await worker.send([identity!, "", "OK"]);
  }
};
export default workerTask;
