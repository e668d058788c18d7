// The lifecycle contract of @zkit/reliability, checked with testkit's
// checkLifecycle on each of the package's four classes, over real sockets:
// start() idempotent, close() idempotent and complete, done, ZKIT_CLOSED
// after close, and no socket left open. Clients also start by themselves on
// their first request.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, openSocketCount, shutdown } from "@zkit/core";
import { checkLifecycle, closeTracked, track, waitFor } from "@zkit/testkit";
import { FailoverClient, FreelanceClient, FreelanceServer, ShotgunClient } from "@zkit/flclient";
import { ANY } from "./helpers.js";

const WAIT = 20_000;

afterEach(async () => {
  await closeTracked();
  shutdown();
});

/** A REP echo server (models 1 and 2 need nothing more), on an ephemeral port. */
async function rep(): Promise<{ endpoint: string; sock: ZSocket<"REP"> }> {
  const sock = track(new ZSocket("REP", { linger: 0 }));
  const endpoint = await sock.bind(ANY);
  void (async () => {
    for await (const msg of sock) await sock.send(msg).catch(() => {});
  })();
  return { endpoint, sock };
}

describe("the lifecycle contract", () => {
  it("FreelanceServer and FreelanceClient keep it, and leave no socket open", async () => {
    const server = new FreelanceServer({ bind: ANY, handler: (request) => request });
    await server.start();
    const client = new FreelanceClient({ endpoints: [server.endpoint], attemptTimeoutMs: 15_000, timeoutMs: 30_000 });
    expect((await client.request("x")).text()).toBe("x"); // started by its first request
    expect(openSocketCount()).toBe(2);
    await checkLifecycle(client, WAIT);
    await checkLifecycle(server, WAIT);
    expect(openSocketCount()).toBe(0);
  });

  it("FailoverClient and ShotgunClient keep it", async () => {
    const a = await rep();
    const failover = new FailoverClient({ endpoints: [a.endpoint], timeoutMs: 15_000 });
    expect((await failover.request("x")).text()).toBe("x");
    await checkLifecycle(failover, WAIT);
    const shotgun = new ShotgunClient({ endpoints: [a.endpoint], timeoutMs: 15_000 });
    await shotgun.start();
    await checkLifecycle(shotgun, WAIT);
    a.sock.close();
    await waitFor(() => openSocketCount() === 0, WAIT, "every socket closed");
  });

  it("closes with await using, and a client never started closes at once", async () => {
    const never = new FreelanceClient({ endpoints: "tcp://127.0.0.1:1" });
    await never.close();
    await never.done;
    {
      await using server = new FreelanceServer({ bind: ANY, handler: (request) => request });
      await server.start();
      expect(openSocketCount()).toBe(1);
    }
    expect(openSocketCount()).toBe(0);
  });
});
