/**
 * Handshake failures as typed errors: a client whose CURVE or PLAIN
 * handshake fails (a wrong server key, refused by the server's ZAP handler)
 * gets a {@link HandshakeError} that says so and what to do, instead of a
 * timeout that looks like "server down". libzmq keeps such failures to its
 * monitor; {@link HandshakeGuard} watches it.
 * @module
 */
import { ZMonitor, ZkitError, describeEvent, type MonitorEvent, type MonitorEventType, type ZSocket, type ZkitErrorOptions } from "@zkit/core";
import { SecurityErrorCode } from "./errors.js";

/** The monitor events that mean a handshake failed. */
export const HANDSHAKE_FAILURES: readonly MonitorEventType[] = ["handshake-failed-auth", "handshake-failed-protocol", "handshake-failed-no-detail"];

/**
 * A connection's security handshake failed (code `ZKIT_HANDSHAKE`): the
 * server refused our credentials (ZAP status 400), the keys do not match,
 * or the two sides use different mechanisms. Retrying does not help; the
 * message says what to check.
 */
export class HandshakeError extends ZkitError {
  /** The endpoint whose handshake failed. */
  readonly endpoint: string;
  /** The monitor event that reported it. */
  readonly event: MonitorEventType;
  /** The ZAP status code (300, 400, 500) when the server's authenticator refused us. */
  readonly status: number | undefined;
  /** libzmq's reason: an errno name (`EPIPE`), a protocol error (`ERR_ZMTP_MECHANISM_MISMATCH`) or the ZAP status as text. */
  readonly reason: string;

  constructor(message: string, details: { endpoint: string; event: MonitorEventType; status?: number; reason: string }, options?: ZkitErrorOptions) {
    super(SecurityErrorCode.Handshake, message, options);
    this.endpoint = details.endpoint;
    this.event = details.event;
    this.status = details.status;
    this.reason = details.reason;
  }

  /**
   * The error for a monitor event, or `undefined` when the event is not a
   * handshake failure.
   *
   * @param event - an event of a `ZMonitor` on the client's socket
   */
  static fromEvent(event: MonitorEvent): HandshakeError | undefined {
    if (!HANDSHAKE_FAILURES.includes(event.type)) return undefined;
    const at = event.endpoint === "" ? "the server" : `the server at ${event.endpoint}`;
    const reason = event.error?.code ?? String(event.value);
    let text: string;
    let status: number | undefined;
    if (event.type === "handshake-failed-auth") {
      status = event.value;
      if (status === 300) text = `${at} could not check our credentials for now (ZAP status 300, temporary error); try again later`;
      else if (status === 500) text = `${at} failed to check our credentials (ZAP status 500, internal error in its authenticator); tell the server's operator`;
      else {
        text =
          `${at} refused our credentials (ZAP status ${status}${event.error?.message ? `, ${event.error.message}` : ""}): ` +
          "our CURVE public key is not in its certificate store, our PLAIN user name or password is wrong, or our address is denied; " +
          "check the keys and password this client uses, and ask the server's operator to allow them " +
          "(libzmq does not reconnect a refused socket: open a new one once that is fixed)";
      }
    } else if (event.type === "handshake-failed-protocol") {
      if (reason === "ERR_ZMTP_MECHANISM_MISMATCH") text = `${at} uses another security mechanism (CURVE, PLAIN or none) than this socket; give both sides the same security option`;
      else if (reason === "ERR_ZMTP_CRYPTOGRAPHIC") text = `the CURVE handshake with ${at} failed a cryptographic check: the client's server key is not the server's public key`;
      else if (reason.startsWith("ERR_ZAP")) text = `${at}'s authenticator gave a malformed answer (${reason}); tell the server's operator`;
      else text = `the handshake with ${at} broke the protocol (${reason}${event.error?.message ? `: ${event.error.message}` : ""}); check that both sides use the same security option`;
    } else {
      text =
        `${at} hung up during the security handshake (${reason}): most likely this client's CURVE server key (serverKey) is not the server's public key, ` +
        "or the server uses another security mechanism; check the server key against the server's public certificate";
    }
    return new HandshakeError(`handshake failed: ${text}`, { endpoint: event.endpoint, event: event.type, status, reason }, { cause: describeEvent(event) });
  }
}

/** Options of a {@link HandshakeGuard}. */
export interface HandshakeGuardOptions {
  /**
   * Only failures of this endpoint count (a socket connected to several).
   * @defaultValue any endpoint
   */
  endpoint?: string;
  /**
   * Called with every handshake failure, as it happens: for an owner that
   * reports failures as events (a worker's `disconnected`) rather than
   * racing a request against them.
   * @defaultValue none
   */
  onFailure?: (error: HandshakeError) => void;
}

