// ZMonitor: a socket's connection events over real sockets. Pure mapping
// first, then dialogues (connect, bind, several monitors on one socket),
// then faults: a pyzmq peer killed with SIGKILL, a CURVE handshake with the
// wrong server key, a connect to nowhere, and a process that must still end
// when an inproc socket never reports its monitor's end.
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ClosedError,
  ErrorCode,
  InvalidArgumentError,
  MONITOR_EVENT_TYPES,
  TimeoutError,
  ZMonitor,
  ZSocket,
  curveKeyPair,
  describeEvent,
  monitorEventFrames,
  openSocketCount,
  setLogSink,
  shutdown,
  type MonitorEvent,
  type MonitorEventType,
} from "@zkit/core";
import { inprocName, requirePyzmq, startPython, stopAll, waitFor, within } from "@zkit/testkit";
import { fromZmqEvent } from "../src/monitor-event.js";
import { runFixture } from "./helpers.js";

// Generous: the machine is shared and loaded.
const DEADLINE_MS = 10_000;

afterEach(async () => {
  setLogSink(undefined);
  shutdown();
  expect(openSocketCount()).toBe(0);
  await stopAll();
});

const types = (events: readonly MonitorEvent[]): MonitorEventType[] => events.map((e) => e.type);

describe("events as zeromq.js reports them (pure)", () => {
  it("maps every zeromq.js event to a typed event with CZMQ's name", () => {
    const connect = fromZmqEvent({ type: "connect", address: "tcp://127.0.0.1:5555" }, 7);
    expect(connect).toEqual({ type: "connected", name: "CONNECTED", endpoint: "tcp://127.0.0.1:5555", value: 0, at: 7 });
    const retry = fromZmqEvent({ type: "connect:retry", address: "tcp://h:1", interval: 200 });
    expect(retry).toMatchObject({ type: "connect-retried", name: "CONNECT_RETRIED", value: 200 });
    const end = fromZmqEvent({ type: "end" });
    expect(end).toMatchObject({ type: "monitor-stopped", name: "MONITOR_STOPPED", endpoint: "", value: 0 });
    expect(fromZmqEvent({ type: "unknown" }).type).toBe("unknown");
  });

  it("keeps errno, ZMTP protocol error and ZAP status of failures as value and error", () => {
    const errnoError = Object.assign(new Error("Broken pipe"), { code: "EPIPE", errno: 32 });
    const other = fromZmqEvent({ type: "handshake:error:other", address: "tcp://h:1", error: errnoError });
    expect(other).toMatchObject({ type: "handshake-failed-no-detail", value: 32, error: { code: "EPIPE", message: "Broken pipe" } });
    const protoError = Object.assign(new Error("ZMTP protocol error"), { code: "ERR_ZMTP_CRYPTOGRAPHIC" as const });
    const proto = fromZmqEvent({ type: "handshake:error:protocol", address: "tcp://h:1", error: protoError });
    expect(proto).toMatchObject({ type: "handshake-failed-protocol", name: "HANDSHAKE_FAILED_PROTOCOL", value: 0x11000001 });
    const authError = Object.assign(new Error("Authentication failure"), { status: 400 as const });
    const auth = fromZmqEvent({ type: "handshake:error:auth", address: "tcp://h:1", error: authError });
    expect(auth).toMatchObject({ type: "handshake-failed-auth", value: 400, error: { code: "400" } });
  });

  it("encodes an event as CZMQ's zmonitor message [EVENT_NAME][value][endpoint]", () => {
    const retry = fromZmqEvent({ type: "connect:retry", address: "tcp://127.0.0.1:5555", interval: 200 });
    expect(monitorEventFrames(retry).map(String)).toEqual(["CONNECT_RETRIED", "200", "tcp://127.0.0.1:5555"]);
    expect(monitorEventFrames(fromZmqEvent({ type: "end" })).map(String)).toEqual(["MONITOR_STOPPED", "0", ""]);
    expect(describeEvent(retry)).toBe("connect-retried tcp://127.0.0.1:5555 (value 200)");
  });

  it("lists each of libzmq's 15 events once, and unknown", () => {
    expect(new Set(MONITOR_EVENT_TYPES).size).toBe(16);
  });
});

