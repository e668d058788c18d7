// The `security` option of the Paranoid Pirate queue and worker (and the Lazy
// Pirate client that talks to the queue), over real tcp with CURVE and a
// ZAuth in this process:
//
//   LazyPirateClient (alice) --CURVE--> queue frontend | backend <--CURVE-- worker (wendy)
//                                           | ZAP, during each handshake
//                                           v
//                                    ZAuth with a ZCertStore: alice, wendy
//
// Allowed keys get answers; a wrong queue key or an unknown key fails with
// a HandshakeError at once (the client's request, the worker's
// `disconnected` event), not with a timeout.
import { afterEach, describe, expect, it } from "vitest";
import { now, shutdown } from "@zkit/core";
import { closeTracked, track, waitFor, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { LazyPirateClient } from "@zkit/lpp";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "@zkit/ppp";

afterEach(async () => {
  await closeTracked();
  shutdown();
});

const WAIT_MS = 10_000;
/** What a client allows a request; a handshake failure must come well before it. */
const TIMEOUT_MS = 4000;

async function securedQueue(): Promise<{ queue: ParanoidPirateQueue; auth: ZAuth; queueCert: ZCert; alice: ZCert; wendy: ZCert }> {
  const queueCert = ZCert.generate({ name: "queue" });
  const alice = ZCert.generate({ name: "alice" });
  const wendy = ZCert.generate({ name: "wendy" });
  const store = new ZCertStore();
  store.insert(alice);
  store.insert(wendy);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const queue = track(new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", security: queueCert.serverSecurity() }));
  await queue.start();
  return { queue, auth, queueCert, alice, wendy };
}

async function failsWithHandshakeError(p: Promise<unknown>): Promise<HandshakeError> {
  const started = now();
  const err = await within(
    p.then(
      () => undefined,
      (e: unknown) => e,
    ),
    WAIT_MS,
    "the request to fail",
  );
  expect(err, `expected a HandshakeError, got ${String(err)}`).toBeInstanceOf(HandshakeError);
  expect(now() - started).toBeLessThan(TIMEOUT_MS);
  return err as HandshakeError;
}

describe("ParanoidPirateQueue and ParanoidPirateWorker with CURVE", () => {
  it("a worker and a client with allowed keys and the queue's key: requests are answered, the ZAuth accepted both", async () => {
    const s = await securedQueue();
    const worker = track(new ParanoidPirateWorker({ endpoint: s.queue.backendEndpoint, handler: (r) => r, security: s.wendy.clientSecurity(s.queueCert) }));
    await worker.start();
    await waitFor(() => s.queue.readyWorkers === 1, WAIT_MS, "the CURVE worker to be ready");
    const client = track(new LazyPirateClient({ endpoint: s.queue.frontendEndpoint, timeoutMs: TIMEOUT_MS, security: s.alice.clientSecurity(s.queueCert) }));
    for (const body of ["one", "two"]) expect((await client.request(body)).text()).toBe(body);
    expect(s.auth.stats.denied).toBe(0);
    expect(s.auth.stats.accepted).toBeGreaterThanOrEqual(2);
  });

  it("a client with a wrong queue key or an unknown key: the request fails with a HandshakeError, not after its retries", async () => {
    const s = await securedQueue();
    const wrongKey = track(new LazyPirateClient({ endpoint: s.queue.frontendEndpoint, timeoutMs: TIMEOUT_MS, retries: 3, security: s.alice.clientSecurity(ZCert.generate()) }));
    await failsWithHandshakeError(wrongKey.request("x"));
    expect(wrongKey.stats.retries).toBe(0);
    const unknown = track(new LazyPirateClient({ endpoint: s.queue.frontendEndpoint, timeoutMs: TIMEOUT_MS, security: ZCert.generate().clientSecurity(s.queueCert) }));
    expect((await failsWithHandshakeError(unknown.request("y"))).status).toBe(400);
  });

  it("a worker with a wrong queue key or an unknown key: `disconnected` with reason handshake and the HandshakeError; it is never ready", async () => {
    const s = await securedQueue();
    for (const [cert, serverKey, status] of [
      [s.wendy, ZCert.generate(), undefined],
      [ZCert.generate({ name: "mallory" }), s.queueCert, 400],
    ] as const) {
      const worker = track(new ParanoidPirateWorker({ endpoint: s.queue.backendEndpoint, handler: (r) => r, security: cert.clientSecurity(serverKey) }));
      const events: { reason: string; error?: HandshakeError }[] = [];
      worker.on("disconnected", (e) => events.push(e));
      await worker.start();
      await waitFor(() => events.length > 0, WAIT_MS, "the worker's disconnected event");
      expect(events[0]!.reason).toBe("handshake");
      expect(events[0]!.error).toBeInstanceOf(HandshakeError);
      if (status !== undefined) expect(events[0]!.error!.status).toBe(status);
      expect(s.queue.workerCount).toBe(0);
      await worker.close();
    }
  });

  it("a bad security option throws at construction, naming the class", () => {
    const cert = ZCert.generate();
    expect(() => new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", security: cert.clientSecurity(cert) })).toThrow(
      /ParanoidPirateQueue option security.*leave serverKey out/,
    );
    expect(() => new ParanoidPirateWorker({ endpoint: "tcp://127.0.0.1:1", security: cert.serverSecurity() })).toThrow(/ParanoidPirateWorker option security.*serverKey is required/);
  });
});
