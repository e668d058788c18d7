/**
 * SecurityOptions: the one `security` option a zkit server, worker or client
 * takes, and {@link securitySocketOptions}, which turns it into the socket
 * options of core's `ZSocket` (libzmq's `ZMQ_CURVE_*`, `ZMQ_PLAIN_*`,
 * `ZMQ_ZAP_DOMAIN`).
 * @module
 */
import { InvalidArgumentError, describeValue } from "@zkit/core";
import { curveKeyText, type CurveKey } from "./keys.js";

/** CURVE (26/CURVEZMQ): a server has its key pair; a client also has the server's public key. */
export interface CurveSecurity {
  /** This side's secret key (a server's or a client's), 40 Z85 characters or 32 bytes. */
  secretKey: CurveKey;
  /** This side's public key. */
  publicKey: CurveKey;
  /**
   * The server's public key. Set on a client, never on a server: its
   * presence is what makes this side the client.
   * @defaultValue none (this side is the CURVE server)
   */
  serverKey?: CurveKey;
  /**
   * The ZAP domain a server asks its handler about (`ZMQ_ZAP_DOMAIN`); a
   * handler may answer differently per domain. Servers only.
   * @defaultValue none (libzmq sends an empty domain)
   */
  zapDomain?: string;
}

/** PLAIN client (24/ZMTP-PLAIN): a user name and password, sent in clear text. */
export interface PlainClientSecurity {
  /** The user name (`ZMQ_PLAIN_USERNAME`). */
  username: string;
  /** The password (`ZMQ_PLAIN_PASSWORD`). */
  password: string;
}

/** PLAIN server: checks user names and passwords through ZAP (a `ZAuth` in this process). */
export interface PlainServerSecurity {
  /** Always `true`: this side is the PLAIN server (`ZMQ_PLAIN_SERVER`). */
  server: true;
  /** See {@link CurveSecurity.zapDomain}. @defaultValue none */
  zapDomain?: string;
}

/**
 * How a socket secures its connections: CURVE (encryption and
 * authentication by key) or PLAIN (a password in clear text, for trusted
 * networks). No `security` at all means NULL, libzmq's default.
 *
 * @example
 * ```ts
 * const server: SecurityOptions = { curve: { publicKey: serverCert.publicKey, secretKey: serverCert.secretKey! } };
 * const client: SecurityOptions = { curve: { publicKey: me.publicKey, secretKey: me.secretKey!, serverKey: serverCert.publicKey } };
 * const plain: SecurityOptions = { plain: { username: "admin", password: "secret" } };
 * const plainServer: SecurityOptions = { plain: { server: true } };
 * ```
 */
export type SecurityOptions = { curve: CurveSecurity } | { plain: PlainClientSecurity | PlainServerSecurity };

/** The socket options {@link securitySocketOptions} returns: a subset of core `ZSocket`'s options. */
export interface SecuritySocketOptions {
  curveServer?: boolean;
  curveSecretKey?: string;
  curvePublicKey?: string;
  curveServerKey?: string;
  plainServer?: boolean;
  plainUsername?: string;
  plainPassword?: string;
  zapDomain?: string;
}

/** Options of {@link securitySocketOptions}. */
export interface SecuritySocketOptionsOptions {
  /**
   * Who takes the options, for messages, e.g. `"MajordomoBroker"`: a bad
   * value throws `<owner> option security ...`.
   * @defaultValue "securitySocketOptions"
   */
  owner?: string;
  /**
   * The role the socket plays, when the caller knows it: a broker's
   * frontend is a `"server"`, a client's socket a `"client"`. A CURVE
   * client configuration (with `serverKey`) given to a server, or the
   * reverse, then throws instead of failing every handshake later.
   * @defaultValue either role is accepted
   */
  role?: "server" | "client";
}

/**
 * Turns a `security` option into socket options for core's `ZSocket`:
 * spread them into the options of the socket that binds (server) or
 * connects (client). `undefined` gives `{}` (NULL security). The keys are
 * checked here, so a bad one throws before any socket exists, naming the
 * option.
 *
 * The order of the returned keys is the order libzmq needs: setting
 * `curveServerKey` makes a socket a CURVE client, so a server's options
 * never hold it, and `curveServer` comes after the keys.
 *
 * @example
 * ```ts
 * const socket = await ZSocket.router("@tcp://*:5555", { ...securitySocketOptions(options.security, { owner: "MyBroker", role: "server" }) });
 * ```
 * @param security - the `security` option, or `undefined`
 * @param options - see {@link SecuritySocketOptionsOptions}
 * @throws `InvalidArgumentError` naming `<owner> option security` and what to pass
 */
