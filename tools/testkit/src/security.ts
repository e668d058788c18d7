/**
 * The security matrix of the fault tests: the same test bodies run with no
 * security and over CURVE, chosen by `ZKIT_TEST_SECURITY`:
 *
 * - unset: both, `["null", "curve"]` (what `pnpm test` runs);
 * - `null` or `curve`: that one only (e.g. `ZKIT_TEST_SECURITY=curve npx vitest run test/faults.test.ts`).
 *
 * A test file wraps the tests that matter in
 * `describe.each(SECURITY_MODES)("... (%s)", (mode) => ...)`, builds a
 * {@link TestSecurity} for the mode, gives `server` to its brokers and
 * queues and `client` to its clients and workers, and `env` to the child
 * processes it starts, which read it back with {@link testSecurityFromEnv}.
 * testkit depends on no zkit package: the caller passes the key generator
 * (`ZCert.generate` of `@zkit/security`) and starts the ZAuth itself.
 * @module
 */

/** No security (libzmq's NULL mechanism), or CURVE. */
export type SecurityMode = "null" | "curve";

const MODES: readonly SecurityMode[] = ["null", "curve"];

/** The modes to run, from `ZKIT_TEST_SECURITY` (unset: both). */
export const SECURITY_MODES: readonly SecurityMode[] = modesFromEnv(process.env.ZKIT_TEST_SECURITY);

function modesFromEnv(value: string | undefined): readonly SecurityMode[] {
  if (value === undefined || value === "") return MODES;
  if (!(MODES as readonly string[]).includes(value)) throw new Error(`ZKIT_TEST_SECURITY must be "null" or "curve" (or unset for both), got ${JSON.stringify(value)}`);
  return [value as SecurityMode];
}

/** A CURVE key pair in Z85. */
export interface KeyPair {
  publicKey: string;
  secretKey: string;
}

/** What one mode gives a test: the `security` options of both sides, and the environment of its child processes. */
export interface TestSecurity {
  mode: SecurityMode;
  /** For brokers and queues: their key pair (undefined: no security). */
  server: { curve: { publicKey: string; secretKey: string } } | undefined;
  /** For clients and workers: their key pair and the server's public key (undefined: no security). */
  client: { curve: { publicKey: string; secretKey: string; serverKey: string } } | undefined;
  /** The clients' public key, for the server's ZAuth to allow (undefined: no security). */
  clientKey: string | undefined;
  /** Give it to child processes (`startNode(..., { env })`); they read it with {@link testSecurityFromEnv}. */
  env: Record<string, string>;
}

const ENV = {
  mode: "ZKIT_TEST_SECURITY",
  serverPublic: "ZKIT_TEST_CURVE_SERVER_PUBLIC",
  serverSecret: "ZKIT_TEST_CURVE_SERVER_SECRET",
  clientPublic: "ZKIT_TEST_CURVE_CLIENT_PUBLIC",
  clientSecret: "ZKIT_TEST_CURVE_CLIENT_SECRET",
} as const;

/**
 * The security of one mode: for `"curve"`, a fresh server key pair and one
 * client key pair (shared by every client and worker of the test).
 *
 * @param mode - from {@link SECURITY_MODES}
 * @param generate - makes a key pair, e.g. `() => { const c = ZCert.generate(); return { publicKey: c.publicKey, secretKey: c.secretKey! }; }`
 */
export function testSecurity(mode: SecurityMode, generate: () => KeyPair): TestSecurity {
  if (mode === "null") return { mode, server: undefined, client: undefined, clientKey: undefined, env: { [ENV.mode]: "null" } };
  const server = generate();
  const client = generate();
  return build(server, client, {
    [ENV.mode]: "curve",
    [ENV.serverPublic]: server.publicKey,
    [ENV.serverSecret]: server.secretKey,
    [ENV.clientPublic]: client.publicKey,
    [ENV.clientSecret]: client.secretKey,
  });
}

/** In a child process: the {@link TestSecurity} its test passed in `env` (no security when there is none). */
export function testSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): TestSecurity {
  if (env[ENV.mode] !== "curve") return { mode: "null", server: undefined, client: undefined, clientKey: undefined, env: { [ENV.mode]: "null" } };
  const read = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === "") throw new Error(`${ENV.mode}=curve needs ${name}`);
    return v;
  };
  const server = { publicKey: read(ENV.serverPublic), secretKey: read(ENV.serverSecret) };
  const client = { publicKey: read(ENV.clientPublic), secretKey: read(ENV.clientSecret) };
  const pass: Record<string, string> = {};
  for (const name of Object.values(ENV)) pass[name] = env[name]!;
  return build(server, client, pass);
}

function build(server: KeyPair, client: KeyPair, env: Record<string, string>): TestSecurity {
  return {
    mode: "curve",
    server: { curve: { publicKey: server.publicKey, secretKey: server.secretKey } },
    client: { curve: { publicKey: client.publicKey, secretKey: client.secretKey, serverKey: server.publicKey } },
    clientKey: client.publicKey,
    env,
  };
}
