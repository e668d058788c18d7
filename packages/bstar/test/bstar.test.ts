// BinaryStar over real sockets (tcp on 127.0.0.1, ephemeral ports, both
// servers in this process): the pair settles, serves only on the active
// side, rejects (and optionally answers) votes elsewhere, fails over when
// the active one closes, recovers by hand, drops malformed states, and
// resolves a dual active after a cut state link heals. Heartbeats are
// short (200 ms); deadlines are generous.
//
//   client --[id][""][body]--> primary (ACTIVE)  --"3"--> backup (PASSIVE)
//   client <--[id][""][body]-- primary           <--"4"--
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, InvalidArgumentError, InvalidEndpointError, ZSocket, now } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";
import { BinaryStar, REJECTED_HEADER } from "../src/index.js";
import { ANY, EMPTY, HB, WAIT_MS, b, cleanup, dealerClient, echo, next, recorder, recv, reqClient, server, startPair, texts, track, until } from "./helpers.js";

afterEach(cleanup);

describe("a pair settles", () => {
  it("the primary becomes active and the backup passive, each seeing the other", async () => {
    const primary = server("primary");
    const pEvents = recorder(primary);
    await primary.start();
    const backup = server("backup", { remote: primary.stateEndpoint });
    const bEvents = recorder(backup);
    await backup.start();
    primary.connectPeer(backup.stateEndpoint);
    await until(primary, "active");
    await until(backup, "passive");
    expect(primary.active).toBe(true);
    expect(backup.active).toBe(false);
    await waitFor(() => primary.peerState === "passive", WAIT_MS, "the primary to see its peer passive");
    expect(pEvents).toContain("peer-seen:backup");
    expect(pEvents).toContain("active:peer-backup");
    expect(bEvents).toContain("passive:peer-active");
    expect(pEvents.filter((e) => e.startsWith("split-brain"))).toEqual([]);
    expect(primary.stats.statesReceived).toBeGreaterThan(0);
    expect(backup.stats.statesSent).toBeGreaterThan(0);
  });

  it("a backup that starts first waits in BACKUP; the primary comes, sees BACKUP, and serves", async () => {
    const backup = server("backup");
    await backup.start();
    await next(backup, "peer-lost"); // no peer yet
    expect(backup.starState).toBe("backup");
    const primary = server("primary", { remote: backup.stateEndpoint });
    await primary.start();
    backup.connectPeer(primary.stateEndpoint);
    await until(primary, "active");
    await until(backup, "passive");
  });
});

