/**
 * A server worker actor of ch3/asyncsrv.ts (Guide chapter 3, "Asynchronous
 * Client/Server"), run by `ZActor.fork`: a DEALER socket connected to the
 * server's inproc backend takes one request at a time, [client identity]
 * [content], and sends 0 to 4 replies, each the same two frames, after a
 * random delay (up to 1 s). It watches its pipe for `$TERM` all the while.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { signal, type ActorFn } from "@zkit/zthread";
import { randof, termWithin } from "./common.js";

/** What asyncsrv.ts passes to each worker actor. */
export interface AsyncWorkerArgs {
  /** The server's backend (inproc). */
  endpoint: string;
  /** Each reply comes 1 to this many msecs after the previous one. */
  maxReplyMs: number;
}

const workerTask: ActorFn<AsyncWorkerArgs> = async (pipe, { endpoint, maxReplyMs }) => {
  // sendTimeout 0: a reply that cannot go at once is dropped, as the Guide's
  // ZFRAME_DONTWAIT does (and a worker never hangs on a backend that is gone).
  const worker = await ZSocket.dealer(`>${endpoint}`, { sendTimeout: 0 });
  await signal(pipe, 0); // ready: ZActor.fork resolves
  const poller = new ZPoller<ZSocket>(pipe, worker);
  try {
    for (;;) {
      if ((await poller.wait()) !== worker) return; // $TERM, or the pipe closed
      // The DEALER socket gives us the reply envelope and message
      const [identity, content] = await worker.receive();
      if (identity === undefined || content === undefined) continue; // not [identity][content]: drop it
      // Send 0..4 replies back
      const replies = randof(5);
      for (let reply = 0; reply < replies; reply++) {
        // Sleep for some fraction of a second (and end at once on $TERM)
        if (await termWithin(pipe, randof(maxReplyMs) + 1)) return;
        await worker.send([identity, content]).catch(() => {}); // not sent: dropped
      }
    }
  } finally {
    worker.close();
  }
};
export default workerTask;
