// ZAuth over real sockets. Sketch of every dialogue here:
//
//   client REQ --tcp, CURVE/PLAIN handshake--> server REP
//                                                 | libzmq asks, during the handshake
//                                                 v
//                                 ZAuth ROUTER @ inproc://zeromq.zap.01
//
// Accepted clients get their echo; refused ones (unknown key, revoked key,
// wrong server key, wrong password, denied address) get a HandshakeError
// from HandshakeGuard well within their request timeout, and ZAuth counts
// each decision with its reason. Then malformed ZAP requests sent straight
// to the handler, and the lifecycle.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClosedError, ErrorCode, ZSocket, ZkitError, now } from "@zkit/core";
import { closeTracked, tempDir, track, waitFor, within } from "@zkit/testkit";
import { HandshakeError, HandshakeGuard, ZAP_ENDPOINT, ZAuth, ZCert, ZCertStore, securitySocketOptions, type SecurityOptions, type ZAuthDecision, type ZAuthOptions } from "../src/index.js";
import { DEADLINE_MS } from "./helpers.js";

/** What a client allows a request before it calls the server down; a handshake failure must come well within it. */
const REQUEST_TIMEOUT_MS = 5000;

let tmp: { dir: string; remove: () => void };
beforeEach(() => {
  tmp = tempDir("zkit-auth-");
});
afterEach(async () => {
  await closeTracked();
  tmp.remove();
});

interface Decisions {
  accepted: ZAuthDecision[];
  denied: ZAuthDecision[];
}

async function startAuth(options: ZAuthOptions): Promise<{ auth: ZAuth } & Decisions> {
  const auth = track(new ZAuth(options));
  const accepted: ZAuthDecision[] = [];
  const denied: ZAuthDecision[] = [];
  auth.on("accepted", (d) => accepted.push(d));
  auth.on("denied", (d) => denied.push(d));
  await auth.start();
  return { auth, accepted, denied };
}

/** A REP echo server with `security`, on tcp://127.0.0.1:*. */
async function echoServer(security: SecurityOptions): Promise<string> {
  const rep = track(new ZSocket("REP", securitySocketOptions(security, { role: "server" })));
  const endpoint = await rep.bind("tcp://127.0.0.1:*");
  void (async () => {
    for await (const msg of rep) await rep.send(msg);
  })();
  return endpoint;
}

/**
 * One request from a new client with `security`, guarded: resolves with the
 * echo, or rejects with the HandshakeError, or with a timeout after
 * REQUEST_TIMEOUT_MS (which a test then reports as the failure it is).
 */
async function request(endpoint: string, security: SecurityOptions, connectTo = endpoint): Promise<string> {
  const req = track(new ZSocket("REQ", { ...securitySocketOptions(security, { role: "client" }), linger: 0 }));
  const guard = new HandshakeGuard(req);
  track(guard);
  req.connect(connectTo);
  await req.send("ping");
  const reply = await within(guard.race(req.receive()), REQUEST_TIMEOUT_MS, `a reply or a handshake error from ${endpoint}`);
  return String(reply[0]);
}

async function refusal(p: Promise<unknown>): Promise<HandshakeError> {
  const started = now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the request must fail with a HandshakeError").toBeInstanceOf(HandshakeError);
  expect((err as HandshakeError).code).toBe("ZKIT_HANDSHAKE");
  expect(now() - started).toBeLessThan(REQUEST_TIMEOUT_MS);
  return err as HandshakeError;
}

