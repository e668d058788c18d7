// ZMsg without sockets: building and taking apart messages the CZMQ way,
// envelopes (wrap/unwrap), submessages, the cursor, signals and dump.
import { endianness } from "node:os";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { ZFrame, ZMsg, signalFrame, signalStatus } from "@zkit/zmsg";

const strings = (msg: ZMsg): string[] => msg.frames.map((f) => f.toString());

describe("building a message", () => {
  it("takes Buffers, Uint8Arrays, strings and ZFrames, keeping Buffers as they are", () => {
    const buf = Buffer.from("bytes");
    const msg = new ZMsg([buf, "text", new ZFrame("frame"), new Uint8Array([0x41])]);
    expect(msg.size).toBe(4);
    expect(msg.frames[0]).toBe(buf);
    expect(strings(msg)).toEqual(["bytes", "text", "frame", "A"]);
    expect(new ZMsg().size).toBe(0);
  });

  it("rejects a frame that is not bytes, naming its index", () => {
    expect(() => new ZMsg(["a", 5 as never])).toThrow(InvalidArgumentError);
    expect(() => new ZMsg(["a", 5 as never])).toThrow(/^frame 1 must be a Buffer/);
    expect(() => new ZMsg("abc" as never)).toThrow(/takes an array of frames/);
  });

  it("fromBuffers takes the array itself; toBuffers gives a new array of the same Buffers", () => {
    const frames = [Buffer.from("a"), Buffer.from("b")];
    const msg = ZMsg.fromBuffers(frames);
    expect(msg.frames).toBe(frames);
    const out = msg.toBuffers();
    expect(out).not.toBe(frames);
    expect(out[0]).toBe(frames[0]);
    expect(() => ZMsg.fromBuffers(["a"] as never)).toThrow(/frame 0 must be a Buffer/);
  });

  it("counts frames and bytes", () => {
    const msg = new ZMsg(["Frame0", "", "xyz"]);
    expect(msg.size).toBe(3);
    expect(msg.contentSize).toBe(9);
  });

  it("pushes to the front and adds to the back, chaining", () => {
    const msg = new ZMsg(["middle"]).push("b").prepend("a").add("y").append("z");
    expect(strings(msg)).toEqual(["a", "b", "middle", "y", "z"]);
    msg.pushstr("first").addstr("last");
    expect(strings(msg)).toEqual(["first", "a", "b", "middle", "y", "z", "last"]);
    expect(() => msg.addstr(3 as never)).toThrow(/addstr needs a string/);
  });

  it("pushmem/addmem copy the bytes; push/add do not", () => {
    const mem = Buffer.from("mem");
    const msg = new ZMsg().addmem(mem).pushmem(mem).add(mem);
    mem[0] = 0x4d; // 'M'
    expect(strings(msg)).toEqual(["mem", "mem", "Mem"]);
    expect(() => msg.addmem("str" as never)).toThrow(/addmem needs a Buffer or Uint8Array/);
  });

  it("pushstrf/addstrf format like node:util format", () => {
    const msg = new ZMsg().addstrf("%d-%s", 7, "up").pushstrf("id=%i %j", 42.9, { a: 1 });
    expect(strings(msg)).toEqual(['id=42 {"a":1}', "7-up"]);
  });
});

describe("taking a message apart", () => {
  it("pop returns the first frame wrapping the message's Buffer, then undefined", () => {
    const buf = Buffer.from("one");
    const msg = new ZMsg([buf, "two"]);
    const frame = msg.pop()!;
    expect(frame).toBeInstanceOf(ZFrame);
    expect(frame.data).toBe(buf);
    expect(msg.popstr()).toBe("two");
    expect(msg.pop()).toBeUndefined();
    expect(msg.popstr()).toBeUndefined();
    expect(msg.size).toBe(0);
  });

  it("wrap pushes the address and an empty delimiter", () => {
    const msg = new ZMsg(["body"]).wrap(Buffer.from([0, 1, 2, 3, 4]));
    expect(msg.size).toBe(3);
    expect(msg.frames[0]).toEqual(Buffer.from([0, 1, 2, 3, 4]));
    expect(msg.frames[1]!.length).toBe(0);
    expect(msg.frames[2]!.toString()).toBe("body");
  });

  it("unwrap pops the address and drops a following empty delimiter", () => {
    const msg = new ZMsg(["id", "", "body"]);
    expect(msg.unwrap()!.toString()).toBe("id");
    expect(strings(msg)).toEqual(["body"]);
  });

  it("unwrap keeps the next frame when it is not empty (DEALER envelopes)", () => {
    const msg = new ZMsg(["id", "body", ""]);
    expect(msg.unwrap()!.toString()).toBe("id");
    expect(strings(msg)).toEqual(["body", ""]);
  });

  it("unwrap drops only one delimiter, handles a lone address and an empty message", () => {
    const two = new ZMsg(["id", "", ""]);
    two.unwrap();
    expect(strings(two)).toEqual([""]);
    const lone = new ZMsg(["id"]);
    expect(lone.unwrap()!.toString()).toBe("id");
    expect(lone.size).toBe(0);
    expect(new ZMsg().unwrap()).toBeUndefined();
  });

  it("wrap then unwrap gives the message back", () => {
    const msg = new ZMsg(["a", "b"]);
    const address = new ZFrame("peer");
    msg.wrap(address);
    expect(msg.unwrap()!.eq(address)).toBe(true);
    expect(strings(msg)).toEqual(["a", "b"]);
  });
});

