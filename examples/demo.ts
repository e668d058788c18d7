/**
 * `pnpm demo`: a tour of the ZeroMQ Guide with zkit.
 *
 * Each section plays one pattern with real sockets (tcp on 127.0.0.1 with
 * ephemeral ports, or inproc) and tells what happened, with counts and
 * timings: chapter 1's request-reply, pub-sub and pipeline in this process,
 * then chapter 4's Majordomo (workers in child processes, one SIGKILLed
 * while two clients keep asking) and Titanic (a request stored while its
 * service is down). A table of counts closes the tour. The demo exits 0 when
 * every section worked, every socket is closed and every child process has
 * stopped, non-zero otherwise; a deadline makes sure it can never hang.
 *
 * To add a chapter, append its sections to `sections` below (the chapter 4
 * ones live in lib/demo-ch4.ts, the shared pieces in lib/demo-kit.ts).
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ZSocket, handleInterrupts, interrupted, now, openSocketCount, shutdown, sleep } from "@zkit/core";
import { majordomo, titanic } from "./lib/demo-ch4.js";
import { check, cleanUpNow, ms, runningChildren, type Counts, type Section } from "./lib/demo-kit.js";

/** The whole tour ends by then, or the demo gives up: well within 30 s even on a loaded machine. */
const DEADLINE_MS = 25_000;

const randomOf = (n: number): number => Math.floor(Math.random() * n);

// ---------------------------------------------------------------- chapter 1

const requestReply: Section = {
  title: "Request-reply",
  guide: "Guide ch. 1, Ask and Ye Shall Receive (ch1/hwserver.ts, ch1/hwclient.ts)",
  async run(say) {
    const rounds = 5;
    const server = await ZSocket.rep("@tcp://127.0.0.1:*");
    const client = await ZSocket.req(`>${server.endpoint}`);
    try {
      say(`a REP server bound ${server.endpoint}; a REQ client connected to it`);
      // The server answers every "Hello" with "World", until its socket closes.
      const serving = (async () => {
        let served = 0;
        for await (const [request] of server) {
          check(String(request) === "Hello", `server got "${request}" instead of "Hello"`);
          served++;
          await server.send("World");
        }
        return served;
      })();

      const times: number[] = [];
      for (let n = 0; n < rounds; n++) {
        const t0 = now();
        await client.send("Hello");
        const [reply] = await client.receive();
        times.push(now() - t0);
        check(String(reply) === "World", `client got "${reply}" instead of "World"`);
      }
      client.close();
      server.close(); // ends the server's loop
      const served = await serving;

      const rest = times.slice(1);
      const average = rest.reduce((a, b) => a + b, 0) / rest.length;
      say(`request-reply: ${rounds} Hello sent, ${rounds} World received, ${served} requests served`);
      say(`the first round trip took ${ms(times[0]!)} (it waits for the TCP connection), the next ones ${ms(average)} on average`);
      say("REQ and REP keep in lockstep: one request, one reply, then the next request");
    } finally {
      client.close();
      server.close();
    }
  },
};

const publishSubscribe: Section = {
  title: "Publish-subscribe",
  guide: "Guide ch. 1, Getting the Message Out (ch1/wuserver.ts, ch1/wuclient.ts)",
  async run(say) {
    const wanted = 20;
    const publisher = await ZSocket.pub("@tcp://127.0.0.1:*");
    const subscriber = await ZSocket.sub(`>${publisher.endpoint}`, "10001 ");
    try {
      say(`a PUB weather server bound ${publisher.endpoint}; a SUB client subscribed to "10001 "`);
      // The server publishes random updates for zipcodes 10000-10099 until told to stop.
      let publishing = true;
      let published = 0;
      const t0 = now();
      const server = (async () => {
        while (publishing) {
          const zipcode = 10_000 + randomOf(100);
          await publisher.send(`${zipcode} ${randomOf(215) - 80} ${randomOf(50) + 10}`);
          published++;
          if (published % 100 === 0) await yieldToEventLoop();
        }
      })();

      let total = 0;
      let received = 0;
      try {
        for await (const [update] of subscriber) {
          const [zipcode, temperature] = String(update).split(" ");
          check(zipcode === "10001", `subscriber got an update for ${zipcode}`);
          total += Number(temperature);
          if (++received === wanted) break;
        }
      } finally {
        publishing = false;
        await server;
      }
      const elapsed = now() - t0;
      check(received === wanted, `subscriber got ${received} of ${wanted} updates`);

      say(`pub-sub: the server published ${published} updates for 100 zipcodes in ${ms(elapsed)}`);
      say(`the client received ${received} updates, all for zipcode 10001; average temperature ${Math.trunc(total / received)}F`);
      say("over tcp the publisher filters: updates for other zipcodes never leave it; and what it sent before the");
      say("subscription arrived was dropped (the Guide's slow joiner): a PUB never waits for anyone");
    } finally {
      subscriber.close();
      publisher.close();
    }
  },
};

