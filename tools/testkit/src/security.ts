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
 * (`ZCert.generate` of `@zkit/security`) and starts the ZAuth itself, or
 * passes `@zkit/security` whole to {@link matrixSecurity} (a test) and
 * {@link startTestAuth} (a fixture in a child process), which do both.
 * @module
 */
import { track } from "./track.js";

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

/**
 * What {@link matrixSecurity} and {@link startTestAuth} use of
 * `@zkit/security`: pass the module itself, `import * as security from
 * "@zkit/security"` (testkit depends on no zkit package).
 */
export interface SecurityKit {
  ZCert: { generate(): { publicKey: string; secretKey: string | undefined }; fromKeys(publicKey: string): unknown };
  ZCertStore: new () => { insert(cert: never): void };
  ZAuth: new (options: { certStore: never }) => { start(): Promise<unknown>; close(): unknown };
}

/**
 * For a CURVE {@link TestSecurity}: starts a ZAuth in this process whose
 * certificate store holds the test's client key, and `alsoAllow` (e.g. the
 * server's own public key, for a Binary Star pair whose servers are CURVE
 * clients of each other). Resolves with it (the caller closes it), or with
 * `undefined` for no security. For fixtures in child processes:
 * `await startTestAuth(testSecurityFromEnv(), security)`.
 *
 * @param sec - the mode's security
 * @param kit - `@zkit/security`
 * @param alsoAllow - more public keys to let in
 */
export async function startTestAuth(sec: TestSecurity, kit: SecurityKit, alsoAllow: readonly string[] = []): Promise<{ close(): unknown } | undefined> {
  if (sec.clientKey === undefined) return undefined;
  const store = new kit.ZCertStore();
  for (const key of [sec.clientKey, ...alsoAllow]) store.insert(kit.ZCert.fromKeys(key) as never);
  const auth = new kit.ZAuth({ certStore: store as never });
  await auth.start();
  return auth;
}

/**
 * The security of one mode of the fault-test matrix, ready for a test:
 * {@link testSecurity} with fresh keys of `kit.ZCert.generate()`, and for
 * CURVE a ZAuth in this process ({@link startTestAuth}, closed by
 * `closeTracked()`), so that in-process servers check the clients' key.
 *
 * @param mode - from {@link SECURITY_MODES}
 * @param kit - `@zkit/security`
 * @param options - `allowServerKey`: let the server's own key in too (a pair of servers that are clients of each other)
 */
export async function matrixSecurity(mode: SecurityMode, kit: SecurityKit, options: { allowServerKey?: boolean } = {}): Promise<TestSecurity> {
  const sec = testSecurity(mode, () => {
    const c = kit.ZCert.generate();
    return { publicKey: c.publicKey, secretKey: c.secretKey! };
  });
  const auth = await startTestAuth(sec, kit, options.allowServerKey && sec.server !== undefined ? [sec.server.curve.publicKey] : []);
  if (auth !== undefined) track(auth);
  return sec;
}
