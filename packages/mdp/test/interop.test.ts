// Interop with peers zkit did not write the stack of: small Python programs on
// pyzmq (Debian's python3-zmq, libzmq 4.3.4) in test/peers/. A Python client
// (REQ, as the Guide's mdcliapi) and a Python worker against our broker; our
// clients and worker against a minimal Python broker; the Python worker
// prints the REQUEST frames it receives, checked byte for byte; and a
// sequential Python worker served by a prefetching broker (workerPrefetch);
// and a Python CURVE worker and client, with certificates pyzmq wrote,
// against our broker with CURVE and a ZAuth.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { ZSocket } from "@zkit/core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { PYTHON, peer, requirePyzmq, startPython, tempDir, waitFor } from "@zkit/testkit";
import { ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { MajordomoAsyncClient, type MajordomoBroker, MajordomoClient, MajordomoWorker } from "../src/index.js";
import { WAIT_MS, cleanup, inHandTracker, isAutoId, show, testDir, startBroker, track } from "./helpers.js";

/** zkit's envelope address for a client with a libzmq routing id and a 4-byte correlation: 0x00, 5, the id, the correlation. */
function isEnvelopeAddress(frame: Buffer | undefined): boolean {
  return frame !== undefined && frame.length === 11 && frame[0] === 0 && frame[1] === 5 && isAutoId(frame.subarray(2, 7));
}

beforeAll(() => {
  requirePyzmq();
});
afterEach(cleanup);

const PEERS = join(testDir, "peers");
const START_MS = 20_000;

function ourBroker(): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  return startBroker({ heartbeatIntervalMs: 250 });
}