describe("ZAuth with CURVE and a certificate store", () => {
  it("accepts a client whose key is in the store, with its key as user id; refuses an unknown key with 400", async () => {
    const serverCert = ZCert.generate({ name: "server" });
    const alice = ZCert.generate({ name: "alice" });
    const mallory = ZCert.generate({ name: "mallory" });
    await alice.savePublic(join(tmp.dir, "alice.key"));
    const store = track(await ZCertStore.open(tmp.dir));
    const { auth, accepted, denied } = await startAuth({ certStore: store });
    const endpoint = await echoServer(serverCert.serverSecurity());

    expect(await request(endpoint, alice.clientSecurity(serverCert))).toBe("ping");
    expect(accepted).toEqual([{ mechanism: "CURVE", address: "127.0.0.1", domain: "", user: alice.publicKey, reason: "cert-store", status: "200" }]);

    const err = await refusal(request(endpoint, mallory.clientSecurity(serverCert)));
    expect(err.status).toBe(400);
    expect(err.event).toBe("handshake-failed-auth");
    expect(err.message).toMatch(/refused our credentials \(ZAP status 400.*CURVE public key is not in its certificate store/);
    await waitFor(() => denied.length >= 1, DEADLINE_MS, "the denial to be reported");
    expect(denied[0]).toMatchObject({ mechanism: "CURVE", user: mallory.publicKey, reason: "unknown-key", status: "400" });
    expect(auth.stats).toMatchObject({ accepted: 1, byReason: { "cert-store": 1, "unknown-key": denied.length } });
  });

  it("a key revoked by removing its file: the store notices, new connections are refused, without a restart", async () => {
    const serverCert = ZCert.generate();
    const bob = ZCert.generate({ name: "bob" });
    await bob.savePublic(join(tmp.dir, "bob.key"));
    const store = track(await ZCertStore.open(tmp.dir));
    const { denied } = await startAuth({ certStore: store });
    const endpoint = await echoServer(serverCert.serverSecurity());
    expect(await request(endpoint, bob.clientSecurity(serverCert))).toBe("ping");

    rmSync(join(tmp.dir, "bob.key"));
    await waitFor(() => !store.has(bob.publicKey), DEADLINE_MS, "the store to notice the removed file");
    await refusal(request(endpoint, bob.clientSecurity(serverCert)));
    await waitFor(() => denied.some((d) => d.user === bob.publicKey && d.reason === "unknown-key"), DEADLINE_MS, "the revoked key's denial");

    // and trusted again when the file comes back
    await bob.savePublic(join(tmp.dir, "bob.key"));
    await waitFor(() => store.has(bob.publicKey), DEADLINE_MS, "the store to notice the restored file");
    expect(await request(endpoint, bob.clientSecurity(serverCert))).toBe("ping");
  });

  it("a client with the wrong server key gets a HandshakeError that names it; ZAuth is never asked", async () => {
    const serverCert = ZCert.generate();
    const impostor = ZCert.generate();
    const carol = ZCert.generate();
    const { auth } = await startAuth({ curveAllowAny: true });
    const endpoint = await echoServer(serverCert.serverSecurity());
    const err = await refusal(request(endpoint, carol.clientSecurity(impostor)));
    expect(["handshake-failed-no-detail", "handshake-failed-protocol"]).toContain(err.event);
    expect(err.message).toMatch(/server key/);
    expect(auth.stats.requests).toBe(0);
    // with the right key, allow-any lets anyone with the server's key in
    expect(await request(endpoint, carol.clientSecurity(serverCert))).toBe("ping");
    expect(auth.stats.byReason["allow-any"]).toBe(1);
  });

  it("an authorize callback decides: sync yes, async no, a throw or no answer is a 500; after the store", async () => {
    const serverCert = ZCert.generate();
    const [inStore, yes, no, boom, slow] = [1, 2, 3, 4, 5].map(() => ZCert.generate()) as [ZCert, ZCert, ZCert, ZCert, ZCert];
    const store = new ZCertStore();
    store.insert(inStore);
    const asked: string[] = [];
    const { denied } = await startAuth({
      certStore: store,
      authorizeTimeoutMs: 300,
      authorize: (key, address) => {
        asked.push(`${key === yes.publicKey ? "yes" : key === no.publicKey ? "no" : key === boom.publicKey ? "boom" : "slow"} ${address}`);
        if (key === yes.publicKey) return true;
        if (key === no.publicKey) return Promise.resolve(false);
        if (key === boom.publicKey) throw new Error("directory service down");
        return new Promise<boolean>(() => {}); // never answers
      },
    });
    const endpoint = await echoServer(serverCert.serverSecurity());
    expect(await request(endpoint, inStore.clientSecurity(serverCert))).toBe("ping");
    expect(asked).toEqual([]); // the store answered first
    expect(await request(endpoint, yes.clientSecurity(serverCert))).toBe("ping");
    expect((await refusal(request(endpoint, no.clientSecurity(serverCert)))).status).toBe(400);
    expect((await refusal(request(endpoint, boom.clientSecurity(serverCert)))).status).toBe(500);
    expect((await refusal(request(endpoint, slow.clientSecurity(serverCert)))).message).toMatch(/ZAP status 500, internal error/);
    expect(asked.map((a) => a.split(" ")[0])).toEqual(expect.arrayContaining(["yes", "no", "boom", "slow"]));
    expect(asked.every((a) => a.endsWith(" 127.0.0.1"))).toBe(true);
    await waitFor(() => denied.length >= 3, DEADLINE_MS, "three denials");
    expect(new Set(denied.map((d) => d.reason))).toEqual(new Set(["authorize-refused", "authorize-failed", "authorize-timeout"]));
  });
});

describe("ZAuth with PLAIN and addresses", () => {
  it("refuses a wrong PLAIN password and notices a changed password file without a restart", async () => {
    const file = join(tmp.dir, "passwords");
    writeFileSync(file, "# CZMQ's format\nadmin=secret\nnot a user line\n");
    const { auth, denied } = await startAuth({ passwords: file });
    const endpoint = await echoServer({ plain: { server: true } });
    expect(await request(endpoint, { plain: { username: "admin", password: "secret" } })).toBe("ping");
    const err = await refusal(request(endpoint, { plain: { username: "admin", password: "guess" } }));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/PLAIN user name or password is wrong/);
    await refusal(request(endpoint, { plain: { username: "root", password: "secret" } }));
    await waitFor(() => denied.length >= 2, DEADLINE_MS, "two denials");
    expect(denied.map((d) => d.reason)).toEqual(["wrong-password", "unknown-user"]);

    writeFileSync(file, "admin=rotated\n"); // a new password, no restart
    await refusal(request(endpoint, { plain: { username: "admin", password: "secret" } }));
    expect(await request(endpoint, { plain: { username: "admin", password: "rotated" } })).toBe("ping");
    expect(auth.stats.passwordLoads).toBe(2);
  });

  it("refuses a denied address, then only the allowed one (two loopback addresses, 127.0.0.1 and 127.0.0.2)", async () => {
    const serverCert = ZCert.generate();
    const client = ZCert.generate();
    const { auth, denied } = await startAuth({ curveAllowAny: true, deny: ["127.0.0.2"] });
    const endpoint = await echoServer(serverCert.serverSecurity());
    const port = endpoint.split(":").pop()!;
    const from2 = `tcp://127.0.0.2:0;127.0.0.1:${port}`; // libzmq's source-address syntax: connect from 127.0.0.2
    const security = client.clientSecurity(serverCert);

    expect(await request(endpoint, security)).toBe("ping"); // from 127.0.0.1
    const err = await refusal(request(endpoint, security, from2));
    expect(err.status).toBe(400);
    await waitFor(() => denied.length >= 1, DEADLINE_MS, "the denial");
    expect(denied[0]).toMatchObject({ address: "127.0.0.2", reason: "address-denied" });

    // an allow list: only 127.0.0.2 now; the deny list is ignored while it is set, as in CZMQ
    auth.allow("127.0.0.2");
    expect(await request(endpoint, security, from2)).toBe("ping");
    await refusal(request(endpoint, security));
    await waitFor(() => denied.some((d) => d.reason === "address-not-allowed" && d.address === "127.0.0.1"), DEADLINE_MS, "127.0.0.1 refused");
    auth.forget("127.0.0.2");
    expect(auth.allowed).toEqual([]);
    expect(await request(endpoint, security)).toBe("ping");
  });

  it("asks about NULL connections when the server sets a ZAP domain, and reports the domain", async () => {
    const { accepted, denied } = await startAuth({ deny: ["127.0.0.2"] });
    const rep = track(new ZSocket("REP", { zapDomain: "internal" }));
    const endpoint = await rep.bind("tcp://127.0.0.1:*");
    void (async () => {
      for await (const msg of rep) await rep.send(msg);
    })();
    const req = track(new ZSocket("REQ", { linger: 0 }));
    req.connect(endpoint);
    await req.send("x");
    expect(String((await within(req.receive(), DEADLINE_MS, "the NULL echo"))[0])).toBe("x");
    expect(accepted).toEqual([{ mechanism: "NULL", address: "127.0.0.1", domain: "internal", user: undefined, reason: "null", status: "200" }]);
    const from2 = new ZSocket("REQ", { linger: 0 });
    track(from2);
    const guard = track(new HandshakeGuard(from2));
    from2.connect(`tcp://127.0.0.2:0;127.0.0.1:${endpoint.split(":").pop()}`);
    await expect(guard.handshake(DEADLINE_MS)).rejects.toBeInstanceOf(HandshakeError);
    expect(denied[0]).toMatchObject({ mechanism: "NULL", domain: "internal", reason: "address-denied" });
    expect(guard.counts.failed).toBeGreaterThanOrEqual(1);
  });
});

