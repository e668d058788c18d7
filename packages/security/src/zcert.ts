/**
 * ZCert: a CURVE certificate (CZMQ `zcert`): a key pair and metadata, saved
 * as two ZPL files that CZMQ's `zcert_save` and pyzmq's
 * `zmq.auth.create_certificates` also write and read: a public file to give
 * away and a `_secret` file (mode 0600) to keep.
 * @module
 */
import { randomBytes } from "node:crypto";
import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError, curveKeyPair, describeValue } from "@zkit/core";
import { CertificateError } from "./errors.js";
import { curveKeyText, curvePublicKey, type CurveKey } from "./keys.js";
import type { SecurityOptions } from "./security-options.js";
import { z85Decode } from "./z85.js";
import { ZplSyntaxError, isZplName, locateZpl, parseZpl, quoteZpl, type ZplNode } from "./zpl.js";

/** The suffix CZMQ and pyzmq add to a certificate's file name for its secret file. */
export const SECRET_SUFFIX = "_secret";

/** The file mode of a secret certificate file: read and write by its owner only. */
export const SECRET_FILE_MODE = 0o600;

/** The mode of a public certificate file: readable by all, as CZMQ writes it. */
export const PUBLIC_FILE_MODE = 0o644;

/** Certificate metadata: names (ZPL names: letters, digits, `$-_@.&+/`) to text values. */
export type CertMetadata = Readonly<Record<string, string>>;

/**
 * A CURVE certificate: a public key, usually its secret key, and metadata
 * (`name`, `email`, anything). CZMQ's `zcert` with TypeScript names.
 *
 * - {@link ZCert.generate} makes a new one; {@link ZCert.fromKeys} wraps
 *   keys you have; {@link ZCert.load} reads files CZMQ, pyzmq or zkit wrote.
 * - {@link ZCert.save} writes `name` (public: give it to peers) and
 *   `name_secret` (mode 0600: keep it). Name the file `name.key` and pyzmq
 *   finds it too (`zmq.auth.load_certificates` reads `*.key`).
 * - {@link ZCert.serverSecurity} and {@link ZCert.clientSecurity} give the
 *   `SecurityOptions` a socket takes (through {@link securitySocketOptions}).
 *
 * @example
 * ```ts
 * const server = ZCert.generate({ name: "broker" });
 * await server.save("/etc/zkit/broker.key");     // and broker.key_secret, mode 0600
 * const loaded = await ZCert.load("/etc/zkit/broker.key"); // reads broker.key_secret when it is there
 * loaded.publicKey === server.publicKey;          // true
 * ```
 */
export class ZCert {
  /** The public key, 40 characters of Z85. */
  readonly publicKey: string;
  /** The secret key, 40 characters of Z85; `undefined` for a certificate read from a public file. */
  readonly secretKey: string | undefined;
  readonly #meta = new Map<string, string>();

  /**
   * Use {@link ZCert.generate}, {@link ZCert.fromKeys} or {@link ZCert.load}.
   * @internal
   */
  private constructor(publicKey: string, secretKey: string | undefined, metadata: Iterable<[string, string]>) {
    this.publicKey = publicKey;
    this.secretKey = secretKey;
    for (const [name, value] of metadata) this.setMeta(name, value);
  }

  /**
   * A new certificate with a fresh key pair (CZMQ `zcert_new`).
   *
   * @param metadata - e.g. `{ name: "worker-7", email: "ops@example.com" }`
   * @throws `ZKIT_NOT_SUPPORTED` when the libzmq inside zeromq.js has no CURVE;
   *   `InvalidArgumentError` for a bad metadata name or value
   */
  static generate(metadata?: CertMetadata): ZCert {
    const { publicKey, secretKey } = curveKeyPair();
    return new ZCert(publicKey, secretKey, entriesOf(metadata, "ZCert.generate(metadata)"));
  }