describe("submessages (addmsg/popmsg)", () => {
  it("adds a submessage as one zmsg-encoded frame and pops it back", () => {
    const sub = new ZMsg(["hello", "", "x".repeat(300)]);
    const msg = new ZMsg(["header"]).addmsg(sub);
    expect(msg.size).toBe(2);
    expect(msg.frames[1]!.equals(sub.encode())).toBe(true);
    expect(sub.size).toBe(3); // left as it was
    expect(msg.popstr()).toBe("header");
    const back = msg.popmsg()!;
    expect(back.eq(sub)).toBe(true);
    expect(msg.popmsg()).toBeUndefined();
  });

  it("nests submessages and keeps empty ones", () => {
    const inner = new ZMsg(["deep"]);
    const middle = new ZMsg(["mid"]).addmsg(inner).addmsg(new ZMsg());
    const outer = new ZMsg().addmsg(middle);
    const m = outer.popmsg()!;
    expect(m.popstr()).toBe("mid");
    expect(strings(m.popmsg()!)).toEqual(["deep"]);
    expect(m.popmsg()!.size).toBe(0);
  });

  it("popmsg of a frame that is not zmsg-encoded throws a ProtocolError and consumes the frame", () => {
    const msg = new ZMsg([Buffer.from([9, 1, 2]), "next"]);
    expect(() => msg.popmsg()).toThrow(ProtocolError);
    expect(strings(msg)).toEqual(["next"]);
    expect(() => new ZMsg().addmsg("x" as never)).toThrow(/addmsg needs a ZMsg/);
  });
});

describe("copies and equality", () => {
  it("dup copies every frame", () => {
    const msg = new ZMsg(["a", Buffer.from([1, 2])]);
    const copy = msg.dup();
    expect(copy.eq(msg)).toBe(true);
    expect(copy.frames[1]).not.toBe(msg.frames[1]);
    msg.frames[1]![0] = 9;
    expect(copy.frames[1]).toEqual(Buffer.from([1, 2]));
    expect(copy.eq(msg)).toBe(false);
  });

  it("eq compares frame count and bytes", () => {
    const a = new ZMsg(["x", "y"]);
    expect(a.eq(new ZMsg(["x", "y"]))).toBe(true);
    expect(a.eq(new ZMsg(["x", "y", ""]))).toBe(false);
    expect(a.eq(new ZMsg(["x", "z"]))).toBe(false);
    expect(a.eq(new ZMsg(["xy"]))).toBe(false);
    expect(a.eq(undefined)).toBe(false);
    expect(new ZMsg().eq(new ZMsg())).toBe(true);
  });
});

describe("cursor (first/next/last) and remove", () => {
  it("walks the frames like CZMQ's zmsg_first/zmsg_next/zmsg_last", () => {
    const msg = new ZMsg(["a", "b", "c"]);
    expect(msg.next()!.toString()).toBe("a"); // before first(): starts at the head
    expect(msg.first()!.toString()).toBe("a");
    expect(msg.next()!.toString()).toBe("b");
    expect(msg.next()!.toString()).toBe("c");
    expect(msg.next()).toBeUndefined();
    expect(msg.next()).toBeUndefined(); // stays past the end
    expect(msg.last()!.toString()).toBe("c");
    expect(msg.first()!.toString()).toBe("a");
    const empty = new ZMsg();
    expect(empty.first()).toBeUndefined();
    expect(empty.next()).toBeUndefined();
    expect(empty.last()).toBeUndefined();
  });

  it("removes frames while walking (CZMQ self-test: keep first and last)", () => {
    const msg = new ZMsg(Array.from({ length: 10 }, (_, i) => `Frame${i}`));
    for (let n = 0; n < 8; n++) {
      msg.first();
      const frame = msg.next()!;
      expect(msg.remove(frame)).toBe(true);
    }
    expect(msg.size).toBe(2);
    expect(msg.last()!.streq("Frame9")).toBe(true);
    expect(msg.contentSize).toBe(12);
  });

  it("keeps the cursor on the right frame when frames are removed, popped or pushed", () => {
    const msg = new ZMsg(["a", "b", "c", "d"]);
    for (let f = msg.first(); f !== undefined; f = msg.next()) if (f.streq("b") || f.streq("c")) msg.remove(f);
    expect(strings(msg)).toEqual(["a", "d"]);
    msg.first();
    expect(msg.next()!.toString()).toBe("d");
    msg.push("z"); // cursor stays on "d"
    expect(msg.next()).toBeUndefined();
    msg.first(); // on "z"
    msg.pop(); // the current frame went away: next() gives the new head
    expect(msg.next()!.toString()).toBe("a");
  });

  it("remove matches the very Buffer, not equal bytes", () => {
    const msg = new ZMsg(["same", "same"]);
    const second = msg.frames[1]!;
    expect(msg.remove(new ZFrame("same"))).toBe(false);
    expect(msg.remove(second)).toBe(true);
    expect(msg.size).toBe(1);
    expect(msg.frames[0]).not.toBe(second);
  });

  it("iterates over frames independently of the cursor", () => {
    const msg = new ZMsg(["a", "b"]);
    msg.first();
    expect([...msg].map((f) => f.toString())).toEqual(["a", "b"]);
    expect(msg.next()!.toString()).toBe("b");
  });
});

