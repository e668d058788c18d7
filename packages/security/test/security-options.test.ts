// SecurityOptions -> ZSocket options: the shapes a pattern's `security`
// option takes, the order libzmq needs, every mistake refused by name; and
// the options really make a CURVE and a PLAIN pair talk over tcp.
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, ZSocket, type ZkitError, curveKeyPair } from "@zkit/core";
import { closeTracked, track, within } from "@zkit/testkit";
import { HandshakeError, HandshakeGuard, ZAuth, ZCert, securitySocketOptions, z85Decode, type SecurityOptions } from "../src/index.js";
import { DEADLINE_MS } from "./helpers.js";

afterEach(closeTracked);

function refused(security: unknown, options?: Parameters<typeof securitySocketOptions>[1]): string {
  try {
    securitySocketOptions(security as SecurityOptions, options);
  } catch (err) {
    expect((err as ZkitError).code).toBe(ErrorCode.InvalidArgument);
    return (err as Error).message;
  }
  throw new Error("not refused");
}

describe("securitySocketOptions", () => {
  const server = curveKeyPair();
  const client = curveKeyPair();

  it("turns each shape into socket options, keys as Z85, curveServer after the keys", () => {
    expect(securitySocketOptions(undefined)).toEqual({});
    const s = securitySocketOptions({ curve: { secretKey: server.secretKey, publicKey: z85Decode(server.publicKey) } });
    expect(s).toEqual({ curveSecretKey: server.secretKey, curvePublicKey: server.publicKey, curveServer: true });
    expect(Object.keys(s).at(-1)).toBe("curveServer");
    expect(securitySocketOptions({ curve: { secretKey: server.secretKey, publicKey: server.publicKey, zapDomain: "global" } }).zapDomain).toBe("global");
    expect(securitySocketOptions({ curve: { ...client, serverKey: server.publicKey } })).toEqual({
      curveSecretKey: client.secretKey,
      curvePublicKey: client.publicKey,
      curveServerKey: server.publicKey,
    });
    expect(securitySocketOptions({ plain: { username: "admin", password: "secret" } })).toEqual({ plainUsername: "admin", plainPassword: "secret" });
    expect(securitySocketOptions({ plain: { server: true, zapDomain: "d" } })).toEqual({ zapDomain: "d", plainServer: true });
    const cert = ZCert.generate();
    expect(securitySocketOptions(cert.clientSecurity(server.publicKey)).curveServerKey).toBe(server.publicKey);
    expect(securitySocketOptions(cert.serverSecurity()).curveServer).toBe(true);
  });

  it("refuses every mistake, naming the owner's security option and what to pass", () => {
    const owner = { owner: "MajordomoBroker" };
    expect(refused("curve", owner)).toMatch(/^MajordomoBroker option security must be \{ curve/);
    expect(refused({}, owner)).toMatch(/exactly one of curve or plain/);
    expect(refused({ curve: {}, plain: {} })).toMatch(/exactly one/);
    expect(refused({ curve: { secretKey: "x", publicKey: server.publicKey } }, owner)).toMatch(/MajordomoBroker option security.curve.secretKey must be a CURVE key/);
    expect(refused({ curve: { ...server, serverkey: server.publicKey } })).toMatch(/unknown key "serverkey"/);
    expect(refused({ curve: { ...client, serverKey: "short" } })).toMatch(/security.curve.serverKey must be a CURVE key/);
    expect(refused({ curve: { ...client, serverKey: server.publicKey, zapDomain: "d" } })).toMatch(/zapDomain is for servers/);
    expect(refused({ plain: { username: "", password: "p" } })).toMatch(/plain.username must be a string of 1 to 255 bytes/);
    expect(refused({ plain: { server: "yes" } })).toMatch(/plain.server must be true/);
    expect(refused({ plain: null })).toMatch(/plain must be/);
    // roles
    expect(refused({ curve: { ...client, serverKey: server.publicKey } }, { role: "server" })).toMatch(/makes this side a CURVE client.*leave serverKey out/);
    expect(refused({ curve: server }, { role: "client" })).toMatch(/serverKey is required on a client/);
    expect(refused({ plain: { server: true } }, { role: "client" })).toMatch(/PLAIN server.*client/);
    expect(refused({ plain: { username: "a", password: "b" } }, { role: "server" })).toMatch(/PLAIN client.*server/);
    expect(() => ZCert.fromKeys(server.publicKey).serverSecurity()).toThrow(/no secret key/);
  });

  it("without a ZAuth in the process, a CURVE server admits any client key and a PLAIN server refuses everyone (libzmq 4.3.5)", async () => {
    const rep = track(new ZSocket("REP", { ...securitySocketOptions({ curve: server }), zapDomain: "global" }));
    const endpoint = await rep.bind("tcp://127.0.0.1:*");
    const stranger = curveKeyPair(); // registered nowhere
    const req = track(new ZSocket("REQ", securitySocketOptions({ curve: { ...stranger, serverKey: server.publicKey } })));
    const guard = track(new HandshakeGuard(req));
    req.connect(endpoint);
    await guard.handshake(DEADLINE_MS); // succeeds: nobody was asked

    const prep = track(new ZSocket("REP", securitySocketOptions({ plain: { server: true } })));
    const pend = await prep.bind("tcp://127.0.0.1:*");
    const preq = track(new ZSocket("REQ", securitySocketOptions({ plain: { username: "admin", password: "secret" } })));
    const pguard = track(new HandshakeGuard(preq));
    preq.connect(pend);
    await expect(pguard.handshake(DEADLINE_MS)).rejects.toBeInstanceOf(HandshakeError);
  });

  it("the options make real sockets talk: CURVE without an authenticator, and PLAIN through a ZAuth", async () => {
    const rep = track(new ZSocket("REP", securitySocketOptions({ curve: server }, { role: "server" })));
    const endpoint = await rep.bind("tcp://127.0.0.1:*");
    expect(rep.raw.securityMechanism).toBe("curve");
    const req = track(await ZSocket.req(`>${endpoint}`, securitySocketOptions({ curve: { ...client, serverKey: server.publicKey } }, { role: "client" })));
    await req.send("over curve");
    expect(String((await within(rep.receive(), DEADLINE_MS, "the CURVE request"))[0])).toBe("over curve");

    const auth = track(new ZAuth({ passwords: { admin: "secret" } }));
    await auth.start();
    const prep = track(new ZSocket("REP", securitySocketOptions({ plain: { server: true } })));
    const pend = await prep.bind("tcp://127.0.0.1:*");
    const preq = track(await ZSocket.req(`>${pend}`, securitySocketOptions({ plain: { username: "admin", password: "secret" } })));
    await preq.send("over plain");
    expect(String((await within(prep.receive(), DEADLINE_MS, "the PLAIN request"))[0])).toBe("over plain");
    expect(auth.stats.accepted).toBe(1);
  });
});
