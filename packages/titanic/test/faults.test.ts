// Titanic as a real child process (test/fixtures/titanic.ts), killed while
// requests stream in: SIGKILL mid-stream and a restart on the same
// directory lose no acknowledged request, and answer each exactly once;
// SIGSTOP freezes it until the broker forgets it, SIGCONT brings it back.
// The broker, a slow echo worker and the client run in this process.
//
//   test client --titanic.request--> broker --> [Titanic child] --kill -9--> [Titanic child #2, same dir]
//                                    broker <-- dispatcher  --> echo worker (slow: a backlog is pending at the kill)
//
// The SIGKILL test also runs over CURVE (testkit's security matrix,
// SECURITY_MODES; ZKIT_TEST_SECURITY=curve runs only that), with durability
// fsync: the broker a CURVE server with a ZAuth checking the clients' key,
// Titanic, the worker and the client CURVE clients. A side left without
// CURVE would fail every handshake, so that variant cannot pass on NULL.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TimeoutError, sleep } from "@zkit/core";
import * as security from "@zkit/security";
import { SECURITY_MODES, count, matrixSecurity, startNode, waitFor, type Child, type TestSecurity } from "@zkit/testkit";
import { TitanicClient, type TitanicDurability } from "../src/index.js";
import { WAIT_MS, cleanup, startBroker, startWorker, storeDir, testDir, track } from "./helpers.js";

afterEach(cleanup);

const FIXTURE = join(testDir, "fixtures", "titanic.ts");
const START_MS = 30_000;

function titanic(endpoint: string, dir: string, durability: TitanicDurability = "fsync", env?: Record<string, string>): Child {
  return startNode(FIXTURE, [endpoint, dir, "250", durability], { name: `titanic fixture (${durability})`, ...(env !== undefined && { env }) });
}

/** Lines `<word> <uuid>` a Titanic child printed. */
function uuids(child: Child, word: "stored" | "replied"): string[] {
  return [...child.stdout().matchAll(new RegExp(`^${word} ([0-9a-f]{32})$`, "gm"))].map((m) => m[1]!);
}

