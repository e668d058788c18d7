/**
 * The client actor of ch3/asyncsrv.ts (Guide chapter 3, "Asynchronous
 * Client/Server"), run by `ZActor.fork`: a DEALER socket with a random
 * printable identity sends "request #N" once per tick (1 s) and prints
 * every reply as it comes, however many there are, in between. A ZLoop does
 * both: a reader on the socket, a timer for the tick, and a reader on the
 * pipe for `$TERM`. On its end it says how many requests and replies it had.
 */
import { ZSocket } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { ZFrame } from "@zkit/zmsg";
import { ZActor, signal, type ActorFn } from "@zkit/zthread";
import { randomIdentity } from "./common.js";

/** What asyncsrv.ts passes to each client actor. */
export interface AsyncClientArgs {
  /** The server's frontend. */
  endpoint: string;
  /** One request per tick, in msecs. */
  tickMs: number;
}

const clientTask: ActorFn<AsyncClientArgs> = async (pipe, { endpoint, tickMs }) => {
  // Set random identity to make tracing easier (before connecting)
  const identity = randomIdentity();
  const client = await ZSocket.dealer(`>${endpoint}`, { routingId: identity });
  await signal(pipe, 0); // ready: ZActor.fork resolves

  let requestNbr = 0;
  let replies = 0;
  const loop = new ZLoop();
  // Print each reply as it arrives: the server echoes our request.
  loop.reader(client, (msg) => {
    replies++;
    console.log(new ZFrame(msg[msg.length - 1]!).dump(`${identity} `));
  });
  // Tick once per second: send the next request. (If the owner closed our
  // pipe without a $TERM, its process is going down: end too. A closed
  // socket just loses its ZLoop reader, so the tick checks.)
  loop.timer(tickMs, 0, () => (pipe.closed ? -1 : client.send(`request #${++requestNbr}`)));
  // Any message from the owner is $TERM: end the loop
  loop.reader(pipe, (msg) => (ZActor.isTerm(msg) ? -1 : undefined));
  try {
    await loop.start();
  } finally {
    loop.destroy();
    client.close();
  }
  console.log(`${identity} sent ${requestNbr} requests, got ${replies} replies`);
};
export default clientTask;
