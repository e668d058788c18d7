// CZMQ endpoint syntax: pure parsing first (prefixes, lists, tcp ports and
// CZMQ's ephemeral ranges, every bad form), then real binds over tcp on
// 127.0.0.1 for the range forms.
import { afterEach, describe, expect, it } from "vitest";
import {
  BINDS_BY_DEFAULT,
  DYNAMIC_PORT_FIRST,
  DYNAMIC_PORT_LAST,
  ErrorCode,
  InvalidEndpointError,
  ZSocket,
  ZkitError,
  parseEndpoint,
  parseEndpoints,
  portRangeAddresses,
  shutdown,
} from "@zkit/core";

afterEach(() => {
  shutdown();
});

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));

describe("parseEndpoints (CZMQ endpoint syntax)", () => {
  it("@ binds and > connects, whatever the default", () => {
    expect(parseEndpoints("@tcp://127.0.0.1:*", false)).toEqual([{ bind: true, address: "tcp://127.0.0.1:*" }]);
    expect(parseEndpoints(">tcp://127.0.0.1:5555", true)).toEqual([{ bind: false, address: "tcp://127.0.0.1:5555" }]);
  });

  it("an endpoint with no prefix follows serverish", () => {
    expect(parseEndpoints("inproc://a", true)).toEqual([{ bind: true, address: "inproc://a" }]);
    expect(parseEndpoints("inproc://a", false)).toEqual([{ bind: false, address: "inproc://a" }]);
  });

  it("splits comma lists and trims spaces", () => {
    expect(parseEndpoints("@tcp://*:1, >ipc:///tmp/x ,inproc://y", false)).toEqual([
      { bind: true, address: "tcp://*:1" },
      { bind: false, address: "ipc:///tmp/x" },
      { bind: false, address: "inproc://y" },
    ]);
  });

  it.each(["", "tcp:/x", "@", ">", "localhost:5555", "@tcp://a,,>tcp://b", "foo://bar"])("rejects %j with a message that shows the syntax", (bad) => {
    const err = thrown(() => parseEndpoints(bad, true));
    expect(err).toBeInstanceOf(InvalidEndpointError);
    expect((err as InvalidEndpointError).code).toBe(ErrorCode.InvalidEndpoint);
    expect(err.message).toMatch(/@tcp:\/\/127\.0\.0\.1:\*/);
  });

  it("quotes the endpoint as it was given, and the list only when there is one", () => {
    expect(thrown(() => parseEndpoints("garbage", true)).message).toMatch(/^invalid endpoint "garbage": expected/);
    expect(thrown(() => parseEndpoints("tcp://a:1,garbage", true)).message).toMatch(/^invalid endpoint "garbage" in "tcp:\/\/a:1,garbage": /);
  });

  it("knows CZMQ's per-type defaults", () => {
    const binders = Object.entries(BINDS_BY_DEFAULT)
      .filter(([, b]) => b)
      .map(([t]) => t)
      .sort();
    expect(binders).toEqual(["PUB", "PULL", "REP", "ROUTER", "XPUB"]);
  });
});

