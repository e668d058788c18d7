// 12/CHP with peers zkit did not write (pyzmq, test/peers/*.py, written
// from the RFC): our client against a Python server, and a Python client
// against our server, each in both dialects (the RFC's, and the Guide's C
// programs': KVSYNC with uuid and absolute ttl, KTHXBAI without the
// subtree, HUGZ with the sequence).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { closeTracked, requirePyzmq, startPython, stopAll, waitFor } from "@zkit/testkit";
import type { CloneChange } from "@zkit/clone";
import { WAIT, here, newClient, startServer, syncedClient } from "./helpers.js";

beforeAll(() => {
  requirePyzmq();
});

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

for (const dialect of ["rfc", "guide"] as const) {
  describe(`${dialect} form`, () => {
    it("our client syncs from a Python server, sends updates through it and follows its HUGZ", async () => {
      const py = startPython(here("peers/cloneserver.py"), [dialect]);
      const port = Number((await py.waitFor(/^port (\d+)$/m, WAIT))[1]);
      let hugz = 0;
      const client = newClient([port], {
        serverTtlMs: 2000,
        trace: ({ direction, socket, frames }) => {
          if (direction === "in" && socket === "subscriber" && frames[0]?.toString() === "HUGZ") hugz++;
        },
      });
      const changes: CloneChange[] = [];
      client.on("change", (c) => changes.push(c));
      await client.waitSynced({ timeoutMs: WAIT });
      expect(client.sequence).toBe(2);
      expect(client.get("/py/a")?.toString()).toBe("alpha");
      expect(client.get("/py/b")?.toString()).toBe("beta");
      if (dialect === "guide") {
        expect(client.map.get("/py/a")!.uuid).toEqual(Buffer.from(Array.from({ length: 16 }, (_, i) => i)));
        expect(Number(client.map.get("/py/b")!.getProp("ttl"))).toBeGreaterThan(Date.now()); // an absolute deadline, read as it came
      }
      const uuid = await client.set("/ts/x", "from ts", { ttlSeconds: 30 });
      await py.waitFor(/^update \/ts\/x 3$/m, WAIT);
      await waitFor(() => client.get("/ts/x") !== undefined, WAIT, "our update published back by the Python server");
      const mine = changes.find((c) => c.key === "/ts/x")!;
      expect(mine).toMatchObject({ sequence: 3, uuid, origin: "update" });
      expect(client.map.get("/ts/x")!.getProp("ttl")).toBe("30");
      await client.delete("/py/a");
      await waitFor(() => client.get("/py/a") === undefined, WAIT, "the delete through the Python server");
      // idle, the Python server's HUGZ (every 100 ms) keep the client with it for three server TTLs
      const h0 = hugz;
      await waitFor(() => hugz >= h0 + 60, WAIT, "60 HUGZ from the Python server", 50);
      expect(client.stats).toMatchObject({ failovers: 0, gaps: 0, snapshots: 1 });
    });

    it("a Python client syncs from our server, sends an update and gets it published, with HUGZ", async () => {
      const server = await startServer({ dialect });
      const ours = await syncedClient([server.port]);
      await ours.set("/clients/a", "one");
      await ours.set("/clients/b", "two", { ttlSeconds: 3600 });
      await ours.set("/other/c", "three");
      await waitFor(() => server.sequence === 3, WAIT, "three updates");
      const py = startPython(here("peers/cloneclient.py"), [String(server.port), "/clients/"]);
      await py.waitFor(/^done$/m, WAIT);
      const out = py.stdout();
      const syncs = out.split("\n").filter((l) => l.startsWith("sync "));
      expect(syncs).toHaveLength(2);
      if (dialect === "rfc") {
        expect(syncs).toEqual(["sync /clients/a 1 uuid= props= body=one", "sync /clients/b 2 uuid= props= body=two"]);
        expect(out).toContain("kthxbai 3 last=/clients/");
        expect(out).toMatch(/^hugz 0$/m);
      } else {
        expect(syncs[0]).toMatch(/^sync \/clients\/a 1 uuid=[0-9a-f]{32} props= body=one$/);
        const ttl = Number(/^sync \/clients\/b 2 uuid=[0-9a-f]{32} props=ttl=(\d+); body=two$/m.exec(out)![1]);
        expect(ttl).toBeGreaterThan(Date.now() + 3500_000);
        expect(out).toContain("kthxbai 3 last=\n");
        expect(out).toMatch(/^hugz 4$/m);
      }
      expect(out).toMatch(/^pub \/clients\/py 4 uuid=6465666768696a6b6c6d6e6f70717273 props=ttl=60; body=from python$/m);
      expect(server.get("/clients/py")?.toString()).toBe("from python");
      await waitFor(() => ours.get("/clients/py") !== undefined, WAIT, "the Python update at our client");
      expect(ours.map.get("/clients/py")!.uuidHex).toBe("6465666768696a6b6c6d6e6f70717273");
    });
  });
}