describe("client requests (votes)", () => {
  it("the active server serves: the handler gets the body and the client's envelope; the reply goes back with it", async () => {
    const seen: { request: string[]; envelope: number; peer: string | undefined }[] = [];
    const { primary } = await startPair({
      primary: {
        handler: (request, ctx) => {
          seen.push({ request: texts(request), envelope: ctx.envelope.length, peer: ctx.peer });
          return ["re", ...request];
        },
      },
    });
    const client = await reqClient(primary.voterEndpoint);
    await client.send(["1", "two"]);
    expect(texts(await recv(client, "the reply"))).toEqual(["re", "1", "two"]);
    expect(seen).toEqual([{ request: ["1", "two"], envelope: 2, peer: expect.stringMatching(/^00[0-9a-f]{8}$/) }]);
    expect(primary.stats).toMatchObject({ votesAccepted: 1, replies: 1, votesRejected: 0 });
  });

  it("the passive server rejects: the request is dropped and counted, nothing goes back, the handler never runs", async () => {
    let handled = 0;
    const out: string[][] = [];
    const { backup } = await startPair({
      backup: { handler: () => void handled++, trace: ({ direction, socket, frames }) => void (direction === "out" && socket === "client" && out.push(texts(frames))) },
    });
    const events = recorder(backup);
    const client = await dealerClient(backup.voterEndpoint);
    const rejected = next(backup, "vote-rejected");
    await client.send([EMPTY, b("hello")]);
    expect(await rejected).toMatchObject({ state: "passive", reason: "peer-alive", answered: false, client: expect.stringMatching(/^00/) });
    await client.send([EMPTY, b("again")]);
    await waitFor(() => backup.stats.votesRejected === 2, WAIT_MS, "the second rejection");
    expect(handled).toBe(0);
    expect(out).toEqual([]); // the server sent the client nothing
    expect(backup.starState).toBe("passive");
    expect(events.filter((e) => e.startsWith("vote-rejected"))).toEqual(["vote-rejected:peer-alive", "vote-rejected:peer-alive"]);
  });

  it("with answerRejectedVotes, the passive server answers [BSTAR-REJECTED][4] behind the client's envelope", async () => {
    const { backup } = await startPair({ backup: { answerRejectedVotes: true } });
    const client = await reqClient(backup.voterEndpoint);
    await client.send("hello");
    expect(texts(await recv(client, "the rejection"))).toEqual([REJECTED_HEADER, "4"]);
    expect(backup.stats).toMatchObject({ votesRejected: 1, rejectionsAnswered: 1, votesAccepted: 0 });
  });

  it("a handler that throws sends nothing and is reported; the server serves the next request", async () => {
    const { primary } = await startPair({
      primary: {
        handler: (request) => {
          if (request[0]!.toString() === "boom") throw new Error("boom");
          return request;
        },
      },
    });
    const failed = next(primary, "handler-error");
    const client = await dealerClient(primary.voterEndpoint);
    await client.send([EMPTY, b("boom")]);
    const info = await failed;
    expect((info.error as Error).message).toBe("boom");
    expect(texts(info.request)).toEqual(["boom"]);
    await client.send([EMPTY, b("fine")]);
    expect(texts(await recv(client, "the second reply"))).toEqual(["", "fine"]);
    expect(primary.stats).toMatchObject({ handlerErrors: 1, replies: 1 });
  });

  it("an async handler may send several messages to a DEALER client with ctx.send before its reply; null sends no reply", async () => {
    const { primary } = await startPair({
      primary: {
        concurrency: 4,
        handler: async (request, ctx) => {
          const n = Number(request[0]!.toString());
          if (n === 0) return null;
          for (let i = 1; i < n; i++) await ctx.send(`part ${i}`);
          await new Promise((r) => setTimeout(r, 5));
          return `last of ${n}`;
        },
      },
    });
    const client = await dealerClient(primary.voterEndpoint);
    await client.send([EMPTY, b("0")]);
    await client.send([EMPTY, b("3")]);
    const got = [await recv(client, "part 1"), await recv(client, "part 2"), await recv(client, "last")].map(texts);
    expect(got).toEqual([
      ["", "part 1"],
      ["", "part 2"],
      ["", "last of 3"],
    ]);
    expect(primary.stats).toMatchObject({ votesAccepted: 2, replies: 1 });
  });
});

describe("the PRIMARY race (fixed as the Guide's bstar class fixed it)", () => {
  it("a primary alone rejects requests until it has waited the peer expiry, then serves as active (no-peer)", async () => {
    const primary = server("primary");
    const events = recorder(primary);
    const t0 = now();
    await primary.start();
    const client = await dealerClient(primary.voterEndpoint);
    const firstRejection = next(primary, "vote-rejected");
    await client.send([EMPTY, b("early")]);
    expect(await firstRejection).toMatchObject({ state: "primary", reason: "waiting-for-peer" });
    // keep asking until it serves
    let reply: Buffer[] | undefined;
    for (let i = 0; reply === undefined; i++) {
      expect(i).toBeLessThan(200);
      await client.send([EMPTY, b(`try ${i}`)]);
      const ready = await Promise.race([client.waitReadable(), new Promise<false>((r) => setTimeout(() => r(false), HB / 2))]);
      if (ready) reply = await client.receive();
    }
    expect(now() - t0).toBeGreaterThanOrEqual(2 * HB);
    expect(events).toContain("active:no-peer");
    expect(texts(reply)[1]).toMatch(/^try \d+$/);
  });

  it("a backup alone serves nobody, however long it waits", async () => {
    const backup = server("backup");
    await backup.start();
    const client = await dealerClient(backup.voterEndpoint);
    await next(backup, "peer-lost");
    for (let i = 0; i < 3; i++) {
      const rejected = next(backup, "vote-rejected");
      await client.send([EMPTY, b("x")]);
      expect(await rejected).toMatchObject({ state: "backup", reason: "backup" });
    }
    expect(backup.stats.votesAccepted).toBe(0);
  });
});

