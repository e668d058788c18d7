/**
 * A worker thread of ch3/rtdealer.ts (Guide chapter 3, "ROUTER Broker and
 * DEALER Workers"), run by `zthread.new`: the rtreq worker with a DEALER
 * socket, which adds and strips the empty delimiter frame itself where a
 * REQ socket does it for us.
 */
import { ZSocket, sleep } from "@zkit/core";
import type { DetachedFn } from "@zkit/zthread";
import { randof, randomIdentity } from "./common.js";

/** What rtdealer.ts passes to each worker thread. */
export interface RtdealerWorkerArgs {
  /** The broker's ROUTER. */
  endpoint: string;
  /** Each task takes 1 to this many msecs. */
  maxWorkMs: number;
}

const workerTask: DetachedFn<RtdealerWorkerArgs> = async ({ endpoint, maxWorkMs }) => {
  const worker = await ZSocket.dealer(`>${endpoint}`, { routingId: randomIdentity() });
  let total = 0;
  for (;;) {
    // Tell the broker we're ready for work: the empty delimiter, then the body
    await worker.send(["", "Hi Boss"]);
    // Get workload from broker, until finished: [empty][workload]
    const [, workload] = await worker.receive();
    if (String(workload) === "Fired!") break;
    total++;
    // Do some random work
    await sleep(randof(maxWorkMs) + 1);
  }
  console.log(`Completed: ${total} tasks`);
  worker.close();
};
export default workerTask;
