// ZBeacon on the loopback interface with real UDP sockets: two beacons find
// each other, the filter keeps others out, silence stops a beacon, foreign
// and oversized datagrams, the Pollable contract (a ZLoop reader), and
// misuse. Two network namespaces: netns.test.ts.
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, shutdown } from "@zkit/core";
import { ZLoop } from "@zkit/zloop";
import { BEACON_MAX_BYTES, ZBeacon, type Beacon } from "@zkit/socket-tools";
import { waitFor, within } from "@zkit/testkit";

// Generous: the machine is shared and loaded.
const DEADLINE_MS = 10_000;
const LOOPBACK_BROADCAST = "127.255.255.255";

const beacons: ZBeacon[] = [];
afterEach(async () => {
  for (const b of beacons.splice(0)) await b.close();
  shutdown();
});

/** A UDP port free right now (bound to 0 and released): beacons share a port, so they cannot each take an ephemeral one. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function beacon(port: number): Promise<ZBeacon> {
  const b = new ZBeacon({ port, interface: "lo" });
  beacons.push(b);
  await b.start();
  return b;
}

/** Collects what `b` delivers, in the background. */
function collect(b: ZBeacon): Beacon[] {
  const heard: Beacon[] = [];
  void (async () => {
    for await (const x of b) heard.push(x);
  })();
  return heard;
}

