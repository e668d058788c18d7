/**
 * The security flags of the `zkit` commands: CURVE certificates in the
 * files CZMQ and pyzmq write, and a ZAP handler (`ZAuth`) for servers.
 *
 * Servers (brokers, queues, Binary Star and Freelance servers):
 * `--curve-secret FILE` (their certificate: CURVE on), `--auth-dir DIR`
 * (the client certificates allowed, a directory watched for changes),
 * `--auth-allow IP` (repeatable: only these addresses). Clients and workers:
 * `--curve-server-key KEY` (the server's public key, Z85 or its public
 * certificate file: CURVE on) and `--curve-secret FILE` (their own
 * certificate; without it a fresh key pair is made for the run, which a
 * server with `--auth-dir` refuses).
 *
 * A flag that cannot be used (a file that is no certificate, a key that is
 * not 40 Z85 characters, an allow list without CURVE) is a usage error:
 * exit code 2, with a message that says what to pass.
 * @module
 */
import { isIP } from "node:net";
import { isZ85Key, ZAuth, ZCert, ZCertStore, type SecurityOptions } from "@zkit/security";
import { UsageError, type CommandContext, type FlagSpec } from "./command.js";

const CURVE_SECRET_HELP = "a CURVE certificate's secret file (CZMQ/pyzmq ZPL, e.g. server.key_secret): CURVE on, with its key pair";

/** The security flags of a server command. */
export const SERVER_SECURITY_FLAGS = {
  "curve-secret": { type: "string", help: CURVE_SECRET_HELP },
  "auth-dir": { type: "string", help: "a directory of allowed client certificates (public files; changes are noticed): others are refused; needs --curve-secret" },
  "auth-allow": {
    type: "string",
    repeatable: true,
    help: "only this client IP address may connect; needs --curve-secret",
    check: (value: string) => {
      for (const ip of value.split(",")) {
        if (isIP(ip.trim()) === 0) throw new UsageError(`"${ip}" is not an IP address: write one address per flag, e.g. --auth-allow 127.0.0.1`);
      }
    },
  },
} as const satisfies Record<string, FlagSpec>;

/** The security flags of a client or worker command. */
export const CLIENT_SECURITY_FLAGS = {
  "curve-secret": { type: "string", help: "this side's CURVE certificate, its secret file (CZMQ/pyzmq ZPL); default with --curve-server-key: a fresh key pair for this run" },
  "curve-server-key": {
    type: "string",
    help: "the server's CURVE public key, 40 Z85 characters, or its public certificate file: CURVE on",
  },
} as const satisfies Record<string, FlagSpec>;

type ServerFlags = { "curve-secret": string | undefined; "auth-dir": string | undefined; "auth-allow": string | undefined; verbose: boolean };
type ClientFlags = { "curve-secret": string | undefined; "curve-server-key": string | undefined; verbose: boolean };

/** What a server command runs with: its `security` option, and what to close when it stops. */
export interface ServerSecurity {
  /** The server's `security` option (undefined: none). */
  security: SecurityOptions | undefined;
  /** Closes the ZAuth and the certificate store, if any. */
  close(): Promise<void>;
}

/**
 * Reads a server command's security flags: loads its certificate, opens the
 * certificate store and starts a ZAuth when asked.
 * @throws {@link UsageError} for flags that cannot be used (exit code 2)
 */