describe("options and misuse", () => {
  it("refuses bad options, a non-socket and a closed socket with typed errors", async () => {
    const sock = new ZSocket("DEALER");
    expect(() => new ZMonitor(sock, { events: ["connected", "nope" as MonitorEventType] })).toThrow(/ZMonitor option events must be an array of event types/);
    expect(() => new ZMonitor(sock, { bufferSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => new ZMonitor(sock, { colour: "red" } as never)).toThrow(/unknown ZMonitor option "colour"/);
    expect(() => new ZMonitor({} as ZSocket)).toThrow(/must be a ZSocket/);
    const monitor = new ZMonitor(sock);
    expect(() => monitor.waitFor("connectd" as MonitorEventType)).toThrow(/match must be an event type/);
    expect(() => monitor.waitFor("connected", { timeoutMs: -1 })).toThrow(/timeoutMs must be a number of milliseconds >= 0/);
    sock.close();
    expect(() => new ZMonitor(sock)).toThrow(ClosedError);
  });
});

describe("dialogues over tcp", () => {
  //  ROUTER (bound, monitored)          DEALER (monitored)
  //    listening <endpoint>               connect-delayed, connected <endpoint>
  //    accepted                  <--->    handshake-succeeded
  //    handshake-succeeded
  it("reports listening, accepted and both handshakes for a connect, each with the endpoint", async () => {
    const router = new ZSocket("ROUTER");
    const serverEvents = new ZMonitor(router);
    const endpoint = (await router.attach("@tcp://127.0.0.1:*"))[0]!;
    const dealer = new ZSocket("DEALER");
    const clientEvents = new ZMonitor(dealer);
    const clientHandshake = clientEvents.waitFor("handshake-succeeded", { timeoutMs: DEADLINE_MS });
    const serverHandshake = serverEvents.waitFor("handshake-succeeded", { timeoutMs: DEADLINE_MS });
    dealer.connect(endpoint);

    expect((await clientHandshake).endpoint).toBe(endpoint);
    expect((await serverHandshake).endpoint).toBe(endpoint);
    // The iterator gives every event since the monitor was made, in order.
    const seenByClient: MonitorEvent[] = [];
    for await (const e of clientEvents) {
      seenByClient.push(e);
      if (e.type === "handshake-succeeded") break;
    }
    expect(types(seenByClient)).toContain("connected");
    expect(types(seenByClient).indexOf("connected")).toBeLessThan(types(seenByClient).indexOf("handshake-succeeded"));
    expect(seenByClient.every((e) => e.endpoint === endpoint)).toBe(true);
    expect(types(serverEvents.history).slice(0, 3)).toEqual(["listening", "accepted", "handshake-succeeded"]);
    expect(serverEvents.last(endpoint)?.type).toBe("handshake-succeeded");
    expect(clientEvents.counts.connected).toBe(1);

    // Messages flow while monitored.
    await dealer.send("hello");
    const [, body] = await within(router.receive(), DEADLINE_MS, "the message at the ROUTER");
    expect(String(body)).toBe("hello");
  });

  it("ends with monitor-stopped when the socket closes: for-await ends, done resolves, waitFor rejects", async () => {
    const pull = new ZSocket("PULL");
    const monitor = new ZMonitor(pull);
    await pull.attach("@tcp://127.0.0.1:*");
    const pending = monitor.waitFor("disconnected");
    const all: MonitorEventType[] = [];
    const reading = (async () => {
      for await (const e of monitor) all.push(e.type);
    })();
    await monitor.waitFor("listening", { includePast: true, timeoutMs: DEADLINE_MS });
    pull.close();
    await within(reading, DEADLINE_MS, "the for-await loop to end");
    await within(monitor.done, DEADLINE_MS, "done");
    expect(all[0]).toBe("listening");
    expect(all).toContain("closed");
    expect(all[all.length - 1]).toBe("monitor-stopped");
    expect(monitor.closed).toBe(true);
    await expect(pending).rejects.toThrow(ClosedError);
    await expect(monitor.receive()).rejects.toThrow(ClosedError);
  });

  it("reports a failed bind as bind-failed with EADDRINUSE", async () => {
    const first = await ZSocket.pull("@tcp://127.0.0.1:*");
    const second = new ZSocket("PULL");
    const monitor = new ZMonitor(second);
    await expect(second.bind(first.endpoint)).rejects.toMatchObject({ code: ErrorCode.AddressInUse });
    const failed = await monitor.waitFor("bind-failed", { timeoutMs: DEADLINE_MS, includePast: true });
    expect(failed.error?.code).toBe("EADDRINUSE");
  });

  it("gives every event to several monitors of one socket; closing one leaves the socket and the others working", async () => {
    const pull = await ZSocket.pull("@tcp://127.0.0.1:*");
    const push = new ZSocket("PUSH");
    const early = new ZMonitor(push);
    const kept = new ZMonitor(push);
    early.close(); // libzmq's monitor is still read underneath: the socket must not stall
    expect(early.closed).toBe(true);
    push.connect(pull.endpoint);
    await kept.waitFor("handshake-succeeded", { timeoutMs: DEADLINE_MS });
    expect(early.history).toEqual([]);

    // A monitor made later sees later events only.
    const late = new ZMonitor(push);
    for (let i = 0; i < 3; i++) await push.send(`m${i}`);
    for (let i = 0; i < 3; i++) expect(String((await within(pull.receive(), DEADLINE_MS, `message ${i}`))[0])).toBe(`m${i}`);
    pull.close();
    const gone = await kept.waitFor("disconnected", { timeoutMs: DEADLINE_MS });
    expect(gone.endpoint).toBe(push.endpoint);
    expect((await late.waitFor("disconnected", { includePast: true, timeoutMs: DEADLINE_MS })).endpoint).toBe(push.endpoint);
    expect(late.history.some((e) => e.type === "handshake-succeeded")).toBe(false);
  });

  it("filters by type, drops the oldest unread events beyond bufferSize, and logs when verbose", async () => {
    const lines: string[] = [];
    setLogSink((level, ns, msg) => {
      if (ns === "zkit:monitor") lines.push(`${level} ${msg}`);
    });
    const dealer = new ZSocket("DEALER", { reconnectInterval: 10, reconnectMaxInterval: 10 });
    const retries = new ZMonitor(dealer, { events: ["connect-retried"], bufferSize: 3, verbose: true });
    const listened: MonitorEvent[] = [];
    retries.on("connect-retried", (e) => listened.push(e));
    dealer.connect("tcp://127.0.0.1:1"); // nobody listens on port 1
    await waitFor(() => listened.length >= 6, DEADLINE_MS, "6 connect retries");
    expect(retries.dropped).toBeGreaterThanOrEqual(3);
    const first = await retries.receive();
    expect(first.type).toBe("connect-retried");
    expect(retries.history.every((e) => e.type === "connect-retried")).toBe(true);
    expect(lines.some((l) => /^info DEALER connect-retried tcp:\/\/127\.0\.0\.1:1$/.test(l))).toBe(true);
  });

  it("a second concurrent receive is refused with ZKIT_BUSY", async () => {
    const sock = new ZSocket("DEALER");
    const monitor = new ZMonitor(sock);
    const first = monitor.receive();
    await expect(monitor.receive()).rejects.toMatchObject({ code: ErrorCode.Busy });
    sock.close();
    expect((await within(first, DEADLINE_MS, "the pending receive")).type).toBe("monitor-stopped");
    await expect(monitor.receive()).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("why is my peer unreachable", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("waitFor's timeout says what happened instead: nobody listens (connect-retried)", async () => {
    const req = new ZSocket("REQ", { reconnectInterval: 20 });
    const monitor = new ZMonitor(req);
    req.connect("tcp://127.0.0.1:1");
    const err = await monitor.waitFor("handshake-succeeded", { timeoutMs: 500, endpoint: "tcp://127.0.0.1:1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/^ZMonitor\.waitFor: no handshake-succeeded event on tcp:\/\/127\.0\.0\.1:1 within 500 ms; last events: .*connect-retried tcp:\/\/127\.0\.0\.1:1/);
    // its stack starts where waitFor was called
    expect((err as Error).stack).toContain("zmonitor.test.ts");
  });

  it("a peer killed with SIGKILL shows as disconnected, then connect-retried", async () => {
    const server = startPython(fileURLToPath(new URL("./peers/rep_server.py", import.meta.url)));
    const endpoint = (await server.waitFor(/^listening on (\S+)$/m, DEADLINE_MS))[1]!;
    const req = new ZSocket("REQ", { reconnectInterval: 50 });
    const monitor = new ZMonitor(req);
    req.connect(endpoint);
    await req.send("ping");
    expect(String((await within(req.receive(), DEADLINE_MS, "the echo"))[0])).toBe("ping");
    // monitor events travel apart from messages: the echo may come first
    await monitor.waitFor("handshake-succeeded", { endpoint, includePast: true, timeoutMs: DEADLINE_MS });

    const disconnected = monitor.waitFor("disconnected", { endpoint, timeoutMs: DEADLINE_MS });
    server.kill("SIGKILL");
    expect((await disconnected).endpoint).toBe(endpoint);
    const retried = await monitor.waitFor("connect-retried", { endpoint, timeoutMs: DEADLINE_MS });
    expect(retried.value).toBeGreaterThan(0); // the next reconnect interval
    expect((await server.exited).signal).toBe("SIGKILL");
  });

  it("a CURVE client with the wrong server key fails its handshake; the server sees ERR_ZMTP_CRYPTOGRAPHIC", async () => {
    const serverKeys = curveKeyPair();
    const clientKeys = curveKeyPair();
    const impostor = curveKeyPair(); // the server key the client was given by mistake
    const rep = new ZSocket("REP", { curveServer: true, curveSecretKey: serverKeys.secretKey });
    const serverEvents = new ZMonitor(rep);
    const endpoint = await rep.bind("tcp://127.0.0.1:*");
    const req = new ZSocket("REQ", { curveServerKey: impostor.publicKey, curvePublicKey: clientKeys.publicKey, curveSecretKey: clientKeys.secretKey });
    const clientEvents = new ZMonitor(req);
    const clientFailed = clientEvents.waitFor(["handshake-failed-no-detail", "handshake-failed-protocol", "handshake-failed-auth"], { timeoutMs: DEADLINE_MS });
    const serverFailed = serverEvents.waitFor("handshake-failed-protocol", { timeoutMs: DEADLINE_MS });
    req.connect(endpoint);

    const atClient = await clientFailed;
    expect(atClient.endpoint).toBe(endpoint);
    expect(atClient.error?.code).toMatch(/^E[A-Z]+$/); // EPIPE or ECONNRESET: the server hung up
    const atServer = await serverFailed;
    expect(atServer.error?.code).toBe("ERR_ZMTP_CRYPTOGRAPHIC");
    expect(atServer.value).toBe(0x11000001);
    expect(clientEvents.history.some((e) => e.type === "handshake-succeeded")).toBe(false);

    // The same server with the right key: both handshakes succeed.
    const good = new ZSocket("REQ", { curveServerKey: serverKeys.publicKey, curvePublicKey: clientKeys.publicKey, curveSecretKey: clientKeys.secretKey });
    const goodEvents = new ZMonitor(good);
    const ok = goodEvents.waitFor("handshake-succeeded", { timeoutMs: DEADLINE_MS });
    good.connect(endpoint);
    await ok;
    await good.send("secret");
    expect(String((await within(rep.receive(), DEADLINE_MS, "the request over CURVE"))[0])).toBe("secret");
  });

  it("curveKeyPair gives distinct 40-character Z85 keys", () => {
    const a = curveKeyPair();
    const b = curveKeyPair();
    for (const key of [a.publicKey, a.secretKey, b.publicKey]) expect(key).toMatch(/^[0-9a-zA-Z.:+=^!/*?&<>()[\]{}@%$#-]{40}$/);
    expect(a.publicKey).not.toBe(b.publicKey);
  });
});

describe("inproc and process lifetime", () => {
  it("inproc sockets are monitored too, and a monitored inproc socket that never reports its end still lets the process exit", async () => {
    const name = inprocName("monitor");
    const pair = await ZSocket.pair(`@${name}`);
    const monitor = new ZMonitor(pair);
    const peer = await ZSocket.pair(`>${name}`);
    await peer.send("x");
    expect(String((await within(pair.receive(), DEADLINE_MS, "inproc message"))[0])).toBe("x");
    pair.close({ lingerMs: 0 });
    await within(monitor.done, DEADLINE_MS, "the monitor's end");

    const f = runFixture("monitor-inproc-exit");
    const exit = await within(f.exited, 30_000, "the fixture to exit");
    expect(exit, f.describe()).toEqual({ code: 0, signal: null });
    expect(f.stdout()).toBe("closed\nmonitor ended\n");
  });
});
