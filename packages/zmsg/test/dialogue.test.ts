// ZMsg, pictures and signals over real sockets of @zkit/core, each dialogue
// over tcp (ephemeral port), ipc (temp dir) and inproc (unique name).
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ProtocolError, ZSocket, openSocketCount, shutdown } from "@zkit/core";
import { ZFrame, ZMsg, brecv, bsend, zrecv, zsend, zsignal, zwait } from "@zkit/zmsg";
import { within } from "@zkit/testkit";
import { TRANSPORTS, bindEndpoint, removeTempDirs, type Transport } from "./helpers.js";

const DEADLINE_MS = 5000;

afterEach(() => {
  shutdown();
  expect(openSocketCount()).toBe(0);
  removeTempDirs();
});

/** A bound PULL and a PUSH connected to it. */
async function pipeline(transport: Transport): Promise<{ push: ZSocket<"PUSH">; pull: ZSocket<"PULL"> }> {
  const pull = await ZSocket.pull(bindEndpoint(transport));
  const push = await ZSocket.push(`>${pull.endpoint}`);
  return { push, pull };
}

describe.each(TRANSPORTS)("over %s", (transport) => {
  //  DEALER                         ROUTER
  //    | ["Hello"]  ------------->    | [id]["Hello"]        unwrap -> id (no delimiter to drop)
  //    | [""]["World"] <----------    | [id][""]["World"]    wrap(id)
  it("DEALER -> ROUTER: unwrap the identity, wrap the reply", async () => {
    const router = await ZSocket.router(bindEndpoint(transport));
    const dealer = await ZSocket.dealer(`>${router.endpoint}`);

    const hello = new ZMsg(["Hello"]);
    const sent = hello.send(dealer);
    expect(hello.size).toBe(0); // sending empties the message, as zmsg_send destroys it
    await sent;

    const request = await within(ZMsg.recv(router), DEADLINE_MS, "ROUTER receive");
    expect(request.size).toBe(2);
    const identity = request.unwrap()!;
    expect(identity.size).toBe(5); // libzmq's automatic ROUTER identity
    expect(request.frames.map(String)).toEqual(["Hello"]);

    const reply = new ZMsg(["World"]).wrap(identity);
    await reply.send(router);
    const got = await within(ZMsg.recv(dealer), DEADLINE_MS, "DEALER receive");
    expect(got.size).toBe(2);
    expect(got.frames[0]!.length).toBe(0);
    expect(got.frames[1]!.toString()).toBe("World");
  });

  //  REQ                            ROUTER
  //    | ["Hi"] (REQ adds "") ---->   | [id][""]["Hi"]       unwrap drops the delimiter
  //    | ["Back"] <---------------    | [id][""]["Back"]     wrap(id)
  it("REQ -> ROUTER: unwrap drops REQ's delimiter and wrap puts it back", async () => {
    const router = await ZSocket.router(bindEndpoint(transport));
    const req = await ZSocket.req(`>${router.endpoint}`);
    await new ZMsg(["Hi", "there"]).send(req);

    const request = await within(ZMsg.recv(router), DEADLINE_MS, "ROUTER receive");
    expect(request.size).toBe(4);
    const identity = request.unwrap()!;
    expect(request.frames.map(String)).toEqual(["Hi", "there"]);

    request.wrap(identity); // echo the body back under the same envelope
    await request.send(router);
    const reply = await within(ZMsg.recv(req), DEADLINE_MS, "REQ receive");
    expect(reply.frames.map(String)).toEqual(["Hi", "there"]);
  });

  it("sends nothing for an empty message, and carries every frame size intact", async () => {
    const { push, pull } = await pipeline(transport);
    await new ZMsg().send(push); // nothing leaves
    const sizes = [0, 1, 254, 255, 256, 70_000];
    const msg = new ZMsg(sizes.map((n, i) => Buffer.alloc(n, 0x30 + i)));
    const copy = msg.dup();
    await msg.send(push);
    const got = await within(ZMsg.recv(pull), DEADLINE_MS, "PULL receive");
    expect(got.eq(copy)).toBe(true);
    expect(got.frames.map((f) => f.length)).toEqual(sizes);
  });

  it("carries a submessage and a zmsg-encoded frame across", async () => {
    const { push, pull } = await pipeline(transport);
    const inner = new ZMsg(["hello", "", "x".repeat(300)]);
    await new ZMsg(["outer"]).addmsg(inner).send(push);
    const got = await within(ZMsg.recv(pull), DEADLINE_MS, "PULL receive");
    expect(got.popstr()).toBe("outer");
    expect(got.popmsg()!.eq(inner)).toBe(true);
  });

  it("zsend/zrecv a text picture: one frame per character", async () => {
    const { push, pull } = await pipeline(transport);
    await zsend(push, "i1248sbfz", -1, 2, 3, 4, 2n ** 64n - 1n, "text", Buffer.from([0, 255]), new ZFrame("frame"));
    const raw = await within(pull.receive(), DEADLINE_MS, "raw picture frames");
    expect(raw.map((f) => f.toString("latin1"))).toEqual(["-1", "2", "3", "4", "18446744073709551615", "text", "\x00\xff", "frame", ""]);

    await zsend(push, "ssm", "cmd", "arg", new ZMsg(["r1", "r2"]));
    const [cmd, arg, rest] = await within(zrecv(pull, "ssm"), DEADLINE_MS, "zrecv");
    expect([cmd, arg]).toEqual(["cmd", "arg"]);
    expect(rest.frames.map(String)).toEqual(["r1", "r2"]);
  });

  it("zrecv rejects a message that does not fit the picture, and a signal", async () => {
    const { push, pull } = await pipeline(transport);
    await zsend(push, "s", "not a number");
    await expect(within(zrecv(pull, "i"), DEADLINE_MS, "zrecv")).rejects.toThrow(ProtocolError);
    await zsignal(push, 0);
    await expect(within(zrecv(pull, "s"), DEADLINE_MS, "zrecv")).rejects.toThrow(/received a signal \(status 0\)/);
    // a bad picture fails before receiving: the next message is still there
    await expect(zrecv(pull, "s?" as string)).rejects.toThrow(InvalidArgumentError);
    await expect(zsend(push, "i", "1" as never)).rejects.toThrow(InvalidArgumentError);
    await zsend(push, "s", "still here");
    expect(await within(zrecv(pull, "s"), DEADLINE_MS, "zrecv")).toEqual(["still here"]);
  });

  it("bsend/brecv the protocols.md binary vector, with f and m frames", async () => {
    const { push, pull } = await pipeline(transport);
    await bsend(push, "1248sS", 1, 2, 3, 4, "ab", "cd");
    const raw = await within(pull.receive(), DEADLINE_MS, "raw binary picture");
    expect(raw).toHaveLength(1);
    expect(raw[0]!.toString("hex")).toBe("01000200000003000000000000000402616200000002" + "6364");

    await bsend(push, "2Sfm", 513, "long string", "frame", new ZMsg(["m1", "m2"]));
    const [n, s, f, m] = await within(brecv(pull, "2Sfm"), DEADLINE_MS, "brecv");
    expect(n).toBe(513);
    expect(s).toBe("long string");
    expect(f.toString()).toBe("frame");
    expect(m.frames.map(String)).toEqual(["m1", "m2"]);

    await bsend(push, "1", 9);
    await expect(within(brecv(pull, "12"), DEADLINE_MS, "brecv")).rejects.toThrow(ProtocolError);
  });

  it("zsignal/zwait: the waiter skips other messages and gets the status", async () => {
    const { push, pull } = await pipeline(transport);
    await new ZMsg(["noise"]).send(push);
    await zsignal(push, 42);
    expect(await within(zwait(pull), DEADLINE_MS, "zwait")).toBe(42);
    await ZMsg.newSignal(0).send(push);
    expect((await within(ZMsg.recv(pull), DEADLINE_MS, "signal")).signal()).toBe(0);
  });
});
