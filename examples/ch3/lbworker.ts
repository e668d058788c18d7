/**
 * The worker actor of ch3/lbbroker2.ts, ch3/lbbroker3.ts and
 * ch3/peering2.ts (Guide chapter 3, "A High-Level API for ZeroMQ" and
 * "Prototyping the Local and Cloud Flows"), run by `ZActor.fork`: a REQ
 * socket sends the one-byte ready frame, then answers each request with
 * "OK" in place of its last frame, keeping the envelope. It polls its pipe
 * beside the socket, CZMQ style, so `$TERM` ends it between requests.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { ZMsg } from "@zkit/zmsg";
import { signal, type ActorFn } from "@zkit/zthread";
import { WORKER_READY } from "./common.js";

/** What the brokers pass to each worker actor. */
export interface LbWorkerArgs {
  /** The broker's backend. */
  endpoint: string;
}

const workerTask: ActorFn<LbWorkerArgs> = async (pipe, { endpoint }) => {
  // Linger 0: when the broker stops, whatever is still queued is moot.
  const worker = await ZSocket.req(`>${endpoint}`, { linger: 0 });
  await signal(pipe, 0); // ready: ZActor.fork resolves
  try {
    // Tell broker we're ready for work
    await worker.send(WORKER_READY);
    const poller = new ZPoller<ZSocket>(pipe, worker);
    // Process messages as they arrive
    for (;;) {
      if ((await poller.wait()) !== worker) return; // $TERM, or the pipe closed
      const msg = await ZMsg.recv(worker);
      const request = msg.last()!;
      console.log(request.dump("Worker: "));
      // The reply replaces the request's body. (In zkit, a frame taken from
      // a message wraps its Buffer: ZFrame.reset would rebind that wrapper
      // only, so the frame is replaced instead.)
      msg.remove(request);
      msg.addstr("OK");
      await msg.send(worker);
    }
  } finally {
    worker.close();
  }
};
export default workerTask;