describe("HandshakeGuard", () => {
  it("rejects at once while a failure stands; when the server comes back with the key the client expects, a handshake succeeds and clears it", async () => {
    const oldKey = ZCert.generate();
    const newKey = ZCert.generate();
    const erin = ZCert.generate();
    await startAuth({ curveAllowAny: true });
    // the server still runs with its old key; the client was given the new one
    const old = track(new ZSocket("REP", { ...securitySocketOptions(oldKey.serverSecurity()), linger: 0 }));
    const endpoint = await old.bind("tcp://127.0.0.1:*");
    const req = track(new ZSocket("REQ", { ...securitySocketOptions(erin.clientSecurity(newKey)), reconnectInterval: 50, linger: 0 }));
    const guard = track(new HandshakeGuard(req));
    req.connect(endpoint);
    const err = await guard.handshake(DEADLINE_MS).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HandshakeError);
    expect(guard.failure).toBe(err);
    await expect(guard.race(new Promise(() => {}))).rejects.toBe(err); // a failure that stands rejects at once

    // the server restarts with the new key on the same endpoint; libzmq reconnects by itself
    old.close({ lingerMs: 0 });
    const fresh = track(new ZSocket("REP", securitySocketOptions(newKey.serverSecurity())));
    await waitFor(
      async () =>
        fresh.bind(endpoint).then(
          () => true,
          () => false,
        ),
      DEADLINE_MS,
      `a rebind of ${endpoint}`,
    );
    await waitFor(() => guard.failure === undefined, DEADLINE_MS, "a successful handshake to clear the failure");
    await req.send("after");
    expect(String((await within(fresh.receive(), DEADLINE_MS, "the request"))[0])).toBe("after");
    expect(guard.counts.succeeded).toBeGreaterThanOrEqual(1);
    expect(guard.counts.failed).toBeGreaterThanOrEqual(1);
  });

  it("a CURVE client of a server without security, and a PLAIN client of a CURVE server: a mechanism mismatch, named", async () => {
    const serverCert = ZCert.generate();
    const client = ZCert.generate();
    const plain = track(new ZSocket("REP"));
    const plainEndpoint = await plain.bind("tcp://127.0.0.1:*");
    const curve = track(new ZSocket("REP", securitySocketOptions(serverCert.serverSecurity())));
    const curveEndpoint = await curve.bind("tcp://127.0.0.1:*");
    for (const [endpoint, security] of [
      [plainEndpoint, client.clientSecurity(serverCert)],
      [curveEndpoint, { plain: { username: "admin", password: "secret" } }],
    ] as const) {
      const req = track(new ZSocket("REQ", { ...securitySocketOptions(security), linger: 0 }));
      const guard = track(new HandshakeGuard(req));
      req.connect(endpoint);
      await expect(guard.handshake(DEADLINE_MS)).rejects.toMatchObject({
        event: "handshake-failed-protocol",
        reason: "ERR_ZMTP_MECHANISM_MISMATCH",
        message: expect.stringMatching(/another security mechanism.*give both sides the same security option/),
      });
    }
  });

  it("a client refused by ZAP is never reconnected by libzmq: without the guard it would wait forever", async () => {
    const serverCert = ZCert.generate();
    const frank = ZCert.generate();
    const { auth } = await startAuth({ certStore: new ZCertStore() });
    const endpoint = await echoServer(serverCert.serverSecurity());
    const req = track(new ZSocket("REQ", { ...securitySocketOptions(frank.clientSecurity(serverCert)), reconnectInterval: 50, linger: 0 }));
    const reported: HandshakeError[] = [];
    const guard = track(new HandshakeGuard(req, { onFailure: (err) => reported.push(err) }));
    req.connect(endpoint);
    await expect(guard.handshake(DEADLINE_MS)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/does not reconnect a refused socket/) });
    expect(auth.stats.denied).toBe(1); // asked once: no reconnection asked again
    expect(reported).toEqual([guard.failure]); // onFailure heard it as it happened, once
  });
});

