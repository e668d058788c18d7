/**
 * The chapter 4 stops of `pnpm demo`: Majordomo (a broker, workers on two
 * services, one of them SIGKILLed while two clients keep asking, and every
 * request still answered) and Titanic (a request stored while its service
 * is down, delivered once a worker comes up).
 *
 * The brokers, Titanic and the clients run in the demo process; the workers
 * that get killed or started late are real child processes running
 * `zkit mdp worker`. The broker learns at once that the killed worker's
 * connection ended, and gives the request it held to the other worker: no
 * client has to resend. Heartbeats are short (250 ms x 3) all the same.
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { interruptSignal, now, sleep } from "@zkit/core";
import { MajordomoAsyncClient, MajordomoBroker, MajordomoClient, MajordomoWorker, type RequeuedInfo, type WorkerGoneInfo, type WorkerInfo } from "@zkit/mdp";
import { Titanic, TitanicClient } from "@zkit/titanic";
import { check, makeTempDir, ms, startZkit, waitUntil, within, type Section, type ZkitProcess } from "./demo-kit.js";

const HEARTBEAT_MS = 250;
const LIVENESS = 3;
/** Starting a tsx child takes well under a second on an idle machine; a loaded one may need several. */
const START_MS = 15_000;
/** How long a child has to stop after SIGTERM before it gets SIGKILL. */
const STOP_MS = 5_000;

/** `zkit mdp worker` for `service`, with the demo's short heartbeats. */
function echoWorker(endpoint: string, service: string, workMs: number): ZkitProcess {
  return startZkit([
    "mdp",
    "worker",
    "--connect",
    endpoint,
    "--service",
    service,
    "--work-ms",
    String(workMs),
    "--heartbeat-ms",
    String(HEARTBEAT_MS),
    "--liveness",
    String(LIVENESS),
    "--reconnect-ms",
    String(HEARTBEAT_MS),
  ]);
}

/** Stops every child still running (SIGTERM, then SIGKILL) and says how each ended. */
async function stopAll(children: ZkitProcess[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop(STOP_MS)));
}

// ---------------------------------------------------------------- Majordomo

const ASYNC_REQUESTS = 400;
const IN_FLIGHT = 200;
const KILL_AFTER = 100; // echo replies received before the SIGKILL
const CLIENT_TIMEOUT_MS = 2500; // per attempt (the Guide's); with the broker requeueing, no request should need a resend
const RETRIES = 3;
const SYNC_PACE_MS = 20; // the sync client asks "upper" about 50 times a second while the stream runs

