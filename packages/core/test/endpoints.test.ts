import { describe, expect, it } from "vitest";
import { BINDS_BY_DEFAULT, ErrorCode, InvalidEndpointError, parseEndpoints } from "@zkit/core";

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
    let caught: unknown;
    try {
      parseEndpoints(bad, true);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidEndpointError);
    expect((caught as InvalidEndpointError).code).toBe(ErrorCode.InvalidEndpoint);
    expect((caught as Error).message).toMatch(/@tcp:\/\/127\.0\.0\.1:\*/);
  });

  it("knows CZMQ's per-type defaults", () => {
    const binders = Object.entries(BINDS_BY_DEFAULT).filter(([, b]) => b).map(([t]) => t).sort();
    expect(binders).toEqual(["PUB", "PULL", "REP", "ROUTER", "XPUB"]);
  });
});
