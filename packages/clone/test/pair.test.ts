// A Binary Star pair of Clone servers (the Guide's clonesrv6 on @zkit/bstar):
// the primary serves, the backup follows it and refuses snapshots; clients
// send every update to both; the passive holds the updates it has not seen
// the active publish, and publishes them when it takes over, with
// sequences after the highest it saw; ttl deadlines survive the failover.
// Then the proofs with real processes (short versions of `pnpm soak
// clone-failover`): the active SIGKILLed or frozen during a write storm.
//
//   client --ICANHAZ?--> primary ROUTER (a Binary Star vote) --KVSYNC..-->
//   client --KVSET--> both collectors    backup SUB <--KVPUB-- primary PUB
//   primary state PUB <--> backup state PUB (Binary Star)
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, ZSocket, shutdown } from "@zkit/core";
import { KVMsg, encodeSequence } from "@zkit/kvmsg";
import { SECURITY_MODES, closeTracked, matrixSecurity, stopAll, track, waitFor, within } from "@zkit/testkit";
import * as securityKit from "@zkit/security";
import { CloneServer, type CloneServerEvents, type ClonePairOptions } from "@zkit/clone";
import { WAIT, digest, endpoint, syncedClient } from "./helpers.js";
import { failoverStorm } from "./pair-proof.js";

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

const b = (s: string): Buffer => Buffer.from(s);

/** A started pair on free ports of 127.0.0.1, each told where the other is; resolves once the primary is active and the backup follows it. */
async function startPair(pair: Partial<ClonePairOptions> = {}): Promise<{ primary: CloneServer; backup: CloneServer; backupEvents: { active: CloneServerEvents["active"][0][] } }> {
  const opts = (role: "primary" | "backup"): ConstructorParameters<typeof CloneServer>[0] => ({
    port: 0,
    host: "127.0.0.1",
    hugzIntervalMs: 100,
    bstar: { role, local: "tcp://127.0.0.1:*", heartbeatIntervalMs: 500, peerTtlMs: 2000, ...pair },
  });
  const primary = track(new CloneServer(opts("primary")));
  const backup = track(new CloneServer(opts("backup")));
  const backupEvents = { active: [] as CloneServerEvents["active"][0][] };
  backup.on("active", (a) => backupEvents.active.push(a));
  const resynced = new Promise<void>((resolve) => backup.once("resynced", () => resolve()));
  await primary.start();
  await backup.start();
  primary.connectPeer(endpoint(backup.port), backup.stateEndpoint);
  backup.connectPeer(endpoint(primary.port), primary.stateEndpoint);
  await waitFor(() => primary.active && backup.starState === "passive", WAIT, "the primary active, the backup passive");
  await within(resynced, WAIT, "the backup's copy of the primary's map");
  return { primary, backup, backupEvents };
}

