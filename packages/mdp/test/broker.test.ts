// MajordomoBroker over real sockets (tcp on 127.0.0.1 ephemeral ports, ipc in
// a temp dir): raw DEALER peers send the frames of shared/protocols.md byte
// for byte and check what comes back; then heartbeats and expiry with short
// intervals, MMI, queue bounds, hostile input and a 10,000-message fuzzer.
//
//   raw worker --READY--> broker <--REQUEST-- raw client
//   raw worker <-REQUEST- broker
//   raw worker --REPLY--> broker --REPLY--> raw client
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, TimeoutError, ZSocket } from "@zkit/core";
import { tempDir, waitFor, within } from "@zkit/testkit";
import { MajordomoBroker, MajordomoClient, MajordomoWorker, decodeBrokerMessage, type MajordomoBrokerOptions } from "../src/index.js";
import { EMPTY, WAIT_MS, b, cleanup, isAutoId, quiet, rawClient, rawWorker, recv, recvUntil, show, startBroker, track } from "./helpers.js";

afterEach(cleanup);

describe("the 7/MDP dialogue, frame by frame", () => {
  it("READY, REQUEST, REPLY exactly as protocols.md shows them", async () => {
    const seen: { direction: string; socket: string; frames: string[] }[] = [];
    const { broker, endpoint } = await startBroker({ trace: ({ direction, socket, frames }) => void seen.push({ direction, socket, frames: show(frames) }) });
    const ready = new Promise((r) => broker.once("worker-ready", r));
    const worker = await rawWorker(endpoint, "echo");
    await ready;
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("Hello world")]);

    // broker->worker [""][MDPW01][02][cid][""][Hello world]
    const request = await recv(worker, "the REQUEST at the worker");
    expect(show(request.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
    expect(isAutoId(request[3])).toBe(true);
    expect(show(request.slice(4))).toEqual(["", "Hello world"]);
    const cid = request[3]!;

    // worker->broker [""][MDPW01][03][cid][""][Hello world]
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), cid, EMPTY, b("Hello world")]);
    // broker->client [""][MDPC01][echo][Hello world]
    expect(show(await recv(client, "the REPLY at the client"))).toEqual(["", "MDPC01", "echo", "Hello world"]);

    // the broker's own view, routing ids included (structurally)
    const wid = seen.find((s) => s.direction === "in" && s.socket === "worker")!.frames[0]!;
    const expected = [
      { direction: "in", socket: "worker", frames: [wid, "", "MDPW01", "0x01", "echo"] },
      { direction: "in", socket: "client", frames: [cid.toString("latin1"), "", "MDPC01", "echo", "Hello world"] },
      { direction: "out", socket: "worker", frames: [wid, "", "MDPW01", "0x02", cid.toString("latin1"), "", "Hello world"] },
      { direction: "in", socket: "worker", frames: [wid, "", "MDPW01", "0x03", cid.toString("latin1"), "", "Hello world"] },
      { direction: "out", socket: "client", frames: [cid.toString("latin1"), "", "MDPC01", "echo", "Hello world"] },
    ];
    expect(seen.filter((s) => !s.frames.includes("0x04"))).toEqual(expected);
    expect(broker.stats).toMatchObject({ requests: 1, replies: 1, workers: 1, malformed: 0 });
  });

  it("multi-frame bodies pass through unchanged, binary included", async () => {
    const { endpoint } = await startBroker();
    const worker = await rawWorker(endpoint, "bin");
    const client = await rawClient(endpoint);
    const body = [Buffer.from([0, 1, 2, 255]), EMPTY, b("third")];
    await client.send([EMPTY, b("MDPC01"), b("bin"), ...body]);
    const request = await recv(worker, "the REQUEST");
    expect(request.slice(5)).toEqual(body);
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), request[3]!, EMPTY, ...body.reverse()]);
    expect((await recv(client, "the REPLY")).slice(3)).toEqual(body);
  });

  it("binds more than once (tcp and ipc) and serves both", async () => {
    const dir = tempDir("zkit-mdp-");
    try {
      const { broker, endpoint } = await startBroker();
      const ipc = await broker.bind(`ipc://${dir.dir}/broker.ipc`);
      expect(broker.endpoints).toEqual([endpoint, ipc]);
      track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
      const client = track(new MajordomoClient({ endpoint: ipc, timeoutMs: 5000 }));
      expect(show(await client.request("echo", "over ipc"))).toEqual(["over ipc"]);
    } finally {
      await cleanup();
      dir.remove();
    }
  });
});

