/**
 * The client actor of ch3/lbbroker2.ts, ch3/lbbroker3.ts and ch3/peering2.ts
 * (Guide chapter 3, "A High-Level API for ZeroMQ" and "Prototyping the
 * Local and Cloud Flows"), run by `ZActor.fork`: a REQ socket sends
 * "HELLO", prints the reply, pauses (1 s), and again. After its last
 * request (forever by default) it sends "DONE" on its pipe and waits for
 * `$TERM`; it also obeys `$TERM` while it waits for a reply or pauses.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { ZActor, signal, type ActorFn } from "@zkit/zthread";
import { termWithin } from "./common.js";

/** What the brokers pass to each client actor. */
export interface LbClientArgs {
  /** The broker's frontend. */
  endpoint: string;
  /** How many requests to send; 0 sends forever. */
  requests: number;
  /** The pause after each reply, in msecs. */
  pauseMs: number;
}

const clientTask: ActorFn<LbClientArgs> = async (pipe, { endpoint, requests, pauseMs }) => {
  // Linger 0: when the broker stops, whatever is still queued is moot.
  const client = await ZSocket.req(`>${endpoint}`, { linger: 0 });
  await signal(pipe, 0); // ready: ZActor.fork resolves
  // The reply first: a reply that has come is printed before $TERM is obeyed.
  const poller = new ZPoller<ZSocket>(client, pipe);
  try {
    for (let n = 0; requests === 0 || n < requests; n++) {
      if (n > 0 && pauseMs > 0 && (await termWithin(pipe, pauseMs))) return;
      // Send request, get reply
      await client.send("HELLO");
      if ((await poller.wait()) !== client) return; // $TERM, or the pipe closed
      const [reply] = await client.receive();
      console.log(`Client: ${reply}`);
    }
    // All done: say so, then wait for the owner's $TERM.
    await pipe.send("DONE");
    for await (const msg of pipe) if (ZActor.isTerm(msg)) return;
  } finally {
    client.close();
  }
};
export default clientTask;
