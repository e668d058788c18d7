// The `security` option of BinaryStar and BinaryStarClient, over real tcp
// with CURVE and a ZAuth in this process whose store holds the pair's
// public key (the state link between the servers is CURVE too, the
// subscriber a client with the pair's key) and alice's:
//
//   primary (pair key) <==CURVE states==> backup (pair key)
//        ^ voter, CURVE
//   BinaryStarClient (alice, serverKey = pair key)
//
// The pair finds itself over CURVE (active/passive), alice's request is
// answered; a wrong server key or an unknown key fails with a
// HandshakeError at once, not after failing over back and forth.
import { afterEach, describe, expect, it } from "vitest";
import { now } from "@zkit/core";
import { within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore } from "@zkit/security";
import { BinaryStar, BinaryStarClient } from "../src/index.js";
import { WAIT_MS, cleanup, startPair, track } from "./helpers.js";

afterEach(cleanup);

const TIMEOUT_MS = 4000;

async function securedPair(): Promise<{ primary: BinaryStar; backup: BinaryStar; pairCert: ZCert; alice: ZCert; auth: ZAuth }> {
  const pairCert = ZCert.generate({ name: "pair" });
  const alice = ZCert.generate({ name: "alice" });
  const store = new ZCertStore();
  store.insert(ZCert.fromKeys(pairCert.publicKey)); // the peer's subscriber: the public half is enough
  store.insert(alice);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const security = pairCert.serverSecurity();
  const { primary, backup } = await startPair({ primary: { security }, backup: { security } });
  return { primary, backup, pairCert, alice, auth };
}

describe("BinaryStar with CURVE", () => {
  it("the pair finds itself over a CURVE state link, and a client with an allowed key is answered by the active server", async () => {
    const s = await securedPair();
    expect(s.primary.starState).toBe("active");
    expect(s.backup.starState).toBe("passive");
    const client = track(
      new BinaryStarClient({ servers: [s.primary.voterEndpoint, s.backup.voterEndpoint], timeoutMs: TIMEOUT_MS, closeOnInterrupt: false, security: s.alice.clientSecurity(s.pairCert) }),
    );
    expect((await within(client.request("secret"), WAIT_MS, "the reply")).text()).toBe("secret");
    expect(s.auth.stats.denied).toBe(0);
  });

  it("a client with a wrong server key or an unknown key: HandshakeError at once, no failover", async () => {
    const s = await securedPair();
    for (const [security, status] of [
      [s.alice.clientSecurity(ZCert.generate()), undefined],
      [ZCert.generate().clientSecurity(s.pairCert), 400],
    ] as const) {
      const client = track(new BinaryStarClient({ servers: [s.primary.voterEndpoint, s.backup.voterEndpoint], timeoutMs: TIMEOUT_MS, retries: 3, closeOnInterrupt: false, security }));
      const started = now();
      const err = await within(
        client.request("x").then(
          () => undefined,
          (e: unknown) => e,
        ),
        WAIT_MS,
        "the request to fail",
      );
      expect(err).toBeInstanceOf(HandshakeError);
      if (status !== undefined) expect((err as HandshakeError).status).toBe(status);
      expect(now() - started).toBeLessThan(TIMEOUT_MS);
      expect(client.stats.failovers).toBe(0);
    }
  });

  it("a bad security option throws at construction: a client configuration, or PLAIN, on a server", () => {
    const cert = ZCert.generate();
    const base = { role: "primary" as const, local: "tcp://127.0.0.1:*", voter: "tcp://127.0.0.1:*", handler: (r: Buffer[]) => r, closeOnInterrupt: false };
    expect(() => new BinaryStar({ ...base, security: cert.clientSecurity(cert) })).toThrow(/BinaryStar option security.*leave serverKey out/);
    expect(() => new BinaryStar({ ...base, security: { plain: { server: true } } })).toThrow(/BinaryStar option security must be \{ curve/);
    expect(() => new BinaryStarClient({ servers: ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"], security: cert.serverSecurity() })).toThrow(
      /BinaryStarClient option security.*serverKey is required/,
    );
  });
});
