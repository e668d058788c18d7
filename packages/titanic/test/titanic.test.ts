// Titanic over real sockets: a Majordomo broker and workers in this process
// (tcp on 127.0.0.1, ephemeral ports), Titanic on a temp directory, and a raw
// DEALER client that sends the 9/TSP bodies of shared/protocols.md inside
// 7/MDP client frames and checks every frame that comes back.
//
//   client --titanic.request [echo][Hello]--> broker --> Titanic: fsync, then
//   client <--------- [200][uuid] ----------- broker <-- Titanic
//                                             broker <-- Titanic dispatcher: mmi.service [echo]
//                                             echo   <-- Titanic dispatcher: [Hello] (when echo is up)
//   client --titanic.reply [uuid]--> ... <-- [300] until then, [200][Hello] after
//   client --titanic.close [uuid]--> ... <-- [200]
import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, TimeoutError, openSocketCount } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";
import { Titanic, TitanicClient, TitanicError, decodeRecord, type TitanicRecord } from "../src/index.js";
import { RawClient, WAIT_MS, b, cleanup, nextEvent, show, startBroker, startTitanic, startWorker, storeDir, track, workerReady } from "./helpers.js";

afterEach(cleanup);

const UUID = /^[0-9a-f]{32}$/;

describe("9/TSP frame by frame", () => {
  it("request -> 200 + uuid (stored before it), reply -> 300 then 200 + body, reply never deletes, close -> 200", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = await startTitanic(broker, endpoint, dir);
    const client = await RawClient.connect(endpoint);

    // [""][MDPC01][titanic.request][echo][Hello][""] -> [""][MDPC01][titanic.request][200][uuid]
    const accepted = await client.call("titanic.request", ["echo", "Hello", ""]);
    expect(show(accepted.slice(0, 4))).toEqual(["", "MDPC01", "titanic.request", "200"]);
    expect(accepted).toHaveLength(5);
    const uuid = accepted[4]!.toString("latin1");
    expect(uuid).toMatch(UUID);
    // on disk before the 200 went out
    const record = decodeRecord(readFileSync(join(dir, `${uuid}.req`))) as TitanicRecord;
    expect(record.frames.map(String)).toEqual(["echo", "Hello", ""]);

    // no echo worker yet: pending
    expect(show(await client.call("titanic.reply", [uuid]))).toEqual(["", "MDPC01", "titanic.reply", "300"]);

    const replied = nextEvent<{ uuid: string }>(titanic, "replied");
    await startWorker(endpoint, "echo");
    expect((await replied).uuid).toBe(uuid);

    // [200][body...]; asking again gives it again; the upper-case uuid (C reference style) finds it too
    for (const id of [uuid, uuid, uuid.toUpperCase()]) {
      expect(show(await client.call("titanic.reply", [id]))).toEqual(["", "MDPC01", "titanic.reply", "200", "Hello", ""]);
    }
    expect(existsSync(join(dir, `${uuid}.rep`))).toBe(true);

    // close: 200, again 200 (idempotent), then the uuid is unknown and its files are gone
    expect(show(await client.call("titanic.close", [uuid.toUpperCase()]))).toEqual(["", "MDPC01", "titanic.close", "200"]);
    expect(show(await client.call("titanic.close", [uuid]))).toEqual(["", "MDPC01", "titanic.close", "200"]);
    expect(show(await client.call("titanic.reply", [uuid]))).toEqual(["", "MDPC01", "titanic.reply", "400"]);
    expect(readdirSync(dir)).toEqual([]);
    // a uuid never seen: reply 400, close 200
    expect(show(await client.call("titanic.reply", ["f".repeat(32)]))).toEqual(["", "MDPC01", "titanic.reply", "400"]);
    expect(show(await client.call("titanic.close", ["F".repeat(32)]))).toEqual(["", "MDPC01", "titanic.close", "200"]);

    expect(titanic.stats).toMatchObject({ requests: 1, replies: 1, dispatched: 1, closes: 3, pending: 0, stored: 0, malformed: 0, corrupt: 0 });
  });

  it("titanic.request is served by requestConcurrency workers: 10 clients at once are all stored, each acknowledged once", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = await startTitanic(broker, endpoint, dir, { requestConcurrency: 4 });
    await waitFor(() => broker.snapshot().serviceList.find((x) => x.name === "titanic.request")?.workers === 4, WAIT_MS, "4 titanic.request workers at the broker");
    expect(broker.snapshot().serviceList.find((x) => x.name === "titanic.reply")?.workers).toBe(1);
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(endpoint)));
    const answers = await Promise.all(clients.map((c, i) => c.call("titanic.request", ["later", `r${i}`])));
    const uuids = answers.map((a) => {
      expect(show(a.slice(0, 4))).toEqual(["", "MDPC01", "titanic.request", "200"]);
      return a[4]!.toString("latin1");
    });
    expect(new Set(uuids).size).toBe(10);
    for (const [i, uuid] of uuids.entries()) {
      expect((decodeRecord(readFileSync(join(dir, `${uuid}.req`))) as TitanicRecord).frames.map(String)).toEqual(["later", `r${i}`]);
    }
    expect(titanic.stats).toMatchObject({ requests: 10, pending: 10, stored: 10 });
  });

  it("malformed requests get 400 and a reason; they are counted and reported, and Titanic keeps serving", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir(), { maxRequestBytes: 64 });
    const seen: { service: string; reason: string; frame: number | undefined }[] = [];
    titanic.on("malformed", (m) => seen.push(m));
    const client = await RawClient.connect(endpoint);
    const cases: [string, string[], RegExp][] = [
      // a body-less 7/MDP request reaches Titanic with one empty body frame (the broker sends
      // every REQUEST with at least one): an empty service name
      ["titanic.request", [], /^400 titanic\.request: the service name is empty$/],
      ["titanic.request", [""], /^400 titanic\.request: the service name is empty$/],
      ["titanic.request", ["mmi.service", "echo"], /^400 .*mmi\.\* service/],
      ["titanic.request", ["titanic.reply", "x"], /^400 .*does not forward to itself/],
      ["titanic.request", ["echo", "x".repeat(100)], /^400 .*larger than the limit of 64 bytes/],
      ["titanic.reply", [], /^400 titanic\.reply: the uuid must be 32 hex characters/],
      ["titanic.reply", ["not-a-uuid"], /^400 titanic\.reply: the uuid must be 32 hex characters/],
      ["titanic.reply", ["a".repeat(32), "extra"], /^400 titanic\.reply: 1 frame\(s\) after the uuid$/],
      ["titanic.close", ["a".repeat(31)], /^400 titanic\.close: the uuid must be 32 hex characters/],
    ];
    for (const [service, body, answer] of cases) {
      const reply = await client.call(service, body);
      expect(show(reply.slice(0, 3))).toEqual(["", "MDPC01", service]);
      expect(reply).toHaveLength(4);
      expect(reply[3]!.toString("latin1")).toMatch(answer);
    }
    expect(titanic.stats.malformed).toBe(cases.length);
    expect(seen.map((m) => m.service)).toEqual(cases.map((c) => c[0]));
    expect(seen[7]!.frame).toBe(1);
    const ok = await client.call("titanic.request", ["echo", "fine"]);
    expect(show(ok.slice(3, 4))).toEqual(["200"]);
    expect(titanic.stats).toMatchObject({ requests: 1, stored: 1, pending: 1 });
  });
});

