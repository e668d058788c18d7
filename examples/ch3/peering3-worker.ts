/**
 * The worker actor of ch3/peering3.ts (Guide chapter 3, "Putting it All
 * Together"), run by `ZActor.fork`: a REQ socket to the broker's local
 * backend says it is ready (a one-byte frame), then works on each task for
 * 0 or 1 s at random and sends the message back as it came, envelope and
 * task id: the reply is the task id. `$TERM` ends it between tasks.
 */
import { ZSocket, sleep } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { signal, type ActorFn } from "@zkit/zthread";
import { WORKER_READY, randof } from "./common.js";

/** What peering3.ts passes to each worker actor. */
export interface Peering3WorkerArgs {
  /** The broker's local backend. */
  localbe: string;
  /** A task takes 0 or this many msecs, at random. */
  workMs: number;
}

const workerTask: ActorFn<Peering3WorkerArgs> = async (pipe, { localbe, workMs }) => {
  // Linger 0: when the broker stops, whatever is still queued is moot.
  const worker = await ZSocket.req(`>${localbe}`, { linger: 0 });
  await signal(pipe, 0); // ready: ZActor.fork resolves
  const poller = new ZPoller<ZSocket>(pipe, worker);
  try {
    // Tell broker we're ready for work
    await worker.send(WORKER_READY);
    // Process messages as they arrive
    for (;;) {
      if ((await poller.wait()) !== worker) return; // $TERM, or the pipe closed
      const msg = await worker.receive();
      // Workers are busy for 0 or 1 seconds
      await sleep(randof(2) * workMs);
      await worker.send(msg);
    }
  } finally {
    worker.close();
  }
};
export default workerTask;
