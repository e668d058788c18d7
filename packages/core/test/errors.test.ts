import { describe, expect, it } from "vitest";
import { ClosedError, ErrorCode, InvalidEndpointError, TimeoutError, ZkitError, fromZmqError } from "@zkit/core";

// zeromq.js rejects with Error objects carrying an errno `code`; these are the
// shapes it produced when measured (see shared/DESIGN.md).
function zmqError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("ZkitError and the zeromq.js error mapping", () => {
  it("every error has a code, a name and keeps its cause", () => {
    const cause = new Error("x");
    const e = new ZkitError("ZKIT_CUSTOM", "boom", { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe("ZKIT_CUSTOM");
    expect(e.name).toBe("ZkitError");
    expect(e.cause).toBe(cause);
    expect(new ClosedError().name).toBe("ClosedError");
  });

  it.each([
    ["EBADF", ErrorCode.Closed, ClosedError],
    ["EAGAIN", ErrorCode.Timeout, TimeoutError],
    ["EPROTONOSUPPORT", ErrorCode.InvalidEndpoint, InvalidEndpointError],
    ["EBUSY", ErrorCode.Busy, ZkitError],
    ["EFSM", ErrorCode.State, ZkitError],
    ["EADDRINUSE", ErrorCode.AddressInUse, ZkitError],
    ["EHOSTUNREACH", ErrorCode.HostUnreachable, ZkitError],
    ["ESOMETHING", ErrorCode.Socket, ZkitError],
  ])("maps %s to %s", (errno, code, Class) => {
    const raw = zmqError(errno, "libzmq says no");
    const e = fromZmqError(raw, "ROUTER send");
    expect(e).toBeInstanceOf(Class);
    expect(e.code).toBe(code);
    expect(e.cause).toBe(raw);
    expect(e.message).toContain("ROUTER send");
  });

  it("passes ZkitErrors through and survives non-errors", () => {
    const z = new ClosedError();
    expect(fromZmqError(z, "x")).toBe(z);
    expect(fromZmqError("weird", "x").code).toBe(ErrorCode.Socket);
    expect(fromZmqError(undefined, "x").code).toBe(ErrorCode.Socket);
  });
});