describe("the dispatcher", () => {
  it("asks mmi.service first and forwards only once a worker serves the service", async () => {
    const { broker, endpoint } = await startBroker();
    const out: string[][] = [];
    const titanic = await startTitanic(broker, endpoint, storeDir(), {
      trace: ({ direction, socket, frames }) => {
        if (direction === "out" && socket === "dispatcher") out.push(show(frames));
      },
    });
    const client = await RawClient.connect(endpoint);
    const uuid = (await client.call("titanic.request", ["late", "work"]))[4]!.toString("latin1");
    // several rounds ask, none forwards
    await waitFor(() => out.length >= 3, WAIT_MS, "three mmi.service questions");
    expect(out.slice(0, 3)).toEqual([
      ["", "MDPC01", "mmi.service", "late"],
      ["", "MDPC01", "mmi.service", "late"],
      ["", "MDPC01", "mmi.service", "late"],
    ]);
    expect(titanic.stats.dispatched).toBe(0);
    expect(broker.stats.requests).toBeGreaterThan(0);

    const replied = nextEvent<{ uuid: string; service: string }>(titanic, "replied");
    await startWorker(endpoint, "late", ([w]) => [`done: ${w}`]);
    expect(await replied).toEqual({ uuid, service: "late" });
    // the forward itself: the request body, exactly
    expect(out).toContainEqual(["", "MDPC01", "late", "work"]);
    const i = out.findIndex((f) => f[2] === "late");
    expect(out[i - 1]).toEqual(["", "MDPC01", "mmi.service", "late"]);
    expect(show(await client.call("titanic.reply", [uuid]))).toEqual(["", "MDPC01", "titanic.reply", "200", "done: work"]);
  });

  it("a service that does not answer never stalls titanic.request, titanic.reply or other services", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir(), { dispatchTimeoutMs: 60_000 });
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    await startWorker(endpoint, "silent", async (r) => {
      await stuck;
      return r;
    });
    track({ close: () => release() }); // lets the silent worker finish its request before it closes
    await startWorker(endpoint, "echo");
    const client = await RawClient.connect(endpoint);
    const dispatched = nextEvent<{ service: string }>(titanic, "dispatched", (d) => d.service === "silent");
    const silent = (await client.call("titanic.request", ["silent", "x"]))[4]!.toString("latin1");
    await dispatched;

    // while "silent" holds its request: 20 requests for echo stored, forwarded and answered
    for (let i = 0; i < 20; i++) {
      const replied = nextEvent<{ uuid: string }>(titanic, "replied");
      const uuid = (await client.call("titanic.request", ["echo", `n${i}`]))[4]!.toString("latin1");
      expect((await replied).uuid).toBe(uuid);
      expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["200", `n${i}`]);
      expect(show(await client.call("titanic.close", [uuid])).slice(3)).toEqual(["200"]);
    }
    expect(show(await client.call("titanic.reply", [silent])).slice(3)).toEqual(["300"]);
    expect(titanic.stats).toMatchObject({ replies: 20, pending: 1, dispatchTimeouts: 0 });
  });

  it("a forward that times out stays pending, goes again, and its reply is stored once", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir(), { dispatchTimeoutMs: 300 });
    let calls = 0;
    let release!: () => void;
    const firstDone = new Promise<void>((r) => (release = r));
    await startWorker(endpoint, "flaky", async (r) => {
      calls++;
      if (calls === 1) await firstDone; // the first attempt answers only after Titanic gave up on it
      return r;
    });
    track({ close: () => release() });
    const replies: string[] = [];
    titanic.on("replied", ({ uuid }) => replies.push(uuid));
    const client = await RawClient.connect(endpoint);
    const uuid = (await client.call("titanic.request", ["flaky", "x"]))[4]!.toString("latin1");
    await waitFor(() => titanic.stats.dispatchTimeouts >= 1, WAIT_MS, "the first forward to time out");
    await waitFor(() => titanic.stats.dispatched >= 2, WAIT_MS, "a second forward");
    expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["300"]);
    release(); // the worker answers the first (to a closed socket: dropped), then the second
    await waitFor(() => replies.length === 1, WAIT_MS, "the reply stored");
    expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["200", "x"]);
    await waitFor(() => calls >= 2, WAIT_MS, "the worker to see the request again");
    expect(replies).toEqual([uuid]);
    expect(titanic.stats.replies).toBe(1);
  });

  it("a request closed while it is out: the late reply is dropped and nothing is left on disk", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = await startTitanic(broker, endpoint, dir, { dispatchTimeoutMs: 60_000 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const worker = await startWorker(endpoint, "slow", async (r) => {
      await held;
      return r;
    });
    track({ close: () => release() });
    const client = await RawClient.connect(endpoint);
    const dispatched = nextEvent(titanic, "dispatched");
    const uuid = (await client.call("titanic.request", ["slow", "x"]))[4]!.toString("latin1");
    await dispatched;
    expect(show(await client.call("titanic.close", [uuid])).slice(3)).toEqual(["200"]);
    release();
    await waitFor(() => worker.stats.replies === 1, WAIT_MS, "the worker's reply");
    // the dispatcher got it (or will): it must not be stored
    await waitFor(() => titanic.stats.stored === 0 && readdirSync(dir).length === 0, WAIT_MS, "an empty store");
    expect(titanic.stats.replies).toBe(0);
    expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["400"]);
  });
});

