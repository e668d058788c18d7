// Interop with peers zkit did not write the stack of: small Python programs
// on pyzmq (Debian's python3-zmq, libzmq 4.3.4) in test/peers/. A Python
// 9/TSP client that speaks 7/MDP client frames itself (REQ, as the Guide's
// ticlient) against our broker and Titanic, its frames checked byte for
// byte against shared/protocols.md; and a Python MDP worker that Titanic
// forwards to, started only after the request was stored. And the other way
// round: our TitanicClient against a Python Titanic that, like the Guide's C
// titanic, hands out upper-case uuids and knows a request only by the exact
// string it handed out.
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { peer, requirePyzmq, startPython, track } from "@zkit/testkit";
import { TitanicClient } from "../src/index.js";
import { HEARTBEAT_MS, WAIT_MS, cleanup, startBroker, startTitanic, startWorker, storeDir, testDir, workerReady } from "./helpers.js";

beforeAll(() => {
  requirePyzmq();
});
afterEach(cleanup);

const PEERS = join(testDir, "peers");
const START_MS = 20_000;
const hex = (s: string): string => Buffer.from(s).toString("hex");

/** The "frames <service> <hex>,..." lines a ticlient.py printed, as lists of hex frames. */
function framesOf(out: string, service: string): string[][] {
  return [...out.matchAll(new RegExp(`^frames ${service.replace(".", "\\.")} (.*)$`, "gm"))].map((m) => m[1]!.split(","));
}

describe("a Python TSP client against our broker and Titanic", () => {
  it("request, reply (upper-case uuid), close: every reply frame as protocols.md says", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir());
    await startWorker(endpoint, "echo");
    const client = startPython(join(PEERS, "ticlient.py"), [endpoint, "echo", "Hello world", "second"]);
    await client.waitFor(/^done$/m, START_MS);
    const out = client.stdout();

    // [MDPC01][titanic.request][200][uuid] (REQ strips the empty frame)
    const [accepted] = framesOf(out, "titanic.request");
    expect(accepted!.slice(0, 3)).toEqual([hex("MDPC01"), hex("titanic.request"), hex("200")]);
    expect(accepted).toHaveLength(4);
    const uuid = Buffer.from(accepted![3]!, "hex").toString("latin1");
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(out).toContain(`uuid ${uuid}`);

    // [MDPC01][titanic.reply][300] while pending (if it was asked early enough), then [200][body...]
    const replies = framesOf(out, "titanic.reply");
    for (const r of replies.slice(0, -1)) expect(r).toEqual([hex("MDPC01"), hex("titanic.reply"), hex("300")]);
    expect(replies.at(-1)).toEqual([hex("MDPC01"), hex("titanic.reply"), hex("200"), hex("Hello world"), hex("second")]);
    expect(out).toContain("reply Hello world|second");

    // [MDPC01][titanic.close][200]
    expect(framesOf(out, "titanic.close")).toEqual([[hex("MDPC01"), hex("titanic.close"), hex("200")]]);
    expect(titanic.stats).toMatchObject({ requests: 1, replies: 1, closes: 1, stored: 0, malformed: 0 });
  });

  it("the request waits on disk until a Python worker comes up; Titanic forwards it byte for byte", async () => {
    const { broker, endpoint } = await startBroker();
    const titanic = await startTitanic(broker, endpoint, storeDir());
    const client = startPython(join(PEERS, "ticlient.py"), [endpoint, "pyecho", "from python", ""]);
    await client.waitFor(/^status 300$/m, START_MS);
    expect(titanic.stats.pending).toBe(1);

    const ready = workerReady(broker, "pyecho");
    const worker = startPython(peer("mdworker.py"), [endpoint, "pyecho", "250"]);
    await worker.waitFor(/^ready$/m, START_MS);
    await ready;
    await client.waitFor(/^done$/m, START_MS);
    expect(client.stdout()).toContain("reply py:from python|");

    // what the Python worker received: [""][MDPW01][0x02][client][""][from python][""]
    const request = (await worker.waitFor(/^request (.*)$/m, WAIT_MS))[1]!.split(",");
    expect(request.slice(0, 3)).toEqual(["", hex("MDPW01"), "02"]);
    expect(request.slice(4)).toEqual(["", hex("from python"), ""]);
    expect(titanic.stats).toMatchObject({ requests: 1, replies: 1, closes: 1, pending: 0 });
  });
});

