// The `security` option of CloneServer and CloneClient, over real tcp with
// CURVE and a ZAuth in this process whose certificate store holds the
// allowed keys:
//
//   alice (serverKey = server's) --SUB/DEALER/XPUB, CURVE--> CloneServer (ROUTER, PUB, SUB: CURVE servers)
//                                                              ^ ZAuth asks the store about alice
//
// Alice syncs, sets and reads back; a client with a wrong server key, or a
// key the store does not hold, gets a HandshakeError from waitSynced() and
// set() and a handshake-failed event, at once, not a snapshot timeout. A
// Binary Star pair sharing one key pair follows itself over CURVE (the
// passive's replica is a client of the active with the pair's key) and
// fails over.
import { afterEach, describe, expect, it } from "vitest";
import { now, shutdown } from "@zkit/core";
import { closeTracked, stopAll, track, waitFor, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { CloneServer, type CloneClientEvents } from "@zkit/clone";
import { WAIT, endpoint, newClient, startServer } from "./helpers.js";

afterEach(async () => {
  await closeTracked();
  shutdown();
  await stopAll();
});

/** The client's snapshot timeout and server ttl in these tests: a handshake error must come well before. */
const SLOW_MS = 20_000;

/** A ZAuth in this process whose store holds `allowed` (public halves). */
async function startAuth(...allowed: ZCert[]): Promise<ZAuth> {
  const store = new ZCertStore();
  for (const c of allowed) store.insert(ZCert.fromKeys(c.publicKey));
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  return auth;
}

/** What a client reports, and how `waitSynced()` and `set()` end. */
async function refusedClient(
  port: number,
  security: ReturnType<ZCert["clientSecurity"]>,
): Promise<{ synced: unknown; set: unknown; events: CloneClientEvents["handshake-failed"][0][]; ms: number }> {
  const client = newClient([port], { security, serverTtlMs: SLOW_MS, snapshotTimeoutMs: SLOW_MS });
  const events: CloneClientEvents["handshake-failed"][0][] = [];
  client.on("handshake-failed", (e) => events.push(e));
  const started = now();
  const settle = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => "resolved",
      (e: unknown) => e,
    );
  const [synced, set] = await within(
    Promise.all([settle(client.waitSynced({ timeoutMs: SLOW_MS })), settle(client.set("/k", "v", { timeoutMs: SLOW_MS }))]),
    WAIT,
    "waitSynced() and set() to end",
  );
  const ms = now() - started;
  expect(client.stats.handshakeFailures).toBeGreaterThan(0);
  expect(client.synced).toBe(false);
  return { synced, set, events, ms };
}