describe("zkit's envelope extension: one client socket, a correlation frame per request", () => {
  it('[corr][""][MDPC01][service][body] from the client; the worker gets [""][MDPW01][02][0x00 5 id corr][""][body], plain 7/MDP; its REPLY goes back as [corr][""][MDPC01][service][body]', async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker");
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("mmi.zkit.envelope")]);
    expect(show(await recv(client, "the discovery answer"))).toEqual(["", "MDPC01", "mmi.zkit.envelope", "200"]);
    const corr = Buffer.from([1, 2, 3, 4, 5, 6]);
    await client.send([corr, EMPTY, b("MDPC01"), b("echo"), b("Hello"), b("world")]);
    const request = await recvUntil(worker, (f) => f[2]?.[0] === 2, "the REQUEST");
    expect(request.length).toBe(7);
    expect(show(request.slice(0, 3))).toEqual(["", "MDPW01", "0x02"]);
    const address = request[3]!;
    expect([address[0], address[1], address.length]).toEqual([0, 5, 2 + 5 + 6]);
    expect(isAutoId(address.subarray(2, 7))).toBe(true);
    expect(address.subarray(7)).toEqual(corr);
    expect(show(request.slice(4))).toEqual(["", "Hello", "world"]);
    // the same client, plain, at the same time: its own address, its own reply
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("plain")]);
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), address, EMPTY, b("Hi")]);
    expect(await recv(client, "the enveloped REPLY")).toEqual([corr, EMPTY, b("MDPC01"), b("echo"), b("Hi")]);
    const plain = await recvUntil(worker, (f) => f[2]?.[0] === 2, "the plain REQUEST");
    expect(plain[3]).toEqual(address.subarray(2, 7)); // the routing id alone
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), plain[3]!, EMPTY, b("plain back")]);
    expect(show(await recv(client, "the plain REPLY"))).toEqual(["", "MDPC01", "echo", "plain back"]);
    // MMI answers carry the correlation too
    await client.send([corr, EMPTY, b("MDPC01"), b("mmi.service"), b("echo")]);
    expect(show(await recv(client, "enveloped MMI"))).toEqual([corr.toString("latin1"), "", "MDPC01", "mmi.service", "200"]);
    expect(broker.stats).toMatchObject({ requests: 2, replies: 2, malformed: 0, forged: 0 });
  });

  it("a worker naming a made-up envelope address (another correlation of a real client) is forged: dropped, never forwarded; a correlation under 4 bytes is malformed", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker");
    const client = await rawClient(endpoint);
    await client.send([b("corr"), EMPTY, b("MDPC01"), b("echo"), b("x")]);
    const request = await recvUntil(worker, (f) => f[2]?.[0] === 2, "the REQUEST");
    const forged = Buffer.concat([request[3]!.subarray(0, 7), b("evil")]);
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), forged, EMPTY, b("forged")]);
    await waitFor(() => broker.stats.forged === 1, WAIT_MS, "the forged REPLY");
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), request[3]!, EMPTY, b("real")]);
    expect(show(await recv(client, "the real REPLY"))).toEqual(["corr", "", "MDPC01", "echo", "real"]);
    await client.send([b("abc"), EMPTY, b("MDPC01"), b("echo"), b("x")]);
    await waitFor(() => broker.stats.malformed === 1, WAIT_MS, "the short correlation");
    expect(broker.stats).toMatchObject({ requests: 1, replies: 1 });
  });
});