describe("Python peers against our broker", () => {
  it("a Python client and a Python worker talk through MajordomoBroker; the worker sees the REQUEST byte for byte", async () => {
    const { broker, endpoint } = await ourBroker();
    const worker = startPython(peer("mdworker.py"), [endpoint, "pyecho", "250"]);
    await worker.waitFor(/^ready$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the Python worker to register");
    const client = startPython(join(PEERS, "mdclient.py"), [endpoint, "pyecho", "3", "Hello world", "second"]);
    await client.waitFor(/^done$/m, START_MS);
    expect(client.stdout().match(/^reply .*$/gm)).toEqual(["reply py:Hello world|second", "reply py:Hello world|second", "reply py:Hello world|second"]);

    // [""][MDPW01][02][client-addr][""][body...], the client address a 5-byte libzmq id
    const line = (await worker.waitFor(/^request (.*)$/m, WAIT_MS))[1]!;
    const frames = line.split(",").map((h) => Buffer.from(h, "hex"));
    expect(show(frames.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
    expect(isAutoId(frames[3])).toBe(true);
    expect(show(frames.slice(4))).toEqual(["", "Hello world", "second"]);
    expect(broker.stats).toMatchObject({ requests: 3, replies: 3, malformed: 0 });
  });

  it("a Python client against our worker, and our clients against a Python worker, through our broker", async () => {
    const { endpoint } = await ourBroker();
    track(new MajordomoWorker({ endpoint, service: "tsecho", heartbeatIntervalMs: 250, handler: ([x]) => [`ts:${x}`] })).start();
    const worker = startPython(peer("mdworker.py"), [endpoint, "pyecho", "250"]);
    await worker.waitFor(/^ready$/m, START_MS);

    const py = startPython(join(PEERS, "mdclient.py"), [endpoint, "tsecho", "2", "from python"]);
    await py.waitFor(/^done$/m, START_MS);
    expect(py.stdout().match(/^reply .*$/gm)).toEqual(["reply ts:from python", "reply ts:from python"]);

    const client = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    expect(show(await client.request("pyecho", ["from", "node"]))).toEqual(["py:from", "node"]);
    const asyncClient = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 5000 }));
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => asyncClient.request("pyecho", `n${i}`)));
    expect(replies.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `py:n${i}`));
  });

  it("a sequential Python worker behind workerPrefetch 4: the broker sends it 4 at a time, it finds them queued and answers each in turn", async () => {
    const tracker = inHandTracker();
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, workerPrefetch: 4, trace: tracker.trace });
    const worker = startPython(peer("mdworker.py"), [endpoint, "pyecho", "250", "20"]); // 20 ms per request
    await worker.waitFor(/^ready$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the Python worker to register");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 30_000 }));
    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => client.request("pyecho", [`n${i}`, "x"])));
    await waitFor(() => broker.snapshot("pyecho").serviceList[0]?.workerList[0]?.inHand === 4, WAIT_MS, "the broker to have 4 requests at the Python worker");
    expect((await replies).map((r) => show(r))).toEqual(Array.from({ length: 20 }, (_, i) => [`py:n${i}`, "x"]));
    expect(tracker.highest()).toBe(4);
    // every REQUEST it got is [""][MDPW01][02][client][""][body...]; each of the 20 once
    const requests = worker
      .stdout()
      .match(/^request .*$/gm)!
      .map((l) =>
        l
          .slice(8)
          .split(",")
          .map((h) => Buffer.from(h, "hex")),
      );
    for (const frames of requests) {
      expect(show(frames.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
      expect(isEnvelopeAddress(frames[3])).toBe(true); // the async client is multiplexed against our broker
      expect(show(frames.slice(4)).join()).toMatch(/^,n\d+,x$/);
    }
    expect(requests.map((f) => f[5]!.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`).sort());
    expect(broker.stats).toMatchObject({ requests: 20, replies: 20, inFlight: 0, forged: 0, malformed: 0 });
  });

  it("Python workers (pyzmq, plain 7/MDP) serve a multiplexed MajordomoAsyncClient: 1000 requests in flight on one socket; each worker gets one opaque client address and echoes it, each caller its own reply", async () => {
    const { broker, endpoint } = await ourBroker();
    const workers = [0, 1].map(() => startPython(peer("mdworker.py"), [endpoint, "pyecho", "250"]));
    for (const w of workers) await w.waitFor(/^ready$/m, START_MS);
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "the Python workers to register");
    const client = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 60_000, maxInFlight: 1000 }));
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.request("pyecho", [`n${i}`, "x"])));
    expect(replies.map((r) => show(r))).toEqual(Array.from({ length: 1000 }, (_, i) => [`py:n${i}`, "x"]));
    expect(client.mode).toBe("multiplexed");
    expect(client.stats).toMatchObject({ socketsOpened: 1, sockets: 1, replies: 1000, late: 0, unmatched: 0 });
    // what the workers saw: [""][MDPW01][02][address][""][body...], the address one frame
    await waitFor(() => workers.reduce((n, w) => n + (w.stdout().match(/^request /gm)?.length ?? 0), 0) === 1000, WAIT_MS, "the workers' logs");
    const seen = workers.flatMap((w) =>
      w
        .stdout()
        .match(/^request .*$/gm)!
        .map((l) =>
          l
            .slice(8)
            .split(",")
            .map((h) => Buffer.from(h, "hex")),
        ),
    );
    for (const frames of seen) {
      expect(frames.length).toBe(7);
      expect(show(frames.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
      expect(isEnvelopeAddress(frames[3])).toBe(true);
      expect(show(frames.slice(4, 5))).toEqual([""]);
    }
    expect(new Set(seen.map((f) => f[3]!.subarray(0, 7).toString("hex"))).size).toBe(1); // one client connection
    expect(new Set(seen.map((f) => f[3]!.toString("hex"))).size).toBe(1000); // a correlation each
    expect(workers.every((w) => /^request /m.test(w.stdout()))).toBe(true);
    expect(broker.stats).toMatchObject({ requests: 1000, replies: 1000, forged: 0, malformed: 0 });
  });

  it("the Python client gets mmi.service answers from our broker", async () => {
    const { endpoint } = await ourBroker();
    const py = startPython(join(PEERS, "mdclient.py"), [endpoint, "mmi.service", "1", "nothing-here"]);
    await py.waitFor(/^done$/m, START_MS);
    expect(py.stdout()).toContain("reply 404\n");
  });
});

describe("Python peers with CURVE against our broker with CURVE and a ZAuth", () => {
  it("pyzmq's certificates (zmq.auth.create_certificates) in a ZCertStore let its worker and client in; ours load in pyzmq; an unknown Python key is refused", async () => {
    const dir = tempDir("zkit-mdp-curve-");
    track({ close: dir.remove });
    const allowed = join(dir.dir, "allowed");
    const others = join(dir.dir, "others");
    mkdirSync(allowed);
    mkdirSync(others);
    // pyzmq writes the peers' certificates (name.key, name.key_secret) ...
    execFileSync(PYTHON, [
      "-c",
      "import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], 'pyworker'); zmq.auth.create_certificates(sys.argv[1], 'pyclient'); zmq.auth.create_certificates(sys.argv[2], 'stranger')",
      allowed,
      others,
    ]);
    // ... and zkit the broker's, which the peers read with zmq.auth.load_certificate
    const brokerCert = ZCert.generate({ name: "broker" });
    await brokerCert.save(join(dir.dir, "broker.key"));
    const store = track(await ZCertStore.open(allowed));
    const auth = track(new ZAuth({ certStore: store }));
    await auth.start();
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 250, security: brokerCert.serverSecurity() });
    const curveEnv = (name: string, where = allowed): Record<string, string> => ({ CURVE_SECRET_FILE: join(where, `${name}.key_secret`), CURVE_SERVER_FILE: join(dir.dir, "broker.key") });

    const worker = startPython(peer("mdworker.py"), [endpoint, "pyecho", "250"], { env: curveEnv("pyworker") });
    await worker.waitFor(/^ready$/m, START_MS);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the Python CURVE worker to register");
    const client = startPython(join(PEERS, "mdclient.py"), [endpoint, "pyecho", "2", "secret"], { env: curveEnv("pyclient") });
    await client.waitFor(/^done$/m, START_MS);
    expect(client.stdout().match(/^reply .*$/gm)).toEqual(["reply py:secret", "reply py:secret"]);
    // and our client with the certificate pyzmq wrote
    const ours = track(new MajordomoClient({ endpoint, timeoutMs: 5000, security: (await ZCert.load(join(allowed, "pyclient.key_secret"))).clientSecurity(brokerCert) }));
    expect(show(await ours.request("pyecho", "from node, with pyzmq's key"))).toEqual(["py:from node, with pyzmq's key"]);
    expect(auth.stats.denied).toBe(0);

    const stranger = startPython(join(PEERS, "mdclient.py"), [endpoint, "pyecho", "1", "let me in"], { env: { ...curveEnv("stranger", others), MDCLIENT_TIMEOUT_MS: "2000" } });
    const exit = await stranger.waitForExit(START_MS);
    expect(exit.code, stranger.describe()).not.toBe(0);
    expect(stranger.stdout()).not.toMatch(/^reply/m);
    expect(auth.stats.denied).toBeGreaterThanOrEqual(1);
  });
});

describe("the Guide's burst client (mdclient2) against our broker with default options", () => {
  it("20,000 requests sent at once by a Python DEALER client are all answered, each exactly once", async () => {
    const { broker, endpoint } = await startBroker(); // every option at its default
    for (let i = 0; i < 2; i++) track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
    await waitFor(() => broker.stats.workers === 2, WAIT_MS, "two workers");
    const client = startPython(join(PEERS, "mdclient2.py"), [endpoint, "echo", "20000"]);
    const exit = await client.waitForExit(180_000);
    expect(client.stdout()).toMatch(/^replies 20000 distinct 20000 bad 0$/m);
    expect(exit, client.describe()).toEqual({ code: 0, signal: null });
    expect(broker.stats).toMatchObject({ requests: 20_000, replies: 20_000, dropped: 0, expired: 0, queued: 0 });
  });
});

describe("7/MDP's minimum frame counts, checked by a strict Python broker", () => {
  it("our clients and worker never send a REQUEST or REPLY without a body frame, even for empty bodies", async () => {
    const broker = startPython(join(PEERS, "mdbroker.py"), ["tcp://127.0.0.1:*", "250", "--strict"]);
    const endpoint = (await broker.waitFor(/^listening on (.*)$/m, START_MS))[1]!;
    track(new MajordomoWorker({ endpoint, service: "empty", heartbeatIntervalMs: 250, handler: () => [] })).start();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 2000, retries: 10 }));
    await waitFor(async () => show(await client.request("mmi.service", "empty"))[0] === "200", WAIT_MS, "the Python broker to know our worker");
    // an empty body both ways: one empty frame on the wire each time
    expect(show(await client.request("empty", []))).toEqual([""]);
    const asyncClient = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 5000 }));
    expect(show(await asyncClient.request("empty", []))).toEqual([""]);
    expect(broker.stdout()).not.toMatch(/violation/);

    // and the checker does catch a body-less REQUEST (a raw 3-frame one)
    const raw = track(await ZSocket.dealer(`>${endpoint}`, { linger: 0 }));
    await raw.send([Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from("empty")]);
    await broker.waitFor(/^violation client-request-without-body 3$/m, WAIT_MS);
  });
});

describe("our clients and worker against a Python broker", () => {
  it("MajordomoWorker registers, MajordomoClient and MajordomoAsyncClient get their replies", async () => {
    // the Python broker binds an ephemeral port itself: a port probed and freed here could be taken meanwhile;
    // heartbeats of 1 s: it expires a worker after 3 silent intervals and loses the request that worker
    // held (no requeue), so a worker stalled 750 ms by a loaded machine would lose a request
    const broker = startPython(join(PEERS, "mdbroker.py"), ["tcp://127.0.0.1:*", "1000"]);
    const endpoint = (await broker.waitFor(/^listening on (.*)$/m, START_MS))[1]!;

    const worker = track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 1000, handler: ([x, y]) => [`${y ?? ""}`, `${x}`] }));
    await worker.start();
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 2000, retries: 10 }));
    await waitFor(async () => show(await client.request("mmi.service", "echo"))[0] === "200", WAIT_MS, "the Python broker to know our worker");
    expect(show(await client.request("echo", ["a", "b"]))).toEqual(["b", "a"]);

    // the Python broker answers 501 to mmi.zkit.envelope: the async client falls back to a socket per request
    const asyncClient = track(new MajordomoAsyncClient({ endpoint, timeoutMs: 5000 }));
    const modes: string[] = [];
    asyncClient.on("mode", ({ mode, reason }) => modes.push(`${mode}: ${reason}`));
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => asyncClient.request("echo", [`${i}`, `r${i}`])));
    expect(replies.map((r) => show(r))).toEqual(Array.from({ length: 100 }, (_, i) => [`r${i}`, `${i}`]));
    expect(modes).toEqual(["sockets: the broker answered 501 to mmi.zkit.envelope"]);
    expect(asyncClient.stats).toMatchObject({ replies: 100, timeouts: 0, late: 0, unmatched: 0 });
    expect(asyncClient.stats.socketsOpened).toBeGreaterThan(1);
    expect(worker.stats).toMatchObject({ malformed: 0, reconnects: 0 });
  });

  it("our worker survives the Python broker's restart: it reconnects and registers again", async () => {
    let broker = startPython(join(PEERS, "mdbroker.py"), ["tcp://127.0.0.1:*", "100"]);
    const endpoint = (await broker.waitFor(/^listening on (.*)$/m, START_MS))[1]!;
    const worker = track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 100, reconnectMs: 100, handler: (r) => r }));
    await worker.start();
    broker.kill("SIGKILL");
    await broker.waitForExit(WAIT_MS);
    await waitFor(() => worker.stats.reconnects >= 1, WAIT_MS, "the worker to notice the broker died");
    broker = startPython(join(PEERS, "mdbroker.py"), [endpoint, "100"]);
    await broker.waitFor(/^listening on /m, START_MS);
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 1000, retries: 20 }));
    expect(show(await client.request("echo", "back"))).toEqual(["back"]);
  });
});
