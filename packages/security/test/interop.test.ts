// CURVE with a peer zkit did not write: pyzmq (libzmq 4.3.4 underneath) as
// the client of a zkit server guarded by ZAuth, and as the server, guarded by
// pyzmq's own ZAP handler (zmq.auth.thread.ThreadAuthenticator), of zkit
// clients. Certificates cross over too: pyzmq's files in zkit's store, zkit's
// files in pyzmq's directory.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ZSocket, now } from "@zkit/core";
import { closeTracked, requirePyzmq, stopAll, tempDir, track, within } from "@zkit/testkit";
import { HandshakeError, HandshakeGuard, ZAuth, ZCert, ZCertStore, securitySocketOptions, type ZAuthDecision } from "../src/index.js";
import { DEADLINE_MS, python, runPeer } from "./helpers.js";

const PEER_MS = 20_000;

let tmp: { dir: string; remove: () => void };
beforeAll(() => {
  requirePyzmq();
});
beforeEach(() => {
  tmp = tempDir("zkit-interop-");
});
afterEach(async () => {
  await stopAll();
  await closeTracked();
  tmp.remove();
});

/** pyzmq's create_certificates in `dir`; returns the public file's path. */
function pyzmqCert(dir: string, name: string): string {
  python("import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], sys.argv[2])", [dir, name]);
  return join(dir, `${name}.key`);
}

describe("a pyzmq CURVE client against a zkit server with ZAuth", () => {
  it("is accepted when its pyzmq-made certificate is in the store, refused (400) when not", async () => {
    const clients = join(tmp.dir, "clients");
    const elsewhere = join(tmp.dir, "elsewhere");
    mkdirSync(clients);
    mkdirSync(elsewhere);
    const trustedFile = pyzmqCert(clients, "trusted"); // its _secret file sits there too: the store skips it
    const strangerFile = pyzmqCert(elsewhere, "stranger");
    const store = track(await ZCertStore.open(clients));
    expect(store.size).toBe(1);

    const auth = track(new ZAuth({ certStore: store }));
    const decisions: ZAuthDecision[] = [];
    auth.on("accepted", (d) => decisions.push(d));
    auth.on("denied", (d) => decisions.push(d));
    await auth.start();
    const serverCert = ZCert.generate();
    const rep = track(new ZSocket("REP", securitySocketOptions(serverCert.serverSecurity(), { role: "server" })));
    const endpoint = await rep.bind("tcp://127.0.0.1:*");
    void (async () => {
      for await (const [msg] of rep) await rep.send(`echo ${String(msg)}`);
    })();

    const trusted = runPeer("curve_client.py", [endpoint, serverCert.publicKey, `${trustedFile}_secret`]);
    await trusted.waitFor(/^REPLY echo hello$/m, PEER_MS);
    const stranger = runPeer("curve_client.py", [endpoint, serverCert.publicKey, `${strangerFile}_secret`]);
    await stranger.waitFor(/^FAILED HANDSHAKE_FAILED_AUTH 400$/m, PEER_MS);
    const strangerKey = (await ZCert.load(strangerFile)).publicKey;
    expect(decisions.map((d) => `${d.status} ${d.reason} ${d.user === strangerKey ? "stranger" : "trusted"}`)).toEqual(["200 cert-store trusted", "400 unknown-key stranger"]);
  });
});

describe("zkit CURVE clients against a pyzmq server with ThreadAuthenticator", () => {
  it("a client whose zkit-saved certificate is in pyzmq's directory is served; an unknown one and a wrong server key get HandshakeErrors", async () => {
    const clients = join(tmp.dir, "clients");
    mkdirSync(clients);
    const serverFile = pyzmqCert(tmp.dir, "server");
    const server = await ZCert.load(serverFile); // the public file: what a client is given
    expect(server.hasSecret).toBe(true); // (load found server.key_secret beside it; the client uses only the public key)
    const allowed = ZCert.generate({ name: "zkit client" });
    await allowed.savePublic(join(clients, "zkit-client.key"));
    const peer = runPeer("curve_server.py", [`${serverFile}_secret`, clients]);
    const endpoint = (await peer.waitFor(/^ENDPOINT (\S+)$/m, PEER_MS))[1]!;

    const ask = async (cert: ZCert, serverKey: string): Promise<string> => {
      const req = track(new ZSocket("REQ", { ...securitySocketOptions(cert.clientSecurity(serverKey), { role: "client" }), linger: 0 }));
      const guard = track(new HandshakeGuard(req));
      req.connect(endpoint);
      await req.send("from zkit");
      return String((await within(guard.race(req.receive()), PEER_MS, "a reply or a handshake error"))[0]);
    };
    expect(await ask(allowed, server.publicKey)).toBe("from zkit");

    let started = now();
    const refused = await ask(ZCert.generate(), server.publicKey).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HandshakeError);
    expect((refused as HandshakeError).status).toBe(400);
    expect(now() - started).toBeLessThan(DEADLINE_MS);

    started = now();
    const wrongKey = await ask(allowed, ZCert.generate().publicKey).catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(HandshakeError);
    expect((wrongKey as HandshakeError).message).toMatch(/server key/);
    expect(now() - started).toBeLessThan(DEADLINE_MS);
    expect(peer.exit).toBeUndefined(); // the pyzmq server served and refused, and still runs
  });
});