describe("our TitanicClient against a Python Titanic that hands out upper-case uuids", () => {
  /** Our broker and echo worker, and titanic_upper.py registered with the broker. */
  async function upperTitanic(): Promise<{ endpoint: string; titanic: ReturnType<typeof startPython> }> {
    const { broker, endpoint } = await startBroker();
    await startWorker(endpoint, "echo");
    const ready = Promise.all(["titanic.request", "titanic.reply", "titanic.close"].map((s) => workerReady(broker, s)));
    const titanic = startPython(join(PEERS, "titanic_upper.py"), [endpoint, String(HEARTBEAT_MS)]);
    await ready;
    return { endpoint, titanic };
  }

  it("request() sends back the uuid byte for byte in titanic.reply and titanic.close", async () => {
    const { endpoint, titanic } = await upperTitanic();
    const client = track(new TitanicClient({ endpoint }));
    let accepted: string | undefined;
    const reply = await client.request("echo", ["Hello", "world"], { pollIntervalMs: 50, timeoutMs: WAIT_MS, onAccepted: (uuid) => (accepted = uuid) });
    expect(reply.map(String)).toEqual(["Hello", "world"]);

    const issued = (await titanic.waitFor(/^issued ([0-9a-f]+)$/m, WAIT_MS))[1]!;
    expect(Buffer.from(issued, "hex").toString("latin1")).toMatch(/^[0-9A-F]{32}$/);
    expect(accepted).toBe(Buffer.from(issued, "hex").toString("latin1")); // what the caller sees is what was issued
    // every titanic.reply and titanic.close carried the issued bytes, and the server knew them
    await titanic.waitFor(/^close [0-9a-f]+ \w+$/m, WAIT_MS);
    const polls = [...titanic.stdout().matchAll(/^reply ([0-9a-f]+) (\d{3})$/gm)];
    expect(polls.length).toBeGreaterThan(0);
    for (const [, hex, status] of polls) {
      expect(hex).toBe(issued);
      expect(["200", "300"]).toContain(status);
    }
    expect(polls.at(-1)![2]).toBe("200");
    expect(titanic.stdout()).toMatch(new RegExp(`^close ${issued} found$`, "m"));
    expect(client.stats).toMatchObject({ requests: 1, submitted: 1, replies: 1, closeFailures: 0 });
  });

  it("submit() returns the uuid as issued; fetchReply() and closeRequest() send it unchanged", async () => {
    const { endpoint, titanic } = await upperTitanic();
    const client = track(new TitanicClient({ endpoint }));
    const uuid = await client.submit("echo", "once");
    expect(uuid).toMatch(/^[0-9A-F]{32}$/);
    const hex = Buffer.from(uuid, "latin1").toString("hex");
    await titanic.waitFor(new RegExp(`^issued ${hex}$`, "m"), WAIT_MS);
    await titanic.waitFor(/^answered echo$/m, WAIT_MS);
    expect(await client.fetchReply(uuid)).toEqual({ kind: "reply", body: [Buffer.from("once")] });
    // this server is strict, as the C reference: the same uuid in lower case is unknown to it
    expect(await client.fetchReply(uuid.toLowerCase())).toMatchObject({ kind: "unknown" });
    await client.closeRequest(uuid);
    await titanic.waitFor(new RegExp(`^close ${hex} found$`, "m"), WAIT_MS);
    expect(await client.fetchReply(uuid)).toMatchObject({ kind: "unknown" });
  });
});
