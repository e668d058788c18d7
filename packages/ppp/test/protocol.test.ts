// 6/PPP frames, byte by byte (shared/protocols.md, "6/PPP Paranoid
// Pirate"), and every malformed case the decoders must turn into a
// ProtocolError naming the bad frame.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import {
  PPP_HEARTBEAT,
  PPP_HEARTBEAT_INTERVAL_MS,
  PPP_LIVENESS,
  PPP_READY,
  PPP_RECONNECT_INITIAL_MS,
  PPP_RECONNECT_MAX_MS,
  decodeBackend,
  decodeClientRequest,
  decodeWorkerInput,
  encodeClientReply,
  encodeHeartbeat,
  encodeQueueHeartbeat,
  encodeReady,
  encodeWorkerReply,
  encodeWorkerRequest,
} from "@zkit/ppp";

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const s = (text: string): Buffer => Buffer.from(text);
const E = b();
const W = b(0x00, 0x80, 0x00, 0x00, 0x29);
const C = b(0x00, 0x80, 0x00, 0x00, 0x2a);

function expectError(r: unknown, frame: number | undefined, text: RegExp): void {
  expect(r).toBeInstanceOf(ProtocolError);
  expect((r as ProtocolError).code).toBe("ZKIT_PROTOCOL");
  expect((r as ProtocolError).frame).toBe(frame);
  expect((r as ProtocolError).message).toMatch(text);
}

describe("constants", () => {
  it("are the spec's command bytes and the Guide's timing", () => {
    expect([PPP_READY, PPP_HEARTBEAT]).toEqual([0x01, 0x02]);
    expect([PPP_HEARTBEAT_INTERVAL_MS, PPP_LIVENESS, PPP_RECONNECT_INITIAL_MS, PPP_RECONNECT_MAX_MS]).toEqual([1000, 3, 1000, 32000]);
  });
});

describe("encoders", () => {
  it("worker commands are single frames with no delimiter: READY [0x01], HEARTBEAT [0x02]", () => {
    expect(encodeReady()).toEqual([b(0x01)]);
    expect(encodeHeartbeat()).toEqual([b(0x02)]);
  });

  it('queue -> worker: request [w][client][""][body...], heartbeat [w][0x02]', () => {
    expect(encodeWorkerRequest(W, C, [s("a"), E, s("c")])).toEqual([W, C, E, s("a"), E, s("c")]);
    expect(encodeQueueHeartbeat(W)).toEqual([W, b(0x02)]);
  });

  it('worker reply [client][""][reply...]; queue -> client [client][""][reply...]', () => {
    expect(encodeWorkerReply(C, [s("r1"), s("r2")])).toEqual([C, E, s("r1"), s("r2")]);
    expect(encodeClientReply(C, [s("r")])).toEqual([C, E, s("r")]);
  });
});

describe("decodeBackend (what the queue's ROUTER receives from a worker)", () => {
  it("READY [w][0x01], HEARTBEAT [w][0x02]", () => {
    expect(decodeBackend([W, b(0x01)])).toEqual({ kind: "ready", worker: W });
    expect(decodeBackend([W, b(0x02)])).toEqual({ kind: "heartbeat", worker: W });
  });

  it('a reply [w][client][""][body...], multi-frame', () => {
    expect(decodeBackend([W, C, E, s("x")])).toEqual({ kind: "reply", worker: W, client: C, body: [s("x")] });
    expect(decodeBackend([W, C, E, s("x"), E, s("z")])).toEqual({ kind: "reply", worker: W, client: C, body: [s("x"), E, s("z")] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeBackend([]), undefined, /empty message/);
    expectError(decodeBackend([W]), 1, /nothing after the worker id/);
    expectError(decodeBackend([W, b(0x03)]), 1, /READY \(0x01\) or HEARTBEAT \(0x02\), got 1 byte\(s\) 03/);
    expectError(decodeBackend([W, b(0x00)]), 1, /got 1 byte\(s\) 00/);
    expectError(decodeBackend([W, E]), 1, /an empty frame/);
    expectError(decodeBackend([W, b(0x01, 0x01)]), 1, /2 byte\(s\) 0101/);
    expectError(decodeBackend([W, s("READY")]), 1, /5 byte\(s\)/);
    expectError(decodeBackend([W, E, b(0x01)]), 2, /empty frame after the client id/); // an MDP-style or REQ-style READY
    expectError(decodeBackend([W, C, s("x"), s("y")]), 2, /empty frame after the client id/);
    expectError(decodeBackend([W, C, E]), 3, /at least one body frame/);
  });
});

describe("decodeWorkerInput (what a worker's DEALER receives)", () => {
  it('HEARTBEAT [0x02] and a request [client][""][body...]', () => {
    expect(decodeWorkerInput([b(0x02)])).toEqual({ kind: "heartbeat" });
    expect(decodeWorkerInput([C, E, s("a"), s("b")])).toEqual({ kind: "request", client: C, body: [s("a"), s("b")] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeWorkerInput([]), undefined, /empty message/);
    expectError(decodeWorkerInput([b(0x01)]), 0, /must be HEARTBEAT \(0x02\), got 1 byte\(s\) 01/);
    expectError(decodeWorkerInput([b(0x07)]), 0, /HEARTBEAT/);
    expectError(decodeWorkerInput([E]), 0, /an empty frame/);
    expectError(decodeWorkerInput([C, s("x"), s("y")]), 1, /empty frame after the client id/);
    expectError(decodeWorkerInput([C, E]), 2, /at least one body frame/);
  });
});

describe("decodeClientRequest (what the queue's frontend ROUTER receives)", () => {
  it('[client][""][body...]', () => {
    expect(decodeClientRequest([C, E, s("1")])).toEqual({ client: C, body: [s("1")] });
    expect(decodeClientRequest([C, E, E, E])).toEqual({ client: C, body: [E, E] });
  });

  it("malformed messages name the bad frame", () => {
    expectError(decodeClientRequest([]), undefined, /empty message/);
    expectError(decodeClientRequest([C]), 1, /empty delimiter/);
    expectError(decodeClientRequest([C, s("x")]), 1, /empty delimiter/);
    expectError(decodeClientRequest([C, E]), 2, /no body/);
  });
});
