// The security flags of the `zkit` commands, with real processes: a CURVE
// broker with an auth directory (`zkit mdp broker --curve-secret ...
// --auth-dir ...`), a CURVE worker and client whose certificates are in it
// get answers; a client whose certificate is not gets a handshake error and
// a non-zero exit with a clear message; the same with a CURVE `zkit clone
// server` and `zkit clone set|get|watch`; flags that cannot be used exit 2
// with a message that says what to pass.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { ZCert } from "@zkit/security";
import { stopAll, tempDir } from "@zkit/testkit";
import { START_MS, exitCode, zkit } from "./helpers.js";

const cleanups: (() => void)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

interface Certs {
  dir: string;
  authDir: string;
  broker: ZCert;
  /** Secret files of the broker, the worker (wendy), a client in the store (alice) and one that is not (mallory). */
  files: { broker: string; brokerPublic: string; wendy: string; alice: string; mallory: string };
}

async function certs(): Promise<Certs> {
  const t = tempDir("zkit-cli-curve-");
  cleanups.push(t.remove);
  const authDir = join(t.dir, "clients");
  mkdirSync(authDir);
  const broker = ZCert.generate({ name: "broker" });
  await broker.save(join(t.dir, "broker.key"));
  const files = { broker: join(t.dir, "broker.key_secret"), brokerPublic: join(t.dir, "broker.key"), wendy: "", alice: "", mallory: "" };
  for (const name of ["wendy", "alice", "mallory"] as const) {
    const cert = ZCert.generate({ name });
    await cert.save(join(t.dir, `${name}.key`));
    files[name] = join(t.dir, `${name}.key_secret`);
    if (name !== "mallory") await cert.savePublic(join(authDir, `${name}.key`));
  }
  return { dir: t.dir, authDir, broker, files };
}