describe("heartbeats and expiry", () => {
  it('the broker sends HEARTBEAT [""][MDPW01][04] to idle workers every interval', async () => {
    const { endpoint } = await startBroker({ heartbeatIntervalMs: 100, liveness: 100 }); // the raw worker never heartbeats
    const worker = await rawWorker(endpoint, "echo");
    expect(show(await recv(worker, "a HEARTBEAT"))).toEqual(["", "MDPW01", "0x04"]);
    expect(show(await recv(worker, "a second HEARTBEAT"))).toEqual(["", "MDPW01", "0x04"]);
  });

  it("a silent worker expires; when it speaks again it gets DISCONNECT", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 100, liveness: 3 });
    const gone = new Promise<unknown>((r) => broker.once("worker-gone", r));
    const worker = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker to register");
    expect(await gone).toMatchObject({ service: "echo", reason: "expired" });
    expect(broker.stats).toMatchObject({ workers: 0, workersExpired: 1 });
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([4])]);
    await recvUntil(worker, (f) => show(f).join() === ",MDPW01,0x05", "DISCONNECT after the expiry");
  });

  it("a heartbeating worker stays, and a busy one that heartbeats stays too", async () => {
    // liveness 8: 800 ms of silence expires it, whatever the load; the worker holds the request 3 s
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 100, liveness: 8 });
    const worker = await rawWorker(endpoint, "echo");
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("slow")]);
    const request = await recvUntil(worker, (f) => f[2]?.[0] === 2, "the REQUEST");
    // hold the request for 30 intervals, heartbeating
    for (let i = 0; i < 30; i++) {
      await worker.send([EMPTY, b("MDPW01"), Buffer.from([4])]);
      await recvUntil(worker, (f) => f[2]?.[0] === 4, "a HEARTBEAT from the broker");
    }
    expect(broker.stats).toMatchObject({ workers: 1, workersExpired: 0, inFlight: 1 });
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([3]), request[3]!, EMPTY, b("done")]);
    expect(show(await recv(client, "the REPLY"))).toEqual(["", "MDPC01", "echo", "done"]);
  });

  it("a busy worker that goes silent (socket open, nothing sent) expires; its request goes to the next worker, and its late reply is not forwarded", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 100, liveness: 3 });
    const requeued = new Promise<unknown>((r) => broker.once("request-requeued", r));
    const silent = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the first worker");
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("slow")]);
    const request = await recvUntil(silent, (f) => f[2]?.[0] === 2, "the REQUEST at the worker that will go silent");
    expect(await requeued).toMatchObject({ service: "echo", reason: "expired" });
    expect(broker.stats).toMatchObject({ requeued: 1, lost: 0, inFlight: 0, workers: 0, workersExpired: 1 });
    track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 100, handler: ([x]) => [`${x} by the second`] })).start();
    expect(show(await recv(client, "the reply from the second worker"))).toEqual(["", "MDPC01", "echo", "slow by the second"]);
    // the silent one wakes up and answers: too late, never forwarded
    await silent.send([EMPTY, b("MDPW01"), Buffer.from([3]), request[3]!, EMPTY, b("late")]);
    await recvUntil(silent, (f) => show(f).join() === ",MDPW01,0x05", "DISCONNECT for the late reply");
    expect(await quiet(client, 200)).toBe(true);
    expect(broker.stats.replies).toBe(1);
  });

  it("a worker whose socket closes while it holds a request leaves at once (no heartbeat wait): the request goes to another worker without any client retry", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 60_000 }); // expiry would take 3 minutes
    const gone = new Promise<unknown>((r) => broker.once("worker-gone", r));
    const dying = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the first worker");
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("doomed")]);
    await recvUntil(dying, (f) => f[2]?.[0] === 2, "the REQUEST at the worker that will die");
    dying.close();
    expect(await gone).toMatchObject({ reason: "connection-lost", inHand: 1 });
    expect(broker.stats).toMatchObject({ workers: 0, workersLost: 1, requeued: 1, queued: 1 });
    track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
    expect(show(await recv(client, "the reply, without a retry"))).toEqual(["", "MDPC01", "echo", "doomed"]);
  });

  it("a worker closing with DISCONNECT while it holds a request gives the request back to the queue", async () => {
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 100, liveness: 100 }); // the raw worker never heartbeats
    const leaver = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker");
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("echo"), b("kept")]);
    await recvUntil(leaver, (f) => f[2]?.[0] === 2, "the REQUEST");
    await leaver.send([EMPTY, b("MDPW01"), Buffer.from([5])]);
    await waitFor(() => broker.stats.requeued === 1, WAIT_MS, "the request to be requeued");
    track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
    expect(show(await recv(client, "the REPLY from the second worker"))).toEqual(["", "MDPC01", "echo", "kept"]);
    expect(broker.stats.lost).toBe(0);
  });

  it("a request for a service with no worker expires after unservedExpiryMs instead of queueing forever", async () => {
    const { broker, endpoint } = await startBroker({ unservedExpiryMs: 150 });
    const expired = new Promise<unknown>((r) => broker.once("request-expired", r));
    const client = await rawClient(endpoint);
    await client.send([EMPTY, b("MDPC01"), b("nobody"), b("anyone?")]);
    expect(await expired).toMatchObject({ service: "nobody" });
    expect(broker.stats).toMatchObject({ expired: 1, queued: 0, services: 0 });
    // a worker that comes later does not get it
    const late = await rawWorker(endpoint, "nobody");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the late worker");
    expect(await quiet(late, 300)).toBe(true);
  });

  it("a bounded queue refuses what arrives past maxQueuePerService (drop-newest, the default): accepted work is kept", async () => {
    const { broker, endpoint } = await startBroker({ maxQueuePerService: 3 });
    const client = await rawClient(endpoint);
    for (let i = 0; i < 5; i++) await client.send([EMPTY, b("MDPC01"), b("later"), b(`r${i}`)]);
    await waitFor(() => broker.stats.requests === 5, WAIT_MS, "five requests");
    expect(broker.stats).toMatchObject({ queued: 3, dropped: 2 });
    const worker = await rawWorker(endpoint, "later");
    expect(show((await recvUntil(worker, (f) => f[2]?.[0] === 2, "the first request left")).slice(5))).toEqual(["r0"]);
  });

  it("with queueOverflow drop-oldest, the oldest queued requests make room", async () => {
    const { broker, endpoint } = await startBroker({ maxQueuePerService: 3, queueOverflow: "drop-oldest" });
    const client = await rawClient(endpoint);
    for (let i = 0; i < 5; i++) await client.send([EMPTY, b("MDPC01"), b("later"), b(`r${i}`)]);
    await waitFor(() => broker.stats.requests === 5, WAIT_MS, "five requests");
    expect(broker.stats).toMatchObject({ queued: 3, dropped: 2 });
    const worker = await rawWorker(endpoint, "later");
    expect(show((await recvUntil(worker, (f) => f[2]?.[0] === 2, "the first request left")).slice(5))).toEqual(["r2"]);
  });
});

