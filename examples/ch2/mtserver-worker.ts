/**
 * One worker thread of ch2/mtserver.ts (Guide chapter 2, "Multithreading
 * with ZeroMQ"). Run by `zthread.fork` in a Worker: connects a REP socket to
 * the server's inproc DEALER, signals the main thread on its pipe that it is
 * ready, then answers each request with "World" after some "work".
 *
 * It stops when the main thread closes its end of the pipe (zkit then closes
 * ours): the REP socket closes and the work in progress is abandoned.
 */
import { ZSocket, sleep } from "@zkit/core";
import { signal, type AttachedFn } from "@zkit/zthread";

/** What ch2/mtserver.ts passes to each worker thread. */
export interface WorkerArgs {
  /** The inproc endpoint of the server's DEALER. */
  endpoint: string;
  /** The worker's number, from 1, to tell them apart in the output. */
  id: number;
  /** How long each request's "work" takes, in msecs. */
  workMs: number;
}

const worker: AttachedFn<WorkerArgs> = async (pipe, { endpoint, id, workMs }) => {
  // The server's DEALER deals requests to this REP socket
  const receiver = await ZSocket.rep(`>${endpoint}`);

  // The main thread sends nothing on the pipe: it closes it to stop us (or
  // sends anything, e.g. CZMQ's "$TERM"). Then stop, even mid-request.
  const stopping = new AbortController();
  const stop = (): void => {
    stopping.abort();
    receiver.close();
  };
  pipe.receive().then(stop, stop);
  await signal(pipe, 0); // connected and ready

  try {
    for await (const [request] of receiver) {
      console.log(`Received request: [${request}] (worker ${id})`);
      await sleep(workMs, stopping.signal); // the 'work'
      await receiver.send("World");
    }
  } catch (err) {
    if (!stopping.signal.aborted) throw err; // stopped mid-request: a normal end
  }
};
export default worker;
