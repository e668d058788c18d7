// The `security` option of the Freelance server and the three clients
// (models 1, 2 and 3), over real tcp with CURVE and a ZAuth in this
// process that knows alice's key (REP servers for models 1 and 2, as the
// Guide's flserver1 and flserver2). Two servers share one key pair, so a
// client has one server key for both. Alice is answered by every model; a
// wrong server key or an unknown key fails with a HandshakeError at once,
// where without it a Freelance client would report "no server answered".
import { afterEach, describe, expect, it } from "vitest";
import { ZSocket, now, shutdown } from "@zkit/core";
import { closeTracked, track, waitFor, within } from "@zkit/testkit";
import { HandshakeError, ZAuth, ZCert, ZCertStore, securitySocketOptions, type SecurityOptions } from "@zkit/security";
import { FailoverClient, FreelanceClient, FreelanceServer, ShotgunClient } from "../src/index.js";
import { ANY } from "./helpers.js";

afterEach(async () => {
  await closeTracked();
  shutdown();
});

const WAIT_MS = 15_000;
const TIMEOUT_MS = 4000;

/**
 * Two servers with one CURVE key pair and a ZAuth that knows alice: 10/FLP
 * FreelanceServers for model 3, REP sockets (the Guide's flserver1 and
 * flserver2) for models 1 and 2. Each answers with its tag.
 */
async function securedServers(model: 1 | 2 | 3): Promise<{ endpoints: string[]; serverCert: ZCert; alice: ZCert; auth: ZAuth }> {
  const serverCert = ZCert.generate({ name: "servers" });
  const alice = ZCert.generate({ name: "alice" });
  const store = new ZCertStore();
  store.insert(alice);
  const auth = track(new ZAuth({ certStore: store }));
  await auth.start();
  const endpoints: string[] = [];
  for (const tag of ["s1", "s2"]) {
    if (model === 3) {
      const s = track(new FreelanceServer({ bind: ANY, handler: (req) => [tag, ...req], closeOnInterrupt: false, security: serverCert.serverSecurity() }));
      await s.start();
      endpoints.push(s.endpoint);
      continue;
    }
    const rep = track(new ZSocket("REP", { ...securitySocketOptions(serverCert.serverSecurity(), { role: "server" }), linger: 0 }));
    endpoints.push(await rep.bind(ANY));
    void (async () => {
      // model 2 sends [sequence][body] and wants [sequence][reply] back
      for await (const req of rep) await rep.send(model === 2 ? [req[0]!, Buffer.from(tag)] : [tag]).catch(() => {});
    })().catch(() => {});
  }
  return { endpoints, serverCert, alice, auth };
}

type AnyClient = { request(body: string): Promise<{ text(): string }> };
const models: [string, 1 | 2 | 3, (endpoints: string[], security: SecurityOptions) => AnyClient][] = [
  ["FailoverClient (model 1)", 1, (endpoints, security) => track(new FailoverClient({ endpoints, timeoutMs: TIMEOUT_MS, closeOnInterrupt: false, security }))],
  ["ShotgunClient (model 2)", 2, (endpoints, security) => track(new ShotgunClient({ endpoints, timeoutMs: TIMEOUT_MS, closeOnInterrupt: false, security }))],
  ["FreelanceClient (model 3)", 3, (endpoints, security) => track(new FreelanceClient({ endpoints, timeoutMs: TIMEOUT_MS, closeOnInterrupt: false, security }))],
];

describe.each(models)("%s with CURVE", (_name, model, make) => {
  it("an allowed key and the servers' key: answered by one of the servers", async () => {
    const s = await securedServers(model);
    const client = make(s.endpoints, s.alice.clientSecurity(s.serverCert));
    const reply = await within(client.request("hello"), WAIT_MS, "the reply");
    expect(reply.text()).toMatch(/^s[12]$/);
    expect(s.auth.stats.denied).toBe(0);
  });

  it("a wrong server key or an unknown key: HandshakeError before the request's timeout", async () => {
    const s = await securedServers(model);
    for (const [security, status] of [
      [s.alice.clientSecurity(ZCert.generate()), undefined],
      [ZCert.generate().clientSecurity(s.serverCert), 400],
    ] as const) {
      const client = make(s.endpoints, security);
      const started = now();
      const err = await within(
        client.request("x").then(
          () => undefined,
          (e: unknown) => e,
        ),
        WAIT_MS,
        "the request to fail",
      );
      expect(err, `expected a HandshakeError, got ${String(err)}`).toBeInstanceOf(HandshakeError);
      if (status !== undefined) expect((err as HandshakeError).status).toBe(status);
      expect(now() - started).toBeLessThan(TIMEOUT_MS);
    }
  });
});

describe("FreelanceServer and FreelanceClient security options", () => {
  it("FreelanceClient reports each failed handshake as handshake-failed, per server", async () => {
    const s = await securedServers(3);
    const client = track(new FreelanceClient({ endpoints: s.endpoints, closeOnInterrupt: false, security: s.alice.clientSecurity(ZCert.generate()) }));
    const failed = new Set<string>();
    client.on("handshake-failed", ({ endpoint, error }) => {
      expect(error).toBeInstanceOf(HandshakeError);
      failed.add(endpoint);
    });
    await client.start();
    await waitFor(() => failed.size === 2, WAIT_MS, "a failure from both servers");
    expect([...failed].sort()).toEqual([...s.endpoints].sort());
  });

  it("a bad security option throws at construction, naming the class", () => {
    const cert = ZCert.generate();
    expect(() => new FreelanceServer({ bind: ANY, handler: (r) => r, security: cert.clientSecurity(cert) })).toThrow(/FreelanceServer option security.*leave serverKey out/);
    for (const C of [FailoverClient, ShotgunClient, FreelanceClient]) {
      expect(() => new C({ endpoints: ["tcp://127.0.0.1:1"], security: cert.serverSecurity() })).toThrow(new RegExp(`${C.name} option security.*serverKey is required`));
    }
  });
});