describe("durability and recovery", () => {
  it("restarted on its directory: pending requests are forwarded, replies kept, closed requests stay closed", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const first = await startTitanic(broker, endpoint, dir);
    await startWorker(endpoint, "echo");
    const client = await RawClient.connect(endpoint);
    const answered = nextEvent(first, "replied");
    const echoed = (await client.call("titanic.request", ["echo", "kept"]))[4]!.toString("latin1");
    await answered;
    const closed = (await client.call("titanic.request", ["later", "closed"]))[4]!.toString("latin1");
    expect(show(await client.call("titanic.close", [closed])).slice(3)).toEqual(["200"]);
    const pending: string[] = [];
    for (let i = 0; i < 3; i++) pending.push((await client.call("titanic.request", ["later", `p${i}`]))[4]!.toString("latin1"));
    await first.close();

    const second = await startTitanic(broker, endpoint, dir, { dispatchConcurrency: 1 }); // one at a time: a strict order
    expect(second.stats).toMatchObject({ recovered: 3, pending: 3, stored: 4, corrupt: 0 });
    const order: string[] = [];
    const replied: string[] = [];
    second.on("dispatched", ({ uuid }) => order.push(uuid));
    second.on("replied", ({ uuid }) => replied.push(uuid));
    await startWorker(endpoint, "later");
    await waitFor(() => replied.length === 3, WAIT_MS, "the three pending requests answered");
    expect(order).toEqual(pending); // forwarded in the order they were stored
    expect(replied).toEqual(pending);
    for (const [i, uuid] of pending.entries()) expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["200", `p${i}`]);
    expect(show(await client.call("titanic.reply", [echoed])).slice(3)).toEqual(["200", "kept"]);
    expect(show(await client.call("titanic.reply", [closed])).slice(3)).toEqual(["400"]);
    // new uuids keep coming after the recovered ones
    const fresh = (await client.call("titanic.request", ["later", "new"]))[4]!.toString("latin1");
    expect(fresh).toMatch(UUID);
  });

  it("damaged files are reported and skipped at start; a damaged reply is forwarded again", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const first = await startTitanic(broker, endpoint, dir);
    const client = await RawClient.connect(endpoint);
    const lost = (await client.call("titanic.request", ["later", "damaged request"]))[4]!.toString("latin1");
    const again = (await client.call("titanic.request", ["later", "damaged reply"]))[4]!.toString("latin1");
    await first.close();
    // give `again` a reply by hand, then damage it; truncate `lost`
    writeFileSync(join(dir, `${again}.rep`), "ZKTN\u0001");
    truncateSync(join(dir, `${lost}.req`), 20);

    const corrupt: string[] = [];
    const second = track(new Titanic({ endpoint, dir, heartbeatIntervalMs: 250, dispatchIntervalMs: 100 }));
    second.on("corrupt", ({ file, movedTo }) => {
      corrupt.push(file.slice(file.lastIndexOf("/") + 1));
      expect(movedTo).toContain("/corrupt/");
    });
    const ready = workerReady(broker, "titanic.close");
    await second.start();
    await ready;
    expect(corrupt.sort()).toEqual([`${again}.rep`, `${lost}.req`].sort());
    expect(second.stats).toMatchObject({ corrupt: 2, recovered: 1, pending: 1 });
    expect(show(await client.call("titanic.reply", [lost])).slice(3)).toEqual(["400"]);
    expect(show(await client.call("titanic.reply", [again])).slice(3)).toEqual(["300"]);
    const replied = nextEvent(second, "replied");
    await startWorker(endpoint, "later");
    await replied;
    expect(show(await client.call("titanic.reply", [again])).slice(3)).toEqual(["200", "damaged reply"]);
  });

  it("a reply damaged while Titanic runs: reported, 300, forwarded again", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = await startTitanic(broker, endpoint, dir);
    await startWorker(endpoint, "echo");
    const client = await RawClient.connect(endpoint);
    const first = nextEvent(titanic, "replied");
    const uuid = (await client.call("titanic.request", ["echo", "x"]))[4]!.toString("latin1");
    await first;
    writeFileSync(join(dir, `${uuid}.rep`), "garbage");
    const corrupt = nextEvent<{ file: string }>(titanic, "corrupt");
    const second = nextEvent(titanic, "replied");
    expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["300"]);
    expect((await corrupt).file).toContain(`${uuid}.rep`);
    await second;
    expect(show(await client.call("titanic.reply", [uuid])).slice(3)).toEqual(["200", "x"]);
    expect(titanic.stats).toMatchObject({ corrupt: 1, replies: 2 });
  });

  it("a write that fails is answered 500 and counted; nothing is acknowledged that is not stored", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const titanic = await startTitanic(broker, endpoint, dir);
    const errors: string[] = [];
    titanic.on("storage-error", ({ operation }) => errors.push(operation));
    rmSync(dir, { recursive: true, force: true }); // the disk is gone
    const client = await RawClient.connect(endpoint);
    const reply = await client.call("titanic.request", ["echo", "x"]);
    expect(show(reply.slice(3))).toEqual(["500 could not store the request"]);
    expect(titanic.stats).toMatchObject({ requests: 0, storageErrors: 1, stored: 0 });
    expect(errors).toEqual(["write request"]);
    const tc = track(new TitanicClient({ endpoint }));
    await expect(tc.submit("echo", "x")).rejects.toMatchObject({ name: "TitanicError", code: "ZKIT_TITANIC", status: { code: 500 } });
  });
});

