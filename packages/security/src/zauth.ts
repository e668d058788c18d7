/**
 * ZAuth: a ZAP handler (27/ZAP, CZMQ `zauth`) for every CURVE and PLAIN
 * server socket of this process: allow and deny by IP address, PLAIN with a
 * password file, CURVE with a certificate store or a callback. Counts and
 * reports every decision; reloads its files without a restart.
 * @module
 */
import { EventEmitter } from "node:events";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ClosedError, ErrorCode, InvalidArgumentError, ZSocket, ZkitError, describeValue, getLogger, now, readOptions, sleep } from "@zkit/core";
import { ZAP_ENDPOINT, ZapStatus, decodeZapRequest, encodeZapMetadata, encodeZapReply, type ZapMechanism, type ZapRequest, type ZapStatusCode } from "./zap-protocol.js";
import { z85Encode } from "./z85.js";
import { ZCertStore } from "./zcertstore.js";

const log = getLogger("auth");

/** Default of {@link ZAuthOptions.authorizeTimeoutMs}. */
export const ZAUTH_AUTHORIZE_TIMEOUT_MS = 5000;

/** Decides whether a CURVE client may connect: its public key (Z85) and IP address. */
export type CurveAuthorizer = (publicKey: string, address: string) => boolean | Promise<boolean>;

/** The options of a {@link ZAuth}. */
export interface ZAuthOptions {
  /**
   * IP addresses allowed to connect (CZMQ `ALLOW`): when any is set, every
   * other address is refused, whatever the mechanism; the credentials of an
   * allowed address are still checked. Exact strings as libzmq reports them
   * (`127.0.0.1`, `::1`).
   * @defaultValue none (every address, unless denied)
   */
  allow?: readonly string[];
  /**
   * IP addresses refused (CZMQ `DENY`); ignored while an allow list is set,
   * as in CZMQ.
   * @defaultValue none
   */
  deny?: readonly string[];
  /**
   * PLAIN users: a password file (CZMQ's format: one `user=password` a line,
   * `#` comments), re-read when it changes, or an object of user names to
   * passwords. Without it, every PLAIN client is refused.
   * @defaultValue none (PLAIN refused)
   */
  passwords?: string | Readonly<Record<string, string>>;
  /**
   * CURVE: the client public keys allowed, a {@link ZCertStore} (it notices
   * added and removed certificate files by itself). Not closed by ZAuth.
   * @defaultValue none
   */
  certStore?: ZCertStore;
  /**
   * CURVE: a callback that decides for each client (its public key in Z85,
   * its IP address); it may be async. Asked after the store when both are
   * set, for keys the store does not hold.
   * @defaultValue none
   */
  authorize?: CurveAuthorizer;
  /**
   * CURVE: allow every client key (CZMQ `CURVE_ALLOW_ANY`): encryption
   * without client authentication. Address rules still apply.
   * @defaultValue false
   */
  curveAllowAny?: boolean;
  /**
   * How long `authorize` may take before the client is refused with status
   * 500 (libzmq gives a handshake 30 s by default, and the client waits for
   * the answer).
   * @defaultValue 5000 ({@link ZAUTH_AUTHORIZE_TIMEOUT_MS})
   */
  authorizeTimeoutMs?: number;
  /**
   * Log every decision on the `zkit:auth` logger at info level (CZMQ `VERBOSE`).
   * @defaultValue false
   */
  verbose?: boolean;
}

/**
 * Why a request was accepted or denied: a stable word for counters and
 * alerts.
 */
export type ZAuthReason =
  | "null" // NULL mechanism (only asked when the server set a zapDomain): accepted unless the address is refused
  | "password" // PLAIN: user and password match
  | "cert-store" // CURVE: the key is in the store
  | "authorize" // CURVE: the callback said yes
  | "allow-any" // CURVE: curveAllowAny
  | "address-not-allowed" // an allow list is set and the address is not on it
  | "address-denied" // the address is on the deny list
  | "no-passwords" // PLAIN without a password file or map
  | "unknown-user"
  | "wrong-password"
  | "no-curve-rule" // CURVE with no store, callback or allow-any
  | "unknown-key" // CURVE: not in the store, and no callback or it said no
  | "authorize-refused"
  | "authorize-failed" // the callback threw
  | "authorize-timeout"
  | "unsupported-mechanism" // GSSAPI or anything else
  | "bad-version"
  | "malformed"; // a request that breaks 27/ZAP