describe("failover and recovery", () => {
  it("the active primary closes: the backup reports it lost, takes over on the next request, and serves", async () => {
    const { primary, backup } = await startPair();
    const events = recorder(backup);
    const lost = next(backup, "peer-lost");
    await primary.close();
    const { silentMs } = await lost;
    expect(silentMs).toBeGreaterThan(2 * HB);
    const client = await reqClient(backup.voterEndpoint);
    await client.send("after");
    expect(texts(await recv(client, "the backup's reply"))).toEqual(["after"]);
    expect(backup.starState).toBe("active");
    expect(events).toContain("active:failover");
    expect(backup.stats).toMatchObject({ failovers: 1, activations: 1 });
  });

  it("recovery is manual: a primary restarted after a failover sees its peer ACTIVE and stands by", async () => {
    const { primary, backup } = await startPair();
    await primary.close();
    await next(backup, "peer-lost");
    const client = await reqClient(backup.voterEndpoint);
    await client.send("x");
    await recv(client, "the backup's reply");
    const restarted = server("primary", { remote: backup.stateEndpoint });
    const events = recorder(restarted);
    await restarted.start();
    backup.connectPeer(restarted.stateEndpoint);
    await until(restarted, "passive");
    expect(events).toContain("passive:peer-active");
    expect(backup.starState).toBe("active");
    // a client that asks the restarted primary is turned away
    const other = await dealerClient(restarted.voterEndpoint);
    const rejected = next(restarted, "vote-rejected");
    await other.send([EMPTY, b("to the old primary")]);
    expect(await rejected).toMatchObject({ reason: "peer-alive" });
  });
});

describe("split brain, over real sockets", () => {
  it("state link cut, a client fails over to the backup, the link heals: the idle primary steps down, the backup keeps its client throughout", async () => {
    const { primary, backup, cut, heal } = await startPair({ relays: true });
    const pEvents = recorder(primary);
    const bEvents = recorder(backup);
    cut();
    await next(backup, "peer-lost");
    // the client, cut off from the primary, asks the backup: failover
    const client = await dealerClient(backup.voterEndpoint);
    let served = 0;
    const ask = async (): Promise<void> => {
      await client.send([EMPTY, b(`${served}`)]);
      await recv(client, "a reply from the backup");
      served++;
    };
    await ask();
    expect(backup.starState).toBe("active");
    expect(primary.starState).toBe("active"); // cut off, it never left ACTIVE: the Guide's "dual active"
    heal();
    // the backup keeps serving its client while the pair sorts itself out
    await waitFor(
      async () => {
        await ask();
        return primary.starState === "passive";
      },
      WAIT_MS,
      "the primary to step down",
    );
    for (let i = 0; i < 3; i++) await ask();
    expect(backup.starState).toBe("active");
    expect(pEvents).toContain("split-brain:dual-active:step-down-later");
    expect(pEvents).toContain("passive:split-brain");
    expect(bEvents).toContain("split-brain:dual-active:keep-active");
    expect(bEvents.filter((e) => e.startsWith("passive"))).toEqual([]);
    expect(primary.closed || backup.closed).toBe(false); // nobody exited
  });

  it("dual passive: the primary takes over, the backup stays passive (the Guide aborts both)", async () => {
    // both made passive by a stand-in that claims ACTIVE, then paired with each other
    const standIn = track(await ZSocket.pub(`@${ANY}`, { linger: 0 }));
    const beat = setInterval(() => void standIn.send("3").catch(() => {}), HB / 2);
    const primary = server("primary", { remote: standIn.endpoint });
    const backup = server("backup", { remote: standIn.endpoint });
    const pEvents = recorder(primary);
    const bEvents = recorder(backup);
    try {
      await primary.start();
      await backup.start();
      await until(primary, "passive");
      await until(backup, "passive");
    } finally {
      clearInterval(beat);
    }
    standIn.close();
    primary.connectPeer(backup.stateEndpoint);
    backup.connectPeer(primary.stateEndpoint);
    await until(primary, "active");
    await waitFor(() => backup.peerState === "active", WAIT_MS, "the backup to see the primary active");
    expect(backup.starState).toBe("passive");
    expect(pEvents).toContain("split-brain:dual-passive:take-over");
    expect(pEvents).toContain("active:split-brain");
    // the backup never takes over; it may or may not have seen the primary passive before it took over
    expect(bEvents.filter((e) => e.startsWith("active"))).toEqual([]);
    expect(bEvents.filter((e) => e.startsWith("split-brain") && e !== "split-brain:dual-passive:stay-passive")).toEqual([]);
  });
});