describe("malformed ZAP requests", () => {
  it("are answered 400 or 500 as 27/ZAP allows, dropped when they cannot be answered, counted, and never stop the handler", async () => {
    const malformed: { problem: string; answered: boolean }[] = [];
    const { auth } = await startAuth({ passwords: { admin: "secret" } });
    auth.on("malformed", (m) => malformed.push(m));
    const server = track(await ZSocket.dealer(`>${ZAP_ENDPOINT}`, { linger: 0 }));
    const e = Buffer.alloc(0);
    const b = (s: string): Buffer => Buffer.from(s);
    const ask = async (...frames: Buffer[]): Promise<string[]> => {
      await server.send([e, ...frames]);
      return (await within(server.receive(), DEADLINE_MS, "the ZAP reply")).map(String);
    };
    expect(await ask(b("0.9"), b("r1"), e, b("1.1.1.1"), e, b("NULL"))).toEqual(["", "1.0", "r1", "400", "Invalid version", "", ""]);
    expect(await ask(b("1.0"), b("r2"), e)).toEqual(["", "1.0", "r2", "500", "Malformed request", "", ""]);
    expect(await ask(b("1.0"), b("r3"), e, b("1.1.1.1"), e, b("GSSAPI"), b("token"))).toEqual(["", "1.0", "r3", "400", "Unsupported mechanism", "", ""]);
    expect(await ask(b("1.0"), b("r4"), e, b("1.1.1.1"), e, b("CURVE"), b("short key"))).toEqual(["", "1.0", "r4", "500", "Malformed request", "", ""]);
    await server.send([e, b("1.0")]); // no request id: nothing to answer to
    await server.send([b("no delimiter at all")]);
    // still answering, in order
    expect(await ask(b("1.0"), b("r5"), e, b("1.1.1.1"), e, b("PLAIN"), b("admin"), b("secret"))).toEqual(["", "1.0", "r5", "200", "OK", "admin", ""]);
    await waitFor(() => malformed.length === 6, DEADLINE_MS, "six malformed requests counted");
    expect(malformed.filter((m) => !m.answered)).toHaveLength(2);
    expect(auth.stats).toMatchObject({ requests: 7, malformed: 6, accepted: 1, denied: 4, byReason: { "bad-version": 1, malformed: 2, "unsupported-mechanism": 1, password: 1 } });
    expect(auth.running).toBe(true);
  });
});