describe("8/MMI", () => {
  it("mmi.service answers 200 or 404; other mmi.* 501; mmi.stats the counters", async () => {
    const { endpoint } = await startBroker();
    await rawWorker(endpoint, "echo");
    const client = await rawClient(endpoint);
    await waitFor(
      async () => {
        await client.send([EMPTY, b("MDPC01"), b("mmi.service"), b("echo")]);
        return show(await recv(client, "mmi.service reply"))[3] === "200";
      },
      WAIT_MS,
      "mmi.service to answer 200 for echo",
    );
    await client.send([EMPTY, b("MDPC01"), b("mmi.service"), b("nothing")]);
    expect(show(await recv(client, "404"))).toEqual(["", "MDPC01", "mmi.service", "404"]);
    await client.send([EMPTY, b("MDPC01"), b("mmi.whatever"), b("x")]);
    expect(show(await recv(client, "501"))).toEqual(["", "MDPC01", "mmi.whatever", "501"]);
    await client.send([EMPTY, b("MDPC01"), b("mmi.stats")]);
    const stats = await recv(client, "mmi.stats");
    expect(show(stats.slice(0, 4))).toEqual(["", "MDPC01", "mmi.stats", "200"]);
    const json = JSON.parse(stats[4]!.toString()) as { workers: number; rssBytes: number; serviceList: unknown[] };
    expect(json.workers).toBe(1);
    expect(json.rssBytes).toBeGreaterThan(0);
    expect(json.serviceList).toEqual([
      { name: "echo", workers: 1, waiting: 1, queued: 0, queuedBytes: 0, inFlight: 0, workerList: [{ worker: expect.stringMatching(/^[0-9a-f]{10}$/), inHand: 0 }] },
    ]);
  });

  it("refuses a worker that registers an mmi.* service", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await rawWorker(endpoint, "mmi.service");
    expect(show(await recv(worker, "DISCONNECT"))).toEqual(["", "MDPW01", "0x05"]);
    expect(broker.stats).toMatchObject({ workersRefused: 1, workers: 0 });
  });

  it("the worker identity named mmi.* is no reason to refuse (the Guide tested the wrong frame)", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = track(await ZSocket.dealer(`>${endpoint}`, { routingId: "mmi.worker", linger: 0 }));
    await worker.send([EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")]);
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker to register");
  });
});