describe("frames handed out are the message's own (zframe_reset through zmsg_last)", () => {
  it("reset of last() replaces the last frame, as the Guide's workers do", () => {
    const msg = new ZMsg(["address", "", "HELLO"]);
    msg.last()!.reset("OK");
    expect(msg.frames.map(String)).toEqual(["address", "", "OK"]);
  });

  it("reset through first()/next() and iteration changes that frame only", () => {
    const msg = new ZMsg(["a", "b", "c"]);
    msg.first();
    msg.next()!.reset("B");
    for (const frame of msg) if (frame.streq("c")) frame.reset("C");
    expect(msg.frames.map(String)).toEqual(["a", "B", "C"]);
  });

  it("still finds its frame after pushes and pops moved it", () => {
    const msg = new ZMsg(["x", "y"]);
    const y = msg.last()!;
    msg.push("front");
    msg.pop();
    msg.pop();
    y.reset("Y");
    expect(msg.frames.map(String)).toEqual(["Y"]);
  });

  it("a frame no longer in the message, or a popped one, resets only itself", () => {
    const msg = new ZMsg(["x", "y"]);
    const x = msg.first()!;
    msg.remove(x);
    x.reset("changed");
    const popped = msg.pop()!;
    popped.reset("also changed");
    expect(msg.size).toBe(0);
    expect(x.toString()).toBe("changed");
  });
});

describe("signals", () => {
  const zeroBytes = endianness() === "LE" ? "0011223344556677" : "7766554433221100";

  it("is one 8-byte frame of 0x7766554433221100 + status in host order", () => {
    const msg = ZMsg.newSignal(0);
    expect(msg.size).toBe(1);
    expect(msg.frames[0]!.toString("hex")).toBe(zeroBytes);
    expect(signalFrame(0).toString("hex")).toBe(zeroBytes);
    const lowByte = endianness() === "LE" ? 0 : 7;
    expect(ZMsg.newSignal(0xab).frames[0]![lowByte]).toBe(0xab);
  });

  it("reads the status back, and -1 for anything else", () => {
    for (const status of [0, 1, 127, 255]) expect(ZMsg.newSignal(status).signal()).toBe(status);
    expect(new ZMsg(["12345678"]).signal()).toBe(-1);
    expect(new ZMsg([Buffer.from(zeroBytes, "hex"), ""]).signal()).toBe(-1);
    expect(new ZMsg([Buffer.from(zeroBytes, "hex").subarray(0, 7)]).signal()).toBe(-1);
    const wrongHigh = Buffer.from(zeroBytes, "hex");
    wrongHigh[endianness() === "LE" ? 7 : 0] = 0x78;
    expect(new ZMsg([wrongHigh]).signal()).toBe(-1);
    expect(new ZMsg().signal()).toBe(-1);
    expect(signalStatus([signalFrame(3)])).toBe(3);
  });

  it("reads a signal from an unaligned view", () => {
    const big = Buffer.concat([Buffer.from([1]), signalFrame(9)]);
    expect(signalStatus([big.subarray(1)])).toBe(9);
  });

  it("rejects a status outside 0..255", () => {
    for (const bad of [-1, 256, 1.5, Number.NaN]) expect(() => ZMsg.newSignal(bad)).toThrow(InvalidArgumentError);
    expect(() => ZMsg.newSignal(256)).toThrow(/integer from 0 to 255/);
  });
});

describe("dump (zmsg_print format)", () => {
  it("prints one [NNN] line per frame, text or hex", () => {
    const msg = new ZMsg(["Hello", "", Buffer.from([0, 1, 0xfe]), "x".repeat(80), Buffer.alloc(40, 0xaa)]);
    expect(msg.dump()).toBe(["[005] Hello", "[000] ", "[003] 0001FE", `[080] ${"x".repeat(70)}...`, `[040] ${"AA".repeat(35)}...`].join("\n"));
    expect(`${new ZMsg(["a"])}`).toBe("[001] a");
  });

  it("stops after maxFrames and puts a prefix before each line", () => {
    const msg = new ZMsg(["a", "b", "c"]);
    expect(msg.dump({ maxFrames: 2, prefix: "> " })).toBe("> [001] a\n> [001] b");
    expect(new ZMsg().dump()).toBe("");
    expect(() => msg.dump({ maxFrames: -1 })).toThrow(InvalidArgumentError);
  });
});
