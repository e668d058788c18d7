// 10/FLP frames byte for byte (shared/protocols.md), and every malformed
// case the decoders must survive without throwing.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import {
  FLP_PING_INTERVAL_MS,
  FLP_SERVER_TTL_MS,
  FLP_TIMEOUT_MS,
  decodeClientMessage,
  decodeControl,
  decodeServerMessage,
  encodeControl,
  encodePing,
  encodePong,
  encodeReply,
  encodeRequest,
  hasWildcardPort,
  printable,
  publicEndpoint,
} from "../src/index.js";

const hex = (frames: readonly Buffer[]): string[] => frames.map((f) => f.toString("hex"));
const b = (s: string): Buffer => Buffer.from(s);
const SERVER = b("tcp://localhost:5555");
const CLIENT = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]); // a libzmq automatic id

describe("encoders", () => {
  it("PING and PONG: [server][PING], [client][PONG]", () => {
    expect(hex(encodePing(SERVER))).toEqual([SERVER.toString("hex"), "50494e47"]);
    expect(hex(encodePong(CLIENT))).toEqual(["006b8b4567", "504f4e47"]);
  });

  it("REQUEST and REPLY carry the control frame and the body; an empty body is one empty frame", () => {
    const control = encodeControl(1);
    expect(hex(encodeRequest(SERVER, control, [b("random name")]))).toEqual([SERVER.toString("hex"), "31", b("random name").toString("hex")]);
    expect(hex(encodeRequest(SERVER, control, [b("a"), b("b")]))).toEqual([SERVER.toString("hex"), "31", "61", "62"]);
    expect(hex(encodeRequest(SERVER, control, []))).toEqual([SERVER.toString("hex"), "31", ""]);
    expect(hex(encodeReply(CLIENT, b("42"), [b("OK")]))).toEqual(["006b8b4567", "3432", "4f4b"]);
    expect(hex(encodeReply(CLIENT, b("42"), []))).toEqual(["006b8b4567", "3432", ""]);
  });

  it("control frames are the request number in decimal ASCII, read back strictly", () => {
    expect(encodeControl(1).toString("hex")).toBe("31");
    expect(encodeControl(42).toString("hex")).toBe("3432");
    expect(encodeControl(123456789012345).toString()).toBe("123456789012345");
    for (const n of [1, 9, 10, 42, 1000, 999_999_999_999_999]) expect(decodeControl(encodeControl(n))).toBe(n);
    for (const bad of ["", "0", "01", "-1", "+1", "1.5", " 1", "1 ", "abc", "PING", "1234567890123456"]) {
      expect(decodeControl(b(bad)), JSON.stringify(bad)).toBeUndefined();
    }
    expect(decodeControl(Buffer.from([0x31, 0x00]))).toBeUndefined();
  });
});

describe("decodeServerMessage", () => {
  it("reads PING (extra frames ignored) and REQUEST with its body", () => {
    expect(decodeServerMessage([CLIENT, b("PING")])).toEqual({ kind: "ping", client: CLIENT });
    expect(decodeServerMessage([CLIENT, b("PING"), b("x")])).toEqual({ kind: "ping", client: CLIENT });
    expect(decodeServerMessage([CLIENT, b("7"), b("a"), b("b")])).toEqual({ kind: "request", client: CLIENT, control: b("7"), body: [b("a"), b("b")] });
    // any non-empty control frame is echoed, whatever the client's scheme
    expect(decodeServerMessage([CLIENT, b("my-id-1"), b("")])).toEqual({ kind: "request", client: CLIENT, control: b("my-id-1"), body: [b("")] });
    expect(decodeServerMessage([CLIENT, b("7")])).toEqual({ kind: "request", client: CLIENT, control: b("7"), body: [] });
  });

  it("names the bad frame of a malformed message and never throws", () => {
    const cases: [Buffer[], number][] = [
      [[], 0],
      [[CLIENT], 1],
      [[CLIENT, b("")], 1],
      [[CLIENT, b(""), b("body")], 1],
    ];
    for (const [frames, frame] of cases) {
      const m = decodeServerMessage(frames);
      expect(m.kind).toBe("invalid");
      if (m.kind !== "invalid") continue;
      expect(m.error).toBeInstanceOf(ProtocolError);
      expect(m.error.frame).toBe(frame);
      expect(m.error.message).toMatch(/10\/FLP/);
    }
  });
});

describe("decodeClientMessage", () => {
  it("reads PONG, the Guide's C server's [PING][OK] as a pong, and replies with their request number", () => {
    expect(decodeClientMessage([SERVER, b("PONG")])).toEqual({ kind: "pong", server: SERVER });
    expect(decodeClientMessage([SERVER, b("PING"), b("OK")])).toEqual({ kind: "pong", server: SERVER });
    expect(decodeClientMessage([SERVER, b("12"), b("OK")])).toEqual({ kind: "reply", server: SERVER, control: b("12"), seq: 12, body: [b("OK")] });
    expect(decodeClientMessage([SERVER, b("x-1"), b("OK")])).toEqual({ kind: "reply", server: SERVER, control: b("x-1"), seq: undefined, body: [b("OK")] });
    expect(decodeClientMessage([SERVER, b("3")])).toEqual({ kind: "reply", server: SERVER, control: b("3"), seq: 3, body: [] });
  });

  it("a message without a control frame is invalid, naming the frame", () => {
    for (const frames of [[], [SERVER]]) {
      const m = decodeClientMessage(frames);
      expect(m.kind).toBe("invalid");
      if (m.kind === "invalid") expect(m.error.frame).toBe(frames.length);
    }
  });
});

describe("endpoints", () => {
  it("a wildcard host becomes localhost (the Guide's flserver3); others stay", () => {
    expect(publicEndpoint("tcp://*:5555")).toBe("tcp://localhost:5555");
    expect(publicEndpoint("tcp://0.0.0.0:5555")).toBe("tcp://localhost:5555");
    expect(publicEndpoint("tcp://[::]:5555")).toBe("tcp://localhost:5555");
    expect(publicEndpoint("tcp://127.0.0.1:5555")).toBe("tcp://127.0.0.1:5555");
    expect(publicEndpoint("tcp://myhost.example:5555")).toBe("tcp://myhost.example:5555");
    expect(publicEndpoint("ipc:///tmp/flp")).toBe("ipc:///tmp/flp");
    expect(publicEndpoint("inproc://flp")).toBe("inproc://flp");
  });

  it("knows ephemeral ports", () => {
    expect(hasWildcardPort("tcp://127.0.0.1:*")).toBe(true);
    expect(hasWildcardPort("tcp://*:*")).toBe(true);
    expect(hasWildcardPort("ipc://*")).toBe(true);
    expect(hasWildcardPort("tcp://*:5555")).toBe(false);
  });

  it("prints ids as text when they are printable, else hex", () => {
    expect(printable(SERVER)).toBe("tcp://localhost:5555");
    expect(printable(CLIENT)).toBe("0x006b8b4567");
  });

  it("keeps the Guide's reference timing", () => {
    expect([FLP_PING_INTERVAL_MS, FLP_SERVER_TTL_MS, FLP_TIMEOUT_MS]).toEqual([2000, 6000, 3000]);
  });
});