describe("valid but unexpected commands get DISCONNECT", () => {
  it("a second READY, and HEARTBEAT or REPLY from an unknown worker", async () => {
    const { broker, endpoint } = await startBroker();
    const twice = await rawWorker(endpoint, "echo");
    await twice.send([EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")]);
    expect(show(await recv(twice, "DISCONNECT for the second READY"))).toEqual(["", "MDPW01", "0x05"]);
    const stranger = await rawWorker(endpoint);
    await stranger.send([EMPTY, b("MDPW01"), Buffer.from([4])]);
    expect(show(await recv(stranger, "DISCONNECT for a HEARTBEAT"))).toEqual(["", "MDPW01", "0x05"]);
    await stranger.send([EMPTY, b("MDPW01"), Buffer.from([3]), b("nobody"), EMPTY, b("x")]);
    expect(show(await recv(stranger, "DISCONNECT for a REPLY"))).toEqual(["", "MDPW01", "0x05"]);
    expect(broker.stats).toMatchObject({ disconnectsSent: 3, malformed: 0, replies: 0 });
  });
});

describe("malformed and hostile input", () => {
  it("wrong header, missing frames, unknown command: each dropped and counted, others unharmed", async () => {
    const { broker, endpoint } = await startBroker({ maxFrameBytes: 1024 });
    const malformed: unknown[] = [];
    broker.on("malformed", (info) => malformed.push(info));
    track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
    const hostile = await rawClient(endpoint);
    const bad: Buffer[][] = [[b("no empty frame")], [EMPTY, b("HTTP/1.1"), b("echo")], [EMPTY, b("MDPC01")], [EMPTY, b("MDPW01")], [EMPTY, b("MDPW01"), Buffer.from([0x77])]];
    for (const frames of bad) await hostile.send(frames);
    const client = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    expect(show(await client.request("echo", "still served"))).toEqual(["still served"]);
    await waitFor(() => broker.stats.malformed === bad.length, WAIT_MS, `${bad.length} malformed messages`);
    expect(malformed.map((m) => (m as { frame: number }).frame)).toEqual([1, 2, 3, 3, 3]);
    expect(await quiet(hostile, 100)).toBe(true); // nothing is answered
  });

  it("a frame over maxFrameBytes is refused by libzmq before it is received (the socket's maxMessageSize): the sender is cut off, nobody else notices", async () => {
    const { broker, endpoint } = await startBroker({ maxFrameBytes: 1024 });
    track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r })).start();
    const big = track(new MajordomoClient({ endpoint, timeoutMs: 300, retries: 0 }));
    await expect(big.request("echo", Buffer.alloc(2000))).rejects.toBeInstanceOf(TimeoutError);
    const small = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    expect(show(await small.request("echo", Buffer.alloc(1000, "x")))).toEqual(["x".repeat(1000)]);
    // the big one never reached the broker's books
    expect(broker.stats).toMatchObject({ requests: 1, replies: 1, malformed: 0 });
  });

  it("10,000 random messages from a fuzzing client: the broker survives, counts each malformed one, and a normal client's requests all succeed", async () => {
    const LIMIT = 512;
    const { broker, endpoint } = await startBroker({ heartbeatIntervalMs: 500, maxFrameBytes: LIMIT, unservedExpiryMs: 500 });
    const normal = track(new MajordomoClient({ endpoint, timeoutMs: 5000 }));
    for (let i = 0; i < 2; i++) track(new MajordomoWorker({ endpoint, service: "echo", heartbeatIntervalMs: 500, handler: (r) => r })).start();
    expect(show(await normal.request("echo", "warm"))).toEqual(["warm"]);

    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
    const heads = [EMPTY, b("MDPC01"), b("MDPW01"), b("MDPC02"), bytes(6)];
    const pieces = [EMPTY, Buffer.from([1]), Buffer.from([2]), Buffer.from([3]), Buffer.from([4]), Buffer.from([5]), Buffer.from([9]), b("fuzz"), b("mmi.service"), b("mmi.nope")];
    // frames up to the limit: a bigger one would make libzmq cut the fuzzer
    // off (its own test above); a lone empty frame would read as the ROUTER's
    // disconnect notice for the fuzzer (isRouterNotification): neither is sent
    const fuzz = (): Buffer[] => {
      const kind = rnd(4);
      if (kind === 0) return Array.from({ length: 1 + rnd(6) }, () => bytes(1 + rnd(40))); // garbage (a message has at least one frame)
      const frames = [rnd(5) === 0 ? bytes(1 + rnd(3)) : EMPTY, heads[rnd(heads.length)]!]; // some valid headers
      for (let i = rnd(6); i > 0; i--) frames.push(rnd(3) === 0 ? bytes(rnd(rnd(10) === 0 ? LIMIT : 16)) : pieces[rnd(pieces.length)]!);
      return frames;
    };

    const fuzzer = await rawClient(endpoint);
    const peerId = Buffer.from([0, 1, 2, 3, 4]); // any non-empty id decodes alike
    let expectedMalformed = 0;
    let draining = true;
    const drained = (async () => {
      // read what the broker sends the fuzzer (DISCONNECTs, MMI answers, requests) until the end marker
      while (draining) {
        const frames = await fuzzer.receive();
        if (show(frames).slice(0, 4).join() === ",MDPC01,mmi.stats,200") return JSON.parse(frames[4]!.toString()) as { malformed: number };
      }
      return undefined;
    })();
    const replies: Promise<Buffer[]>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const frames = fuzz();
      if (decodeBrokerMessage([peerId, ...frames], { maxFrameBytes: LIMIT }).kind === "invalid") expectedMalformed++;
      await fuzzer.send(frames);
      if (i % 500 === 0) replies.push(normal.request("echo", `normal ${i}`));
    }
    await fuzzer.send([EMPTY, b("MDPC01"), b("mmi.stats"), EMPTY]); // handled after every fuzz message
    const final = await within(drained, 30_000, "the broker to work through 10,000 fuzz messages");
    draining = false;
    const answered = await Promise.all(replies);
    expect(answered.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 20 }, (_, k) => `normal ${k * 500}`));
    expect(expectedMalformed).toBeGreaterThan(5_000);
    expect(final!.malformed).toBe(expectedMalformed);
    expect(broker.stats.malformed).toBe(expectedMalformed);
    expect(show(await normal.request("echo", "after the storm"))).toEqual(["after the storm"]);
  });
});

