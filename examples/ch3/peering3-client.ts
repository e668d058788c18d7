/**
 * The client actor of ch3/peering3.ts (Guide chapter 3, "Putting it All
 * Together"), run by `ZActor.fork`: a REQ socket to the broker's local
 * frontend and a PUSH socket to its monitor. It pauses a random while
 * (0 to 4 s), then sends a burst of 0 to 14 tasks, each a random 4-digit hex
 * id, one at a time. Each reply must be its task id: it goes to the
 * monitor. A task with no reply within 10 s is reported lost
 * ("E: CLIENT EXIT - lost task ...") and the client ends.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { signal, type ActorFn } from "@zkit/zthread";
import { hex4, randof, termWithin } from "./common.js";

/** What peering3.ts passes to each client actor. */
export interface Peering3ClientArgs {
  /** The broker's local frontend. */
  localfe: string;
  /** The broker's monitor. */
  monitor: string;
  /** The pause before a burst: 0 to this many msecs. */
  maxPauseMs: number;
  /** A burst is 0 to this many tasks. */
  maxBurst: number;
  /** How long to wait for a reply before reporting the task lost, in msecs. */
  timeoutMs: number;
}

const clientTask: ActorFn<Peering3ClientArgs> = async (pipe, { localfe, monitor, maxPauseMs, maxBurst, timeoutMs }) => {
  // Linger 0: when the broker stops, whatever is still queued is moot.
  const client = await ZSocket.req(`>${localfe}`, { linger: 0 });
  const mon = await ZSocket.push(`>${monitor}`, { linger: 0 });
  await signal(pipe, 0); // ready: ZActor.fork resolves
  // The reply first: a reply that has come is reported before $TERM is obeyed.
  const poller = new ZPoller<ZSocket>(client, pipe);
  try {
    for (;;) {
      if (await termWithin(pipe, randof(maxPauseMs + 1))) return;
      let burst = randof(maxBurst + 1);
      while (burst-- > 0) {
        // Send request with random hex ID
        const taskId = hex4(randof(0x10000));
        await client.send(taskId);
        // Wait max ten seconds for a reply, then complain
        const ready = await poller.wait(timeoutMs);
        if (ready === client) {
          const [reply] = await client.receive();
          // Worker is supposed to answer us with our task id
          if (String(reply) !== taskId) throw new Error(`task ${taskId} got the reply of another: ${reply}`);
          await mon.send(String(reply));
        } else if (ready === null && poller.expired) {
          await mon.send(`E: CLIENT EXIT - lost task ${taskId}`);
          return;
        } else return; // $TERM, or the pipe closed
      }
    }
  } finally {
    client.close();
    mon.close();
  }
};
export default clientTask;
