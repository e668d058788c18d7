// Parts one at a time (zmsg_sendm, ZFRAME_MORE, zframe_recv/zframe_more),
// non-blocking receives and zstr, over real sockets on tcp, ipc and inproc.
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ZSocket, openSocketCount, shutdown } from "@zkit/core";
import { ZFrame, ZMsg, bsend, heldParts, zrecv, zsend, zsignal, zstr, zwait } from "@zkit/zmsg";
import { waitFor, within } from "@zkit/testkit";
import { TRANSPORTS, bindEndpoint, removeTempDirs, type Transport } from "./helpers.js";

const DEADLINE_MS = 10_000;

afterEach(() => {
  shutdown();
  expect(openSocketCount()).toBe(0);
  removeTempDirs();
});

async function pipeline(transport: Transport): Promise<{ push: ZSocket<"PUSH">; pull: ZSocket<"PULL"> }> {
  const pull = await ZSocket.pull(bindEndpoint(transport));
  const push = await ZSocket.push(`>${pull.endpoint}`);
  return { push, pull };
}

describe.each(TRANSPORTS)("over %s", (transport) => {
  it("sendm holds parts until a send completes the message; they leave as one message", async () => {
    const { push, pull } = await pipeline(transport);
    const head = new ZMsg(["a", "b"]);
    await head.sendm(push);
    expect(head.size).toBe(0); // sending empties the message, as zmsg_sendm destroys it
    expect(heldParts(push)).toBe(2);
    await new ZFrame("c").send(push, { more: true });
    await zstr.sendm(push, "d");
    await zstr.sendfm(push, "%d", 5);
    expect(heldParts(push)).toBe(5);
    expect(await ZMsg.recvNowait(pull)).toBeNull(); // nothing has left yet
    await new ZMsg(["end"]).send(push);
    expect(heldParts(push)).toBe(0);
    const got = await within(ZMsg.recv(pull), DEADLINE_MS, "the whole message");
    expect(got.frames.map(String)).toEqual(["a", "b", "c", "d", "5", "end"]);
  });

  it("every zmsg send completes held parts: ZFrame.send, zstr.send, zsend, bsend, zsignal", async () => {
    const { push, pull } = await pipeline(transport);
    const sends: [string, () => Promise<void>][] = [
      ["ZFrame.send", () => new ZFrame("last").send(push)],
      ["zstr.send", () => zstr.send(push, "last")],
      ["zstr.sendf", () => zstr.sendf(push, "%s", "last")],
      ["zstr.sendx", () => zstr.sendx(push, "last")],
      ["zsend", () => zsend(push, "s", "last")],
      ["bsend", () => bsend(push, "s", "last")],
    ];
    for (const [name, send] of sends) {
      await zstr.sendm(push, "first");
      await send();
      const got = await within(pull.receive(), DEADLINE_MS, name);
      expect(got.length, name).toBe(2);
      expect(String(got[0]), name).toBe("first");
    }
    await zstr.sendm(push, "first");
    await zsignal(push, 0);
    expect((await within(pull.receive(), DEADLINE_MS, "zsignal")).length).toBe(2);
  });

  it("ZFrame.recv reads a message part by part with more; ZMsg.recv then takes the rest", async () => {
    const { push, pull } = await pipeline(transport);
    await push.send(["one", "two", "three"]);
    await push.send(["next"]);
    const one = await within(ZFrame.recv(pull), DEADLINE_MS, "part 1");
    expect([String(one), one.more]).toEqual(["one", true]);
    const two = await ZFrame.recv(pull);
    expect([String(two), two.more]).toEqual(["two", true]);
    expect(two.dup().more).toBe(true);
    const rest = await ZMsg.recv(pull); // zmsg_recv after zframe_recv: the rest of the message
    expect(rest.frames.map(String)).toEqual(["three"]);
    const next = await within(ZFrame.recv(pull), DEADLINE_MS, "the next message");
    expect([String(next), next.more]).toEqual(["next", false]);
    expect(new ZFrame("made").more).toBe(false);
  });

  it("zstr.recv reads one part as a string, recvx the rest; zrecv and zwait read the rest of a message too", async () => {
    const { push, pull } = await pipeline(transport);
    await zstr.sendx(push, "Hello", "World", "!");
    expect(await within(zstr.recv(pull), DEADLINE_MS, "Hello")).toBe("Hello");
    expect(await zstr.recvx(pull)).toEqual(["World", "!"]);
    await zstr.sendx(push, "tag", "42");
    await zstr.recv(pull);
    expect(await zrecv(pull, "i")).toEqual([42]);
    await push.send(["noise", "more noise"]);
    await zsignal(push, 7);
    await zstr.recv(pull); // "noise"; "more noise" is the rest, not a signal
    expect(await within(zwait(pull), DEADLINE_MS, "the signal")).toBe(7);
  });

  it("recvNowait returns null when nothing waits, and the message (or the rest of one) when something does", async () => {
    const { push, pull } = await pipeline(transport);
    expect(await ZMsg.recvNowait(pull)).toBeNull();
    expect(await ZFrame.recvNowait(pull)).toBeNull();
    expect(await zstr.recvNowait(pull)).toBeNull();
    await push.send(["x", "y"]);
    await waitFor(() => pull.readable, DEADLINE_MS, "the message to arrive");
    const x = await ZFrame.recvNowait(pull);
    expect([String(x), x?.more]).toEqual(["x", true]);
    expect(await zstr.recvNowait(pull)).toBe("y"); // the rest is there at once
    expect(await ZMsg.recvNowait(pull)).toBeNull();
    await push.send(["z"]);
    await waitFor(() => pull.readable, DEADLINE_MS, "the second message to arrive");
    expect((await ZMsg.recvNowait(pull))?.frames.map(String)).toEqual(["z"]);
  });
});

describe("held parts and bad input", () => {
  it("held parts belong to their socket: another socket's send does not take them", async () => {
    const a = await pipeline("inproc");
    const b = await pipeline("inproc");
    await zstr.sendm(a.push, "a-first");
    await zstr.send(b.push, "b-only");
    expect((await within(b.pull.receive(), DEADLINE_MS, "b")).map(String)).toEqual(["b-only"]);
    expect(heldParts(a.push)).toBe(1);
    await zstr.send(a.push, "a-last");
    expect((await within(a.pull.receive(), DEADLINE_MS, "a")).map(String)).toEqual(["a-first", "a-last"]);
  });

  it("an empty ZMsg.send sends nothing and keeps held parts held, as in CZMQ", async () => {
    const { push } = await pipeline("inproc");
    await zstr.sendm(push, "held");
    await new ZMsg().send(push);
    expect(heldParts(push)).toBe(1);
  });

  it("zstr refuses what is not a string with a typed error, and sends nothing", async () => {
    const { push } = await pipeline("inproc");
    expect(() => zstr.send(push, 42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => zstr.sendm(push, Buffer.from("x") as unknown as string)).toThrow(/zstr.sendm needs a string/);
    expect(() => zstr.sendx(push)).toThrow(/at least one string/);
    expect(() => zstr.sendx(push, "a", null as unknown as string)).toThrow(/zstr.sendx string 1 needs a string, got null/);
    expect(heldParts(push)).toBe(0);
  });
});