export const majordomo: Section = {
  title: "Majordomo",
  guide: "Guide ch. 4, Service-Oriented Reliable Queuing (ch4/mdbroker.ts, ch4/mdworker.ts, ch4/mdclient.ts, ch4/mdclient2.ts)",
  async run(say, counts) {
    const signal = interruptSignal(); // Ctrl-C stops every request and wait
    const broker = new MajordomoBroker({ heartbeatIntervalMs: HEARTBEAT_MS, liveness: LIVENESS });
    const ready: WorkerInfo[] = [];
    const gone: (WorkerGoneInfo & { at: number })[] = [];
    const requeued: RequeuedInfo[] = [];
    const repliesBy = new Map<string, number>();
    broker.on("worker-ready", (info) => ready.push(info));
    broker.on("worker-gone", (info) => gone.push({ ...info, at: now() }));
    broker.on("request-requeued", (info) => requeued.push(info));
    broker.on("reply", ({ worker }) => repliesBy.set(worker, (repliesBy.get(worker) ?? 0) + 1));

    const children: ZkitProcess[] = [];
    let upper: MajordomoWorker | undefined;
    let sync: MajordomoClient | undefined;
    let many: MajordomoAsyncClient | undefined;
    try {
      const endpoint = await broker.bind("tcp://127.0.0.1:*");
      await broker.start();
      say(`a Majordomo broker bound ${endpoint} in this process; heartbeat ${HEARTBEAT_MS} ms, a silent worker expires after ${LIVENESS}`);

      // Two echo workers in child processes (the ones we can SIGKILL), one
      // upper worker in this process.
      children.push(echoWorker(endpoint, "echo", 1), echoWorker(endpoint, "echo", 1));
      upper = new MajordomoWorker({
        endpoint,
        service: "upper",
        heartbeatIntervalMs: HEARTBEAT_MS,
        liveness: LIVENESS,
        reconnectMs: HEARTBEAT_MS,
        handler: (request) => request.map((frame) => frame.toString().toUpperCase()),
      });
      await upper.start();
      await Promise.all(children.map((c) => c.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS)));
      await waitUntil(() => ready.filter((w) => w.service === "echo").length >= 2 && ready.some((w) => w.service === "upper"), START_MS, "3 workers to be READY");
      const [victim, survivor] = children as [ZkitProcess, ZkitProcess];
      say(`workers: 2 for echo in child processes (zkit mdp worker, pids ${victim.pid} and ${survivor.pid}), 1 for upper in this process`);

      sync = new MajordomoClient({ endpoint, timeoutMs: CLIENT_TIMEOUT_MS, retries: RETRIES });
      const mmi = async (service: string): Promise<string> => String((await sync!.request("mmi.service", service, { signal }))[0]);
      const [echoStatus, upperStatus, noneStatus] = [await mmi("echo"), await mmi("upper"), await mmi("nothing")];
      check(echoStatus === "200" && upperStatus === "200" && noneStatus === "404", `mmi.service answered ${echoStatus}, ${upperStatus}, ${noneStatus}`);
      say(`mmi.service (8/MMI): echo ${echoStatus}, upper ${upperStatus}, nothing ${noneStatus}`);

      // The stream: the async client sends ASYNC_REQUESTS echo requests,
      // IN_FLIGHT at a time; after KILL_AFTER replies one echo worker gets
      // SIGKILL. Meanwhile the sync client asks upper, one request at a time.
      many = new MajordomoAsyncClient({ endpoint, maxSockets: IN_FLIGHT, timeoutMs: CLIENT_TIMEOUT_MS });
      say(`a MajordomoAsyncClient sends ${ASYNC_REQUESTS} echo requests, ${IN_FLIGHT} in flight; a MajordomoClient asks upper meanwhile, one at a time`);
      let asyncAnswered = 0;
      let killedAt = 0;
      let streaming = true;
      const asyncRun = (async () => {
        try {
          await Promise.all(
            Array.from({ length: ASYNC_REQUESTS }, async (_, i) => {
              const body = `echo ${i}`;
              const [reply] = await many!.request("echo", body, { retries: RETRIES, signal });
              check(String(reply) === body, `echo request "${body}" got "${reply}"`);
              if (++asyncAnswered === KILL_AFTER) {
                victim.kill("SIGKILL");
                killedAt = now();
                say(`after ${KILL_AFTER} echo replies: SIGKILL to the echo worker pid ${victim.pid}, in the middle of the stream`);
              }
            }),
          );
        } finally {
          streaming = false;
        }
      })();
      let syncSent = 0;
      let syncAnswered = 0;
      const syncRun = (async () => {
        while (streaming) {
          const body = `hello ${syncSent++}`;
          const [reply] = await sync!.request("upper", body, { signal });
          check(String(reply) === body.toUpperCase(), `upper request "${body}" got "${reply}"`);
          syncAnswered++;
          await sleep(SYNC_PACE_MS, signal);
        }
      })();
      const results = await Promise.allSettled([asyncRun, syncRun]);
      for (const r of results) if (r.status === "rejected") throw r.reason;

      const victimExit = await within(victim.exited, STOP_MS, "the killed worker to exit");
      check(victimExit.signal === "SIGKILL", `the killed worker ended with ${JSON.stringify(victimExit)}`);
      await waitUntil(() => gone.some((g) => g.reason === "connection-lost"), START_MS, "the broker to see the killed worker's connection end");
      const lostWorkers = gone.filter((g) => g.reason === "connection-lost");
      check(lostWorkers.length === 1, `${lostWorkers.length} workers lost their connection, not 1`);
      const dead = lostWorkers[0]!;
      const requeuedHere = requeued.filter((r) => r.worker === dead.worker).length;
      const asyncRetries = many.stats.timeouts;
      // A worker holds one request at a time, and with IN_FLIGHT requests queued the victim always held one.
      check(requeuedHere === 1, `the killed worker held ${requeuedHere} requests, not 1`);
      say(`the broker knew ${ms(dead.at - killedAt)} later (worker-gone "${dead.reason}": its connection ended, no heartbeat needed); the request it held went back to the queue`);
      check(asyncAnswered === ASYNC_REQUESTS, `the async client got ${asyncAnswered} of ${ASYNC_REQUESTS} replies`);
      say(`the other echo worker answered it: the async client resent ${asyncRetries} request(s) after a ${CLIENT_TIMEOUT_MS} ms timeout`);
      say(`async client: ${ASYNC_REQUESTS} requests sent, ${asyncAnswered} answered, each with its own body`);
      check(syncAnswered === syncSent, `the sync client got ${syncAnswered} of ${syncSent} replies`);
      say(`sync client: ${syncSent} requests sent, ${syncAnswered} answered, each in upper case`);
      const survivorId = ready.find((w) => w.service === "echo" && w.worker !== dead.worker)!.worker;
      say(`echo replies per worker: ${repliesBy.get(dead.worker) ?? 0} from the killed one, ${repliesBy.get(survivorId) ?? 0} from the other`);

      const survivorExit = await survivor.stop(STOP_MS);
      check(survivorExit.code === 0, `the surviving echo worker ended with ${JSON.stringify(survivorExit)} on SIGTERM`);
      const stopped = /^worker stopped: (\d+) replies$/m.exec(survivor.stdout());
      check(stopped !== null, "the surviving echo worker did not print its 'worker stopped' line");
      say(`SIGTERM to pid ${survivor.pid}: it finished its request, sent DISCONNECT and exited 0 after ${stopped![1]} replies`);

      const s = broker.stats;
      counts.clients.push(
        { client: "MajordomoClient", service: "upper", sent: syncSent, answered: syncAnswered, retries: sync.stats.timeouts },
        { client: "MajordomoAsyncClient", service: "echo", sent: ASYNC_REQUESTS, answered: asyncAnswered, retries: asyncRetries },
      );
      counts.servers.push([
        "Majordomo broker",
        `workers ready ${s.workersReady}, lost with their connection ${s.workersLost}, expired ${s.workersExpired}, ` +
          `requests requeued from a gone worker ${s.requeued}, requests ${s.requests}, replies ${s.replies}`,
      ]);
    } finally {
      await stopAll(children);
      await many?.close();
      await sync?.close();
      await upper?.close();
      await broker.close();
    }
  },
};