describe("CloneServer and CloneClient with CURVE", () => {
  it("a client with an allowed key syncs, sets and reads back; ZAuth accepted it and denied nobody", async () => {
    const serverCert = ZCert.generate({ name: "clone" });
    const alice = ZCert.generate({ name: "alice" });
    const auth = await startAuth(alice);
    const server = await startServer({ security: serverCert.serverSecurity() });
    server.on("update", () => {});
    const client = newClient([server.port], { security: alice.clientSecurity(serverCert) });
    await client.waitSynced({ timeoutMs: WAIT });
    await client.set("/secret", "kept");
    await waitFor(() => client.get("/secret")?.toString() === "kept", WAIT, "the update back through the CURVE subscription");
    expect(server.get("/secret")?.toString()).toBe("kept");
    // a second client gets it in its snapshot
    const late = newClient([server.port], { security: alice.clientSecurity(serverCert) });
    await late.waitSynced({ timeoutMs: WAIT });
    expect(late.get("/secret")?.toString()).toBe("kept");
    expect(client.stats.handshakeFailures).toBe(0);
    expect(auth.stats.accepted).toBeGreaterThanOrEqual(6); // subscriber, snapshot and publisher of each client
    expect(auth.stats.denied).toBe(0);
  }, 120_000);

  it("a wrong server key: waitSynced() and set() reject with a HandshakeError at once, handshake-failed says which socket", async () => {
    const serverCert = ZCert.generate();
    await startAuth(); // admits nobody: the wrong key never gets as far as ZAP
    const server = await startServer({ security: serverCert.serverSecurity() });
    const r = await refusedClient(server.port, ZCert.generate().clientSecurity(ZCert.generate()));
    expect(r.synced).toBeInstanceOf(HandshakeError);
    expect(r.set).toBeInstanceOf(HandshakeError);
    expect((r.synced as HandshakeError).message).toMatch(/handshake failed/);
    expect(r.ms).toBeLessThan(SLOW_MS);
    expect(new Set(r.events.map((e) => e.socket))).toContain("publisher");
    expect(r.events.some((e) => e.socket === "subscriber" || e.socket === "snapshot")).toBe(true);
    expect(r.events.every((e) => e.error instanceof HandshakeError && e.server === endpoint(server.port))).toBe(true);
    expect(server.stats.updates).toBe(0);
  }, 120_000);

  it("a key the server's certificate store does not hold: rejected by ZAuth (status 400), counted, and reported to the client", async () => {
    const serverCert = ZCert.generate();
    const alice = ZCert.generate();
    const auth = await startAuth(alice);
    const server = await startServer({ security: serverCert.serverSecurity() });
    const r = await refusedClient(server.port, ZCert.generate({ name: "mallory" }).clientSecurity(serverCert));
    expect(r.synced).toBeInstanceOf(HandshakeError);
    expect((r.synced as HandshakeError).status).toBe(400);
    expect(r.set).toBeInstanceOf(HandshakeError);
    expect((r.set as HandshakeError).status).toBe(400);
    expect(r.ms).toBeLessThan(SLOW_MS);
    expect(auth.stats.denied).toBeGreaterThanOrEqual(2);
    expect(auth.stats.accepted).toBe(0);
    expect(server.stats.updates).toBe(0);
    // a NULL client of the CURVE server does not get in either, and says why
    const plain = newClient([server.port], { serverTtlMs: SLOW_MS, snapshotTimeoutMs: SLOW_MS });
    const err = await within(
      plain.waitSynced({ timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      WAIT,
      "the NULL client to give up",
    );
    expect(err).toBeDefined();
    expect(plain.synced).toBe(false);
  }, 120_000);

  it("a bad security option throws at construction, naming it", () => {
    const cert = ZCert.generate();
    expect(() => new CloneServer({ security: cert.clientSecurity(cert) })).toThrow(/CloneServer option security.*leave serverKey out/);
    expect(() => new CloneServer({ security: { plain: { server: true } }, bstar: { role: "primary", local: "tcp://127.0.0.1:*" } })).toThrow(/CloneServer option security must be \{ curve/);
    expect(() => newClient([1], { security: cert.serverSecurity() })).toThrow(/CloneClient option security.*serverKey is required/);
    expect(() => newClient([1], { security: { curve: { secretKey: "short", publicKey: cert.publicKey, serverKey: cert.publicKey } } })).toThrow(
      /CloneClient option security\.curve\.secretKey/,
    );
  });
});

describe("a Binary Star pair of Clone servers with CURVE", () => {
  it("both servers share one key pair: the backup follows the primary over CURVE, and takes over when it closes; a client with an allowed key follows", async () => {
    const pairCert = ZCert.generate({ name: "clone pair" });
    const alice = ZCert.generate({ name: "alice" });
    const auth = await startAuth(pairCert, alice); // the pair's own key: the backup's state subscriber and replica are clients of the primary
    const security = pairCert.serverSecurity();
    const opts = (role: "primary" | "backup") => ({ security, bstar: { role, local: "tcp://127.0.0.1:*", heartbeatIntervalMs: 500, peerTtlMs: 2000 } });
    const primary = await startServer(opts("primary"));
    const backup = await startServer(opts("backup"));
    const resynced = new Promise<void>((resolve) => backup.once("resynced", () => resolve()));
    primary.connectPeer(endpoint(backup.port), backup.stateEndpoint);
    backup.connectPeer(endpoint(primary.port), primary.stateEndpoint);
    await waitFor(() => primary.active && backup.starState === "passive", WAIT, "the primary active, the backup passive, over CURVE");
    await within(resynced, WAIT, "the backup's copy of the primary's map, over CURVE");

    const client = newClient([primary.port, backup.port], { security: alice.clientSecurity(pairCert), serverTtlMs: 2000 });
    await client.waitSynced({ timeoutMs: WAIT });
    await client.set("/a", "1");
    await waitFor(() => backup.get("/a")?.toString() === "1" && backup.stats.pending === 0, WAIT, "the update followed by the backup");
    await primary.close();
    await waitFor(() => backup.active, WAIT, "the backup to take over");
    await waitFor(() => client.synced && client.server === endpoint(backup.port), WAIT, "the client synced with the backup");
    await client.set("/b", "2");
    await waitFor(() => client.get("/b")?.toString() === "2", WAIT, "an update through the new active");
    expect(client.get("/a")?.toString()).toBe("1");
    expect(client.stats.handshakeFailures).toBe(0);
    expect(auth.stats.denied).toBe(0);
  }, 120_000);
});