/**
 * Watches a client socket's handshakes and turns a failure into a
 * {@link HandshakeError}, so that a request can race its reply against it:
 * the caller learns "the server refused our key" at once, not "no reply
 * within 2500 ms".
 *
 * Make the guard before the socket connects (libzmq reports only what
 * happens after monitoring starts): create the `ZSocket` without endpoints,
 * guard it, then `attach`/`connect`. After a failure, a later successful
 * handshake clears it.
 *
 * What libzmq 4.3.5 does after a failure (measured): a client refused by
 * the server's ZAP handler (`handshake-failed-auth`) is disconnected and
 * never reconnects, so it would wait forever; a client with the wrong
 * server key (`handshake-failed-no-detail`, `EPIPE`) reconnects and fails
 * again every `reconnectInterval`, which looks like a server that is down.
 * Either way the guard turns the first failure into a {@link HandshakeError}.
 *
 * @example
 * ```ts
 * const req = new ZSocket("REQ", securitySocketOptions(me.clientSecurity(serverKey)));
 * const guard = new HandshakeGuard(req);
 * req.connect(endpoint);
 * await req.send("hello");
 * try {
 *   const reply = await guard.race(req.receive());
 * } catch (err) {
 *   if (err instanceof HandshakeError) console.error(err.message); // handshake failed: the server at tcp://... refused our credentials (ZAP status 400...)
 * }
 * ```
 */
export class HandshakeGuard {
  /** The guarded socket. */
  readonly socket: ZSocket;
  readonly #monitor: ZMonitor;
  readonly #endpoint: string | undefined;
  readonly #onFailure: ((error: HandshakeError) => void) | undefined;
  #failure: HandshakeError | undefined;
  #succeeded = 0;
  #failures = 0;
  readonly #waiters = new Set<(err: HandshakeError) => void>();

  /**
   * @param socket - a socket of `@zkit/core`, best before it connects
   * @param options - see {@link HandshakeGuardOptions}
   * @throws what `new ZMonitor(socket)` throws (a closed socket)
   */
  constructor(socket: ZSocket, options: HandshakeGuardOptions = {}) {
    this.socket = socket;
    this.#endpoint = options.endpoint;
    this.#onFailure = options.onFailure;
    this.#monitor = new ZMonitor(socket, { events: ["handshake-succeeded", ...HANDSHAKE_FAILURES] });
    this.#monitor.on("event", (event) => this.#onEvent(event));
  }

  /** The failure that stands: the last one, unless a handshake has succeeded since. */
  get failure(): HandshakeError | undefined {
    return this.#failure;
  }

  /** How many handshakes succeeded and failed since the guard was made. */
  get counts(): { succeeded: number; failed: number } {
    return { succeeded: this.#succeeded, failed: this.#failures };
  }

  /**
   * Resolves or rejects like `operation`, unless a handshake fails first
   * (or a failure already stands): then rejects with its
   * {@link HandshakeError}. `operation` goes on; a REQ socket that lost the
   * race must be closed or reset by the caller, as after any timeout.
   *
   * @param operation - e.g. `socket.receive()` or a pattern's `request(...)`
   */
  race<T>(operation: Promise<T>): Promise<T> {
    if (this.#failure !== undefined) {
      operation.catch(() => {});
      return Promise.reject(this.#failure);
    }
    return new Promise<T>((resolve, reject) => {
      const onFailure = (err: HandshakeError): void => {
        this.#waiters.delete(onFailure);
        reject(err);
      };
      this.#waiters.add(onFailure);
      operation.then(
        (value) => {
          this.#waiters.delete(onFailure);
          resolve(value);
        },
        (err: unknown) => {
          this.#waiters.delete(onFailure);
          reject(err);
        },
      );
    });
  }

  /**
   * Rejects with the first handshake failure from now on (or the one that
   * stands), with a deadline: resolves when a handshake succeeds first,
   * rejects with a `TimeoutError` of core's monitor when neither happens in
   * `timeoutMs`.
   *
   * @param timeoutMs - how long to wait
   */
  async handshake(timeoutMs: number): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    const event = await this.#monitor.waitFor(["handshake-succeeded", ...HANDSHAKE_FAILURES], { timeoutMs, endpoint: this.#endpoint, includePast: true });
    const err = HandshakeError.fromEvent(event);
    // the guard's own record of it (its listener ran before this continuation), so callers compare equal
    if (err !== undefined) throw this.#failure ?? err;
  }

  /** Stops watching (the socket itself stays open). Idempotent. */
  close(): void {
    this.#monitor.close();
    this.#waiters.clear();
  }

  /** Stops watching (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #onEvent(event: MonitorEvent): void {
    if (this.#endpoint !== undefined && event.endpoint !== this.#endpoint) return;
    if (event.type === "handshake-succeeded") {
      this.#succeeded++;
      this.#failure = undefined;
      return;
    }
    const err = HandshakeError.fromEvent(event);
    if (err === undefined) return;
    this.#failures++;
    this.#failure = err;
    for (const w of [...this.#waiters]) w(err);
    this.#onFailure?.(err);
  }
}
