// LazyPirateClient against a server zkit did not write: a pyzmq REP server
// (test/peers/lpserver.py) that echoes, loses requests on purpose, or is
// killed (SIGKILL) and restarted on the same endpoint.
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { requirePyzmq, startPython, stopAll, tempDir, waitFor, within, type Child } from "@zkit/testkit";
import { LazyPirateClient, decodeSequence, echoMatch, encodeSequence } from "@zkit/lpp";

const LPSERVER = fileURLToPath(new URL("./peers/lpserver.py", import.meta.url));
const START_MS = 15_000;
const WAIT = 20_000;
const clients: LazyPirateClient[] = [];
const cleanups: (() => void)[] = [];

beforeAll(() => {
  requirePyzmq();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

async function lpserver(endpoint: string, drop = ""): Promise<{ child: Child; endpoint: string }> {
  const child = startPython(LPSERVER, drop ? [endpoint, "--drop", drop] : [endpoint]);
  const m = await child.waitFor(/listening on (\S+)/, START_MS);
  return { child, endpoint: m[1]! };
}

describe("against a pyzmq REP server", () => {
  it("gets every sequence number echoed, multi-frame requests included", async () => {
    const { endpoint, child } = await lpserver("tcp://127.0.0.1:*");
    const c = new LazyPirateClient({ endpoint, match: echoMatch });
    clients.push(c);
    for (let seq = 1; seq <= 20; seq++) {
      expect(decodeSequence(await within(c.request(encodeSequence(seq)), WAIT, `reply ${seq}`))).toBe(seq);
    }
    const multi = await within(c.request(["a", "", "c"]), WAIT, "multi-frame reply");
    expect(multi.map(String)).toEqual(["a", "", "c"]);
    expect(c.stats).toMatchObject({ requests: 21, replies: 21, retries: 0 });
    await child.waitFor(/^request 21 a$/m, WAIT);
  });

  it("recovers the requests the server lost, by retrying on a fresh socket", async () => {
    const { endpoint } = await lpserver("tcp://127.0.0.1:*", "3,4,8");
    const c = new LazyPirateClient({ endpoint, timeoutMs: 500, retries: 3, match: echoMatch });
    clients.push(c);
    for (let seq = 1; seq <= 10; seq++) {
      expect(decodeSequence(await within(c.request(encodeSequence(seq)), WAIT, `reply ${seq}`))).toBe(seq);
    }
    // the server counts what it receives: 3 is lost, so is its first resend
    // (4), and 8; each loss costs a retry (more only if the machine is slow)
    expect(c.stats.retries).toBeGreaterThanOrEqual(3);
    expect(c.stats.replies).toBe(10);
  });
});

describe("fault: the server process is killed and restarted", () => {
  it("the request in flight gets its answer from the restarted server (SIGKILL, same endpoint)", async () => {
    // ipc: the endpoint stays ours while the server is down (a tcp port could
    // be taken meanwhile, even by the client's own reconnects)
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = await lpserver(`ipc://${dir.dir}/lpserver`);
    const c = new LazyPirateClient({ endpoint: first.endpoint, timeoutMs: 500, retries: 40, match: echoMatch });
    clients.push(c);
    expect(decodeSequence(await within(c.request(encodeSequence(1)), WAIT, "reply 1"))).toBe(1);
    first.child.kill("SIGKILL");
    await first.child.waitForExit(WAIT);
    const pending = c.request(encodeSequence(2));
    await waitFor(() => c.stats.retries >= 1, WAIT, "a retry while the server is dead");
    const second = await lpserver(first.endpoint);
    expect(second.endpoint).toBe(first.endpoint);
    expect(decodeSequence(await within(pending, WAIT, "reply 2"))).toBe(2);
    expect(decodeSequence(await within(c.request(encodeSequence(3)), WAIT, "reply 3"))).toBe(3);
  });
});
