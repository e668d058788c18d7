// XPUB in manual mode over real sockets: subscriptions applied with
// subscribe(), and manualLastValue (libzmq's ZMQ_XPUB_MANUAL_LAST_VALUE),
// which lets a Last Value Cache send the cached value to the new
// subscriber only.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, openSocketCount, shutdown } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";

const DEADLINE_MS = 10_000;

const warnings: string[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w.message);
};

afterEach(() => {
  process.off("warning", onWarning);
  warnings.length = 0;
  shutdown();
  expect(openSocketCount()).toBe(0);
});

/** A SUB subscribed to `topic`, once the XPUB has read its subscription. */
async function subscriber(xpub: ZSocket<"XPUB">, topic: string): Promise<ZSocket<"SUB">> {
  const sub = await ZSocket.sub(`>${xpub.endpoint}`, topic, { receiveTimeout: DEADLINE_MS });
  const [frame] = await within(xpub.receive(), DEADLINE_MS, `the subscription to ${topic}`);
  expect(frame).toEqual(Buffer.concat([Buffer.from([1]), Buffer.from(topic)]));
  return sub;
}

/** Whether `sub` gets a message within `ms` (false: it times out). */
async function receivesWithin(sub: ZSocket<"SUB">, ms: number): Promise<Buffer[] | false> {
  return within(sub.receive(), ms, "").catch(() => false as const);
}

describe("XPUB manual mode", () => {
  it("applies a subscription only when subscribe() is called for it", async () => {
    const xpub = await ZSocket.xpub("@tcp://127.0.0.1:*", { manual: true });
    const sub = await subscriber(xpub, "A");
    await xpub.send(["A", "before"]); // the subscription is not applied: dropped
    xpub.subscribe("A");
    await xpub.send(["A", "after"]);
    const got = await within(sub.receive(), DEADLINE_MS, "the message after subscribe()");
    expect(got.map(String)).toEqual(["A", "after"]);
    xpub.unsubscribe("A");
    await xpub.send(["A", "unsubscribed"]);
    expect(await receivesWithin(sub, 300)).toBe(false);
  });

  it("manualLastValue sends the next message to the newest subscriber only; then all get messages again", async () => {
    process.on("warning", onWarning);
    const xpub = await ZSocket.xpub("@tcp://127.0.0.1:*", { manual: true });
    const first = await subscriber(xpub, "A");
    xpub.subscribe("A");
    await xpub.send(["A", "v1"]);
    expect((await within(first.receive(), DEADLINE_MS, "v1 at the first")).map(String)).toEqual(["A", "v1"]);

    // A second subscriber joins: the cached value goes to it alone.
    const second = await subscriber(xpub, "A");
    xpub.set("manualLastValue", true);
    xpub.subscribe("A");
    await xpub.send(["A", "v1"]);
    xpub.set("manualLastValue", false); // libzmq: this also turns manual off...
    xpub.set("manual", true); // ...so turn it back on
    expect((await within(second.receive(), DEADLINE_MS, "the cached v1 at the second")).map(String)).toEqual(["A", "v1"]);

    // The next update reaches both, and the first never got the cached copy:
    // per connection, order is kept, so a duplicate would come before v2.
    await xpub.send(["A", "v2"]);
    expect((await within(first.receive(), DEADLINE_MS, "v2 at the first")).map(String)).toEqual(["A", "v2"]);
    expect((await within(second.receive(), DEADLINE_MS, "v2 at the second")).map(String)).toEqual(["A", "v2"]);

    // Setting these options after the bind takes effect at once: no warning that it would not.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
  });

  it("without manualLastValue the cached value would reach every subscriber (the Guide's lvcache)", async () => {
    const xpub = await ZSocket.xpub("@tcp://127.0.0.1:*", { manual: true });
    const first = await subscriber(xpub, "A");
    xpub.subscribe("A");
    const second = await subscriber(xpub, "A");
    xpub.subscribe("A");
    await xpub.send(["A", "v1"]);
    await waitFor(async () => (await receivesWithin(first, DEADLINE_MS)) !== false, DEADLINE_MS, "v1 at the first");
    expect((await within(second.receive(), DEADLINE_MS, "v1 at the second")).map(String)).toEqual(["A", "v1"]);
  });
});