export async function serverSecurity(ctx: CommandContext<Record<string, FlagSpec>>): Promise<ServerSecurity> {
  const flags = ctx.flags as unknown as ServerFlags;
  const secret = flags["curve-secret"];
  const dir = flags["auth-dir"];
  const allow = flags["auth-allow"]
    ?.split(",")
    .map((ip) => ip.trim())
    .filter((ip) => ip !== "");
  if (secret === undefined) {
    if (dir !== undefined) throw new UsageError("--auth-dir needs --curve-secret FILE: the client certificates are checked in the CURVE handshake");
    if (allow !== undefined) throw new UsageError("--auth-allow needs --curve-secret FILE: addresses are checked in the CURVE handshake");
    return { security: undefined, close: async () => {} };
  }
  const cert = await loadSecret("curve-secret", secret);
  let store: ZCertStore | undefined;
  let auth: ZAuth | undefined;
  if (dir !== undefined || allow !== undefined) {
    if (dir !== undefined) {
      try {
        store = await ZCertStore.open(dir);
      } catch (err) {
        throw new UsageError(`--auth-dir: cannot use ${dir} (${(err as Error).message}): pass a directory of client certificates (the public files CZMQ or pyzmq write)`);
      }
    }
    auth = new ZAuth({
      ...(store !== undefined ? { certStore: store } : { curveAllowAny: true }),
      ...(allow !== undefined ? { allow } : {}),
      verbose: flags.verbose,
    });
    if (flags.verbose) {
      auth.on("accepted", (d) => ctx.out(`I: ZAP accepted ${d.address} (${d.reason})`));
      auth.on("denied", (d) => ctx.out(`W: ZAP denied ${d.address} (${d.reason})`));
    }
    await auth.start();
    const keys = store?.size;
    ctx.out(
      `I: CURVE on with public key ${cert.publicKey}; ZAP: ${store !== undefined ? `${keys} client certificate(s) in ${dir}` : "any client key"}${allow !== undefined ? `, only from ${allow.join(", ")}` : ""}`,
    );
  } else {
    ctx.out(`I: CURVE on with public key ${cert.publicKey}; any client key is admitted (add --auth-dir DIR to check them)`);
  }
  return {
    security: cert.serverSecurity(),
    close: async () => {
      await auth?.close();
      store?.close();
    },
  };
}

/**
 * Reads a client or worker command's security flags.
 * @returns the `security` option, or undefined without `--curve-server-key`
 * @throws {@link UsageError} for flags that cannot be used (exit code 2)
 */
export async function clientSecurity(ctx: CommandContext<Record<string, FlagSpec>>): Promise<SecurityOptions | undefined> {
  const flags = ctx.flags as unknown as ClientFlags;
  const secret = flags["curve-secret"];
  const serverKey = flags["curve-server-key"];
  if (serverKey === undefined) {
    if (secret !== undefined) throw new UsageError("--curve-secret needs --curve-server-key KEY on a client or worker: the server's public key (Z85, or its public certificate file)");
    return undefined;
  }
  let key: string;
  if (isZ85Key(serverKey)) key = serverKey;
  else {
    try {
      key = (await ZCert.load(serverKey)).publicKey;
    } catch (err) {
      throw new UsageError(
        `--curve-server-key: "${serverKey}" is neither a CURVE key (40 Z85 characters) nor a certificate file we can read (${(err as Error).message}); pass the server's public key or its public certificate`,
      );
    }
  }
  let cert: ZCert;
  if (secret !== undefined) cert = await loadSecret("curve-secret", secret);
  else {
    cert = ZCert.generate();
    if (flags.verbose) ctx.out(`I: no --curve-secret: this run's CURVE public key is ${cert.publicKey}`);
  }
  return cert.clientSecurity(key);
}

/** Loads a certificate that must hold a secret key, or throws a UsageError that says what to pass. */
async function loadSecret(flag: string, file: string): Promise<ZCert> {
  let cert: ZCert;
  try {
    cert = await ZCert.load(file);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}; pass a certificate's secret file as CZMQ or pyzmq write it (e.g. name.key_secret)`);
  }
  if (cert.secretKey === undefined) throw new UsageError(`--${flag}: ${file} holds only a public key; pass the secret file (e.g. ${file}_secret)`);
  return cert;
}

/**
 * Runs a server command's body with its `security` option (see
 * {@link serverSecurity}), and closes the ZAuth and the store after it.
 */
export async function withServerSecurity<T>(ctx: CommandContext<Record<string, FlagSpec>>, body: (security: SecurityOptions | undefined) => Promise<T>): Promise<T> {
  const sec = await serverSecurity(ctx);
  try {
    return await body(sec.security);
  } finally {
    await sec.close();
  }
}