describe("lifecycle and options", () => {
  it("close() sends DISCONNECT to every worker; the endpoint is free again", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await rawWorker(endpoint, "echo");
    await waitFor(() => broker.stats.workers === 1, WAIT_MS, "the worker");
    await broker.close();
    await recvUntil(worker, (f) => show(f).join() === ",MDPW01,0x05", "DISCONNECT on close");
    expect(broker.closed).toBe(true);
    await expect(broker.done).resolves.toBeUndefined();
    expect(broker.state).toBe("closed");
    await broker.close(); // idempotent
    await expect(broker.bind("tcp://127.0.0.1:*")).rejects.toThrow(/closed/);
    // libzmq closes the listening socket in its I/O thread, a moment after close(): retry until then
    const again = track(new MajordomoBroker());
    let rebound: string | undefined;
    await waitFor(async () => (rebound = await again.bind(endpoint).catch(() => undefined)) !== undefined, WAIT_MS, "the endpoint to be free again");
    expect(rebound).toBe(endpoint);
  });

  it("bad options throw InvalidArgumentError naming the option", () => {
    const bad: [MajordomoBrokerOptions, RegExp][] = [
      [{ heartbeatIntervalMs: 0 }, /MajordomoBroker option heartbeatIntervalMs must be a number of milliseconds > 0/],
      [{ liveness: 1.5 }, /liveness must be an integer >= 1/],
      [{ requestExpiryMs: -1 }, /requestExpiryMs/],
      [{ unservedExpiryMs: 0 }, /unservedExpiryMs/],
      [{ maxQueueBytes: 0.5 }, /maxQueueBytes/],
      [{ maxDeliveries: 0 }, /maxDeliveries must be an integer >= 1/],
      [{ maxQueuePerService: 0 }, /maxQueuePerService/],
      [{ queueOverflow: "drop-all" as never }, /queueOverflow must be "drop-oldest" or "drop-newest"/],
      [{ heartbeat: 1 } as never, /unknown MajordomoBroker option "heartbeat"/],
      [{ trace: 5 as never }, /trace must be a function/],
    ];
    for (const [options, message] of bad) {
      let err: unknown;
      try {
        track(new MajordomoBroker(options));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
    }
    expect(track(new MajordomoBroker({ requestExpiryMs: Infinity, maxQueuePerService: Infinity })).options).toMatchObject({
      requestExpiryMs: Infinity,
      liveness: 3,
      heartbeatIntervalMs: 2500,
    });
    // the defaults: nothing a live worker will serve is dropped; memory bounded by bytes
    expect(track(new MajordomoBroker()).options).toMatchObject({
      unservedExpiryMs: 10_000,
      requestExpiryMs: Infinity,
      maxQueueBytes: 256 * 1024 * 1024,
      maxQueuePerService: Infinity,
      queueOverflow: "drop-newest",
      maxFrameBytes: 16 * 1024 * 1024,
      maxDeliveries: 3,
    });
  });
});
