// The `security` option of Titanic and TitanicClient, over real tcp with
// CURVE: a Majordomo broker with its key pair, a ZAuth in this process that
// knows Titanic's, the echo worker's and alice's keys. A request goes
// through Titanic durably and comes back; a TitanicClient with a wrong
// broker key fails with a HandshakeError, and a Titanic whose key the
// broker refuses reports `handshake-failed` for its workers.
import { afterEach, describe, expect, it } from "vitest";
import { now } from "@zkit/core";
import { MajordomoBroker, MajordomoWorker } from "@zkit/mdp";
import { waitFor, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { Titanic, TitanicClient } from "../src/index.js";
import { HEARTBEAT_MS, WAIT_MS, cleanup, storeDir, track, workerReady } from "./helpers.js";

afterEach(cleanup);

async function securedBroker(): Promise<{ broker: MajordomoBroker; endpoint: string; brokerCert: ZCert; titanicCert: ZCert; alice: ZCert; wendy: ZCert }> {
  const brokerCert = ZCert.generate({ name: "broker" });
  const titanicCert = ZCert.generate({ name: "titanic" });
  const alice = ZCert.generate({ name: "alice" });
  const wendy = ZCert.generate({ name: "wendy" });
  const store = new ZCertStore();
  for (const c of [titanicCert, alice, wendy]) store.insert(c);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const broker = track(new MajordomoBroker({ heartbeatIntervalMs: HEARTBEAT_MS, security: brokerCert.serverSecurity() }));
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  await broker.start();
  return { broker, endpoint, brokerCert, titanicCert, alice, wendy };
}

describe("Titanic with CURVE", () => {
  it("Titanic, a worker and a client with allowed keys: a request is stored, dispatched and answered", async () => {
    const s = await securedBroker();
    const worker = track(
      new MajordomoWorker({ endpoint: s.endpoint, service: "echo", handler: (r) => r, heartbeatIntervalMs: HEARTBEAT_MS, security: s.wendy.clientSecurity(s.brokerCert) }),
    );
    await worker.start();
    await waitFor(() => s.broker.stats.workers === 1, WAIT_MS, "the CURVE echo worker to register");
    const ready = Promise.all(["titanic.request", "titanic.reply", "titanic.close"].map((svc) => workerReady(s.broker, svc)));
    const titanic = track(
      new Titanic({ endpoint: s.endpoint, dir: storeDir(), heartbeatIntervalMs: HEARTBEAT_MS, dispatchIntervalMs: 100, security: s.titanicCert.clientSecurity(s.brokerCert) }),
    );
    await titanic.start();
    await ready;
    const client = track(new TitanicClient({ endpoint: s.endpoint, security: s.alice.clientSecurity(s.brokerCert) }));
    const reply = await within(client.request("echo", "durable secret"), WAIT_MS, "the reply through Titanic");
    expect(reply.map(String)).toEqual(["durable secret"]);
  });

  it("a TitanicClient with a wrong broker key fails with a HandshakeError at once", async () => {
    const s = await securedBroker();
    const client = track(new TitanicClient({ endpoint: s.endpoint, timeoutMs: 4000, security: s.alice.clientSecurity(ZCert.generate()) }));
    const started = now();
    const err = await within(
      client.submit("echo", "x").then(
        () => undefined,
        (e: unknown) => e,
      ),
      WAIT_MS,
      "submit to fail",
    );
    expect(err).toBeInstanceOf(HandshakeError);
    expect(now() - started).toBeLessThan(4000);
  });

  it("a Titanic whose key the broker refuses reports handshake-failed with the HandshakeError (status 400)", async () => {
    const s = await securedBroker();
    const failures: { service: string; error: HandshakeError }[] = [];
    const titanic = track(new Titanic({ endpoint: s.endpoint, dir: storeDir(), heartbeatIntervalMs: HEARTBEAT_MS, security: ZCert.generate().clientSecurity(s.brokerCert) }));
    titanic.on("handshake-failed", (f) => failures.push(f));
    await titanic.start();
    // titanic.request has requestConcurrency workers: wait until every service's worker failed
    await waitFor(() => new Set(failures.map((f) => f.service)).size === 3, WAIT_MS, "a handshake failure for each titanic.* service");
    expect(new Set(failures.map((f) => f.service))).toEqual(new Set(["titanic.request", "titanic.reply", "titanic.close"]));
    expect(failures[0]!.error.status).toBe(400);
    expect(s.broker.stats.workers).toBe(0);
  });

  it("a bad security option throws at construction, naming the class", () => {
    const cert = ZCert.generate();
    expect(() => new Titanic({ endpoint: "tcp://127.0.0.1:1", dir: storeDir(), security: cert.serverSecurity() })).toThrow(/Titanic option security.*serverKey is required/);
    expect(() => new TitanicClient({ endpoint: "tcp://127.0.0.1:1", security: cert.serverSecurity() })).toThrow(/TitanicClient option security.*serverKey is required/);
  });
});