describe("TitanicClient", () => {
  it("request(): request, poll while pending, close; the service may come up later", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir());
    const client = track(new TitanicClient({ endpoint }));
    const accepted: string[] = [];
    const call = client.request("echo", ["Hello", "world"], { pollIntervalMs: 50, timeoutMs: WAIT_MS, onAccepted: (u) => accepted.push(u) });
    await waitFor(() => client.stats.pending >= 2, WAIT_MS, "a few 300s");
    await startWorker(endpoint, "echo");
    expect((await call).map(String)).toEqual(["Hello", "world"]);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatch(UUID);
    expect(client.stats).toMatchObject({ requests: 1, submitted: 1, replies: 1, closeFailures: 0 });
    await waitFor(() => titanic.stats.stored === 0, WAIT_MS, "the request closed");
    expect(titanic.stats.closes).toBe(1);
  });

  it("submit, fetchReply and closeRequest one by one", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir());
    const client = track(new TitanicClient({ endpoint }));
    const uuid = await client.submit("echo", "one");
    expect(await client.fetchReply(uuid)).toEqual({ kind: "pending" });
    const replied = nextEvent(titanic, "replied");
    await startWorker(endpoint, "echo");
    await replied;
    expect(await client.fetchReply(uuid.toUpperCase())).toEqual({ kind: "reply", body: [b("one")] });
    await client.closeRequest(uuid);
    await client.closeRequest(uuid);
    expect(await client.fetchReply(uuid)).toMatchObject({ kind: "unknown", status: { code: 400 } });
  });

  it("request() rejects with TimeoutError after timeoutMs, with AbortError on its signal, with TitanicError when the request is closed meanwhile", async () => {
    const { broker, endpoint } = await startBroker();
    await startTitanic(broker, endpoint, storeDir());
    const client = track(new TitanicClient({ endpoint }));
    await expect(client.request("nobody", "x", { pollIntervalMs: 20, timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);

    const ac = new AbortController();
    const aborted = client.request("nobody", "x", { pollIntervalMs: 20, signal: ac.signal });
    await waitFor(() => client.stats.pending >= 1, WAIT_MS, "a 300");
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);

    let uuid = "";
    const other = track(new TitanicClient({ endpoint }));
    const closedMeanwhile = client.request("nobody", "x", { pollIntervalMs: 20, onAccepted: (u) => (uuid = u) });
    await waitFor(() => uuid !== "", WAIT_MS, "the uuid");
    await other.closeRequest(uuid);
    const err = await closedMeanwhile.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TitanicError);
    expect((err as TitanicError).status.code).toBe(400);
  });

  it("request() keeps trying while Titanic is down, and gets its reply once it is up", async () => {
    const { broker, endpoint } = await startBroker();
    await startWorker(endpoint, "echo");
    const client = track(new TitanicClient({ endpoint, timeoutMs: 200, retries: 0 }));
    const retries: unknown[] = [];
    const accepted: unknown[] = [];
    client.on("retry", (e) => retries.push(e));
    client.on("accepted", (e) => accepted.push(e));
    const call = client.request("echo", "patience", { pollIntervalMs: 50, timeoutMs: WAIT_MS });
    await waitFor(() => client.stats.retries >= 2, WAIT_MS, "two retries");
    expect(retries.slice(0, 2)).toEqual([
      { call: "titanic.request", reason: "unreachable", delayMs: 50 },
      { call: "titanic.request", reason: "unreachable", delayMs: 50 },
    ]);
    await startTitanic(broker, endpoint, storeDir());
    expect((await call).map(String)).toEqual(["patience"]);
    expect(accepted).toEqual([{ uuid: expect.stringMatching(UUID), service: "echo" }]);
  });

  it("close() while request() waits: it rejects with ClosedError, done resolves, later calls are refused", async () => {
    const { broker, endpoint } = await startBroker();
    await startTitanic(broker, endpoint, storeDir());
    const client = track(new TitanicClient({ endpoint }));
    const call = client.request("nobody", "x", { pollIntervalMs: 20 });
    await waitFor(() => client.stats.pending >= 1, WAIT_MS, "a 300");
    expect(client.running).toBe(true);
    await within(client.close(), WAIT_MS, "close");
    await expect(call).rejects.toBeInstanceOf(ClosedError);
    await within(client.done, WAIT_MS, "done");
    await client.close(); // idempotent
    await expect(client.submit("echo", "x")).rejects.toBeInstanceOf(ClosedError);
    await expect(client.request("echo", "x")).rejects.toMatchObject({ code: "ZKIT_CLOSED" });
  });

  it("checks its arguments and options", async () => {
    expect(() => new TitanicClient({ endpoint: "" })).toThrow(InvalidArgumentError);
    expect(() => new TitanicClient({ endpoint: "tcp://x:1", timeoutMs: 0 })).toThrow(/TitanicClient option timeoutMs must be a number of milliseconds > 0/);
    expect(() => new TitanicClient({ endpoint: "tcp://x:1", nope: 1 } as never)).toThrow(/unknown TitanicClient option "nope"/);
    const client = track(new TitanicClient({ endpoint: "tcp://127.0.0.1:1" }));
    await expect(client.submit("mmi.service", "x")).rejects.toThrow(/mmi\.\* service/);
    await expect(client.submit(42 as never, "x")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.submit("echo", { a: 1 } as never)).rejects.toThrow(/body must be a frame/);
    await expect(client.fetchReply("nope")).rejects.toThrow(/32-hex-character uuid/);
    await expect(client.request("echo", "x", { pollIntervalMs: -1 })).rejects.toThrow(/option pollIntervalMs must be a number of milliseconds >= 0/);
    await expect(client.request("echo", "x", { timeout: 1 } as never)).rejects.toThrow(/unknown .* option "timeout"/);
    await client.close();
    await client.close();
    await expect(client.submit("echo", "x")).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("Titanic lifecycle and options", () => {
  it("bad options throw InvalidArgumentError naming the option", () => {
    expect(() => new Titanic({} as never)).toThrow(/option endpoint is required/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", dir: "" })).toThrow(/option dir must be a non-empty string/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", dispatchConcurrency: 0 })).toThrow(/option dispatchConcurrency must be an integer >= 1/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", dispatchTimeoutMs: -5 })).toThrow(/Titanic option dispatchTimeoutMs must be a number of milliseconds > 0/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", heartbeatIntervalMs: 0 })).toThrow(/option heartbeatIntervalMs/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", trace: 1 } as never)).toThrow(/option trace must be a function/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", dirr: "x" } as never)).toThrow(/unknown Titanic option "dirr"/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", durability: "fdatasync" } as never)).toThrow(/option durability must be "fsync" or "write", got "fdatasync"/);
    expect(() => new Titanic({ endpoint: "tcp://x:1", requestConcurrency: 0 })).toThrow(/option requestConcurrency must be an integer >= 1/);
    expect(new Titanic({ endpoint: "tcp://x:1" }).dir).toMatch(/\/\.titanic$/);
  });

  it("close() is graceful and idempotent, closes every socket; start() after close rejects", async () => {
    const before = openSocketCount();
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir());
    expect(openSocketCount()).toBeGreaterThan(before + 1);
    await Promise.all([titanic.close(), titanic.close()]);
    expect(titanic.closed).toBe(true);
    await broker.close();
    await waitFor(() => openSocketCount() === before, WAIT_MS, "every socket closed");
    await expect(titanic.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("start() rejects when the directory cannot be created", async () => {
    const { endpoint } = await startBroker();
    const file = join(storeDir(), "a-file");
    writeFileSync(file, "x");
    const titanic = track(new Titanic({ endpoint, dir: join(file, "store") }));
    await expect(titanic.start()).rejects.toThrow(/ENOTDIR|EEXIST/);
  });

  it("await using closes it", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    let t: Titanic | undefined;
    {
      await using titanic = await startTitanic(broker, endpoint, dir);
      t = titanic;
    }
    expect(t.closed).toBe(true);
  });
});
