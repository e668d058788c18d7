/**
 * The subscriber thread of ch5/suisnail.ts (Guide chapter 5, "Slow
 * Subscriber Detection (Suicidal Snail Pattern)"). Run by `zthread.fork`:
 * subscribes to everything from the publisher, and for each message (a
 * timestamp) checks how late it is; more than `maxDelayMs` late means it
 * cannot keep up, and it kills itself with a message rather than go on
 * with stale data. Each message takes `workMs` plus up to `jitterMs` of
 * "work" (the Guide: 1 + randof(2) ms, while the publisher sends one per ms,
 * so it falls further behind with every message).
 */
import { ZSocket, sleep } from "@zkit/core";
import type { AttachedFn } from "@zkit/zthread";

/** What ch5/suisnail.ts passes to the subscriber thread. */
export interface SubscriberArgs {
  /** The publisher's real endpoint. */
  endpoint: string;
  /** How late a message may be before the subscriber gives up, in msecs (the Guide: 1000). */
  maxDelayMs: number;
  /** The fixed part of each message's work, in msecs (the Guide: 1). */
  workMs: number;
  /** The random part: 0 to this many msecs more (the Guide: 1). */
  jitterMs: number;
  /** Give up the test and report success after this long, in msecs (0: never). */
  durationMs: number;
}

const subscriber: AttachedFn<SubscriberArgs> = async (pipe, { endpoint, maxDelayMs, workMs, jitterMs, durationMs }) => {
  const sub = await ZSocket.sub(`>${endpoint}`, "");
  const started = Date.now();
  let received = 0;
  for await (const [frame] of sub) {
    const lateMs = Date.now() - Number(String(frame));
    received++;
    // Suicidal snail logic
    if (lateMs > maxDelayMs) {
      console.log(`E: subscriber cannot keep up, aborting (message ${received} was ${lateMs} ms late)`);
      await pipe.send("croaked");
      return;
    }
    if (durationMs > 0 && Date.now() - started >= durationMs) {
      console.log(`subscriber kept up for ${Date.now() - started} ms (${received} messages, the last ${lateMs} ms late)`);
      await pipe.send("kept up");
      return;
    }
    // Work for a while
    const work = workMs + Math.floor(Math.random() * (jitterMs + 1));
    if (work > 0) await sleep(work);
  }
};
export default subscriber;
