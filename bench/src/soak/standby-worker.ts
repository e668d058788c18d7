/**
 * A Majordomo echo worker that loads, prints `warm`, and starts only when a
 * line arrives on stdin (then prints `ready` once READY is sent): the soaks
 * keep a few warm so that a killed worker is replaced at once, and the time
 * a process takes to start is not what they measure.
 *
 * usage: standby-worker <endpoint> <work ms>
 * @module
 */
import { createInterface } from "node:readline";
import { handleInterrupts, interruptSignal, sleep } from "@zkit/core";
import { MajordomoWorker } from "@zkit/mdp";

const [endpoint, work = "0"] = process.argv.slice(2);
const workMs = Number(work);
handleInterrupts();
const lines = createInterface({ input: process.stdin });
console.log("warm");
await new Promise<void>((resolve) => lines.once("line", () => resolve()));
const worker = new MajordomoWorker({
  endpoint: endpoint!,
  service: "echo",
  handler: workMs > 0 ? async (request) => (await sleep(workMs), request) : (request) => request,
});
await worker.start();
console.log("ready");
await new Promise<void>((resolve) => interruptSignal().addEventListener("abort", () => resolve(), { once: true }));
lines.close();
await worker.close();