describe("zkit with CURVE", () => {
  it("mdp broker --curve-secret --auth-dir: an allowed worker and client get answers; an unknown client exits 1 with a handshake error", async () => {
    const c = await certs();
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", "--curve-secret", c.files.broker, "--auth-dir", c.authDir);
    const endpoint = (await broker.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    expect(broker.stdout()).toContain(`CURVE on with public key ${c.broker.publicKey}; ZAP: 2 client certificate(s)`);
    // the worker gives the broker's key in Z85, the clients its public certificate file
    const worker = zkit("mdp", "worker", "--connect", endpoint, "--heartbeat-ms", "250", "--curve-secret", c.files.wendy, "--curve-server-key", c.broker.publicKey);
    await worker.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);

    const alice = zkit("mdp", "request", "--connect", endpoint, "--curve-secret", c.files.alice, "--curve-server-key", c.files.brokerPublic, "secret hello");
    expect(await exitCode(alice), alice.describe()).toBe(0);
    expect(alice.stdout()).toBe("secret hello\n");

    const mallory = zkit("mdp", "request", "--connect", endpoint, "--timeout-ms", "20000", "--curve-secret", c.files.mallory, "--curve-server-key", c.files.brokerPublic, "let me in");
    expect(await exitCode(mallory), mallory.describe()).toBe(1);
    expect(mallory.stderr()).toMatch(/ZKIT_HANDSHAKE: handshake failed: the server at tcp:\/\/\S+ refused our credentials \(ZAP status 400/);

    // a client without any certificate of its own gets a fresh key pair, which the store does not hold either
    const anonymous = zkit("mdp", "mmi", "--connect", endpoint, "--timeout-ms", "20000", "--curve-server-key", c.broker.publicKey, "echo");
    expect(await exitCode(anonymous), anonymous.describe()).toBe(1);
    expect(anonymous.stderr()).toMatch(/ZKIT_HANDSHAKE/);

    // a worker with a wrong broker key says so on stderr, and goes on trying
    const lost = zkit("mdp", "worker", "--connect", endpoint, "--curve-secret", c.files.wendy, "--curve-server-key", ZCert.generate().publicKey);
    await lost.waitFor(/handshake failed/, START_MS, { stderr: true });

    for (const p of [lost, worker, broker]) {
      p.kill("SIGINT");
      expect(await exitCode(p), p.describe()).toBe(0);
    }
  });

  it("clone server --curve-secret --auth-dir: an allowed client sets and gets; an unknown client exits 1 with a handshake error", async () => {
    const c = await certs();
    const server = zkit("clone", "server", "--port", "0", "--host", "127.0.0.1", "--hugz-ms", "100", "--curve-secret", c.files.broker, "--auth-dir", c.authDir);
    const port = (await server.waitFor(/^clone server ready: snapshots tcp:\/\/127\.0\.0\.1:(\d+), /m, START_MS))[1]!;
    const connect = `tcp://127.0.0.1:${port}`;
    expect(server.stdout()).toContain(`CURVE on with public key ${c.broker.publicKey}; ZAP: 2 client certificate(s)`);
    const alice = ["--connect", connect, "--curve-secret", c.files.alice, "--curve-server-key", c.files.brokerPublic];

    const set = zkit("clone", "set", ...alice, "/secret", "kept");
    expect(await exitCode(set), set.describe()).toBe(0);
    expect(set.stdout()).toMatch(/^\/secret set at sequence 1$/m);
    const get = zkit("clone", "get", ...alice, "/secret");
    expect(await exitCode(get), get.describe()).toBe(0);
    expect(get.stdout()).toBe("kept\n");

    // mallory's certificate is not in the auth directory: refused, said so, exit 1 (not a timeout)
    const mallory = ["--connect", connect, "--curve-secret", c.files.mallory, "--curve-server-key", c.broker.publicKey];
    for (const args of [
      ["set", ...mallory, "--timeout-ms", "20000", "/secret", "stolen"],
      ["get", ...mallory, "--timeout-ms", "20000", "/secret"],
      ["watch", ...mallory],
    ]) {
      const p = zkit("clone", ...args);
      expect(await exitCode(p), p.describe()).toBe(1);
      expect(p.stderr(), args[0]).toMatch(/ZKIT_HANDSHAKE: handshake failed: the server at tcp:\/\/\S+ refused our credentials \(ZAP status 400/);
    }
    // a wrong server key: the handshake breaks off, said so too
    const lost = zkit("clone", "get", "--connect", connect, "--timeout-ms", "20000", "--curve-secret", c.files.alice, "--curve-server-key", ZCert.generate().publicKey, "/secret");
    expect(await exitCode(lost), lost.describe()).toBe(1);
    expect(lost.stderr()).toMatch(/ZKIT_HANDSHAKE: handshake failed/);

    const check = zkit("clone", "get", ...alice, "/secret");
    expect(await exitCode(check), check.describe()).toBe(0);
    expect(check.stdout()).toBe("kept\n"); // mallory's set never got in
    server.kill("SIGINT");
    expect(await exitCode(server), server.describe()).toBe(0);
  });

  it("flags that cannot be used exit 2 with a message that says what to pass", async () => {
    const c = await certs();
    const cases: [string[], RegExp][] = [
      [["mdp", "broker", "--curve-secret", join(c.dir, "nothing.key_secret")], /--curve-secret: .*pass a certificate's secret file/],
      [["mdp", "broker", "--curve-secret", c.files.brokerPublic.replace(/broker\.key$/, "clients/alice.key")], /holds only a public key; pass the secret file/],
      [["mdp", "broker", "--auth-dir", c.authDir], /--auth-dir needs --curve-secret FILE/],
      [["mdp", "broker", "--curve-secret", c.files.broker, "--auth-allow", "localhost"], /--auth-allow: "localhost" is not an IP address/],
      [["mdp", "broker", "--curve-secret", c.files.broker, "--auth-dir", join(c.dir, "missing")], /--auth-dir: cannot use .*pass a directory of client certificates/],
      [["mdp", "request", "--curve-server-key", "not-a-key", "x"], /--curve-server-key: "not-a-key" is neither a CURVE key .* nor a certificate file/],
      [["mdp", "worker", "--curve-secret", c.files.wendy], /--curve-secret needs --curve-server-key KEY/],
      [["clone", "server", "--auth-dir", c.authDir], /--auth-dir needs --curve-secret FILE/],
      [["clone", "server", "--port", "0", "--curve-secret", join(c.authDir, "alice.key")], /holds only a public key; pass the secret file/],
      [["clone", "set", "--curve-server-key", "not-a-key", "/k", "v"], /--curve-server-key: "not-a-key" is neither a CURVE key/],
      [["clone", "watch", "--curve-secret", c.files.alice], /--curve-secret needs --curve-server-key KEY/],
    ];
    for (const [args, message] of cases) {
      const p = zkit(...args);
      expect(await exitCode(p), p.describe()).toBe(2);
      expect(p.stderr(), args.join(" ")).toMatch(message);
    }
  });

  it("--auth-allow is repeatable: the broker starts with both addresses", async () => {
    const c = await certs();
    const broker = zkit("mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--curve-secret", c.files.broker, "--auth-allow", "127.0.0.1", "--auth-allow", "::1");
    await broker.waitFor(/only from 127\.0\.0\.1, ::1/, START_MS);
    broker.kill("SIGINT");
    expect(await exitCode(broker)).toBe(0);
  });
});