describe.each(SECURITY_MODES)("Titanic killed mid-stream, security %s", (mode) => {
  let sec: TestSecurity;
  beforeEach(async () => {
    sec = await matrixSecurity(mode, security);
  });

  // "write" skips the fsyncs: it promises to survive a crash of the process, which is what SIGKILL is
  it.each(mode === "null" ? (["fsync", "write"] as const) : (["fsync"] as const))(
    "SIGKILL twice while requests stream in (durability %s): every acknowledged request is answered, each reply stored once",
    async (durability) => {
      const { endpoint } = await startBroker(sec.server);
      const executed = new Map<string, number>();
      await startWorker(
        endpoint,
        "echo",
        async ([body]) => {
          executed.set(String(body), (executed.get(String(body)) ?? 0) + 1);
          await sleep(30); // slower than the requests come: a backlog is pending when Titanic dies
          return [`echo:${body}`];
        },
        sec.client,
      );
      const dir = storeDir();
      const children: Child[] = [titanic(endpoint, dir, durability, sec.env)];
      await children[0]!.waitFor(/^ready: 0 pending/m, START_MS);

      // the stream: one request after the other; a request that times out is sent again (it may
      // then be stored twice, but only the acknowledged uuid counts)
      const client = track(new TitanicClient({ endpoint, timeoutMs: 1000, retries: 0, security: sec.client }));
      const acknowledged = new Map<string, string>(); // uuid -> body
      let stop = false;
      let timeouts = 0;
      const stream = (async () => {
        for (let n = 0; !stop; n++) {
          for (;;) {
            try {
              acknowledged.set(await client.submit("echo", `r${n}`), `r${n}`);
              break;
            } catch (err) {
              if (!(err instanceof TimeoutError)) throw err;
              timeouts++;
            }
          }
        }
      })();

      for (const killAt of [10, 25]) {
        await waitFor(() => acknowledged.size >= killAt, WAIT_MS * 2, `${killAt} acknowledged requests`);
        const victim = children.at(-1)!;
        const pendingAtKill = uuids(victim, "stored").length - uuids(victim, "replied").length;
        victim.kill("SIGKILL");
        const exit = await victim.waitForExit(WAIT_MS);
        expect(exit.signal).toBe("SIGKILL");
        const before = timeouts;
        await waitFor(() => timeouts > before, WAIT_MS, "the client to notice Titanic is gone");
        const next = titanic(endpoint, dir, durability, sec.env);
        children.push(next);
        const ready = await next.waitFor(/^ready: (\d+) pending/m, START_MS);
        // what was pending at the kill is pending again (some may have been answered since the count)
        if (pendingAtKill > 3) expect(Number(ready[1])).toBeGreaterThan(0);
      }
      await waitFor(() => acknowledged.size >= 40, WAIT_MS * 2, "40 acknowledged requests");
      stop = true;
      await stream;

      // every acknowledged request gets its own reply; asking twice gives the same; close empties it
      for (const [uuid, body] of acknowledged) {
        let answer = await client.fetchReply(uuid);
        const deadline = Date.now() + WAIT_MS * 2;
        while (answer.kind === "pending" && Date.now() < deadline) {
          await sleep(50);
          answer = await client.fetchReply(uuid);
        }
        expect(answer, `the reply to ${uuid} (${body})`).toEqual({ kind: "reply", body: [Buffer.from(`echo:${body}`)] });
        expect(await client.fetchReply(uuid)).toEqual(answer);
        await client.closeRequest(uuid);
        expect((await client.fetchReply(uuid)).kind).toBe("unknown");
        expect(executed.get(body), body).toBeGreaterThanOrEqual(1);
      }
      // across the three lives of Titanic, no acknowledged request got its reply stored twice
      const replied = children.flatMap((c) => uuids(c, "replied"));
      for (const uuid of acknowledged.keys()) expect(replied.filter((u) => u === uuid).length, uuid).toBeLessThanOrEqual(1);
      expect(children.slice(0, 2).every((c) => c.exit?.signal === "SIGKILL")).toBe(true);

      const last = children.at(-1)!;
      last.kill("SIGTERM");
      expect(await last.waitForExit(WAIT_MS)).toEqual({ code: 0, signal: null });
      expect(last.stdout()).toMatch(/^closed: \d+ pending$/m);
    },
  );
});

describe("Titanic frozen", () => {
  it("SIGSTOP until the broker forgets it, then SIGCONT: it reconnects and finishes the requests it stored", async () => {
    const { broker, endpoint } = await startBroker();
    const dir = storeDir();
    const child = titanic(endpoint, dir);
    await child.waitFor(/^ready/m, START_MS);
    const client = track(new TitanicClient({ endpoint, timeoutMs: 1000, retries: 0 }));
    const uuids = [await client.submit("later", "one"), await client.submit("later", "two")];

    child.kill("SIGSTOP");
    // the broker expires Titanic's three workers (liveness 3 x 250 ms)
    await waitFor(() => broker.snapshot().serviceList.every((s) => !s.name.startsWith("titanic.") || s.workers === 0), WAIT_MS, "Titanic's workers to expire");
    await expect(client.submit("later", "while frozen")).rejects.toBeInstanceOf(TimeoutError);
    await startWorker(endpoint, "later", ([body]) => [`done:${body}`]);

    child.kill("SIGCONT");
    for (const [i, uuid] of uuids.entries()) {
      let answer = await fetchSoon(client, uuid);
      const deadline = Date.now() + WAIT_MS * 2;
      while (answer.kind !== "reply" && Date.now() < deadline) {
        await sleep(50);
        answer = await fetchSoon(client, uuid);
      }
      expect(answer).toEqual({ kind: "reply", body: [Buffer.from(i === 0 ? "done:one" : "done:two")] });
    }
    expect(count(child.stdout(), /^replied /gm)).toBeGreaterThanOrEqual(2);
  });
});

/** fetchReply that takes "Titanic still reconnecting" (a timeout) as pending. */
async function fetchSoon(client: TitanicClient, uuid: string): ReturnType<TitanicClient["fetchReply"]> {
  try {
    return await client.fetchReply(uuid);
  } catch (err) {
    if (err instanceof TimeoutError) return { kind: "pending" };
    throw err;
  }
}
