// The `security` option of LazyPirateClient, over real tcp with CURVE: an
// echo server (a REP socket with the server's key pair) and a ZAuth in
// this process that knows alice's key. Alice gets her echo; a wrong server
// key or an unknown key fails the request with a HandshakeError at once,
// where without the guard it would end in RetriesExhaustedError ("server
// seems to be offline"), the complaint users raise about libzmq.
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, now, shutdown } from "@zkit/core";
import { closeTracked, track, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore, securitySocketOptions } from "@zkit/security";
import { LazyPirateClient, RetriesExhaustedError } from "@zkit/lpp";

afterEach(async () => {
  await closeTracked();
  shutdown();
});

const WAIT_MS = 10_000;
const TIMEOUT_MS = 1500;

async function securedEcho(): Promise<{ endpoint: string; serverCert: ZCert; alice: ZCert; auth: ZAuth }> {
  const serverCert = ZCert.generate({ name: "server" });
  const alice = ZCert.generate({ name: "alice" });
  const store = new ZCertStore();
  store.insert(alice);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const rep = track(new ZSocket("REP", { ...securitySocketOptions(serverCert.serverSecurity(), { role: "server" }), linger: 0 }));
  const endpoint = await rep.bind("tcp://127.0.0.1:*");
  void (async () => {
    for await (const msg of rep) await rep.send(msg);
  })().catch(() => {});
  return { endpoint, serverCert, alice, auth };
}

describe("LazyPirateClient with CURVE", () => {
  it("an allowed key and the server's key: the echo comes back", async () => {
    const s = await securedEcho();
    const client = track(new LazyPirateClient({ endpoint: s.endpoint, timeoutMs: WAIT_MS, security: s.alice.clientSecurity(s.serverCert) }));
    expect((await client.request("hello")).text()).toBe("hello");
    expect(s.auth.stats.accepted).toBe(1);
  });

  it("a wrong server key or an unknown key: HandshakeError within the first attempt, never RetriesExhaustedError", async () => {
    const s = await securedEcho();
    for (const [security, status] of [
      [s.alice.clientSecurity(ZCert.generate()), undefined],
      [ZCert.generate().clientSecurity(s.serverCert), 400],
    ] as const) {
      const client = track(new LazyPirateClient({ endpoint: s.endpoint, timeoutMs: TIMEOUT_MS * 2, retries: 3, security }));
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
      expect(err).not.toBeInstanceOf(RetriesExhaustedError);
      if (status !== undefined) expect((err as HandshakeError).status).toBe(status);
      expect(now() - started).toBeLessThan(TIMEOUT_MS * 2);
      expect(client.stats.retries).toBe(0);
    }
  });

  it("a bad security option throws at construction, naming the client", () => {
    const cert = ZCert.generate();
    expect(() => new LazyPirateClient({ endpoint: "tcp://127.0.0.1:1", security: cert.serverSecurity() })).toThrow(/LazyPirateClient option security.*serverKey is required/);
  });
});