export function securitySocketOptions(security: SecurityOptions | undefined, options: SecuritySocketOptionsOptions = {}): SecuritySocketOptions {
  const owner = options.owner ?? "securitySocketOptions";
  const fail = (problem: string): never => {
    throw new InvalidArgumentError(`${owner} option security ${problem}`);
  };
  const example = "{ curve: { secretKey, publicKey, serverKey? } } or { plain: { username, password } } or { plain: { server: true } }";
  if (security === undefined) return {};
  if (typeof security !== "object" || security === null || Array.isArray(security)) return fail(`must be ${example}, got ${describeValue(security)}`);
  const keys = Object.keys(security);
  if (keys.length !== 1 || (keys[0] !== "curve" && keys[0] !== "plain")) return fail(`must have exactly one of curve or plain, like ${example}; got keys ${JSON.stringify(keys)}`);
  if ("curve" in security) {
    const c = security.curve as unknown as Record<string, unknown>;
    if (typeof c !== "object" || c === null) return fail(`.curve must be { secretKey, publicKey, serverKey? }, got ${describeValue(c)}`);
    checkKnown(c, ["secretKey", "publicKey", "serverKey", "zapDomain"], "curve", fail);
    const secretKey = curveKeyText(c.secretKey, `${owner} option security.curve.secretKey`);
    const publicKey = curveKeyText(c.publicKey, `${owner} option security.curve.publicKey`);
    if (c.serverKey === undefined) {
      if (options.role === "client") return fail(".curve.serverKey is required on a client: pass the server's public key");
      const out: SecuritySocketOptions = { curveSecretKey: secretKey, curvePublicKey: publicKey };
      if (c.zapDomain !== undefined) out.zapDomain = checkDomain(c.zapDomain, "curve", fail);
      out.curveServer = true;
      return out;
    }
    if (options.role === "server") return fail(".curve.serverKey makes this side a CURVE client, and this socket is a server: leave serverKey out");
    if (c.zapDomain !== undefined) return fail(".curve.zapDomain is for servers; a client (with serverKey) has no ZAP domain");
    const serverKey = curveKeyText(c.serverKey, `${owner} option security.curve.serverKey`);
    return { curveSecretKey: secretKey, curvePublicKey: publicKey, curveServerKey: serverKey };
  }
  const p = security.plain as unknown as Record<string, unknown>;
  if (typeof p !== "object" || p === null) return fail(`.plain must be { username, password } or { server: true }, got ${describeValue(p)}`);
  if ("server" in p) {
    checkKnown(p, ["server", "zapDomain"], "plain", fail);
    if (p.server !== true) return fail(`.plain.server must be true, got ${describeValue(p.server)}`);
    if (options.role === "client") return fail(".plain.server makes this side a PLAIN server, and this socket is a client: pass { plain: { username, password } }");
    const out: SecuritySocketOptions = {};
    if (p.zapDomain !== undefined) out.zapDomain = checkDomain(p.zapDomain, "plain", fail);
    out.plainServer = true;
    return out;
  }
  checkKnown(p, ["username", "password"], "plain", fail);
  if (options.role === "server") return fail(".plain with a username makes this side a PLAIN client, and this socket is a server: pass { plain: { server: true } }");
  for (const name of ["username", "password"] as const) {
    const v = p[name];
    if (typeof v !== "string" || v === "" || Buffer.byteLength(v) > 255) return fail(`.plain.${name} must be a string of 1 to 255 bytes, got ${describeValue(v)}`);
  }
  return { plainUsername: p.username as string, plainPassword: p.password as string };
}

function checkKnown(value: Record<string, unknown>, known: readonly string[], where: string, fail: (problem: string) => never): void {
  for (const k of Object.keys(value)) if (!known.includes(k)) fail(`.${where} has an unknown key "${k}": the keys are ${known.join(", ")}`);
}

function checkDomain(value: unknown, where: string, fail: (problem: string) => never): string {
  if (typeof value !== "string" || value === "" || Buffer.byteLength(value) > 255) fail(`.${where}.zapDomain must be a string of 1 to 255 bytes, got ${describeValue(value)}`);
  return value as string;
}
