// `pnpm demo` plays chapter 1 in one process, then chapter 4 with workers in
// child processes: Majordomo with one echo worker SIGKILLed mid-stream, and
// Titanic holding a request until its service comes up. It must end by
// itself within 30 s, exit 0, tell what happened in each section, print the
// table of counts, and leave no child process or temp dir behind.
import { existsSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { startExample, stopAll } from "./helpers.js";

afterEach(() => stopAll());

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("pnpm demo plays chapters 1 and 4, prints the counts, exits 0 by itself and leaves nothing behind", async () => {
  const demo = startExample("demo.ts");
  // The demo's own deadline is 25 s; this one only catches a demo that ignores it.
  const exit = await demo.waitForExit(45_000);
  const out = demo.stdout();
  expect(exit, `${out}\n${demo.stderr()}`).toEqual({ code: 0, signal: null });
  expect(demo.stderr()).toBe("");

  // chapter 1
  expect(out).toMatch(/^1\. Request-reply: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}a REP server bound tcp:\/\/127\.0\.0\.1:\d+; a REQ client connected to it$/m);
  expect(out).toMatch(/^ {3}request-reply: 5 Hello sent, 5 World received, 5 requests served$/m);

  expect(out).toMatch(/^2\. Publish-subscribe: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}pub-sub: the server published \d+ updates for 100 zipcodes in [\d.]+ ms$/m);
  expect(out).toMatch(/^ {3}the client received 20 updates, all for zipcode 10001; average temperature -?\d+F$/m);

  expect(out).toMatch(/^3\. Pipeline: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}pipeline: 30 tasks sent, 30 results collected$/m);
  // inproc attaches every worker before the first task: round-robin is exact
  expect(out).toMatch(/^ {3}the workers took 10, 10, 10 tasks: PUSH deals them round-robin$/m);
  expect(out).toMatch(/^ {3}total work \d+ ms, done in [\d.]+ ms: [\d.]+x faster than one worker$/m);

  // chapter 4: Majordomo
  expect(out).toMatch(/^4\. Majordomo: Guide ch\. 4, Service-Oriented Reliable Queuing/m);
  expect(out).toMatch(/^ {3}a Majordomo broker bound tcp:\/\/127\.0\.0\.1:\d+ in this process; heartbeat 250 ms, a silent worker expires after 3$/m);
  const pids = /^ {3}workers: 2 for echo in child processes \(zkit mdp worker, pids (\d+) and (\d+)\), 1 for upper in this process$/m.exec(out);
  expect(pids, out).not.toBeNull();
  const [victim, survivor] = [Number(pids![1]), Number(pids![2])];
  expect(out).toMatch(/^ {3}mmi\.service \(8\/MMI\): echo 200, upper 200, nothing 404$/m);
  expect(out).toMatch(/^ {3}a MajordomoAsyncClient sends 400 echo requests, 200 in flight; a MajordomoClient asks upper meanwhile, one at a time$/m);
  expect(out).toMatch(new RegExp(`^ {3}after 100 echo replies: SIGKILL to the echo worker pid ${victim}, in the middle of the stream$`, "m"));
  expect(out).toMatch(/^ {3}the broker knew [\d.]+ ms later \(worker-gone "connection-lost": its connection ended, no heartbeat needed\); the request it held went back to the queue$/m);
  const resends = /^ {3}the other echo worker answered it: the async client resent (\d+) request\(s\) after a 2500 ms timeout$/m.exec(out);
  expect(resends, out).not.toBeNull();
  expect(out).toMatch(/^ {3}async client: 400 requests sent, 400 answered, each with its own body$/m);
  const sync = /^ {3}sync client: (\d+) requests sent, (\d+) answered, each in upper case$/m.exec(out);
  expect(sync, out).not.toBeNull();
  expect(Number(sync![1])).toBeGreaterThanOrEqual(1);
  expect(sync![2]).toBe(sync![1]);
  const perWorker = /^ {3}echo replies per worker: (\d+) from the killed one, (\d+) from the other$/m.exec(out);
  expect(perWorker, out).not.toBeNull();
  expect(Number(perWorker![1])).toBeGreaterThanOrEqual(1); // it served before the kill
  expect(Number(perWorker![1]) + Number(perWorker![2])).toBeGreaterThanOrEqual(400);
  expect(out).toMatch(new RegExp(`^ {3}SIGTERM to pid ${survivor}: it finished its request, sent DISCONNECT and exited 0 after \\d+ replies$`, "m"));

  // chapter 4: Titanic
  expect(out).toMatch(/^5\. Titanic: Guide ch\. 4, Disconnected Reliability/m);
  const store = /^ {3}a broker \(tcp:\/\/127\.0\.0\.1:\d+\) and Titanic in this process; Titanic stores requests in (\S+)$/m.exec(out);
  expect(store, out).not.toBeNull();
  expect(out).toMatch(/^ {3}titanic\.request for echo, which has no worker: 200, stored as [0-9a-f]{32} \(fsynced before the 200\)$/m);
  expect(out).toMatch(/^ {3}titanic\.reply: 300, pending: Titanic holds the request while mmi\.service says echo has no worker$/m);
  const late = /^ {3}starting an echo worker \(zkit mdp worker, pid (\d+)\); the client keeps polling every 100 ms$/m.exec(out);
  expect(late, out).not.toBeNull();
  expect(out).toMatch(/^ {3}the worker came up; Titanic dispatched the request and stored the reply [\d.]+ ms after the request$/m);
  const polls = /^ {3}titanic\.reply: 200, "Hello from Titanic" after (\d+) polls \((\d+) answered 300\)$/m.exec(out);
  expect(polls, out).not.toBeNull();
  expect(Number(polls![2])).toBeGreaterThanOrEqual(1); // the poll before the worker was started
  expect(Number(polls![1])).toBe(Number(polls![2]) + 1); // every other poll was pending
  expect(out).toMatch(/^ {3}titanic\.close: 200; the request and its reply are gone from the store$/m);

  expect(out.match(/^ {3}ok in [\d.]+ ms$/gm)).toHaveLength(5);

  // the table of counts
  expect(out).toMatch(/^counts:\n {3}client {16}service {2}sent {2}answered {2}retries$/m);
  expect(out).toMatch(new RegExp(`^ {3}MajordomoClient +upper +${sync![1]} +${sync![1]} +\\d+$`, "m"));
  expect(out).toMatch(new RegExp(`^ {3}MajordomoAsyncClient +echo +400 +400 +${resends![1]}$`, "m"));
  expect(out).toMatch(/^ {3}TitanicClient +echo +1 +1 +\d+$/m);
  expect(out).toMatch(/^ {3}Majordomo broker: workers ready \d+, lost with their connection 1, expired \d+, requests requeued from a gone worker 1, requests \d+, replies \d+$/m);
  expect(out).toMatch(/^ {3}Titanic: requests stored 1, dispatched 1, replies stored 1, delivered 1, left in the store 0$/m);

  const finished = /^demo finished: 5 sections in ([\d.]+) ms, every socket closed$/m.exec(out);
  expect(finished, out).not.toBeNull();
  expect(Number(finished![1])).toBeLessThan(30_000);

  // nothing left behind: every worker process is gone, and the store too
  for (const pid of [victim, survivor, Number(late![1])]) expect(alive(pid), `pid ${pid} still running`).toBe(false);
  expect(existsSync(store![1]!)).toBe(false);
});