/** Sends one raw datagram to the loopback broadcast address, as a node that is not a ZBeacon would. */
async function sendRaw(port: number, data: Buffer): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  s.setBroadcast(true);
  const from = s.address().port;
  await new Promise<void>((resolve, reject) => s.send(data, port, LOOPBACK_BROADCAST, (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return from;
}

describe("two beacons on the loopback", () => {
  it("find each other, and each drops its own beacon", async () => {
    const port = await freeUdpPort();
    const a = await beacon(port);
    const b = await beacon(port);
    expect(a.hostname).toBe("127.0.0.1");
    expect(a.interface).toEqual({ name: "lo", address: "127.0.0.1", netmask: "255.0.0.0", broadcast: LOOPBACK_BROADCAST });
    a.subscribe();
    b.subscribe("");
    const heardByA = collect(a);
    const heardByB = collect(b);
    a.publish("service A at tcp://127.0.0.1:5555", { intervalMs: 50 });
    b.publish(Buffer.from([0xca, 0xfe]), { intervalMs: 50 });
    expect(a.publishing).toBe(true);

    await waitFor(() => heardByA.length >= 3 && heardByB.length >= 3, DEADLINE_MS, "three beacons each way");
    expect(heardByA.every((x) => x.address === "127.0.0.1" && x.data.equals(Buffer.from([0xca, 0xfe])))).toBe(true);
    expect(heardByB.every((x) => x.data.toString() === "service A at tcp://127.0.0.1:5555")).toBe(true);
    expect(a.stats.own).toBeGreaterThan(0); // UDP echoed A's own broadcasts back to it; dropped
    expect(a.stats.sent).toBeGreaterThanOrEqual(3);
  });

  it("the filter delivers only beacons that start with it (CZMQ's three-node test)", async () => {
    const port = await freeUdpPort();
    const node1 = await beacon(port);
    const node2 = await beacon(port);
    const node3 = await beacon(port);
    node1.publish("NODE/1", { intervalMs: 50 });
    node2.publish("NODE/2", { intervalMs: 50 });
    node3.publish("RANDOM", { intervalMs: 50 });
    node1.subscribe("NODE");
    const heard = collect(node1);
    await waitFor(() => heard.length >= 5 && node1.stats.filtered >= 5, DEADLINE_MS, "five NODE/2 beacons and five filtered out");
    expect(new Set(heard.map((x) => x.data.toString()))).toEqual(new Set(["NODE/2"]));
    node1.unsubscribe();
    const before = node1.stats.received;
    await waitFor(() => node1.stats.filtered >= 15, DEADLINE_MS, "more beacons after unsubscribing");
    expect(node1.stats.received).toBe(before);
  });

  it("delivers nothing until a subscription is set, as CZMQ", async () => {
    const port = await freeUdpPort();
    const quiet = await beacon(port);
    const talker = await beacon(port);
    talker.publish("hello", { intervalMs: 50 });
    await waitFor(() => quiet.stats.filtered >= 3, DEADLINE_MS, "three beacons filtered");
    expect(quiet.readable).toBe(false);
    expect(quiet.stats.received).toBe(0);
  });

  it("silence stops a beacon; publish replaces what it sends", async () => {
    const port = await freeUdpPort();
    const listener = await beacon(port);
    const talker = await beacon(port);
    listener.subscribe();
    const heard = collect(listener);
    talker.publish("first", { intervalMs: 50 });
    await waitFor(() => heard.length >= 2, DEADLINE_MS, "two 'first' beacons");
    talker.publish("second", { intervalMs: 50 });
    await waitFor(() => heard.some((x) => x.data.toString() === "second"), DEADLINE_MS, "the replaced beacon");
    talker.silence();
    expect(talker.publishing).toBe(false);
    const sent = talker.stats.sent;
    await new Promise((r) => setTimeout(r, 300)); // a window in which a beacon would have gone out six times
    expect(talker.stats.sent).toBe(sent);
    const lastIndex = heard.findLastIndex((x) => x.data.toString() === "first");
    expect(heard.slice(lastIndex + 1).every((x) => x.data.toString() === "second")).toBe(true);
  });
});

describe("what the network sends", () => {
  it("takes any node's datagram as a beacon (a CZMQ zbeacon sends plain bytes), with its address and port", async () => {
    const port = await freeUdpPort();
    const b = await beacon(port);
    b.subscribe();
    const from = await sendRaw(port, Buffer.from("from a foreign node"));
    const [address, data] = await within(b.receive(), DEADLINE_MS, "the foreign beacon");
    expect(String(address)).toBe("127.0.0.1");
    expect(String(data)).toBe("from a foreign node");
    const from2 = await sendRaw(port, Buffer.from("again"));
    const next = await within(collectOne(b), DEADLINE_MS, "the second foreign beacon");
    expect(next.port).toBe(from2);
    expect(from).not.toBe(0);
  });

  it("drops and counts datagrams longer than 255 bytes; never throws", async () => {
    const port = await freeUdpPort();
    const b = await beacon(port);
    b.subscribe();
    await sendRaw(port, Buffer.alloc(BEACON_MAX_BYTES + 1, 1));
    await sendRaw(port, Buffer.alloc(BEACON_MAX_BYTES, 2));
    const [, data] = await within(b.receive(), DEADLINE_MS, "the 255-byte beacon");
    expect(data!.length).toBe(BEACON_MAX_BYTES);
    expect(b.stats.oversize).toBe(1);
  });

  it("keeps at most receiveHighWaterMark unread beacons, dropping the oldest", async () => {
    const port = await freeUdpPort();
    const b = new ZBeacon({ port, interface: "lo", receiveHighWaterMark: 3 });
    beacons.push(b);
    await b.start();
    b.subscribe();
    for (let i = 0; i < 6; i++) await sendRaw(port, Buffer.from(String(i)));
    await waitFor(() => b.stats.received === 6, DEADLINE_MS, "six beacons");
    expect(b.stats.overflow).toBe(3);
    const got: string[] = [];
    while (b.readable) got.push(String((await b.receive())[1]));
    expect(got).toEqual(["3", "4", "5"]);
  });
});

async function collectOne(b: ZBeacon): Promise<Beacon> {
  for await (const x of b) return x;
  throw new Error("closed");
}

describe("as a Pollable", () => {
  it("a ZLoop reader gets CZMQ's [address][data] messages; close ends the loop's reader and for-await", async () => {
    const port = await freeUdpPort();
    const b = await beacon(port);
    b.subscribe("x");
    const loop = new ZLoop();
    const got: string[][] = [];
    loop.reader(b, (msg) => {
      got.push(msg.map(String));
      if (got.length === 2) return -1;
    });
    const running = loop.start();
    await sendRaw(port, Buffer.from("x1"));
    await sendRaw(port, Buffer.from("x2"));
    await within(running, DEADLINE_MS, "two beacons through the loop");
    expect(got).toEqual([
      ["127.0.0.1", "x1"],
      ["127.0.0.1", "x2"],
    ]);
    const iterating = (async () => {
      for await (const _ of b) {
        // nothing comes
      }
      return "ended";
    })();
    await b.close();
    expect(await within(iterating, DEADLINE_MS, "for-await to end")).toBe("ended");
    await expect(b.receive()).rejects.toMatchObject({ code: ErrorCode.Closed });
    expect(await b.waitReadable()).toBe(false);
    await b.close(); // idempotent
  });

  it("a second concurrent reader is refused with ZKIT_BUSY", async () => {
    const b = await beacon(await freeUdpPort());
    const first = b.receive();
    await expect(b.receive()).rejects.toMatchObject({ code: ErrorCode.Busy });
    await b.close();
    await expect(first).rejects.toMatchObject({ code: ErrorCode.Closed });
  });
});

describe("options and misuse", () => {
  it("refuses bad options with what to pass", async () => {
    expect(() => new ZBeacon({} as never)).toThrow(/ZBeacon option port is required/);
    expect(() => new ZBeacon({ port: 70000 })).toThrow(/1 to 65535/);
    expect(() => new ZBeacon({ port: 5670, interface: "nope0" })).toThrow(/interface "nope0" is not an IPv4 interface of this host.*lo \(127\.0\.0\.1\)/);
    expect(() => new ZBeacon({ port: 5670, interface: "" })).toThrow(InvalidArgumentError);
    expect(() => new ZBeacon({ port: 5670, colour: "red" } as never)).toThrow(/unknown ZBeacon option "colour"/);
    const b = new ZBeacon({ port: await freeUdpPort(), interface: "lo" });
    beacons.push(b);
    expect(() => b.publish("early")).toThrow(expect.objectContaining({ code: ErrorCode.State }));
    await b.start();
    await expect(b.start()).rejects.toMatchObject({ code: ErrorCode.State });
    expect(() => b.publish(Buffer.alloc(256))).toThrow(/at most 255 bytes, got 256/);
    expect(() => b.publish("x", { intervalMs: 0 })).toThrow(/intervalMs must be a number of milliseconds > 0/);
    expect(() => b.subscribe(Buffer.alloc(256))).toThrow(/at most 255 bytes/);
    expect(() => b.publish(42 as never)).toThrow(InvalidArgumentError);
  });
});
