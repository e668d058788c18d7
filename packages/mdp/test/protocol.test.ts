// 7/MDP and 8/MMI frames, byte by byte, as shared/protocols.md lists them;
// then every malformed case each decoder must turn into a ProtocolError
// naming the bad frame, without throwing.
import { describe, expect, it } from "vitest";
import { ProtocolError } from "@zkit/core";
import {
  MAX_SERVICE_BYTES,
  MDPC01,
  MDPW01,
  MdpCommand,
  decodeBrokerMessage,
  decodeClientReply,
  decodeEnvelopedClientReply,
  decodeWorkerMessage,
  encodeClientReply,
  encodeEnvelopeAddress,
  encodeEnvelopedClientReply,
  encodeEnvelopedRequest,
  encodeDisconnect,
  encodeHeartbeat,
  encodeReady,
  encodeReply,
  encodeRequest,
  encodeWorkerRequest,
  isMmiService,
  serviceNameProblem,
  toBody,
  toFrame,
} from "../src/protocol.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const hex = (frames: readonly Buffer[]): string[] => frames.map((f) => f.toString("hex"));
const EMPTY = Buffer.alloc(0);
const WID = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]); // a libzmq-style routing id
const CID = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x68]);

describe("constants", () => {
  it("headers and command bytes are those of 7/MDP", () => {
    expect(MDPC01).toBe("MDPC01");
    expect(MDPW01).toBe("MDPW01");
    expect(MdpCommand).toEqual({ Ready: 1, Request: 2, Reply: 3, Heartbeat: 4, Disconnect: 5 });
  });
});

describe("encoders, byte by byte", () => {
  it('client REQUEST (DEALER form): [""][MDPC01][service][body...]', () => {
    expect(hex(encodeRequest("echo", [b("Hello world")]))).toEqual(["", "4d4450433031", "6563686f", "48656c6c6f20776f726c64"]);
  });

  it('REPLY to a client (ROUTER form): [client][""][MDPC01][service][body...]', () => {
    expect(encodeClientReply(CID, b("echo"), [b("Hello world"), b("2")])).toEqual([CID, EMPTY, b("MDPC01"), b("echo"), b("Hello world"), b("2")]);
  });

  // 7/MDP: a REQUEST or REPLY has at least one body frame; an empty body is
  // one empty frame (the Guide's C broker asserts on a 3-frame REQUEST)
  it("an empty body is sent as one empty frame by every encoder, never as no frame", () => {
    expect(hex(encodeRequest("echo", []))).toEqual(["", "4d4450433031", "6563686f", ""]);
    expect(hex(encodeRequest("mmi.stats", []))).toEqual(["", "4d4450433031", "6d6d692e7374617473", ""]);
    expect(encodeClientReply(CID, b("echo"), [])).toEqual([CID, EMPTY, b("MDPC01"), b("echo"), EMPTY]);
    expect(encodeWorkerRequest(WID, CID, [])).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([2]), CID, EMPTY, EMPTY]);
    expect(encodeReply(CID, [])).toEqual([EMPTY, b("MDPW01"), Buffer.from([3]), CID, EMPTY, EMPTY]);
    // an explicit empty frame stays one frame
    expect(encodeRequest("echo", [EMPTY])).toHaveLength(4);
  });

  it('READY: [""][MDPW01][0x01][service]', () => {
    expect(hex(encodeReady("echo"))).toEqual(["", "4d4450573031", "01", "6563686f"]);
  });

  it('REQUEST to a worker (ROUTER form): [worker][""][MDPW01][0x02][client][""][body...]', () => {
    expect(encodeWorkerRequest(WID, CID, [b("Hello world")])).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([2]), CID, EMPTY, b("Hello world")]);
  });

  it('worker REPLY: [""][MDPW01][0x03][client][""][body...]', () => {
    expect(encodeReply(CID, [b("Hello world")])).toEqual([EMPTY, b("MDPW01"), Buffer.from([3]), CID, EMPTY, b("Hello world")]);
  });

  it("HEARTBEAT and DISCONNECT, with and without a routing id", () => {
    expect(hex(encodeHeartbeat())).toEqual(["", "4d4450573031", "04"]);
    expect(hex(encodeDisconnect())).toEqual(["", "4d4450573031", "05"]);
    expect(encodeHeartbeat(WID)).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([4])]);
    expect(encodeDisconnect(WID)).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([5])]);
  });

  it("the reference broker's trace, frame for frame (protocols.md)", () => {
    // worker->broker [wid][""][MDPW01][01][echo]
    expect([WID, ...encodeReady("echo")]).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")]);
    // client->broker [cid][""][MDPC01][echo][Hello world]
    expect([CID, ...encodeRequest("echo", [b("Hello world")])]).toEqual([CID, EMPTY, b("MDPC01"), b("echo"), b("Hello world")]);
    // broker->worker [wid][""][MDPW01][02][cid][""][Hello world]
    expect(encodeWorkerRequest(WID, CID, [b("Hello world")]).map(String)).toEqual([WID, "", "MDPW01", "\x02", CID, "", "Hello world"].map(String));
    // worker->broker [wid][""][MDPW01][03][cid][""][Hello world]
    expect([WID, ...encodeReply(CID, [b("Hello world")])]).toEqual([WID, EMPTY, b("MDPW01"), Buffer.from([3]), CID, EMPTY, b("Hello world")]);
    // broker->client [cid][""][MDPC01][echo][Hello world]
    expect(encodeClientReply(CID, b("echo"), [b("Hello world")])).toEqual([CID, EMPTY, b("MDPC01"), b("echo"), b("Hello world")]);
  });

  it("frames from strings (UTF-8), Uint8Array views (no copy) and ArrayBuffers", () => {
    expect(toFrame("é")).toEqual(Buffer.from([0xc3, 0xa9]));
    const backing = new Uint8Array([1, 2, 3, 4]);
    const view = toFrame(backing.subarray(1, 3));
    expect([...view]).toEqual([2, 3]);
    backing[1] = 9;
    expect(view[0]).toBe(9); // a view, not a copy
    expect(toFrame(new Uint8Array([7]).buffer)).toEqual(Buffer.from([7]));
    expect(toBody("one")).toEqual([b("one")]);
    expect(toBody(["a", b("b")])).toEqual([b("a"), b("b")]);
    expect(toBody([])).toEqual([]);
    expect(() => toFrame(42 as never)).toThrow(/frame must be/);
  });
});

