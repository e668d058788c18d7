/**
 * Step 1 of ch2/mtrelay.ts (Guide chapter 2, "Signaling Between Threads").
 * Connects to step 2 on inproc://step2 and signals it.
 */
import { ZSocket } from "@zkit/core";
import type { DetachedFn } from "@zkit/zthread";

const step1: DetachedFn = async () => {
  // Step 2 bound its end before starting us: connect and say READY
  const xmitter = await ZSocket.pair(">inproc://step2");
  console.log("Step 1 ready, signaling step 2");
  await xmitter.send("READY");
};
export default step1;
