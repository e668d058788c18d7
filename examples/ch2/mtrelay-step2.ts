/**
 * Step 2 of ch2/mtrelay.ts (Guide chapter 2, "Signaling Between Threads").
 * Binds inproc://step2, starts step 1 in its own thread, waits for its
 * signal, then signals step 3 (the main thread) on inproc://step3.
 */
import { ZSocket } from "@zkit/core";
import { zthread, type DetachedFn } from "@zkit/zthread";

const step2: DetachedFn = async () => {
  // Our end first, then the thread that connects to it
  const receiver = await ZSocket.pair("@inproc://step2");
  const step1 = await zthread.new(new URL("./mtrelay-step1.ts", import.meta.url));
  let signalled = false;
  try {
    // Step 1's READY
    await receiver.receive();
    signalled = true;
  } finally {
    // Stopped by the main thread (Ctrl-C) before the signal: stop step 1 too.
    await (signalled ? step1.done : step1.stop());
  }

  // Pass it on to the main thread
  const xmitter = await ZSocket.pair(">inproc://step3");
  console.log("Step 2 ready, signaling step 3");
  await xmitter.send("READY");
};
export default step2;