describe("malformed state messages", () => {
  it("are dropped, counted and reported, and do not count as the peer: a lone primary still takes over after the expiry", async () => {
    const primary = server("primary");
    await primary.start();
    const impostor = track(await ZSocket.pub(`@${ANY}`, { linger: 0 }));
    primary.connectPeer(impostor.endpoint);
    const malformed = next(primary, "malformed");
    const spam = setInterval(() => {
      for (const m of [["ACTIVE"], ["3", "3"], [""], ["9"]]) void impostor.send(m).catch(() => {});
    }, HB / 4);
    try {
      const first = await malformed;
      expect(first.reason).toMatch(/"ACTIVE"|one frame|empty|"9"/);
      // the layer's payload: a SUB socket names no peer, so peer is there and undefined
      expect(Object.keys(first).sort()).toEqual(["frame", "peer", "reason"]);
      expect(first.peer).toBeUndefined();
      const client = await dealerClient(primary.voterEndpoint);
      await waitFor(
        async () => {
          await client.send([EMPTY, b("x")]);
          return primary.starState === "active";
        },
        WAIT_MS,
        "the primary to serve alone",
      );
      await waitFor(() => primary.stats.malformed >= 4, WAIT_MS, "every kind of malformed message counted");
      expect(primary.stats.statesReceived).toBe(0);
      expect(primary.peerState).toBeUndefined();
    } finally {
      clearInterval(spam);
    }
  });
});

describe("embedding (the Guide's bstar_zloop)", () => {
  it("the application's own timers and readers run on the server's loop", async () => {
    const primary = server("primary");
    let ticks = 0;
    primary.loop.timer(HB / 4, 0, () => void ticks++);
    const pull = track(await ZSocket.pull(`@${ANY}`, { linger: 0 }));
    const got: string[] = [];
    primary.loop.reader(pull, (frames) => void got.push(frames[0]!.toString()));
    await primary.start();
    const push = track(await ZSocket.push(`>${pull.endpoint}`, { linger: 0 }));
    await push.send("to the app");
    await waitFor(() => got.length === 1 && ticks >= 3, WAIT_MS, "the app's reader and timer");
    expect(got).toEqual(["to the app"]);
  });

  it("an application handler that throws on the loop closes the server, and done rejects with it", async () => {
    const primary = server("primary");
    primary.loop.timer(HB, 1, () => {
      throw new Error("app bug");
    });
    await primary.start();
    await expect(within(primary.done, WAIT_MS, "done")).rejects.toThrow("app bug");
    expect(primary.closed).toBe(true);
  });
});

describe("lifecycle and options", () => {
  it("close is idempotent, done resolves, start after close rejects, await using closes", async () => {
    const s = server("primary");
    await s.start();
    await Promise.all([s.close(), s.close()]);
    await expect(s.done).resolves.toBeUndefined();
    await expect(s.start()).rejects.toBeInstanceOf(ClosedError);
    expect(() => s.connectPeer("tcp://127.0.0.1:9")).toThrow(ClosedError);
    let inner: BinaryStar | undefined;
    {
      await using t = new BinaryStar({ role: "backup", local: ANY, voter: ANY, handler: echo, closeOnInterrupt: false });
      await t.start();
      inner = t;
    }
    expect(inner.state).toBe("closed");
  });

  it("a bind that fails fails start(), and done rejects with it", async () => {
    const first = server("primary");
    await first.start();
    const second = server("backup", { voter: first.voterEndpoint });
    await expect(second.start()).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
    await expect(second.done).rejects.toMatchObject({ code: "ZKIT_ADDRESS_IN_USE" });
  });

  it("refuses bad options, naming them", () => {
    const base = { role: "primary" as const, local: ANY, voter: ANY, handler: echo };
    const bad: [object, RegExp][] = [
      [{ ...base, role: undefined }, /role is required/],
      [{ ...base, role: "main" }, /role must be "primary" or "backup"/],
      [{ ...base, local: undefined }, /local is required/],
      [{ ...base, voter: "" }, /voter is required/],
      [{ ...base, handler: undefined }, /handler is required/],
      [{ ...base, heartbeatIntervalMs: 0 }, /heartbeatIntervalMs must be a number of milliseconds > 0/],
      [{ ...base, concurrency: 1.5 }, /concurrency must be an integer/],
      [{ ...base, answerRejectedVotes: "yes" }, /answerRejectedVotes must be true or false/],
      [{ ...base, heartbeat: 1000 }, /unknown BinaryStar option "heartbeat"/],
    ];
    for (const [options, message] of bad) expect(() => new BinaryStar(options as never), message.source).toThrow(message);
    expect(() => new BinaryStar({ ...base, role: undefined } as never)).toThrow(InvalidArgumentError);
    expect(() => new BinaryStar({ ...base, local: "nope://x" })).toThrow(InvalidEndpointError);
    expect(() => new BinaryStar({ ...base, remote: "tcp://" })).toThrow(InvalidEndpointError);
  });
});