/** What an `accepted` or `denied` event carries. */
export interface ZAuthDecision {
  /** The mechanism (`NULL`, `PLAIN`, `CURVE`, or what a malformed request named). */
  mechanism: string;
  /** The client's IP address. */
  address: string;
  /** The server's ZAP domain. */
  domain: string;
  /** PLAIN user name or CURVE public key (Z85), when there was one. */
  user: string | undefined;
  /** Why; see {@link ZAuthReason}. */
  reason: ZAuthReason;
  /** The ZAP status sent: 200, 400 or 500. */
  status: ZapStatusCode;
}

/** The events of a {@link ZAuth}. */
export interface ZAuthEvents {
  /** It runs: `start()` finished. */
  start: [];
  /** It is closed. */
  close: [info: { error: unknown }];
  /** A client was accepted (status 200). */
  accepted: [decision: ZAuthDecision];
  /** A client was refused (status 400 or 500), or a malformed request was answered. */
  denied: [decision: ZAuthDecision];
  /** A request that breaks 27/ZAP: answered 400/500 when it can be, else dropped; always counted. */
  malformed: [info: { problem: string; answered: boolean }];
}

/** What a {@link ZAuth} has decided, for operators. */
export interface ZAuthStats {
  /** Requests received. */
  requests: number;
  /** Accepted, denied. */
  accepted: number;
  denied: number;
  /** Malformed requests (answered or dropped; answered ones also count as denied). */
  malformed: number;
  /** Decisions by reason. */
  byReason: Partial<Record<ZAuthReason, number>>;
  /** Times the password file was (re)loaded. */
  passwordLoads: number;
}

/** Where a {@link ZAuth} is in its life (the states of zkit's lifecycle contract). */
export type ZAuthState = "new" | "starting" | "running" | "closing" | "closed";

const OPTION_NAMES = ["allow", "deny", "passwords", "certStore", "authorize", "curveAllowAny", "authorizeTimeoutMs", "verbose"] as const;

/**
 * A ZAP handler (27/ZAP, CZMQ `zauth`): every CURVE and PLAIN server socket
 * of this process (of zeromq.js's default context, shared by its worker
 * threads) asks it about each client during the handshake.
 *
 * - Addresses: `allow` (only these) and `deny`, changeable while it runs.
 * - PLAIN: a password file (re-read when it changes) or a map.
 * - CURVE: a {@link ZCertStore} (a directory it watches), an
 *   `authorize(publicKey, address)` callback, or `curveAllowAny`.
 * - Every decision is counted ({@link ZAuth.stats}) and emitted
 *   (`accepted`, `denied` with a {@link ZAuthReason}); malformed requests
 *   are answered 400/500 as 27/ZAP allows, counted, and never crash it.
 *
 * It keeps zkit's lifecycle contract: `start()` binds
 * `inproc://zeromq.zap.01` (idempotent), `close()` is graceful (decisions in
 * progress are answered) and idempotent, `closed`, `done`, `await using`.
 * Unlike a server, it does not close by itself on an interrupt: close it
 * after your servers.
 *
 * **Without a running ZAuth, a CURVE server accepts every client that knows
 * its public key** (libzmq 4.3.5 skips ZAP when no handler is bound), and a
 * PLAIN server refuses every client. Start the ZAuth before the servers,
 * close it after them. There can be one per process (the endpoint is fixed
 * by 27/ZAP).
 *
 * @example
 * ```ts
 * const auth = new ZAuth({ certStore: await ZCertStore.open("/etc/zkit/clients"), deny: ["10.0.0.66"] });
 * auth.on("denied", ({ address, user, reason }) => console.log(`refused ${user} from ${address}: ${reason}`));
 * await auth.start();
 * const server = await ZSocket.router("@tcp://*:5555", securitySocketOptions(serverCert.serverSecurity()));
 * ```
 */