describe("tcp ports", () => {
  it.each(["tcp://127.0.0.1:1", "tcp://127.0.0.1:65535", "tcp://localhost:5555", "tcp://*:5555", "tcp://[::1]:5555", "tcp://eth0:5555", "tcp://192.168.1.2:0;10.0.0.1:5555"])(
    "accepts %s for a bind and for a connect",
    (address) => {
      expect(parseEndpoints(address, true)).toEqual([{ bind: true, address }]);
      expect(parseEndpoints(address, false)).toEqual([{ bind: false, address }]);
    },
  );

  it("accepts * (libzmq's ephemeral port) for a bind, with no range to try", () => {
    expect(parseEndpoints("tcp://127.0.0.1:*", true)).toEqual([{ bind: true, address: "tcp://127.0.0.1:*" }]);
    expect(parseEndpoints("@tcp://127.0.0.1:*", true)[0]!.portRange).toBeUndefined();
  });

  it.each([
    ["tcp://127.0.0.1:*[60000-]", { first: 60000, last: DYNAMIC_PORT_LAST, random: false }],
    ["tcp://127.0.0.1:*[-60010]", { first: DYNAMIC_PORT_FIRST, last: 60010, random: false }],
    ["tcp://127.0.0.1:*[60000-60010]", { first: 60000, last: 60010, random: false }],
    ["tcp://127.0.0.1:*[-]", { first: DYNAMIC_PORT_FIRST, last: DYNAMIC_PORT_LAST, random: false }],
    ["tcp://127.0.0.1:!", { first: DYNAMIC_PORT_FIRST, last: DYNAMIC_PORT_LAST, random: true }],
    ["tcp://127.0.0.1:![55000-55999]", { first: 55000, last: 55999, random: true }],
    ["tcp://127.0.0.1:![-60000]", { first: DYNAMIC_PORT_FIRST, last: 60000, random: true }],
    ["tcp://[::1]:*[1-1]", { first: 1, last: 1, random: false }],
  ])("%s is a range for a bind: %j", (address, range) => {
    const host = address.slice(0, address.lastIndexOf(":"));
    expect(parseEndpoints(`@${address}`, false)).toEqual([{ bind: true, address, portRange: { host, ...range } }]);
  });

  it("the CZMQ dynamic range is 49152-65535", () => {
    expect([DYNAMIC_PORT_FIRST, DYNAMIC_PORT_LAST]).toEqual([49152, 65535]);
  });

  it.each([
    ["tcp://127.0.0.1:99999", /port 99999 is out of range/],
    ["tcp://127.0.0.1:65536", /port 65536 is out of range/],
    ["tcp://127.0.0.1:0", /port 0 is out of range/],
    ["tcp://127.0.0.1:00000", /port 00000 is out of range/],
    ["tcp://127.0.0.1:-1", /port "-1" is not a port/],
    ["tcp://127.0.0.1:55x", /port "55x" is not a port/],
    ["tcp://127.0.0.1:+80", /port "\+80" is not a port/],
    ["tcp://127.0.0.1", /no port/],
    ["tcp://127.0.0.1:", /no port after the colon/],
    ["tcp://:5555", /no host before the port/],
    ["tcp://127.0.0.1:*[70000-]", /the range \[70000-\] goes outside 1-65535/],
    ["tcp://127.0.0.1:*[0-10]", /the range \[0-10\] goes outside 1-65535/],
    ["tcp://127.0.0.1:![-99999]", /the range \[-99999\] goes outside 1-65535/],
    ["tcp://127.0.0.1:*[60010-60000]", /the range \[60010-60000\] is empty \(60010 > 60000\)/],
    ["tcp://127.0.0.1:*[60000]", /port "\*\[60000\]" is not a port/],
    ["tcp://127.0.0.1:*60000", /port "\*60000" is not a port/],
    ["tcp://127.0.0.1:[60000-60010]", /port "\[60000-60010\]" is not a port/],
    ["tcp://127.0.0.1:*[a-b]", /port "\*\[a-b\]" is not a port/],
    ["tcp://127.0.0.1:**", /port "\*\*" is not a port/],
  ])("rejects %s for a bind, saying why and what a port is", (address, why) => {
    const err = thrown(() => parseEndpoints(`@${address}`, false));
    expect(err).toBeInstanceOf(InvalidEndpointError);
    expect(err.message).toMatch(why);
    expect(err.message).toContain(`invalid endpoint "@${address}"`);
    expect(err.message).toMatch(/a tcp port is a number from 1 to 65535/);
    expect(err.message).toMatch(/@tcp:\/\/127\.0\.0\.1:\*/);
  });

  it.each(["tcp://127.0.0.1:*", "tcp://127.0.0.1:!", "tcp://127.0.0.1:*[60000-]", "tcp://127.0.0.1:![1-2]"])("rejects %s for a connect: a connect needs the port", (address) => {
    const err = thrown(() => parseEndpoints(`>${address}`, true));
    expect(err).toBeInstanceOf(InvalidEndpointError);
    expect(err.message).toMatch(/picks a port to bind; a connect needs the port number/);
  });

  it("leaves the ports of other transports alone", () => {
    expect(parseEndpoints("ws://127.0.0.1:8080/path", true)).toEqual([{ bind: true, address: "ws://127.0.0.1:8080/path" }]);
    expect(parseEndpoints("ipc:///tmp/a:99999", true)).toEqual([{ bind: true, address: "ipc:///tmp/a:99999" }]);
  });
});

describe("parseEndpoint (one endpoint, for bind and connect)", () => {
  it("takes the address alone or with the prefix that says the same", () => {
    expect(parseEndpoint("tcp://127.0.0.1:*", true)).toEqual({ bind: true, address: "tcp://127.0.0.1:*" });
    expect(parseEndpoint("@tcp://127.0.0.1:*", true)).toEqual({ bind: true, address: "tcp://127.0.0.1:*" });
    expect(parseEndpoint(">tcp://127.0.0.1:5555", false)).toEqual({ bind: false, address: "tcp://127.0.0.1:5555" });
  });

  it("quotes what it was given, with no prefix added", () => {
    const err = thrown(() => parseEndpoint("garbage", true));
    expect(err).toBeInstanceOf(InvalidEndpointError);
    expect(err.message).toMatch(/^invalid endpoint "garbage": /);
    expect(err.message).not.toContain("@garbage");
    expect(thrown(() => parseEndpoint("garbage", false)).message).not.toContain(">garbage");
  });

  it("refuses the other prefix and comma lists, saying what to call", () => {
    expect(thrown(() => parseEndpoint(">tcp://127.0.0.1:5555", true)).message).toMatch(/">" connects; connect\(\) it/);
    expect(thrown(() => parseEndpoint("@tcp://127.0.0.1:*", false)).message).toMatch(/"@" binds; bind\(\) it/);
    expect(thrown(() => parseEndpoint("tcp://a:1,tcp://b:2", false)).message).toMatch(/takes one endpoint; attach\(\) takes a comma-separated list/);
  });
});

