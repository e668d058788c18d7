// Interop with peers zkit did not write the stack of: small Python programs
// on pyzmq (Debian's python3-zmq, libzmq 4.3.4) in test/peers/. A Python
// 9/TSP client that speaks 7/MDP client frames itself (REQ, as the Guide's
// ticlient) against our broker and Titanic, its frames checked byte for
// byte against shared/protocols.md; and a Python MDP worker that Titanic
// forwards to, started only after the request was stored.
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { peer, requirePyzmq, startPython } from "@zkit/testkit";
import { WAIT_MS, cleanup, startBroker, startTitanic, startWorker, storeDir, testDir, workerReady } from "./helpers.js";

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
