// BinaryStarClient against a real pair in this process (tcp on 127.0.0.1,
// ephemeral ports): requests answered by the active server, failover when
// it closes (timeout, switch, settle, resend), an immediate switch on a
// BSTAR-REJECTED answer, giving up, cancelling, closing, and option checks.
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, ClosedError, InvalidArgumentError, ZSocket, now } from "@zkit/core";
import { RetriesExhaustedError } from "@zkit/reliability";
import { waitFor, within } from "@zkit/testkit";
import { BinaryStarClient, type FailoverInfo } from "../src/index.js";
import { ANY, HB, WAIT_MS, cleanup, server, startPair, track } from "./helpers.js";

afterEach(cleanup);

function client(servers: string[], options: Partial<ConstructorParameters<typeof BinaryStarClient>[0]> = {}): BinaryStarClient {
  return track(new BinaryStarClient({ servers, timeoutMs: 1000, settleDelayMs: 2 * HB, closeOnInterrupt: false, ...options }));
}

describe("BinaryStarClient", () => {
  it("sends to the first server and resolves with the active server's reply", async () => {
    const { primary, backup } = await startPair();
    const c = client([primary.voterEndpoint, backup.voterEndpoint]);
    const reply = await within(c.request(["1", "x"]), WAIT_MS, "the reply");
    expect(reply.texts()).toEqual(["1", "x"]);
    expect(reply.text()).toBe("1");
    expect(c.server).toBe(primary.voterEndpoint);
    expect(c.stats).toMatchObject({ requests: 1, replies: 1, retries: 0, failovers: 0 });
  });

  it("concurrent requests go one after the other, in call order, each answered", async () => {
    const { primary, backup } = await startPair();
    const c = client([primary.voterEndpoint, backup.voterEndpoint]);
    const replies = await within(Promise.all(Array.from({ length: 20 }, (_, i) => c.request(`${i}`))), WAIT_MS, "20 replies");
    expect(replies.map((r) => r.text())).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));
    expect(c.pending).toBe(0);
  });

  it("the active server goes: the request times out, the client fails over, settles, resends, and the backup answers", async () => {
    const { primary, backup } = await startPair();
    const timeoutMs = 600;
    const c = client([primary.voterEndpoint, backup.voterEndpoint], { timeoutMs });
    await c.request("before");
    const failovers: FailoverInfo[] = [];
    c.on("failover", (f) => failovers.push(f));
    const retries: number[] = [];
    c.on("retry", ({ attempt }) => retries.push(attempt));
    await primary.close();
    const t0 = now();
    const reply = await within(c.request("after"), WAIT_MS, "the reply from the backup");
    const took = now() - t0;
    expect(reply.text()).toBe("after");
    expect(failovers).toEqual([{ from: primary.voterEndpoint, to: backup.voterEndpoint, reason: "timeout", settleDelayMs: 2 * HB, attempt: 1 }]);
    expect(retries).toEqual([1]);
    expect(backup.starState).toBe("active");
    // one timeout, one settle delay, and the round trip (the peer expiry passed during them)
    expect(took).toBeGreaterThanOrEqual(timeoutMs + 2 * HB - 5);
    expect(took).toBeLessThan(timeoutMs + 2 * HB + 2 * HB + 5_000);
  });

  it("a passive server that answers rejections makes the client switch at once, not after its timeout", async () => {
    const { primary, backup } = await startPair({ backup: { answerRejectedVotes: true } });
    // starts with the backup (passive); a timeout would take 60 s
    const c = client([backup.voterEndpoint, primary.voterEndpoint], { timeoutMs: 60_000 });
    const rejected = new Promise((r) => c.once("rejected", r));
    const t0 = now();
    const reply = await within(c.request("hello"), WAIT_MS, "the reply after the switch");
    expect(reply.text()).toBe("hello");
    expect(await rejected).toEqual({ server: backup.voterEndpoint, state: "passive" });
    expect(now() - t0).toBeLessThan(WAIT_MS);
    expect(c.stats).toMatchObject({ rejections: 1, failovers: 1, replies: 1 });
    expect(c.server).toBe(primary.voterEndpoint);
  });

  it("with switchOnRejection off, a rejection is returned like any reply", async () => {
    const { primary, backup } = await startPair({ backup: { answerRejectedVotes: true } });
    const c = client([backup.voterEndpoint, primary.voterEndpoint], { switchOnRejection: false });
    expect((await within(c.request("hello"), WAIT_MS, "the rejection")).texts()).toEqual(["BSTAR-REJECTED", "4"]);
  });

  it("gives up with RetriesExhaustedError when neither server answers, after 1 + retries attempts, switching each time", async () => {
    const silent1 = track(await ZSocket.router(`@${ANY}`, { linger: 0 }));
    const silent2 = track(await ZSocket.router(`@${ANY}`, { linger: 0 }));
    const c = client([silent1.endpoint, silent2.endpoint], { timeoutMs: 100, settleDelayMs: 10, retries: 2 });
    const failovers: string[] = [];
    c.on("failover", ({ to }) => failovers.push(to));
    const err = await within(
      c.request("anyone?").catch((e: unknown) => e),
      WAIT_MS,
      "giving up",
    );
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(3);
    expect((err as RetriesExhaustedError).code).toBe("ZKIT_TIMEOUT");
    expect(failovers).toEqual([silent2.endpoint, silent1.endpoint, silent2.endpoint]);
    expect(c.stats).toMatchObject({ failed: 1, retries: 2 });
  });

  it("a signal cancels the request in flight and one waiting for its turn, with AbortError; the client goes on", async () => {
    const silent = track(await ZSocket.router(`@${ANY}`, { linger: 0 }));
    const { primary } = await startPair();
    const c = client([silent.endpoint, primary.voterEndpoint], { timeoutMs: 60_000 });
    const ac = new AbortController();
    const inFlight = c.request("1", { signal: ac.signal });
    const waiting = c.request("2", { signal: ac.signal });
    const third = c.request("3", { timeoutMs: 200 });
    // abort once the first request is in flight: the silent server holds it
    const held = await within(silent.receive(), WAIT_MS, "the first request at the silent server");
    expect(held.at(-1)!.toString()).toBe("1");
    ac.abort(new Error("user"));
    await expect(inFlight).rejects.toBeInstanceOf(AbortError);
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    // the third one: the silent server times out, the client fails over to the primary
    expect((await within(third, WAIT_MS, "the third request")).text()).toBe("3");
    expect(c.stats.aborted).toBe(2);
    await expect(c.request("x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it("close() rejects the request in flight and those waiting with ClosedError; requests after close are refused", async () => {
    const silent = track(await ZSocket.router(`@${ANY}`, { linger: 0 }));
    const c = new BinaryStarClient({ servers: [silent.endpoint, silent.endpoint], timeoutMs: 60_000, closeOnInterrupt: false });
    const a = c.request("a");
    const b = c.request("b");
    // close while "a" is in flight (the silent server holds it) and "b" waits its turn
    await within(silent.receive(), WAIT_MS, "request a at the silent server");
    await c.close();
    await expect(a).rejects.toBeInstanceOf(ClosedError);
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(c.request("c")).rejects.toBeInstanceOf(ClosedError);
    await expect(c.done).resolves.toBeUndefined();
  });

  it("refuses bad options and bodies, naming them", async () => {
    const bad: [object, RegExp][] = [
      [{}, /servers is required/],
      [{ servers: ["tcp://a:1"] }, /servers is required/],
      [{ servers: "tcp://a:1,tcp://b:2,tcp://c:3" }, /servers is required/],
      [{ servers: ["tcp://a:1", 5] }, /servers is required/],
      [{ servers: ["@tcp://a:1", "tcp://b:2"] }, /must be one endpoint to connect to/],
      [{ servers: ["tcp://a:1", "tcp://b:2"], timeoutMs: 0 }, /timeoutMs must be a number of milliseconds > 0/],
      [{ servers: ["tcp://a:1", "tcp://b:2"], settleDelayMs: -1 }, /settleDelayMs/],
      [{ servers: ["tcp://a:1", "tcp://b:2"], retries: 1.5 }, /retries must be an integer/],
      [{ servers: ["tcp://a:1", "tcp://b:2"], timeout: 5 }, /unknown BinaryStarClient option "timeout"/],
    ];
    for (const [options, message] of bad) expect(() => new BinaryStarClient(options as never), message.source).toThrow(message);
    expect(() => new BinaryStarClient({} as never)).toThrow(InvalidArgumentError);
    const ok = track(new BinaryStarClient({ servers: "tcp://127.0.0.1:9, tcp://127.0.0.1:10", retries: Infinity, closeOnInterrupt: false }));
    expect(ok.servers).toEqual(["tcp://127.0.0.1:9", "tcp://127.0.0.1:10"]);
    await expect(ok.request(42 as never)).rejects.toThrow(/request\(body\)/);
    await expect(ok.request("x", { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    await expect(ok.request("x", { signal: "no" } as never)).rejects.toThrow(/signal must be an AbortSignal/);
  });

  it("a server that stays away: the backup alone never serves, so the client fails over back and forth until it gives up", async () => {
    const backup = server("backup");
    await backup.start();
    const c = client([backup.voterEndpoint, backup.voterEndpoint], { timeoutMs: 100, settleDelayMs: 10, retries: 3 });
    await expect(within(c.request("x"), WAIT_MS, "giving up")).rejects.toBeInstanceOf(RetriesExhaustedError);
    await waitFor(() => backup.stats.votesRejected >= 1, WAIT_MS, "the backup to have rejected the request");
    expect(backup.stats.votesAccepted).toBe(0);
  });
});
