/**
 * A client thread of ch3/lbbroker.ts (Guide chapter 3, "A Load Balancing
 * Message Broker"), run by `zthread.new`: a REQ socket with a printable
 * identity sends one "HELLO", prints the reply and ends.
 */
import { ZSocket } from "@zkit/core";
import type { DetachedFn } from "@zkit/zthread";
import { randomIdentity } from "./common.js";

/** What lbbroker.ts passes to each client thread. */
export interface LbClientArgs {
  /** The broker's frontend. */
  endpoint: string;
}

const clientTask: DetachedFn<LbClientArgs> = async ({ endpoint }) => {
  const client = await ZSocket.req(`>${endpoint}`, { routingId: randomIdentity() });
  // Send request, get reply
  await client.send("HELLO");
  const [reply] = await client.receive();
  console.log(`Client: ${reply}`);
  client.close();
};
export default clientTask;
