// Simple Pirate frames, byte by byte (shared/protocols.md, "Simple Pirate"),
// and every malformed case the decoders must turn into a ProtocolError.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import { SPP_READY, decodeBackend, decodeClientRequest, decodeWorkerRequest, encodeClientReply, encodeReady, encodeWorkerReply, encodeWorkerRequest } from "@zkit/spp";

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const s = (text: string): Buffer => Buffer.from(text);
const E = b();
const W = b(0x00, 0x80, 0x00, 0x00, 0x29); // a libzmq-style routing id
const C = b(0x00, 0x80, 0x00, 0x00, 0x2a);

function expectError(r: unknown, frame: number | undefined, text: RegExp): void {
  expect(r).toBeInstanceOf(ProtocolError);
  expect((r as ProtocolError).code).toBe("ZKIT_PROTOCOL");
  expect((r as ProtocolError).frame).toBe(frame);
  expect((r as ProtocolError).message).toMatch(text);
}

describe("encoders", () => {
  it("READY is one frame holding 0x01 (the REQ socket adds the delimiter)", () => {
    expect(SPP_READY).toBe(0x01);
    expect(encodeReady()).toEqual([b(0x01)]);
  });

  it('queue -> worker: [w][""][client][""][body...]', () => {
    expect(encodeWorkerRequest(W, C, [s("a"), s("b")])).toEqual([W, E, C, E, s("a"), s("b")]);
  });

  it('queue -> client: [client][""][body...]', () => {
    expect(encodeClientReply(C, [s("r")])).toEqual([C, E, s("r")]);
  });

  it('worker reply (before its REQ socket adds the delimiter): [client][""][reply...]', () => {
    expect(encodeWorkerReply(C, [s("x"), E])).toEqual([C, E, s("x"), E]);
  });
});

describe("decodeBackend", () => {
  it('READY: [w][""][0x01]', () => {
    expect(decodeBackend([W, E, b(0x01)])).toEqual({ kind: "ready", worker: W });
  });

  it('a reply: [w][""][client][""][body...], multi-frame', () => {
    expect(decodeBackend([W, E, C, E, s("1")])).toEqual({ kind: "reply", worker: W, client: C, body: [s("1")] });
    expect(decodeBackend([W, E, C, E, s("a"), E, s("c")])).toEqual({ kind: "reply", worker: W, client: C, body: [s("a"), E, s("c")] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeBackend([]), undefined, /empty message/);
    expectError(decodeBackend([W]), 1, /no envelope delimiter/);
    expectError(decodeBackend([W, s("x"), b(0x01)]), 1, /empty delimiter/);
    expectError(decodeBackend([W, E]), 2, /nothing after the delimiter/);
    expectError(decodeBackend([W, E, b(0x02)]), 2, /must be READY.*1 byte\(s\) 02/);
    expectError(decodeBackend([W, E, b(0x01, 0x00)]), 2, /must be READY/);
    expectError(decodeBackend([W, E, E]), 2, /an empty frame/);
    expectError(decodeBackend([W, E, C, s("x"), s("body")]), 3, /empty frame after the client id/);
    expectError(decodeBackend([W, E, C, E]), 4, /at least one body frame/);
  });
});

describe("decodeClientRequest", () => {
  it('[client][""][body...]', () => {
    expect(decodeClientRequest([C, E, s("hello")])).toEqual({ client: C, body: [s("hello")] });
    expect(decodeClientRequest([C, E, E])).toEqual({ client: C, body: [E] });
    expect(decodeClientRequest([C, E, s("a"), s("b")])).toEqual({ client: C, body: [s("a"), s("b")] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeClientRequest([]), undefined, /empty message/);
    expectError(decodeClientRequest([C]), 1, /empty delimiter/);
    expectError(decodeClientRequest([C, s("hello")]), 1, /empty delimiter/);
    expectError(decodeClientRequest([C, E]), 2, /no body/);
  });
});

describe("decodeWorkerRequest", () => {
  it('[client][""][body...] as the worker\'s REQ socket hands it over', () => {
    expect(decodeWorkerRequest([C, E, s("x")])).toEqual({ client: C, body: [s("x")] });
    expect(decodeWorkerRequest([C, E, s("x"), s("y")])).toEqual({ client: C, body: [s("x"), s("y")] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeWorkerRequest([]), undefined, /empty message/);
    expectError(decodeWorkerRequest([s("x")]), 1, /empty frame after the client id/);
    expectError(decodeWorkerRequest([C, s("x"), s("y")]), 1, /empty frame/);
    expectError(decodeWorkerRequest([C, E]), 2, /no body/);
  });
});