describe("portRangeAddresses (the order a range bind tries)", () => {
  const range = { host: "tcp://127.0.0.1", first: 60000, last: 60003 };

  it("* goes up from the first port, each port once", () => {
    expect([...portRangeAddresses({ ...range, random: false })]).toEqual([60000, 60001, 60002, 60003].map((p) => `tcp://127.0.0.1:${p}`));
  });

  it("! starts at a random port of the range and wraps round to the first", () => {
    expect([...portRangeAddresses({ ...range, random: true }, () => 0.6)]).toEqual([60002, 60003, 60000, 60001].map((p) => `tcp://127.0.0.1:${p}`));
    expect([...portRangeAddresses({ ...range, random: true }, () => 0.999999)].map(portOf)).toEqual([60003, 60000, 60001, 60002]);
  });
});

describe("binding the ranges for real (tcp on 127.0.0.1)", () => {
  it("*[p-] takes the first free port from p up: the next one when p is taken", async () => {
    const holder = await ZSocket.router("@tcp://127.0.0.1:*");
    const p = portOf(holder.endpoint);
    const next = await ZSocket.router(`@tcp://127.0.0.1:*[${p}-${Math.min(p + 50, 65535)}]`);
    const q = portOf(next.endpoint);
    expect(q).toBeGreaterThan(p);
    expect(q).toBeLessThanOrEqual(p + 50);
    // and it is a real endpoint: a dealer connects and talks to it
    const dealer = await ZSocket.dealer(`>${next.endpoint}`);
    await dealer.send(["hello"]);
    const [, body] = await next.receive();
    expect(body!.toString()).toBe("hello");
  });

  it("*[p-p] with p taken fails with ZKIT_ADDRESS_IN_USE naming the range", async () => {
    const holder = await ZSocket.router("@tcp://127.0.0.1:*");
    const p = portOf(holder.endpoint);
    const sock = await ZSocket.router();
    const err = await sock.bind(`tcp://127.0.0.1:*[${p}-${p}]`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ZkitError);
    expect((err as ZkitError).code).toBe(ErrorCode.AddressInUse);
    expect((err as Error).message).toContain(`every port from ${p} to ${p} is in use`);
    // the socket is still usable after the failed tries
    expect(portOf(await sock.bind("tcp://127.0.0.1:*"))).toBeGreaterThan(0);
  });

  it("*[-60010] binds in 49152-60010, ! and ![a-b] bind in their ranges", async () => {
    const low = await ZSocket.router("@tcp://127.0.0.1:*[-60010]");
    expect(portOf(low.endpoint)).toBeGreaterThanOrEqual(DYNAMIC_PORT_FIRST);
    expect(portOf(low.endpoint)).toBeLessThanOrEqual(60010);
    const random = await ZSocket.router("@tcp://127.0.0.1:!");
    expect(portOf(random.endpoint)).toBeGreaterThanOrEqual(DYNAMIC_PORT_FIRST);
    const some = await ZSocket.router("@tcp://127.0.0.1:![60000-60999]");
    expect(portOf(some.endpoint)).toBeGreaterThanOrEqual(60000);
    expect(portOf(some.endpoint)).toBeLessThanOrEqual(60999);
  });

  it("a port out of range never reaches libzmq (which would bind 99999 modulo 65536)", async () => {
    const sock = await ZSocket.router();
    const err = await sock.bind("tcp://127.0.0.1:99999").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidEndpointError);
    expect((err as Error).message).toMatch(/^invalid endpoint "tcp:\/\/127\.0\.0\.1:99999": port 99999 is out of range/);
    expect(sock.endpoints).toEqual([]);
    expect(() => sock.connect("tcp://127.0.0.1:70000")).toThrow(/port 70000 is out of range/);
  });

  it("bind('garbage') and connect('garbage') quote what they were given", async () => {
    const sock = await ZSocket.dealer();
    await expect(sock.bind("garbage")).rejects.toThrow(/^invalid endpoint "garbage": /);
    expect(() => sock.connect("garbage")).toThrow(/^invalid endpoint "garbage": /);
  });
});
