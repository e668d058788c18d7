// ZCert: pure cases (keys, metadata, ZPL text), then files: what zkit saves
// loads in zkit and in pyzmq's zmq.auth, what pyzmq's create_certificates
// writes loads in zkit, a file as CZMQ's zcert_save writes it loads too, and
// a bad file is a typed error naming the file and line.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, type ZkitError, curveKeyPair } from "@zkit/core";
import { requirePyzmq, tempDir } from "@zkit/testkit";
import { CertificateError, SecurityErrorCode, ZCert, curvePublicKey, z85Decode } from "../src/index.js";
import { parseZpl, locateZpl } from "../src/zpl.js";
import { python } from "./helpers.js";

let tmp: { dir: string; remove: () => void };
beforeEach(() => {
  tmp = tempDir("zkit-cert-");
});
afterEach(() => tmp.remove());

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}

describe("ZCert, pure", () => {
  it("generates a key pair whose public key belongs to its secret key, as libzmq computes it", () => {
    const cert = ZCert.generate({ name: "broker" });
    expect(cert.publicKey).toHaveLength(40);
    expect(cert.secretKey).toHaveLength(40);
    expect(curvePublicKey(cert.secretKey!)).toBe(cert.publicKey);
    expect(cert.publicKeyBytes).toEqual(z85Decode(cert.publicKey));
    expect(cert.secretKeyBytes).toHaveLength(32);
    expect(cert.meta("name")).toBe("broker");
    expect(String(cert)).toBe(`ZCert ${cert.publicKey} (broker)`);
    expect(String(cert)).not.toContain(cert.secretKey);
  });

  it("fromKeys takes Z85 or bytes, checks that the keys are a pair, and may hold a public key only", () => {
    const { publicKey, secretKey } = curveKeyPair();
    expect(ZCert.fromKeys(z85Decode(publicKey), z85Decode(secretKey)).publicKey).toBe(publicKey);
    const pub = ZCert.fromKeys(publicKey);
    expect(pub.hasSecret).toBe(false);
    expect(pub.secretKeyBytes).toBeUndefined();
    const other = curveKeyPair();
    expect((thrown(() => ZCert.fromKeys(publicKey, other.secretKey)) as Error).message).toMatch(/does not belong to the public key/);
    const short = thrown(() => ZCert.fromKeys(publicKey.slice(1))) as ZkitError;
    expect(short.code).toBe(ErrorCode.InvalidArgument);
    expect(short.message).toMatch(/publicKey must be a CURVE key: 40 characters of Z85.*got 39 characters/);
    expect((thrown(() => ZCert.fromKeys(Buffer.alloc(31))) as Error).message).toMatch(/32 bytes.*got 31 bytes/);
    expect((thrown(() => ZCert.fromKeys(`${publicKey.slice(0, 39)} `)) as Error).message).toMatch(/not a Z85 CURVE key.*position 39/);
  });

  it("metadata: set, read, list, remove; names and values a file cannot hold are refused", () => {
    const cert = ZCert.generate();
    cert.setMeta("email", "ph@imatix.com");
    cert.setMeta("name", 'Pieter "PH" Hintjens');
    cert.setMeta("version", "1");
    expect(cert.metaKeys()).toEqual(["email", "name", "version"]);
    expect(cert.metadata).toEqual({ email: "ph@imatix.com", name: 'Pieter "PH" Hintjens', version: "1" });
    cert.unsetMeta("version");
    expect(cert.meta("version")).toBeUndefined();
    expect((thrown(() => cert.setMeta("bad name", "x")) as Error).message).toMatch(/letters, digits/);
    expect((thrown(() => cert.setMeta("x", "two\nlines")) as Error).message).toMatch(/line break/);
    expect((thrown(() => cert.setMeta("x", `"'`)) as Error).message).toMatch(/both a double and a single quote/);
    expect((thrown(() => ZCert.generate(["x"] as never)) as Error).message).toMatch(/object of names/);
  });

  it("dup and eq compare keys, not metadata", () => {
    const cert = ZCert.generate({ name: "a" });
    const copy = cert.dup();
    copy.setMeta("name", "b");
    expect(copy.eq(cert)).toBe(true);
    expect(cert.meta("name")).toBe("a");
    expect(ZCert.fromKeys(cert.publicKey).eq(cert)).toBe(false);
    expect(ZCert.generate().eq(cert)).toBe(false);
  });

  it("writes the ZPL CZMQ writes: banner comments, metadata, curve with quoted keys; the public text has no secret", () => {
    const cert = ZCert.generate({ name: "worker 7", quote: 'say "hi"' });
    const secret = cert.secretText();
    const pub = cert.publicText();
    expect(pub).toMatch(/^# {3}\*{4} {2}Generated on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by zkit {2}\*{4}\n# {3}ZeroMQ CURVE Public Certificate\n/);
    expect(secret).toContain("#   ZeroMQ CURVE **Secret** Certificate\n#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\nmetadata\n");
    expect(secret).toContain(`metadata\n    name = "worker 7"\n    quote = 'say "hi"'\ncurve\n    public-key = "${cert.publicKey}"\n    secret-key = "${cert.secretKey}"\n`);
    expect(pub).not.toContain(cert.secretKey);
    const again = ZCert.parse(secret);
    expect(again.eq(cert)).toBe(true);
    expect(again.metadata).toEqual({ name: "worker 7", quote: 'say "hi"' });
    expect(ZCert.parse(pub).hasSecret).toBe(false);
  });

  it("parses ZPL as CZMQ and pyzmq write it: bare and quoted values, comments, CRLF", () => {
    const { publicKey, secretKey } = curveKeyPair();
    const text = `#  a comment\r\n\r\nmetadata\r\n    name = Pieter Hintjens   # bare, with a comment\r\n    email = 'ph@imatix.com'\r\ncurve\r\n    public-key = "${publicKey}"\r\n    secret-key = "${secretKey}"\r\n`;
    const cert = ZCert.parse(text);
    expect(cert.metadata).toEqual({ name: "Pieter Hintjens", email: "ph@imatix.com" });
    expect(cert.secretKey).toBe(secretKey);
    const root = parseZpl("a\n    b\n        c = 1\n    d = 2\ne = 3\n");
    expect(locateZpl(root, "/a/b/c")?.value).toBe("1");
    expect(locateZpl(root, "/a/d")?.value).toBe("2");
    expect(locateZpl(root, "/e")?.value).toBe("3");
    expect(locateZpl(root, "/a/x")).toBeUndefined();
  });

  it("CZMQ's 40 zeros for a missing secret key read as no secret key", () => {
    const { publicKey } = curveKeyPair();
    const cert = ZCert.parse(`curve\n    public-key = "${publicKey}"\n    secret-key = "${"0".repeat(40)}"\n`);
    expect(cert.hasSecret).toBe(false);
  });

  it("bad text is a CertificateError (ZKIT_CERTIFICATE) naming the source and line", () => {
    const { publicKey, secretKey } = curveKeyPair();
    const cases: [string, RegExp, number | undefined][] = [
      ["curve\n  public-key = x\n", /line 2: indentation must be a multiple of four spaces/, 2],
      ["curve\n\tpublic-key = x\n", /tabs/, 2],
      ['curve\n    public-key = "abc\n', /never closed/, 2],
      ["curve\n        public-key = x\n", /indented 2 levels/, 2],
      ["metadata\n    = x\n", /expected a name/, 2],
      ["metadata\n    name x\n", /expected "="/, 2],
      ["metadata\n    name = 1\n", /has no curve\/public-key; it is not a CURVE certificate/, undefined],
      ['curve\n    public-key = "short"\n', /curve\/public-key of certificate f.key must be a CURVE key/, undefined],
      [`curve\n    public-key = "${publicKey}"\n    secret-key = "${curveKeyPair().secretKey}"\n`, /secret key does not belong to its public key/, undefined],
    ];
    for (const [text, message, line] of cases) {
      const err = thrown(() => ZCert.parse(text, "f.key")) as CertificateError;
      expect(err, text).toBeInstanceOf(CertificateError);
      expect(err.code).toBe(SecurityErrorCode.Certificate);
      expect(err.message).toMatch(message);
      expect(err.file).toBe("f.key");
      expect(err.line).toBe(line);
    }
    expect(ZCert.parse(`curve\n    public-key = "${publicKey}"\n    secret-key = "${secretKey}"\n`).secretKey).toBe(secretKey);
  });
});

describe("ZCert files", () => {
  it("save writes the public file (0644) and the _secret file (0600); load prefers the secret one, as CZMQ's zcert_load", async () => {
    const cert = ZCert.generate({ name: "broker" });
    const file = join(tmp.dir, "broker.key");
    await cert.save(file);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(statSync(`${file}_secret`).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).not.toContain(cert.secretKey);
    const loaded = await ZCert.load(file);
    expect(loaded.eq(cert)).toBe(true);
    expect(loaded.meta("name")).toBe("broker");
    // saving again over a file keeps the modes (written beside, then renamed)
    await cert.save(file);
    expect(statSync(`${file}_secret`).mode & 0o777).toBe(0o600);
    // without the secret file, the public one
    await ZCert.fromKeys(cert.publicKey).savePublic(join(tmp.dir, "peer.key"));
    const pub = await ZCert.load(join(tmp.dir, "peer.key"));
    expect(pub.publicKey).toBe(cert.publicKey);
    expect(pub.hasSecret).toBe(false);
    // a path ending in _secret is read as it is
    expect((await ZCert.load(`${file}_secret`)).hasSecret).toBe(true);
  });

  it("a certificate without its secret cannot be saved whole, and a missing file says which files were tried", async () => {
    const pub = ZCert.fromKeys(curveKeyPair().publicKey);
    const err = await pub.save(join(tmp.dir, "x")).catch((e: unknown) => e);
    expect((err as ZkitError).code).toBe(ErrorCode.InvalidArgument);
    expect((err as Error).message).toMatch(/no secret key.*savePublic/);
    const missing = (await ZCert.load(join(tmp.dir, "nope.key")).catch((e: unknown) => e)) as CertificateError;
    expect(missing.code).toBe(SecurityErrorCode.Certificate);
    expect(missing.message).toMatch(/neither it nor .*nope\.key_secret exists/);
    const unwritable = (await ZCert.generate()
      .save(join(tmp.dir, "no-such-dir", "x.key"))
      .catch((e: unknown) => e)) as CertificateError;
    expect(unwritable.code).toBe(SecurityErrorCode.Certificate);
    expect(unwritable.message).toMatch(/cannot write certificate/);
  });

  it("reads a certificate in the layout CZMQ's zcert_save writes (metadata in both files, quoted values)", async () => {
    // The text zconfig_save produces for zcert_save_secret, as CZMQ's zcert.c builds it
    const { publicKey, secretKey } = curveKeyPair();
    const czmq = [
      "#   ****  Generated on 2024-05-01 10:00:00 by CZMQ  ****",
      "#   ZeroMQ CURVE **Secret** Certificate",
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
      "",
      "metadata",
      '    email = "ph@imatix.com"',
      '    name = "Pieter Hintjens"',
      "curve",
      `    public-key = "${publicKey}"`,
      `    secret-key = "${secretKey}"`,
      "",
    ].join("\n");
    writeFileSync(join(tmp.dir, "mycert.txt_secret"), czmq, { mode: 0o600 });
    const cert = await ZCert.load(join(tmp.dir, "mycert.txt"));
    expect(cert.secretKey).toBe(secretKey);
    expect(cert.metadata).toEqual({ email: "ph@imatix.com", name: "Pieter Hintjens" });
  });
});

describe("ZCert and pyzmq's zmq.auth", () => {
  beforeAll(() => {
    requirePyzmq();
  });

  it("loads the files pyzmq's create_certificates writes (name.key and name.key_secret, bare metadata)", async () => {
    const out = python(
      "import sys, zmq.auth\n" +
        "pub, sec = zmq.auth.create_certificates(sys.argv[1], 'client', metadata={'name': 'py client', 'team': 'ops'})\n" +
        "p, s = zmq.auth.load_certificate(sec)\n" +
        "print(p.decode()); print(s.decode())",
      [tmp.dir],
    );
    const [publicKey, secretKey] = out.trim().split("\n");
    const cert = await ZCert.load(join(tmp.dir, "client.key"));
    expect(cert.publicKey).toBe(publicKey);
    expect(cert.secretKey).toBe(secretKey);
    expect(cert.metadata).toEqual({ name: "py client", team: "ops" });
    const pub = await ZCert.load(join(tmp.dir, "client.key"));
    expect(pub.publicKey).toBe(publicKey);
  });

  it("pyzmq loads what zkit saves: load_certificate reads both keys, load_certificates finds the public file", async () => {
    const cert = ZCert.generate({ name: "zkit server" });
    await cert.save(join(tmp.dir, "server.key"));
    const out = python(
      "import sys, os, zmq.auth\n" +
        "d = sys.argv[1]\n" +
        "p, s = zmq.auth.load_certificate(os.path.join(d, 'server.key_secret'))\n" +
        "print(p.decode()); print(s.decode())\n" +
        "p2, s2 = zmq.auth.load_certificate(os.path.join(d, 'server.key'))\n" +
        "print(p2.decode()); print(s2)\n" +
        "print(','.join(k.decode() for k in zmq.auth.load_certificates(d)))\n" +
        "print(zmq.curve_public(s).decode())",
      [tmp.dir],
    );
    expect(out.trim().split("\n")).toEqual([cert.publicKey, cert.secretKey, cert.publicKey, "None", cert.publicKey, cert.publicKey]);
  });
});