  /**
   * A certificate from keys you have (CZMQ `zcert_new_from`): a public key
   * alone (a peer's), or a pair. The pair is checked: the public key must be
   * the one that belongs to the secret key.
   *
   * @param publicKey - 40 Z85 characters or 32 bytes
   * @param secretKey - the same, or `undefined` for a public certificate
   * @param metadata - see {@link ZCert.generate}
   * @throws `InvalidArgumentError` for a bad key, a secret key that
   *   does not belong to the public key, or bad metadata
   */
  static fromKeys(publicKey: CurveKey, secretKey?: CurveKey, metadata?: CertMetadata): ZCert {
    const pub = curveKeyText(publicKey, "ZCert.fromKeys publicKey");
    let sec: string | undefined;
    if (secretKey !== undefined) {
      sec = curveKeyText(secretKey, "ZCert.fromKeys secretKey");
      if (curvePublicKey(sec) !== pub) {
        throw new InvalidArgumentError("ZCert.fromKeys: the secret key does not belong to the public key; pass the two keys of one pair (curveKeyPair() or one certificate)");
      }
    }
    return new ZCert(pub, sec, entriesOf(metadata, "ZCert.fromKeys(metadata)"));
  }

  /**
   * Reads a certificate file (CZMQ `zcert_load`): given `name`, the secret
   * file `name_secret` when it exists (both keys), otherwise `name` itself
   * (the public key only). A path that ends in `_secret` is read as is.
   * Reads what CZMQ's `zcert_save`, pyzmq's `create_certificates` (`name.key`,
   * `name.key_secret`) and {@link ZCert.save} write.
   *
   * @param filename - the public file's path
   * @throws {@link CertificateError} (`ZKIT_CERTIFICATE`) when neither file
   *   can be read, the text is not ZPL, `curve/public-key` is missing or not
   *   a key, or the secret key does not belong to the public key
   */
  static async load(filename: string): Promise<ZCert> {
    if (typeof filename !== "string" || filename === "") throw new InvalidArgumentError(`ZCert.load(filename): filename must be a path, got ${describeValue(filename)}`);
    if (!filename.endsWith(SECRET_SUFFIX)) {
      const secretFile = filename + SECRET_SUFFIX;
      const text = await readFile(secretFile, "utf8").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw new CertificateError(`cannot read certificate ${secretFile}: ${err.message}`, { file: secretFile }, { cause: err });
      });
      if (text !== undefined) return ZCert.parse(text, secretFile);
    }
    let text: string;
    try {
      text = await readFile(filename, "utf8");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === "ENOENT" ? `; neither it nor ${filename}${SECRET_SUFFIX} exists` : "";
      throw new CertificateError(`cannot read certificate ${filename}: ${e.message}${hint}`, { file: filename }, { cause: err });
    }
    return ZCert.parse(text, filename);
  }

  /**
   * A certificate from ZPL text (the content of a certificate file).
   *
   * @param text - the file's text
   * @param source - where it came from, for messages (a file name)
   * @throws {@link CertificateError} as {@link ZCert.load}
   */
  static parse(text: string, source?: string): ZCert {
    const where = source === undefined ? "certificate text" : `certificate ${source}`;
    if (typeof text !== "string") throw new InvalidArgumentError(`ZCert.parse(text): text must be a string, got ${describeValue(text)}`);
    let root: ZplNode;
    try {
      root = parseZpl(text);
    } catch (err) {
      if (!(err instanceof ZplSyntaxError)) throw err;
      throw new CertificateError(`${where} is not ZPL (the certificate format): ${err.message}`, { file: source, line: err.line }, { cause: err });
    }
    const publicText = locateZpl(root, "/curve/public-key")?.value;
    if (publicText === undefined) throw new CertificateError(`${where} has no curve/public-key; it is not a CURVE certificate`, { file: source });
    const secretText = locateZpl(root, "/curve/secret-key")?.value;
    let publicKey: string;
    let secretKey: string | undefined;
    try {
      publicKey = curveKeyText(publicText, `the curve/public-key of ${where}`);
      // CZMQ writes 40 zeros for a secret key it does not have (zcert of a public file): that is no key
      if (secretText !== undefined && secretText !== "" && !/^0{40}$/.test(secretText)) secretKey = curveKeyText(secretText, `the curve/secret-key of ${where}`);
    } catch (err) {
      throw new CertificateError((err as Error).message, { file: source }, { cause: err });
    }
    if (secretKey !== undefined && curvePublicKey(secretKey) !== publicKey) {
      throw new CertificateError(`${where}: its secret key does not belong to its public key; the file was edited or mixed up`, { file: source });
    }
    const metadata: [string, string][] = [];
    for (const item of locateZpl(root, "/metadata")?.children ?? []) metadata.push([item.name, item.value ?? ""]);
    return new ZCert(publicKey, secretKey, metadata);
  }

  /** The public key as 32 bytes. */
  get publicKeyBytes(): Buffer {
    return z85Decode(this.publicKey);
  }

  /** The secret key as 32 bytes, or `undefined` for a public certificate. */
  get secretKeyBytes(): Buffer | undefined {
    return this.secretKey === undefined ? undefined : z85Decode(this.secretKey);
  }

  /** True when it holds the secret key (a certificate read from a public file does not). */
  get hasSecret(): boolean {
    return this.secretKey !== undefined;
  }

  /** A metadata value (CZMQ `zcert_meta`), or `undefined`. */
  meta(name: string): string | undefined {
    return this.#meta.get(name);
  }

  /**
   * Sets a metadata value (CZMQ `zcert_set_meta`).
   *
   * @param name - a ZPL name: letters, digits and `$-_@.&+/`
   * @param value - text without line breaks, and not with both kinds of quote
   * @throws `InvalidArgumentError` for a name or value a certificate file cannot hold
   */
  setMeta(name: string, value: string): void {
    if (typeof name !== "string" || !isZplName(name)) {
      throw new InvalidArgumentError(`ZCert metadata name ${describeValue(name)} cannot be saved: use letters, digits and $-_@.&+/ only`);
    }
    if (typeof value !== "string") throw new InvalidArgumentError(`ZCert metadata ${name} must be a string, got ${describeValue(value)}`);
    try {
      quoteZpl(value);
    } catch (err) {
      throw new InvalidArgumentError(`ZCert metadata ${name} cannot be saved: ${(err as Error).message}`);
    }
    this.#meta.set(name, value);
  }

  /** Removes a metadata value. */
  unsetMeta(name: string): void {
    this.#meta.delete(name);
  }

  /** The metadata names, in the order they were set (CZMQ `zcert_meta_keys`). */
  metaKeys(): string[] {
    return [...this.#meta.keys()];
  }

  /** The metadata as an object. */
  get metadata(): CertMetadata {
    return Object.fromEntries(this.#meta);
  }

  /** A copy (CZMQ `zcert_dup`). */
  dup(): ZCert {
    return new ZCert(this.publicKey, this.secretKey, this.#meta);
  }

  /** True when `other` has the same keys (CZMQ `zcert_eq`; metadata is not compared). */
  eq(other: ZCert): boolean {
    return other instanceof ZCert && other.publicKey === this.publicKey && other.secretKey === this.secretKey;
  }

  /**
   * The text of the public file: a banner, `metadata`, `curve` with
   * `public-key`, as CZMQ's `zcert_save_public` writes it.
   */
  publicText(): string {
    return this.#text(false);
  }

  /**
   * The text of the secret file: as {@link ZCert.publicText} plus
   * `secret-key`, as CZMQ's `zcert_save_secret` writes it.
   * @throws `ZKIT_INVALID_ARGUMENT` for a certificate without its secret key
   */
  secretText(): string {
    this.#needSecret("secretText");
    return this.#text(true);
  }

  /**
   * Saves both files (CZMQ `zcert_save`): `filename` (public) and
   * `filename_secret` (both keys, mode 0600). Each is written to a
   * temporary file and renamed, so a reader (a {@link ZCertStore} watching
   * the directory) never sees half a file.
   *
   * @param filename - the public file's path; end it in `.key` for pyzmq's `load_certificates`
   * @throws `ZKIT_INVALID_ARGUMENT` for a certificate without its secret key
   *   (use {@link ZCert.savePublic}); `ZKIT_CERTIFICATE` when a file cannot be written
   */
  async save(filename: string): Promise<void> {
    this.#needSecret("save");
    await this.saveSecret(filename + SECRET_SUFFIX);
    await this.savePublic(filename);
  }

  /**
   * Saves the public file only (CZMQ `zcert_save_public`), mode 0644: what
   * you give to peers, and what a {@link ZCertStore} directory holds.
   *
   * @throws `ZKIT_CERTIFICATE` when the file cannot be written
   */
  async savePublic(filename: string): Promise<void> {
    await writeAtomically(filename, this.#text(false), PUBLIC_FILE_MODE);
  }

  /**
   * Saves the secret file only (CZMQ `zcert_save_secret`), mode 0600.
   *
   * @throws `ZKIT_INVALID_ARGUMENT` for a certificate without its secret key;
   *   `ZKIT_CERTIFICATE` when the file cannot be written
   */
  async saveSecret(filename: string): Promise<void> {
    this.#needSecret("saveSecret");
    await writeAtomically(filename, this.#text(true), SECRET_FILE_MODE);
  }

  /**
   * The `SecurityOptions` of a CURVE server with this certificate's keys.
   * @throws `ZKIT_INVALID_ARGUMENT` for a certificate without its secret key
   */
  serverSecurity(): SecurityOptions {
    this.#needSecret("serverSecurity");
    return { curve: { publicKey: this.publicKey, secretKey: this.secretKey! } };
  }

  /**
   * The `SecurityOptions` of a CURVE client with this certificate's keys,
   * talking to the server whose public key is `serverKey`.
   *
   * @param serverKey - the server's public key, or its certificate
   * @throws `ZKIT_INVALID_ARGUMENT` for a certificate without its secret key, or a bad server key
   */
  clientSecurity(serverKey: CurveKey | ZCert): SecurityOptions {
    this.#needSecret("clientSecurity");
    const key = serverKey instanceof ZCert ? serverKey.publicKey : curveKeyText(serverKey, "ZCert.clientSecurity(serverKey)");
    return { curve: { publicKey: this.publicKey, secretKey: this.secretKey!, serverKey: key } };
  }

  /** A one-line description without the secret key, e.g. for logs. */
  toString(): string {
    const name = this.#meta.get("name");
    return `ZCert ${this.publicKey}${name === undefined ? "" : ` (${name})`}${this.secretKey === undefined ? " public" : ""}`;
  }

  #needSecret(what: string): void {
    if (this.secretKey === undefined) {
      throw new InvalidArgumentError(`ZCert.${what}: this certificate has no secret key (it was read from a public file); load the _secret file, or use savePublic`);
    }
  }

  #text(withSecret: boolean): string {
    const banner = withSecret
      ? ["ZeroMQ CURVE **Secret** Certificate", "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."]
      : [
          "ZeroMQ CURVE Public Certificate",
          "Exchange securely, or use a secure mechanism to verify the contents",
          "of this file after exchange. Store public certificates in your home",
          "directory, in the .curve subdirectory.",
        ];
    const lines = [`#   ****  Generated on ${timestamp()} by zkit  ****`, ...banner.map((b) => `#   ${b}`), "", "metadata"];
    for (const [name, value] of this.#meta) lines.push(`    ${name} = ${quoteZpl(value)}`);
    lines.push("curve", `    public-key = "${this.publicKey}"`);
    if (withSecret) lines.push(`    secret-key = "${this.secretKey}"`);
    return `${lines.join("\n")}\n`;
  }
}

function entriesOf(metadata: CertMetadata | undefined, what: string): [string, string][] {
  if (metadata === undefined) return [];
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new InvalidArgumentError(`${what} must be an object of names to text values like { name: "worker-7" }, got ${describeValue(metadata)}`);
  }
  return Object.entries(metadata);
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Writes `text` to a temporary file beside `filename` with `mode`, then renames it over `filename`. */
async function writeAtomically(filename: string, text: string, mode: number): Promise<void> {
  if (typeof filename !== "string" || filename === "") throw new InvalidArgumentError(`ZCert save: filename must be a path, got ${describeValue(filename)}`);
  // a dot file: a ZCertStore watching the directory skips it
  const temp = join(dirname(filename), `.${basename(filename)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, text, { mode, flag: "wx" });
    await chmod(temp, mode); // the umask may have taken bits away; the mode is the promise
    await rename(temp, filename);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {});
    throw new CertificateError(`cannot write certificate ${filename}: ${(err as Error).message}`, { file: filename }, { cause: err });
  }
}
