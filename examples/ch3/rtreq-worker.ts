/**
 * A worker thread of ch3/rtreq.ts (Guide chapter 3, "ROUTER Broker and REQ
 * Workers"), run by `zthread.new`: a REQ socket with a printable identity
 * tells the broker it is ready ("Hi Boss"), does each task it gets (a
 * random sleep), and stops when it is "Fired!", saying how many tasks it did.
 */
import { ZSocket, sleep } from "@zkit/core";
import type { DetachedFn } from "@zkit/zthread";
import { randof, randomIdentity } from "./common.js";

/** What rtreq.ts passes to each worker thread. */
export interface RtreqWorkerArgs {
  /** The broker's ROUTER. */
  endpoint: string;
  /** Each task takes 1 to this many msecs. */
  maxWorkMs: number;
}

const workerTask: DetachedFn<RtreqWorkerArgs> = async ({ endpoint, maxWorkMs }) => {
  // A printable identity makes the broker's view easy to trace.
  const worker = await ZSocket.req(`>${endpoint}`, { routingId: randomIdentity() });
  let total = 0;
  for (;;) {
    // Tell the broker we're ready for work
    await worker.send("Hi Boss");
    // Get workload from broker, until finished
    const [workload] = await worker.receive();
    if (String(workload) === "Fired!") break;
    total++;
    // Do some random work
    await sleep(randof(maxWorkMs) + 1);
  }
  console.log(`Completed: ${total} tasks`);
  worker.close();
};
export default workerTask;