describe("ZAuth lifecycle and options", () => {
  it("start is idempotent, one handler per process, close is graceful and idempotent, and a new one can start after", async () => {
    const events: string[] = [];
    const auth = new ZAuth({ curveAllowAny: true });
    auth.on("start", () => events.push("start"));
    auth.on("close", () => events.push("close"));
    const first = auth.start();
    expect(auth.start()).toBe(first);
    await first;
    expect(auth.state).toBe("running");

    const second = new ZAuth();
    const err = (await second.start().catch((e: unknown) => e)) as ZkitError;
    expect(err.code).toBe(ErrorCode.AddressInUse);
    expect(err.message).toMatch(/another ZAuth already runs in this process.*use one per process/);
    await expect(second.done).rejects.toBe(err);
    expect(second.closed).toBe(true);

    const closing = auth.close();
    expect(auth.close()).toBe(closing);
    await closing;
    await auth.done;
    expect(auth.closed).toBe(true);
    await expect(auth.start()).rejects.toBeInstanceOf(ClosedError);
    expect(events).toEqual(["start", "close"]);

    const third = track(new ZAuth());
    await third.start();
    expect(third.running).toBe(true);
    await third.close();
    // never started: close just settles
    const unused = new ZAuth();
    await unused.close();
    await unused.done;
  });

  it("close is graceful: a decision in progress is answered before the handler goes", async () => {
    const serverCert = ZCert.generate();
    const client = ZCert.generate();
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let answer!: (yes: boolean) => void;
    const auth = track(
      new ZAuth({
        authorize: () => {
          asked();
          return new Promise<boolean>((resolve) => {
            answer = resolve;
          });
        },
      }),
    );
    await auth.start();
    const endpoint = await echoServer(serverCert.serverSecurity());
    const reply = request(endpoint, client.clientSecurity(serverCert));
    await within(wasAsked, DEADLINE_MS, "authorize to be asked");
    const closing = auth.close();
    expect(auth.state).toBe("closing");
    answer(true);
    await closing;
    expect(await reply).toBe("ping"); // the handshake completed with the answer given during close
    expect(auth.stats.accepted).toBe(1);
  });

  it("refuses bad options by name, and a password file that cannot be read at start", async () => {
    expect(() => new ZAuth({ alow: ["1.2.3.4"] } as never)).toThrow(/unknown ZAuth option "alow"/);
    expect(() => new ZAuth({ allow: "1.2.3.4" as never })).toThrow(/ZAuth option allow must be an array of IP address strings/);
    expect(() => new ZAuth({ certStore: tmp.dir as never })).toThrow(/ZAuth option certStore must be a ZCertStore/);
    expect(() => new ZAuth({ authorize: true as never })).toThrow(/ZAuth option authorize must be a function/);
    expect(() => new ZAuth({ passwords: { admin: 1 } as never })).toThrow(/"admin" maps to 1/);
    expect(() => new ZAuth({ authorizeTimeoutMs: 0 })).toThrow(/authorizeTimeoutMs must be a number of milliseconds > 0/);
    const auth = new ZAuth({ passwords: join(tmp.dir, "missing") });
    const err = (await auth.start().catch((e: unknown) => e)) as ZkitError;
    expect(err).toBeInstanceOf(ZkitError);
    expect(err.message).toMatch(/cannot read the password file .*missing/);
    // nothing stays bound: another handler can start
    const next = track(new ZAuth());
    await next.start();
  });
});