const pipeline: Section = {
  title: "Pipeline",
  guide: "Guide ch. 1, Divide and Conquer (ch1/taskvent.ts, ch1/taskwork.ts, ch1/tasksink.ts)",
  async run(say) {
    const taskCount = 30;
    const workerCount = 3;
    // inproc connects at once, so every worker is attached before the first
    // task goes out (over tcp the Guide has you press Enter for that).
    const tag = `${process.pid}-${Date.now()}`;
    const sink = await ZSocket.pull(`@inproc://sink-${tag}`);
    const ventilator = await ZSocket.push(`@inproc://ventilator-${tag}`);
    const batchStart = await ZSocket.push(`>inproc://sink-${tag}`);
    const workers = await Promise.all(
      Array.from({ length: workerCount }, async () => ({
        tasks: await ZSocket.pull(`>inproc://ventilator-${tag}`),
        results: await ZSocket.push(`>inproc://sink-${tag}`),
        done: 0,
      })),
    );
    const all = [sink, ventilator, batchStart, ...workers.flatMap((w) => [w.tasks, w.results])];
    try {
      say(`a ventilator (PUSH), ${workerCount} workers (PULL in, PUSH out) and a sink (PULL), over inproc`);
      // Each worker: take a task, sleep its workload in msecs, report to the sink.
      const working = workers.map(async (w) => {
        for await (const [task] of w.tasks) {
          await sleep(Number(String(task)));
          await w.results.send("");
          w.done++;
        }
      });
      // The sink: the batch starts with "0", then one empty message per task.
      const collecting = (async () => {
        let results = 0;
        let started = false;
        for await (const [msg] of sink) {
          if (String(msg) === "0") started = true;
          else results++;
          if (started && results === taskCount) break;
        }
        return results;
      })();

      const t0 = now();
      await batchStart.send("0");
      let expected = 0;
      for (let n = 0; n < taskCount; n++) {
        const workload = 1 + randomOf(40);
        expected += workload;
        await ventilator.send(String(workload));
      }
      const results = await collecting;
      const elapsed = now() - t0;
      for (const s of all) s.close(); // ends the workers' loops
      await Promise.all(working);

      check(results === taskCount, `sink got ${results} of ${taskCount} results`);
      const shares = workers.map((w) => w.done);
      check(shares.reduce((a, b) => a + b, 0) === taskCount, `workers did ${shares.join("+")} tasks, not ${taskCount}`);
      say(`pipeline: ${taskCount} tasks sent, ${results} results collected`);
      say(`the workers took ${shares.join(", ")} tasks: PUSH deals them round-robin`);
      say(`total work ${expected} ms, done in ${ms(elapsed)}: ${(expected / elapsed).toFixed(1)}x faster than one worker`);
    } finally {
      for (const s of all) s.close();
    }
  },
};

const sections: Section[] = [requestReply, publishSubscribe, pipeline, majordomo, titanic];

// ---------------------------------------------------------------- the tour

/** The closing table: one row per client, then one line per server. */
function printCounts(counts: Counts): void {
  if (counts.clients.length === 0 && counts.servers.length === 0) return;
  const header = ["client", "service", "sent", "answered", "retries"];
  const rows = counts.clients.map((c) => [c.client, c.service, String(c.sent), String(c.answered), String(c.retries)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log("\ncounts:");
  console.log(`   ${line(header)}`);
  for (const r of rows) console.log(`   ${line(r)}`);
  for (const [name, summary] of counts.servers) console.log(`   ${name}: ${summary}`);
}

handleInterrupts();
let current = "start";
const guard = setTimeout(() => {
  process.stderr.write(`demo: stuck in "${current}" after ${DEADLINE_MS} ms, giving up\n`);
  shutdown();
  cleanUpNow(); // SIGKILL to every child, temp dirs removed
  process.exit(1);
}, DEADLINE_MS);

const tourStart = now();
const counts: Counts = { clients: [], servers: [] };
let failed = false;
console.log("zkit demo: the ZeroMQ Guide's patterns, with real sockets and real processes");
for (const [i, section] of sections.entries()) {
  current = section.title;
  console.log(`\n${i + 1}. ${section.title}: ${section.guide}`);
  const t0 = now();
  try {
    await section.run((line) => console.log(`   ${line}`), counts);
    console.log(`   ok in ${ms(now() - t0)}`);
  } catch (err) {
    failed = true;
    process.stderr.write(`demo: ${section.title} failed: ${interrupted() ? "interrupted" : ((err as Error)?.stack ?? String(err))}\n`);
    break;
  }
}
clearTimeout(guard);
printCounts(counts);

const leaked = openSocketCount();
if (leaked > 0) {
  failed = true;
  process.stderr.write(`demo: ${leaked} sockets were left open\n`);
  shutdown();
}
const children = runningChildren();
if (children > 0) {
  failed = true;
  process.stderr.write(`demo: ${children} child processes were still running; killed\n`);
  cleanUpNow();
}
if (failed) {
  process.exitCode = 1;
} else {
  console.log(`\ndemo finished: ${sections.length} sections in ${ms(now() - tourStart)}, every socket closed`);
}
// Nothing should keep the process alive now (closed sockets linger at most 1 s);
// if something does, that is a bug: say so rather than hang. unref: this timer
// alone does not keep the process alive.
setTimeout(() => {
  process.stderr.write("demo: something kept the process alive after the tour\n");
  process.exit(1);
}, 5_000).unref();