describe("decodeBrokerMessage: what the broker's ROUTER receives", () => {
  it("a client REQUEST, body frames as received", () => {
    const msg = decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo"), b("a"), b("b")]);
    expect(msg).toEqual({ kind: "request", sender: CID, service: b("echo"), body: [b("a"), b("b")] });
    expect(decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo")])).toEqual({ kind: "request", sender: CID, service: b("echo"), body: [] });
  });

  it("each worker command", () => {
    expect(decodeBrokerMessage([WID, EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")])).toEqual({ kind: "ready", sender: WID, service: b("echo") });
    expect(decodeBrokerMessage([WID, EMPTY, b("MDPW01"), Buffer.from([3]), CID, EMPTY, b("x")])).toEqual({
      kind: "reply",
      sender: WID,
      client: CID,
      body: [b("x")],
    });
    expect(decodeBrokerMessage([WID, EMPTY, b("MDPW01"), Buffer.from([4])])).toEqual({ kind: "heartbeat", sender: WID });
    expect(decodeBrokerMessage([WID, EMPTY, b("MDPW01"), Buffer.from([5])])).toEqual({ kind: "disconnect", sender: WID });
  });

  const cases: [string, Buffer[], number, RegExp][] = [
    ["no frames at all", [], 0, /routing id/],
    ["an empty routing id", [EMPTY, EMPTY, b("MDPC01"), b("echo")], 0, /routing id/],
    ["only a routing id", [CID], 1, /empty delimiter/],
    ["a non-empty delimiter", [CID, b("x"), b("MDPC01"), b("echo")], 1, /empty delimiter/],
    ["no header", [CID, EMPTY], 2, /missing the protocol header/],
    ["a wrong header", [CID, EMPTY, b("HTTP/1.1"), b("echo")], 2, /unknown protocol header "HTTP\/1.1"/],
    ["a lowercase header", [CID, EMPTY, b("mdpc01"), b("echo")], 2, /unknown protocol header/],
    ["MDP/0.2 (not negotiated)", [CID, EMPTY, b("MDPC02"), b("echo")], 2, /MDPC02 \(18\/MDP\) is not supported/],
    ["a binary header", [CID, EMPTY, Buffer.from([0xff, 0, 1]), b("echo")], 2, /unknown protocol header "ff0001"/],
    ["REQUEST without a service", [CID, EMPTY, b("MDPC01")], 3, /without a service/],
    ["REQUEST with an empty service", [CID, EMPTY, b("MDPC01"), EMPTY, b("x")], 3, /service name is empty/],
    ["REQUEST with a 256-byte service", [CID, EMPTY, b("MDPC01"), Buffer.alloc(MAX_SERVICE_BYTES + 1, 0x61)], 3, /256 bytes long/],
    ["worker message without a command", [WID, EMPTY, b("MDPW01")], 3, /without a command/],
    ["an empty command frame", [WID, EMPTY, b("MDPW01"), EMPTY], 3, /one byte, got 0/],
    ["a two-byte command", [WID, EMPTY, b("MDPW01"), Buffer.from([1, 1]), b("echo")], 3, /one byte, got 2/],
    ["an unknown command 0x06", [WID, EMPTY, b("MDPW01"), Buffer.from([6])], 3, /unknown worker command 0x06/],
    ["an unknown command 0x00", [WID, EMPTY, b("MDPW01"), Buffer.from([0])], 3, /unknown worker command 0x00/],
    ["REQUEST from a worker", [WID, EMPTY, b("MDPW01"), Buffer.from([2]), CID, EMPTY, b("x")], 3, /broker to worker/],
    ["READY without a service", [WID, EMPTY, b("MDPW01"), Buffer.from([1])], 4, /READY without a service/],
    ["READY with an empty service", [WID, EMPTY, b("MDPW01"), Buffer.from([1]), EMPTY], 4, /service name is empty/],
    ["READY with extra frames", [WID, EMPTY, b("MDPW01"), Buffer.from([1]), b("echo"), b("x")], 5, /after the service/],
    ["REPLY without a client", [WID, EMPTY, b("MDPW01"), Buffer.from([3])], 4, /without a client address/],
    ["REPLY with an empty client", [WID, EMPTY, b("MDPW01"), Buffer.from([3]), EMPTY, EMPTY], 4, /without a client address/],
    ["REPLY without the empty frame", [WID, EMPTY, b("MDPW01"), Buffer.from([3]), CID], 5, /without the empty frame/],
    ["REPLY with a non-empty delimiter", [WID, EMPTY, b("MDPW01"), Buffer.from([3]), CID, b("x"), b("y")], 5, /must be empty/],
    ["HEARTBEAT with extra frames", [WID, EMPTY, b("MDPW01"), Buffer.from([4]), b("x")], 4, /extra frame/],
    ["DISCONNECT with extra frames", [WID, EMPTY, b("MDPW01"), Buffer.from([5]), b("x")], 4, /extra frame/],
  ];
  it.each(cases)("invalid: %s (frame %i)", (_name, frames, frame, message) => {
    const msg = decodeBrokerMessage(frames);
    expect(msg.kind).toBe("invalid");
    if (msg.kind !== "invalid") return;
    expect(msg.error).toBeInstanceOf(ProtocolError);
    expect(msg.error.code).toBe("ZKIT_PROTOCOL");
    expect(msg.error.frame).toBe(frame);
    expect(msg.error.message).toMatch(message);
    if (frames[0] !== undefined && frames[0].length > 0) expect(msg.sender).toBe(frames[0]);
  });

  it("an oversized frame, anywhere, when a limit is set", () => {
    const big = Buffer.alloc(1025);
    const ok = decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo"), big]);
    expect(ok.kind).toBe("request"); // no limit by default
    const msg = decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo"), b("x"), big], { maxFrameBytes: 1024 });
    expect(msg.kind).toBe("invalid");
    if (msg.kind === "invalid") {
      expect(msg.error.frame).toBe(5);
      expect(msg.error.message).toMatch(/1025 bytes, more than the limit of 1024/);
    }
    expect(decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo"), Buffer.alloc(1024)], { maxFrameBytes: 1024 }).kind).toBe("request");
  });

  it("never throws, whatever the frames", () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pool = [EMPTY, b("MDPC01"), b("MDPW01"), Buffer.from([1]), Buffer.from([2]), Buffer.from([3]), Buffer.from([4]), Buffer.from([5]), b("echo"), b("mmi.service")];
    for (let i = 0; i < 20_000; i++) {
      const frames = Array.from({ length: rnd(9) }, () => (rnd(3) === 0 ? Buffer.from(Array.from({ length: rnd(8) }, () => rnd(256))) : pool[rnd(pool.length)]!));
      expect(() => decodeBrokerMessage(frames, { maxFrameBytes: 6 })).not.toThrow();
      expect(() => decodeWorkerMessage(frames)).not.toThrow();
      expect(() => decodeClientReply(frames)).not.toThrow();
      expect(() => decodeEnvelopedClientReply(frames)).not.toThrow();
    }
  });
});

describe("zkit's envelope extension (a multiplexed client), byte by byte", () => {
  const CORR = Buffer.from([0, 0, 0, 7]);

  it('client REQUEST: [corr][""][MDPC01][service][body...]; the broker decodes the correlation, a plain request has none', () => {
    const frames = encodeEnvelopedRequest(CORR, b("echo"), [b("a")]);
    expect(hex(frames)).toEqual(["00000007", "", hex([b("MDPC01")])[0], hex([b("echo")])[0], "61"]);
    expect(hex(encodeEnvelopedRequest(CORR, b("echo"), [])).length).toBe(5); // an empty body is one empty frame
    expect(decodeBrokerMessage([CID, ...frames])).toEqual({ kind: "request", sender: CID, service: b("echo"), body: [b("a")], corr: CORR });
    const plain = decodeBrokerMessage([CID, EMPTY, b("MDPC01"), b("echo"), b("a")]);
    expect(plain.kind === "request" && plain.corr).toBeUndefined();
  });

  it("the client address for the worker: 0x00, the routing id's length, the routing id, the correlation; never a routing id's shape", () => {
    const address = encodeEnvelopeAddress(CID, CORR);
    expect(address.toString("hex")).toBe(`0005${CID.toString("hex")}00000007`);
    expect(address.length).toBe(11);
    const custom = encodeEnvelopeAddress(b("x"), CORR); // the shortest: a 1-byte routing id set by the application
    expect(custom.length).toBeGreaterThan(5);
    expect(custom[0]).toBe(0);
  });

  it('REPLY to a multiplexed client: [client][corr][""][MDPC01][service][body...]; the client decodes it, and a plain reply too', () => {
    const frames = encodeEnvelopedClientReply(CID, CORR, b("echo"), [b("x"), b("y")]);
    expect(frames.map((f) => f.toString("latin1"))).toEqual([CID.toString("latin1"), CORR.toString("latin1"), "", "MDPC01", "echo", "x", "y"]);
    expect(decodeEnvelopedClientReply(frames.slice(1))).toEqual({ kind: "reply", corr: CORR, service: b("echo"), body: [b("x"), b("y")] });
    expect(decodeEnvelopedClientReply([EMPTY, b("MDPC01"), b("mmi.zkit.envelope"), b("200")])).toEqual({ kind: "plain", service: b("mmi.zkit.envelope"), body: [b("200")] });
  });

  it.each([
    [[CID, b("abc"), EMPTY, b("MDPC01"), b("echo")], 1, /correlation frame is 3 bytes; it must be 4 to 255/],
    [[CID, Buffer.alloc(256), EMPTY, b("MDPC01"), b("echo")], 1, /256 bytes/],
    [[CID, CORR, b("x"), b("MDPC01"), b("echo")], 1, /frame 1 must be the empty delimiter/],
    [[CID, CORR, EMPTY, b("MDPW01"), Buffer.from([3])], 1, /frame 1 must be the empty delimiter/],
    [[CID, CORR, EMPTY, b("MDPC01")], 4, /without a service frame/],
    [[CID, CORR, EMPTY, b("MDPC01"), EMPTY], 4, /service name is empty/],
  ])("the broker refuses a bad envelope %#", (frames, frame, message) => {
    const msg = decodeBrokerMessage(frames);
    expect(msg.kind).toBe("invalid");
    if (msg.kind === "invalid") {
      expect(msg.error.frame).toBe(frame);
      expect(msg.error.message).toMatch(message);
    }
  });

  it("the client refuses a bad reply", () => {
    expect(decodeEnvelopedClientReply([]).kind).toBe("invalid");
    expect(decodeEnvelopedClientReply([CORR, b("x")]).kind).toBe("invalid");
    expect(decodeEnvelopedClientReply([CORR, EMPTY, b("MDPC02"), b("echo")]).kind).toBe("invalid");
    expect(decodeEnvelopedClientReply([CORR, EMPTY, b("MDPC01")]).kind).toBe("invalid");
  });
});

describe("decodeWorkerMessage: what a worker's DEALER receives", () => {
  it("REQUEST, HEARTBEAT, DISCONNECT", () => {
    expect(decodeWorkerMessage([EMPTY, b("MDPW01"), Buffer.from([2]), CID, EMPTY, b("a"), b("b")])).toEqual({ kind: "request", client: CID, body: [b("a"), b("b")] });
    expect(decodeWorkerMessage([EMPTY, b("MDPW01"), Buffer.from([2]), CID, EMPTY])).toEqual({ kind: "request", client: CID, body: [] });
    expect(decodeWorkerMessage([EMPTY, b("MDPW01"), Buffer.from([4])])).toEqual({ kind: "heartbeat" });
    expect(decodeWorkerMessage([EMPTY, b("MDPW01"), Buffer.from([5])])).toEqual({ kind: "disconnect" });
  });

  const cases: [string, Buffer[], number, RegExp][] = [
    ["an empty message", [], 0, /empty message/],
    ["no leading empty frame", [b("MDPW01"), Buffer.from([4])], 0, /empty delimiter/],
    ["no header", [EMPTY], 1, /missing the protocol header/],
    ["a client header", [EMPTY, b("MDPC01"), Buffer.from([4])], 1, /unknown protocol header "MDPC01"/],
    ["MDPW02", [EMPTY, b("MDPW02"), Buffer.from([4])], 1, /MDPW02 \(18\/MDP\)/],
    ["no command", [EMPTY, b("MDPW01")], 2, /missing the command/],
    ["a long command", [EMPTY, b("MDPW01"), b("04")], 2, /one byte, got 2/],
    ["READY to a worker", [EMPTY, b("MDPW01"), Buffer.from([1]), b("echo")], 2, /READY goes from worker to broker/],
    ["REPLY to a worker", [EMPTY, b("MDPW01"), Buffer.from([3]), CID, EMPTY], 2, /REPLY goes from worker to broker/],
    ["an unknown command", [EMPTY, b("MDPW01"), Buffer.from([0x42])], 2, /unknown worker command 0x42/],
    ["REQUEST without a client", [EMPTY, b("MDPW01"), Buffer.from([2])], 3, /without a client address/],
    ["REQUEST without the empty frame", [EMPTY, b("MDPW01"), Buffer.from([2]), CID], 4, /without the empty frame/],
    ["REQUEST with a non-empty delimiter", [EMPTY, b("MDPW01"), Buffer.from([2]), CID, b("x")], 4, /must be empty/],
    ["HEARTBEAT with extra frames", [EMPTY, b("MDPW01"), Buffer.from([4]), EMPTY], 3, /extra frame/],
    ["DISCONNECT with extra frames", [EMPTY, b("MDPW01"), Buffer.from([5]), EMPTY], 3, /extra frame/],
  ];
  it.each(cases)("invalid: %s (frame %i)", (_name, frames, frame, message) => {
    const msg = decodeWorkerMessage(frames);
    expect(msg.kind).toBe("invalid");
    if (msg.kind !== "invalid") return;
    expect(msg.error.frame).toBe(frame);
    expect(msg.error.message).toMatch(message);
  });
});

describe("decodeClientReply: what a client's DEALER receives", () => {
  it("a reply, body frames as received (possibly none)", () => {
    expect(decodeClientReply([EMPTY, b("MDPC01"), b("echo"), b("a")])).toEqual({ kind: "reply", service: b("echo"), body: [b("a")] });
    expect(decodeClientReply([EMPTY, b("MDPC01"), b("mmi.service"), b("200")])).toEqual({ kind: "reply", service: b("mmi.service"), body: [b("200")] });
    expect(decodeClientReply([EMPTY, b("MDPC01"), b("echo")])).toEqual({ kind: "reply", service: b("echo"), body: [] });
  });

  const cases: [string, Buffer[], number, RegExp][] = [
    ["an empty message", [], 0, /empty message/],
    ["REQ form (no empty frame)", [b("MDPC01"), b("echo"), b("x")], 0, /empty delimiter/],
    ["no header", [EMPTY], 1, /missing the protocol header/],
    ["a worker header", [EMPTY, b("MDPW01"), b("echo")], 1, /unknown protocol header "MDPW01", expected MDPC01/],
    ["no service", [EMPTY, b("MDPC01")], 2, /without a service/],
  ];
  it.each(cases)("invalid: %s (frame %i)", (_name, frames, frame, message) => {
    const msg = decodeClientReply(frames);
    expect(msg.kind).toBe("invalid");
    if (msg.kind !== "invalid") return;
    expect(msg.error.frame).toBe(frame);
    expect(msg.error.message).toMatch(message);
  });
});

describe("service names", () => {
  it("mmi.* is the broker's (8/MMI), checked on bytes and strings alike", () => {
    expect(isMmiService("mmi.service")).toBe(true);
    expect(isMmiService(b("mmi.anything"))).toBe(true);
    expect(isMmiService("mmi")).toBe(false);
    expect(isMmiService(b("mmix"))).toBe(false);
    expect(isMmiService("echo")).toBe(false);
  });

  it("are non-empty and at most 255 bytes", () => {
    expect(serviceNameProblem("echo")).toBeUndefined();
    expect(serviceNameProblem("x".repeat(255))).toBeUndefined();
    expect(serviceNameProblem("")).toMatch(/empty/);
    expect(serviceNameProblem("é".repeat(128))).toMatch(/256 bytes/);
  });
});
