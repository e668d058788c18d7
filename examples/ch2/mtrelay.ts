/**
 * Multithreaded relay (Guide chapter 2, "Signaling Between Threads (PAIR
 * Sockets)"). Three steps in three threads, chained by inproc PAIR sockets:
 * step 1 (ch2/mtrelay-step1.ts) signals step 2 (ch2/mtrelay-step2.ts), which
 * signals the main thread, which then prints "Test successful!" and exits.
 *
 *   node --conditions=@zkit/source --import tsx ch2/mtrelay.ts
 *
 * Each step binds its PAIR before it starts the thread that connects to it
 * (main starts step 2, step 2 starts step 1), as in the Guide. PAIR is the
 * socket for coordinating threads: exactly one peer, no identity, nothing
 * dropped. The steps are `zthread.new` Workers (detached: they talk over
 * their own inproc sockets, not a zthread pipe). A Worker's console output
 * reaches the terminal through its parent thread, so each step waits for the
 * thread it started to end before it prints: the lines come out in order.
 */
import { ZSocket } from "@zkit/core";
import { zthread } from "@zkit/zthread";
import { main, parseOptions } from "../lib/cli.js";

parseOptions("mtrelay", "Three threads relay a READY signal to each other over inproc PAIR sockets.", {});

await main(async () => {
  // Our end first, then the thread that connects to it
  const receiver = await ZSocket.pair("@inproc://step3");
  const step2 = await zthread.new(new URL("./mtrelay-step2.ts", import.meta.url));
  let signalled = false;
  try {
    // Step 2's READY
    await receiver.receive();
    signalled = true;
  } finally {
    // After Ctrl-C step 2 may still be waiting: close its sockets and let it end.
    await (signalled ? step2.done : step2.stop());
  }
  console.log("Test successful!");
});
