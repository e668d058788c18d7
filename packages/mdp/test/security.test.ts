// The `security` option of the broker, the worker and both clients, over
// real tcp with CURVE and a ZAuth in this process:
//
//   client (alice's key) --CURVE--> broker (its key pair) <--CURVE-- worker (wendy's key)
//                                      | ZAP, during each handshake
//                                      v
//                               ZAuth with a ZCertStore: alice, wendy
//
// Allowed keys get answers; a wrong broker key or a key the store does not
// hold fails with a HandshakeError at once (the request's error, the
// worker's `disconnected` event), never with a timeout that looks like
// "broker down".
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, now } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { MajordomoAsyncClient, MajordomoBroker, MajordomoClient, MajordomoWorker } from "../src/index.js";
import { WAIT_MS, cleanup, startBroker, track } from "./helpers.js";

afterEach(cleanup);

/** What a client allows a request; a handshake failure must come well before it. */
const TIMEOUT_MS = 4000;

interface Setup {
  endpoint: string;
  broker: MajordomoBroker;
  auth: ZAuth;
  brokerCert: ZCert;
  alice: ZCert;
  wendy: ZCert;
}

async function securedBroker(): Promise<Setup> {
  const brokerCert = ZCert.generate({ name: "broker" });
  const alice = ZCert.generate({ name: "alice" });
  const wendy = ZCert.generate({ name: "wendy" });
  const store = new ZCertStore();
  store.insert(alice);
  store.insert(wendy);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const { broker, endpoint } = await startBroker({ security: brokerCert.serverSecurity() });
  return { endpoint, broker, auth, brokerCert, alice, wendy };
}

function echoWorker(endpoint: string, cert: ZCert, serverKey: ZCert | string): MajordomoWorker {
  return track(new MajordomoWorker({ endpoint, service: "echo", handler: (r) => r, security: cert.clientSecurity(serverKey) }));
}

/** Awaits `p`'s rejection, which must be a HandshakeError, in less than the request's timeout. */
async function handshakeFailure(p: Promise<unknown>): Promise<HandshakeError> {
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

describe("MDP with CURVE", () => {
  it("a worker and both clients with allowed keys and the broker's key get answers; the broker's ZAuth accepted each", async () => {
    const s = await securedBroker();
    const worker = echoWorker(s.endpoint, s.wendy, s.brokerCert);
    await worker.start();
    await waitFor(() => s.broker.stats.workers === 1, WAIT_MS, "the CURVE worker to register");
    const client = track(new MajordomoClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, security: s.alice.clientSecurity(s.brokerCert) }));
    expect((await client.request("echo", "secret hello")).text()).toBe("secret hello");
    const async = track(new MajordomoAsyncClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, security: s.alice.clientSecurity(s.brokerCert.publicKey) }));
    const replies = await Promise.all([1, 2, 3].map((i) => async.request("echo", `n${i}`)));
    expect(replies.map((r) => r.text())).toEqual(["n1", "n2", "n3"]);
    expect(s.auth.stats.denied).toBe(0);
    expect(s.auth.stats.accepted).toBeGreaterThanOrEqual(3);
  });

  it("a client with a wrong broker key: the request fails with a HandshakeError at once, not after its retries", async () => {
    const s = await securedBroker();
    const impostor = ZCert.generate();
    const client = track(new MajordomoClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, retries: 3, security: s.alice.clientSecurity(impostor) }));
    const err = await handshakeFailure(client.request("echo", "x"));
    expect(err.code).toBe("ZKIT_HANDSHAKE");
    expect(err.message).toMatch(/handshake failed/);
    expect(client.stats.timeouts).toBe(0);
    const async = track(new MajordomoAsyncClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, security: s.alice.clientSecurity(impostor) }));
    await handshakeFailure(async.request("echo", "y"));
    expect(async.stats).toMatchObject({ timeouts: 0, sockets: 0, inFlight: 0 });
  });

  it("a client whose key the broker's store does not hold: refused by ZAP (status 400), counted by the ZAuth", async () => {
    const s = await securedBroker();
    const mallory = ZCert.generate({ name: "mallory" });
    const client = track(new MajordomoClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, security: mallory.clientSecurity(s.brokerCert) }));
    const err = await handshakeFailure(client.request("echo", "x"));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/refused our credentials/);
    const async = track(new MajordomoAsyncClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS, security: mallory.clientSecurity(s.brokerCert) }));
    expect((await handshakeFailure(async.request("echo", "y"))).status).toBe(400);
    expect(s.auth.stats.denied).toBeGreaterThanOrEqual(2);
  });

  it("a worker with a wrong broker key or an unknown key: `disconnected` with reason handshake and the HandshakeError; it never registers", async () => {
    const s = await securedBroker();
    for (const [cert, serverKey, status] of [
      [s.wendy, ZCert.generate(), undefined],
      [ZCert.generate({ name: "mallory" }), s.brokerCert, 400],
    ] as const) {
      const worker = echoWorker(s.endpoint, cert, serverKey);
      const events: { reason: string; error?: HandshakeError }[] = [];
      worker.on("disconnected", (e) => events.push(e));
      await worker.start();
      await waitFor(() => events.length > 0, WAIT_MS, "the worker's disconnected event");
      expect(events[0]!.reason).toBe("handshake");
      expect(events[0]!.error).toBeInstanceOf(HandshakeError);
      if (status !== undefined) expect(events[0]!.error!.status).toBe(status);
      expect(s.broker.stats.workers).toBe(0);
      await worker.close();
    }
  });

  it("a bad security option throws at construction, naming the class and what to pass", () => {
    const cert = ZCert.generate();
    expect(() => new MajordomoBroker({ security: cert.clientSecurity(cert) })).toThrow(/MajordomoBroker option security.*leave serverKey out/);
    expect(() => new MajordomoClient({ endpoint: "tcp://127.0.0.1:1", security: cert.serverSecurity() })).toThrow(/MajordomoClient option security.*serverKey is required/);
    expect(() => new MajordomoAsyncClient({ endpoint: "tcp://127.0.0.1:1", security: { curve: { secretKey: "short", publicKey: cert.publicKey, serverKey: cert.publicKey } } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new MajordomoWorker({ endpoint: "tcp://127.0.0.1:1", service: "echo", security: { tls: true } as never })).toThrow(
      /MajordomoWorker option security must have exactly one of curve or plain/,
    );
  });
});