describe("a Binary Star pair of Clone servers", () => {
  it("the primary serves and the backup follows: same map, same sequence, nothing left pending; the backup refuses snapshots", async () => {
    const { primary, backup } = await startPair();
    expect(primary.starState).toBe("active");
    const client = await syncedClient([primary.port, backup.port]);
    expect(client.server).toBe(endpoint(primary.port));
    for (let i = 0; i < 200; i++) void client.set(`/k/${i % 50}`, `v${i}`, { ttlSeconds: i % 10 === 0 ? 3600 : undefined });
    await client.set("/k/last", "x");
    await waitFor(() => primary.sequence === 201 && backup.sequence === 201, WAIT, "201 updates at both servers");
    await waitFor(() => backup.stats.pending === 0, WAIT, "nothing pending at the backup");
    expect(digest(backup.entries())).toBe(digest(primary.entries()));
    expect(backup.stats.held + backup.stats.settled).toBeGreaterThanOrEqual(201);
    expect(backup.stats.updates).toBe(0); // it published nothing of its own
    // ttls came as deadlines: the backup's copy of an ephemeral key keeps its ttl, not a 0
    expect(backup.entries().get("/k/0")?.ttl).toBeGreaterThan(3000);

    // a snapshot request to the passive is a vote Binary Star rejects: no answer
    const refused = backup.stats.refused;
    const dealer = track(await ZSocket.dealer(`>${endpoint(backup.port)}`, { linger: 0 }));
    await dealer.send([b("ICANHAZ?"), b("")]);
    await waitFor(() => backup.stats.refused > refused, WAIT, "the backup to refuse the snapshot request");
    expect(backup.stats.snapshots).toBe(0);
  }, 120_000);

  it("the passive holds what the active never published, and publishes it when it takes over, after the highest sequence it saw; ttl deadlines carry over", async () => {
    const { primary, backup, backupEvents } = await startPair();
    const client = await syncedClient([primary.port, backup.port], { serverTtlMs: 2000 });
    await client.set("/eph", "soon", { ttlSeconds: 4 });
    await client.set("/a", "1");
    await waitFor(() => backup.sequence === 2 && backup.stats.pending === 0, WAIT, "both updates followed by the backup");
    const setAt = Date.now();

    // an update that reached the backup only (its client lost the active): held
    const raw = track(await ZSocket.pub(`>tcp://127.0.0.1:${backup.port + 2}`, { linger: 0 }));
    const only = new KVMsg({ key: "/only-backup", body: "kept" });
    only.setUuid();
    await waitFor(
      async () => {
        await raw.send(only.encode());
        return backup.stats.pending > 0;
      },
      WAIT,
      "the backup to hold the update",
      50,
    );
    expect(backup.stats.pending).toBe(1);
    const highest = primary.sequence;

    await primary.close();
    // the client finds the primary silent, asks the backup: a vote after the peer expiry: failover
    await waitFor(
      () => client.synced && client.server === endpoint(backup.port) && client.get("/only-backup") !== undefined,
      WAIT,
      "the client synced with the backup, the held update in its map",
    );
    expect(backupEvents.active).toHaveLength(1);
    expect(backupEvents.active[0]).toMatchObject({ reason: "failover", republished: 1 });
    expect(client.map.get("/only-backup")!.sequence).toBe(highest + 1);
    expect(client.get("/a")?.toString()).toBe("1");
    expect(client.get("/eph")?.toString()).toBe("soon");
    // the new active expires the ephemeral key at its deadline, not earlier
    await waitFor(() => client.get("/eph") === undefined, WAIT, "the ephemeral key to expire at the new active");
    expect(Date.now() - setAt).toBeGreaterThan(3000);
    expect(backup.stats.expired).toBe(1);
    // and it goes on serving updates with the next sequences
    await client.set("/after", "1");
    await waitFor(() => client.get("/after") !== undefined, WAIT, "an update after the failover");
    expect(client.sequence).toBe(backup.sequence);
  }, 120_000);

  it("an update seen from the active first is not held when the client's copy reaches the passive later, and an older held update of a key is settled by a newer one", async () => {
    const { primary, backup } = await startPair();
    // the active's own collector only: the backup sees it published first
    const toPrimary = track(await ZSocket.pub(`>tcp://127.0.0.1:${primary.port + 2}`, { linger: 0 }));
    const toBackup = track(await ZSocket.pub(`>tcp://127.0.0.1:${backup.port + 2}`, { linger: 0 }));
    const first = new KVMsg({ key: "/k", body: "1" });
    first.setUuid();
    await waitFor(
      async () => {
        await toPrimary.send(first.encode());
        return backup.get("/k") !== undefined;
      },
      WAIT,
      "the update followed by the backup",
      50,
    );
    const held = backup.stats.held;
    // the connection to the backup's collector first, with updates that
    // have no uuid (counted, never held): a second copy of `first` sent by a
    // retry loop would be held, rightly, once the first copy settled it
    await waitFor(
      async () => {
        await toBackup.send(new KVMsg({ key: "/probe", body: "x" }).encode());
        return backup.stats.unidentified > 0;
      },
      WAIT,
      "the backup's collector to take updates",
      50,
    );
    await toBackup.send(first.encode());
    await waitFor(() => backup.stats.settled > 0, WAIT, "the late copy settled at the backup");
    expect(backup.stats.held).toBe(held);
    expect(backup.stats.pending).toBe(0);

    // an old value held at the backup, then a newer value of the same key published by the active
    const old = new KVMsg({ key: "/j", body: "old" });
    old.setUuid();
    await toBackup.send(old.encode());
    await waitFor(() => backup.stats.pending === 1, WAIT, "the old value held");
    const client = await syncedClient([primary.port, backup.port]);
    await client.set("/j", "new");
    await waitFor(() => backup.get("/j")?.toString() === "new", WAIT, "the new value at the backup");
    expect(backup.stats.pending).toBe(0); // republishing "old" on failover would undo "new"
  }, 120_000);

  it("checks the bstar option and connectPeer", async () => {
    expect(() => new CloneServer({ bstar: {} as ClonePairOptions })).toThrow(/role/);
    expect(() => new CloneServer({ bstar: { role: "primary" } as ClonePairOptions })).toThrow(/local/);
    expect(() => new CloneServer({ bstar: { role: "middle", local: "tcp://*:5003" } as unknown as ClonePairOptions })).toThrow(InvalidArgumentError);
    expect(() => new CloneServer({ bstar: { role: "primary", local: "tcp://*:5003", peer: "localhost:5566" } })).toThrow(/peer/);
    expect(() => new CloneServer({ bstar: { role: "primary", local: "tcp://*:5003", colour: 1 } as ClonePairOptions })).toThrow(/colour/);
    expect(() => new CloneServer({ bstar: "primary" as unknown as ClonePairOptions })).toThrow(/object/);
    const single = track(new CloneServer({ port: 0, host: "127.0.0.1" }));
    await single.start();
    expect(single.active).toBe(true);
    expect(single.starState).toBe("active");
    expect(() => single.connectPeer("tcp://127.0.0.1:5566", "tcp://127.0.0.1:5004")).toThrow(/not one of a pair/);
  });

  it("a snapshot asked for in the Guide's form (ICANHAZ's third frame) carries uuids and ttl deadlines", async () => {
    const server = track(new CloneServer({ port: 0, host: "127.0.0.1" }));
    await server.start();
    const client = await syncedClient([server.port]);
    await client.set("/t", "1", { ttlSeconds: 100 });
    await waitFor(() => server.sequence === 1, WAIT, "the update at the server");
    const dealer = track(await ZSocket.dealer(`>${endpoint(server.port)}`, { linger: 0 }));
    await dealer.send([b("ICANHAZ?"), b(""), b("guide")]);
    const kvsync = await within(dealer.receive(), WAIT, "a KVSYNC");
    expect(kvsync[0]).toEqual(b("/t"));
    expect(kvsync[2]!.length).toBe(16);
    expect(Number(/ttl=(\d+)/.exec(kvsync[3]!.toString())![1])).toBeGreaterThan(Date.now());
    const end = await within(dealer.receive(), WAIT, "KTHXBAI");
    expect(end).toEqual([b("KTHXBAI"), encodeSequence(1), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
    // a bad form is malformed, dropped and counted
    await dealer.send([b("ICANHAZ?"), b(""), b("cobol")]);
    await waitFor(() => server.stats.malformed === 1, WAIT, "the bad request counted");
  });
});

// The storm runs in the security matrix (testkit's SECURITY_MODES;
// ZKIT_TEST_SECURITY=curve runs only the CURVE variant): over CURVE the
// servers share a key pair and run a ZAuth that admits the clients' key
// and the pair's, so the backup's replica and state link are CURVE clients
// of the active. The SIGSTOP variant runs without security only: the
// freeze is the same fault whatever the mechanism, and it is the slower one.
describe.each(SECURITY_MODES)("failover during a write storm, real processes, security %s", (mode) => {
  for (const fault of mode === "null" ? (["SIGKILL", "SIGSTOP"] as const) : (["SIGKILL"] as const)) {
    it(`3 clients write; the active gets ${fault} in the middle; every client ends with every update, none lost, none twice, equal to the new active`, async () => {
      // a frozen server is not thawed here: after a freeze with a backlog the
      // thawed server has aborted inside libzmq 4.3.5 (see the README); the
      // soak runs the thaw and records how it went
      const security = await matrixSecurity(mode, securityKit); // the servers start their own ZAuth (the fixture)
      const r = await failoverStorm({ clients: 3, updates: 1500, keys: 500, fault, faultAt: 0.4, timeoutMs: 90_000, thaw: false, security });
      console.log(`failover (${fault}, security ${mode}): ${JSON.stringify(r)}`);
      expect(r.updatesSent).toBe(4500);
      expect(r.sentAtFault).toBeGreaterThan(0);
      expect(r.sentAtFault).toBeLessThan(4500);
      expect(r.lost).toBe(0);
      expect(r.newActiveEqual).toBe(true);
      expect(r.keysAtNewActive).toBe(r.keysExpected);
      expect(r.duplicated).toBe(0);
      expect(r.failovers).toBeGreaterThanOrEqual(3);
    }, 240_000);
  }
});