export class ZAuth extends EventEmitter<ZAuthEvents> {
  /** See {@link ZAuthOptions.verbose}; may be changed at any time. */
  verbose: boolean;
  readonly #allow = new Set<string>();
  readonly #deny = new Set<string>();
  readonly #passwordsFile: string | undefined;
  #passwords: Map<string, string> | undefined;
  #passwordsStamp = "";
  #passwordsLoading: Promise<void> | undefined;
  readonly #certStore: ZCertStore | undefined;
  readonly #authorize: CurveAuthorizer | undefined;
  readonly #allowAny: boolean;
  readonly #authorizeTimeoutMs: number;
  #state: ZAuthState = "new";
  #socket: ZSocket<"ROUTER"> | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #reading: Promise<void> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #done: Promise<void>;
  #settle!: (err?: unknown) => void;
  #error: unknown;
  readonly #stats = { requests: 0, accepted: 0, denied: 0, malformed: 0, passwordLoads: 0 };
  readonly #byReason = new Map<ZAuthReason, number>();

  /**
   * @param options - see {@link ZAuthOptions}
   * @throws `InvalidArgumentError` for a bad option, naming it
   */
  constructor(options: ZAuthOptions = {}) {
    super();
    const o = readOptions(options, { owner: "ZAuth", known: OPTION_NAMES, example: '{ certStore, allow: ["10.0.0.1"] }' });
    for (const a of addressList(o.raw("allow"), "allow")) this.#allow.add(a);
    for (const a of addressList(o.raw("deny"), "deny")) this.#deny.add(a);
    const passwords = o.raw("passwords");
    if (typeof passwords === "string") {
      if (passwords === "") o.fail("passwords", "must be a password file's path or an object of user names to passwords, got an empty string");
      this.#passwordsFile = passwords;
    } else if (passwords !== undefined) {
      if (typeof passwords !== "object" || passwords === null || Array.isArray(passwords)) {
        o.fail("passwords", `must be a password file's path or an object of user names to passwords, got ${describeValue(passwords)}`);
      }
      this.#passwords = new Map();
      for (const [user, password] of Object.entries(passwords as Record<string, unknown>)) {
        if (typeof password !== "string") o.fail("passwords", `must map user names to password strings; ${JSON.stringify(user)} maps to ${describeValue(password)}`);
        this.#passwords.set(user, password as string);
      }
    }
    const store = o.raw("certStore");
    if (store !== undefined && !(store instanceof ZCertStore)) o.fail("certStore", `must be a ZCertStore (await ZCertStore.open(directory)), got ${describeValue(store)}`);
    this.#certStore = store as ZCertStore | undefined;
    this.#authorize = o.function<CurveAuthorizer>("authorize", "(publicKey: string, address: string) => boolean | Promise<boolean>");
    this.#allowAny = o.boolean("curveAllowAny", false);
    this.#authorizeTimeoutMs = o.number("authorizeTimeoutMs", ZAUTH_AUTHORIZE_TIMEOUT_MS, { min: 0, exclusive: true });
    this.verbose = o.boolean("verbose", false);
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.#done.catch(() => {});
  }

  /** Where it is in its life: new, starting, running, closing, closed. */
  get state(): ZAuthState {
    return this.#state;
  }

