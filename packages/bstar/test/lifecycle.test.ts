// The lifecycle contract of @zkit/reliability, checked with testkit's
// checkLifecycle on BinaryStar and BinaryStarClient over real sockets:
// start() idempotent, close() idempotent and complete, done, ZKIT_CLOSED
// after close, and no socket left open. The client starts by itself on its
// first request.
import { afterEach, describe, expect, it } from "vitest";
import { openSocketCount } from "@zkit/core";
import { checkLifecycle } from "@zkit/testkit";
import { BinaryStar, BinaryStarClient } from "../src/index.js";
import { ANY, HB, WAIT_MS, cleanup, echo, startPair, track } from "./helpers.js";

afterEach(cleanup);

describe("the lifecycle contract", () => {
  it("BinaryStar (both servers) and BinaryStarClient keep it, and leave no socket open", async () => {
    const { primary, backup } = await startPair();
    const client = track(new BinaryStarClient({ servers: [primary.voterEndpoint, backup.voterEndpoint], timeoutMs: WAIT_MS, closeOnInterrupt: false }));
    expect(client.running).toBe(false);
    expect((await client.request("x")).text()).toBe("x"); // started by its first request
    expect(client.running).toBe(true);
    expect(openSocketCount()).toBe(7); // PUB, SUB and voter ROUTER per server, the client's REQ
    await checkLifecycle(client, WAIT_MS);
    await checkLifecycle(primary, WAIT_MS);
    await checkLifecycle(backup, WAIT_MS);
    expect(openSocketCount()).toBe(0);
  });

  it("closes with await using, and a server or client never started closes at once", async () => {
    const never = new BinaryStar({ role: "primary", local: ANY, voter: ANY, handler: echo, closeOnInterrupt: false });
    await never.close();
    await never.done;
    const idle = new BinaryStarClient({ servers: ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"], closeOnInterrupt: false });
    await idle.close();
    await idle.done;
    {
      await using server = new BinaryStar({ role: "backup", local: ANY, voter: ANY, handler: echo, heartbeatIntervalMs: HB, closeOnInterrupt: false });
      await server.start();
      expect(openSocketCount()).toBe(3);
    }
    expect(openSocketCount()).toBe(0);
  });
});