// ---------------------------------------------------------------- Titanic

const POLL_MS = 100;
const DELIVERY_MS = 15_000;

export const titanic: Section = {
  title: "Titanic",
  guide: "Guide ch. 4, Disconnected Reliability (ch4/titanic.ts, ch4/ticlient.ts)",
  async run(say, counts) {
    const signal = interruptSignal();
    const store = makeTempDir("zkit-demo-titanic-");
    const broker = new MajordomoBroker({ heartbeatIntervalMs: HEARTBEAT_MS, liveness: LIVENESS });
    const children: ZkitProcess[] = [];
    let server: Titanic | undefined;
    let client: TitanicClient | undefined;
    try {
      const endpoint = await broker.bind("tcp://127.0.0.1:*");
      await broker.start();
      server = new Titanic({
        endpoint,
        dir: store.dir,
        heartbeatIntervalMs: HEARTBEAT_MS,
        liveness: LIVENESS,
        reconnectMs: HEARTBEAT_MS,
        dispatchIntervalMs: POLL_MS, // asks mmi.service this often while the service is down
      });
      let storedAt = 0;
      let repliedAt = 0;
      server.on("stored", () => (storedAt = now()));
      server.on("replied", () => (repliedAt = now()));
      await server.start();
      say(`a broker (${endpoint}) and Titanic in this process; Titanic stores requests in ${store.dir}`);

      client = new TitanicClient({ endpoint, timeoutMs: CLIENT_TIMEOUT_MS, retries: RETRIES });
      const body = "Hello from Titanic";
      const uuid = await client.submit("echo", body, { signal });
      check(existsSync(join(store.dir, `${uuid}.req`)), `${uuid}.req is not in the store`);
      say(`titanic.request for echo, which has no worker: 200, stored as ${uuid} (fsynced before the 200)`);
      const first = await client.fetchReply(uuid, { signal });
      check(first.kind === "pending", `titanic.reply answered ${first.kind}, not pending`);
      say("titanic.reply: 300, pending: Titanic holds the request while mmi.service says echo has no worker");

      const worker = echoWorker(endpoint, "echo", 0);
      children.push(worker);
      say(`starting an echo worker (zkit mdp worker, pid ${worker.pid}); the client keeps polling every ${POLL_MS} ms`);
      let polls = 1;
      let reply: Buffer[] | undefined;
      const deadline = now() + DELIVERY_MS;
      while (reply === undefined) {
        check(now() < deadline, `no reply from Titanic within ${DELIVERY_MS} ms`);
        await sleep(POLL_MS, signal);
        const answer = await client.fetchReply(uuid, { signal });
        polls++;
        if (answer.kind === "reply") reply = answer.body;
        else check(answer.kind === "pending", `titanic.reply answered ${answer.kind}`);
      }
      await worker.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);
      check(String(reply[0]) === body, `the reply was "${reply[0]}", not "${body}"`);
      const ts = server.stats;
      check(ts.dispatched >= 1 && ts.replies === 1, `Titanic dispatched ${ts.dispatched} and stored ${ts.replies} replies`);
      say(`the worker came up; Titanic dispatched the request and stored the reply ${ms(repliedAt - storedAt)} after the request`);
      say(`titanic.reply: 200, "${reply[0]}" after ${polls} polls (${client.stats.pending} answered 300)`);
      await client.closeRequest(uuid, { signal });
      const left = readdirSync(store.dir).filter((f) => f.startsWith(uuid));
      const after = server.stats; // a snapshot
      check(left.length === 0 && after.stored === 0, `titanic.close left ${left.join(", ")} (${after.stored} stored)`);
      say("titanic.close: 200; the request and its reply are gone from the store");

      const delivered = 1; // the loop above ends only with the reply in hand
      counts.clients.push({ client: "TitanicClient", service: "echo", sent: client.stats.submitted, answered: delivered, retries: client.stats.retries });
      counts.servers.push([
        "Titanic",
        `requests stored ${ts.requests}, dispatched ${ts.dispatched}, replies stored ${ts.replies}, delivered ${delivered}, left in the store ${after.stored}`,
      ]);
    } finally {
      await stopAll(children);
      await client?.close();
      await server?.close();
      await broker.close();
      store.remove();
    }
  },
};