  /** True while it answers requests. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#state === "closing" || this.#state === "closed";
  }

  /** Settles once fully closed; rejects with the error that ended it (a failed start). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** What it has decided; see {@link ZAuthStats}. */
  get stats(): ZAuthStats {
    return { ...this.#stats, byReason: Object.fromEntries(this.#byReason) };
  }

  /** The allow list now. */
  get allowed(): readonly string[] {
    return [...this.#allow];
  }

  /** The deny list now. */
  get denied(): readonly string[] {
    return [...this.#deny];
  }

  /**
   * Starts answering: binds `inproc://zeromq.zap.01` and, with a password
   * file, reads it. Idempotent: every call returns the same promise.
   *
   * @throws (rejects) `ZKIT_ADDRESS_IN_USE` when another ZAP handler runs in
   *   this process (another ZAuth, or a handler of another library); a
   *   `ZkitError` naming the password file when it cannot be read;
   *   `ClosedError` after `close()`
   */
  start(): Promise<void> {
    if (this.#closing !== undefined) {
      const p = Promise.reject(new ClosedError("ZAuth.start: it is closed; create a new one"));
      p.catch(() => {});
      return p;
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    try {
      if (this.#passwordsFile !== undefined) await this.#loadPasswords(true);
      this.#socket = await bindZapEndpoint();
      runningHandlers.add(this);
    } catch (err) {
      this.#error = err;
      this.#state = "closed";
      this.#closing = Promise.resolve();
      this.#emitSafely("close", { error: err });
      this.#settle(err);
      throw err;
    }
    if (this.#closing !== undefined) return;
    this.#state = "running";
    this.#reading = this.#read(this.#socket);
    log.debug("ZAuth: answering on %s", ZAP_ENDPOINT);
    this.#emitSafely("start");
  }

  /**
   * Stops answering, gracefully: decisions in progress are answered first
   * (an `authorize` callback gets up to `authorizeTimeoutMs`), then the
   * socket closes. Idempotent; never rejects. From then on, this process's
   * servers do not authenticate (see the class notes): close it after them.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasNew = this.#state === "new";
    this.#state = "closing";
    if (this.#starting !== undefined) await this.#starting.catch(() => {});
    if (!wasNew) {
      // the decisions in hand when close was called; under a stream of new
      // handshakes, waiting for all of them could last for ever
      await Promise.allSettled([...this.#inFlight]);
      // No inproc unbind first: with it, this package's tests aborted 3 times in 12 runs
      // in a libzmq 4.3.5 assertion (pipe.cpp:355, pipe termination state)
      // while servers' ZAP pipes were closing; without it, never in 18 runs.
      // start() waits for the name instead (bindZapEndpoint).
      this.#socket?.close();
      if (this.#socket !== undefined) runningHandlers.delete(this);
      await this.#reading;
    }
    this.#state = "closed";
    this.#emitSafely("close", { error: this.#error });
    this.#settle(this.#error);
  }

  /** Closes it (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Adds addresses to the allow list (CZMQ `ALLOW`); from the next handshake on.
   * @throws `InvalidArgumentError` for something that is not an address string
   */
  allow(...addresses: string[]): void {
    for (const a of addressList(addresses, "allow")) this.#allow.add(a);
  }

  /**
   * Adds addresses to the deny list (CZMQ `DENY`); from the next handshake on.
   * @throws `InvalidArgumentError` for something that is not an address string
   */
  deny(...addresses: string[]): void {
    for (const a of addressList(addresses, "deny")) this.#deny.add(a);
  }

  /** Removes addresses from the allow and deny lists. */
  forget(...addresses: string[]): void {
    for (const a of addresses) {
      this.#allow.delete(a);
      this.#deny.delete(a);
    }
  }

  /**
   * Re-reads the password file and rescans the certificate store now. Both
   * also happen by themselves (the file when it changes, the store when its
   * directory does); this is for a deployment step that must know the new
   * credentials are in force before it goes on.
   *
   * @throws (rejects) a `ZkitError` naming the password file when it cannot be read
   */
  async reload(): Promise<void> {
    if (this.#passwordsFile !== undefined) await this.#loadPasswords(true);
    if (this.#certStore !== undefined && !this.#certStore.closed) await this.#certStore.reload();
  }

  async #read(socket: ZSocket<"ROUTER">): Promise<void> {
    try {
      for await (const frames of socket) {
        this.#stats.requests++;
        const task = this.#handle(socket, frames).catch((err: unknown) => {
          log.error("ZAuth: a request failed: %s", (err as Error)?.stack ?? String(err));
        });
        this.#inFlight.add(task);
        void task.finally(() => this.#inFlight.delete(task));
      }
    } catch (err) {
      if (!(err instanceof ZkitError && err.code === ErrorCode.Closed)) log.error("ZAuth: reading stopped: %s", (err as Error)?.message ?? String(err));
    }
  }

  async #handle(socket: ZSocket<"ROUTER">, frames: Buffer[]): Promise<void> {
    const decoded = decodeZapRequest(frames);
    if (!decoded.ok) {
      const { kind, problem, reply, mechanism, address } = decoded.bad;
      this.#stats.malformed++;
      log.warn("ZAuth: malformed ZAP request (%s): %s", problem, reply === undefined ? "dropped" : `answered ${reply[reply.length - 4]!.toString()}`);
      this.#emitSafely("malformed", { problem, answered: reply !== undefined });
      if (reply === undefined) return;
      const status = reply[reply.length - 4]!.toString() as ZapStatusCode;
      this.#count({ mechanism: mechanism ?? "", address: address ?? "", domain: "", user: undefined, reason: kind, status });
      await this.#send(socket, reply);
      return;
    }
    const request = decoded.request;
    const decision = await this.#decide(request);
    this.#count(decision);
    let userId = "";
    let metadata: Buffer | undefined;
    if (decision.status === ZapStatus.Ok) {
      userId = decision.user ?? "";
      if (request.mechanism === "CURVE" && this.#certStore !== undefined) {
        const cert = this.#certStore.lookup(request.publicKey!);
        if (cert !== undefined) metadata = encodeZapMetadata(cert.metadata);
      }
    }
    await this.#send(socket, encodeZapReply(request.envelope, request.requestId, decision.status, statusText(decision), userId, metadata));
  }

  async #send(socket: ZSocket<"ROUTER">, reply: Buffer[]): Promise<void> {
    // a session that went away meanwhile: ROUTER drops the reply, as it should
    await socket.send(reply).catch((err: unknown) => log.debug("ZAuth: reply not sent: %s", (err as Error)?.message));
  }

  async #decide(request: ZapRequest): Promise<ZAuthDecision> {
    const mechanism: ZapMechanism = request.mechanism;
    const user = mechanism === "PLAIN" ? request.username : mechanism === "CURVE" ? z85Encode(request.publicKey!) : undefined;
    const base = { mechanism, address: request.address, domain: request.domain, user };
    const deny = (reason: ZAuthReason, status: ZapStatusCode = ZapStatus.AuthenticationFailure): ZAuthDecision => ({ ...base, reason, status });
    const accept = (reason: ZAuthReason): ZAuthDecision => ({ ...base, reason, status: ZapStatus.Ok });
    if (this.#allow.size > 0) {
      if (!this.#allow.has(request.address)) return deny("address-not-allowed");
    } else if (this.#deny.has(request.address)) {
      return deny("address-denied");
    }
    if (mechanism === "NULL") return accept("null");
    if (mechanism === "PLAIN") {
      if (this.#passwordsFile !== undefined) {
        try {
          await this.#loadPasswords(false);
        } catch (err) {
          log.error("ZAuth: %s; keeping the passwords read before", (err as Error).message);
        }
      }
      const passwords = this.#passwords;
      if (passwords === undefined) return deny("no-passwords");
      const expected = passwords.get(request.username!);
      if (expected === undefined) return deny("unknown-user");
      return sameSecret(expected, request.password!) ? accept("password") : deny("wrong-password");
    }
    // CURVE
    if (this.#allowAny) return accept("allow-any");
    if (this.#certStore === undefined && this.#authorize === undefined) return deny("no-curve-rule");
    if (this.#certStore?.has(user!)) return accept("cert-store");
    if (this.#authorize === undefined) return deny("unknown-key");
    const verdict = await this.#ask(user!, request.address);
    if (verdict === true) return accept("authorize");
    if (verdict === false) return deny("authorize-refused");
    return deny(verdict, ZapStatus.InternalError);
  }

  async #ask(publicKey: string, address: string): Promise<boolean | "authorize-failed" | "authorize-timeout"> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"authorize-timeout">((resolve) => {
      timer = setTimeout(() => resolve("authorize-timeout"), this.#authorizeTimeoutMs);
    });
    try {
      const answer = await Promise.race([Promise.resolve().then(() => this.#authorize!(publicKey, address)), timeout]);
      if (answer === "authorize-timeout") {
        log.warn("ZAuth: authorize(%s, %s) did not answer within %d ms: refused", publicKey, address, this.#authorizeTimeoutMs);
        return answer;
      }
      return answer === true;
    } catch (err) {
      log.error("ZAuth: authorize(%s, %s) threw: %s", publicKey, address, (err as Error)?.stack ?? String(err));
      return "authorize-failed";
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the password file when it changed (or always, with `force`); one read at a time. */
  async #loadPasswords(force: boolean): Promise<void> {
    if (this.#passwordsLoading !== undefined) return this.#passwordsLoading;
    this.#passwordsLoading = (async () => {
      const file = this.#passwordsFile!;
      try {
        const st = await stat(file);
        const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
        if (!force && stamp === this.#passwordsStamp) return;
        const { passwords, badLines } = parsePasswords(await readFile(file, "utf8"));
        for (const line of badLines) log.warn("ZAuth: password file %s line %d is not user=password; skipped", file, line);
        this.#passwords = passwords;
        this.#passwordsStamp = stamp;
        this.#stats.passwordLoads++;
        log.debug("ZAuth: %d PLAIN users from %s", passwords.size, file);
      } catch (err) {
        throw new ZkitError(ErrorCode.InvalidArgument, `ZAuth: cannot read the password file ${file}: ${(err as Error).message}`, { cause: err });
      }
    })().finally(() => {
      this.#passwordsLoading = undefined;
    });
    return this.#passwordsLoading;
  }

  #count(decision: ZAuthDecision): void {
    const ok = decision.status === ZapStatus.Ok;
    if (ok) this.#stats.accepted++;
    else this.#stats.denied++;
    this.#byReason.set(decision.reason, (this.#byReason.get(decision.reason) ?? 0) + 1);
    if (this.verbose) {
      log.info(
        "ZAuth: %s %s %s from %s%s: %s",
        ok ? "accepted" : "denied",
        decision.mechanism,
        decision.user ?? "",
        decision.address,
        decision.domain ? ` (domain ${decision.domain})` : "",
        decision.reason,
      );
    }
    this.#emitSafely(ok ? "accepted" : "denied", decision);
  }

  #emitSafely<K extends keyof ZAuthEvents>(name: K, ...args: ZAuthEvents[K]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (err) {
      log.error("a ZAuth %s listener threw: %s", name, (err as Error)?.stack ?? String(err));
    }
  }
}

/** The ZAuths of this process whose socket is open. */
const runningHandlers = new Set<ZAuth>();

/**
 * How long `start()` waits for the ZAP endpoint when no ZAuth of this
 * process holds it: libzmq frees the name of a closed handler only once the
 * servers' ZAP pipes to it are gone, a moment after they close.
 */
const ZAP_NAME_WAIT_MS = 3000;

async function bindZapEndpoint(): Promise<ZSocket<"ROUTER">> {
  const deadline = now() + ZAP_NAME_WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      return await ZSocket.router(`@${ZAP_ENDPOINT}`, { linger: 0 });
    } catch (err) {
      if (!(err instanceof ZkitError && err.code === ErrorCode.AddressInUse)) throw err;
      if (runningHandlers.size > 0) {
        throw new ZkitError(ErrorCode.AddressInUse, `ZAuth.start: another ZAuth already runs in this process (${ZAP_ENDPOINT} is bound); use one per process, and close the old one first`, {
          cause: err,
        });
      }
      if (now() >= deadline) {
        throw new ZkitError(
          ErrorCode.AddressInUse,
          `ZAuth.start: ${ZAP_ENDPOINT} is still bound ${ZAP_NAME_WAIT_MS} ms on: another ZAP handler runs in this process (not a ZAuth), or a closed one is kept by server sockets still connected to it; close those servers first`,
          { cause: err },
        );
      }
      await sleep(delay);
    }
  }
}

/**
 * Parses a password file in CZMQ's format: one `user=password` a line (the
 * first `=` splits), blank lines and `#` comments ignored.
 *
 * @returns the users, and the numbers of the lines that are not `user=password`
 */
export function parsePasswords(text: string): { passwords: Map<string, string>; badLines: number[] } {
  const passwords = new Map<string, string>();
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      badLines.push(i + 1);
      return;
    }
    passwords.set(line.slice(0, eq).trim(), line.slice(eq + 1));
  });
  return { passwords, badLines };
}

function statusText(d: ZAuthDecision): string {
  if (d.status === ZapStatus.Ok) return "OK";
  if (d.status === ZapStatus.InternalError) return "Internal error";
  return d.reason.startsWith("address") ? "Address not allowed" : "Authentication failure";
}

function addressList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((a) => typeof a !== "string" || a.trim() === "")) {
    throw new InvalidArgumentError(
      `ZAuth option ${name} must be an array of IP address strings like ["10.0.0.7", "::1"], got ${Array.isArray(value) ? JSON.stringify(value) : describeValue(value)}`,
    );
  }
  return (value as string[]).map((a) => a.trim());
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
