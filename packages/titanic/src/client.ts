/**
 * TitanicClient: a 9/TSP client over a Majordomo client. One call does what
 * the Guide's `ticlient` does: titanic.request, then titanic.reply until the
 * reply is there, then titanic.close.
 * @module
 */
import {
  AbortError,
  ClosedError,
  DeadlineSignal,
  InvalidArgumentError,
  ProtocolError,
  RETRIES_RULE,
  TIMEOUT_RULE,
  TimeoutError,
  ZkitError,
  describeValue,
  getLogger,
  isMessageLike,
  readOptions,
  sleep,
  toFrames,
  type FrameLike,
  type TraceFn,
} from "@zkit/core";
import { MajordomoClient } from "@zkit/mdp";
import { securitySocketOptions, type SecurityOptions } from "@zkit/security";
import { Lifecycle } from "@zkit/reliability";
import {
  TITANIC_CLOSE,
  TITANIC_REPLY,
  TITANIC_REQUEST,
  decodeCloseAnswer,
  decodeReplyAnswer,
  decodeRequestAnswer,
  encodeRequestBody,
  encodeUuidBody,
  isUuid,
  targetServiceProblem,
  type ReplyAnswer,
  type TspStatus,
} from "./protocol.js";

const log = getLogger("titanic");

/** The error code of {@link TitanicError}. */
export const TITANIC_ERROR_CODE = "ZKIT_TITANIC";
/** Default of {@link TitanicRequestOptions.pollIntervalMs}. */
export const TITANIC_POLL_INTERVAL_MS = 1000;

/**
 * Titanic answered a status that ends the request: `400` (the request is
 * unknown: never stored, already closed, or malformed), or another status
 * that is not worth retrying. `status` is the parsed status frame.
 */
export class TitanicError extends ZkitError {
  /** The status Titanic answered, e.g. `{ code: 400, status: "400", text: "" }`. */
  readonly status: TspStatus;

  /**
   * @param message - what failed
   * @param status - the status Titanic answered
   */
  constructor(message: string, status: TspStatus) {
    super(TITANIC_ERROR_CODE, message);
    this.status = status;
  }
}

/** Options of {@link TitanicClient}. */
export interface TitanicClientOptions {
  /** The Majordomo broker Titanic serves through: `"tcp://host:5555"` (connects). */
  endpoint: string;
  /**
   * How long each Majordomo attempt waits for its reply, in ms.
   * @defaultValue 2500
   */
  timeoutMs?: number;
  /**
   * Majordomo resends after a timeout (Lazy Pirate), per titanic.* call.
   * @defaultValue 3
   */
  retries?: number;
  /** Called with every message the client sends or receives. */
  trace?: TraceFn;
  /**
   * How the connection to the broker is secured (`@zkit/security`), as for
   * `MajordomoClient`: CURVE needs the client's key pair and the broker's
   * public key (`cert.clientSecurity(brokerKey)`). A handshake that fails
   * rejects the call with a `HandshakeError`, at once.
   * @defaultValue none: no security (libzmq's NULL mechanism), as the
   *   Guide's brokers run; use CURVE whenever the network is not trusted
   */
  security?: SecurityOptions;
}

/** Per-call options of {@link TitanicClient.submit}, {@link TitanicClient.fetchReply} and {@link TitanicClient.closeRequest}. */
export interface TitanicCallOptions {
  /** How long each attempt waits, in ms. @defaultValue the client's `timeoutMs` */
  timeoutMs?: number;
  /** Resends after a timeout. @defaultValue the client's `retries` */
  retries?: number;
  /** Aborts the call: it rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** Per-call options of {@link TitanicClient.request}. */
export interface TitanicRequestOptions {
  /**
   * How long to wait between two titanic.reply polls while the request is
   * pending, and before retrying when Titanic is unreachable or answers
   * 500, in ms.
   * @defaultValue 1000
   */
  pollIntervalMs?: number;
  /**
   * How long the whole call may take, in ms; then it rejects with
   * `TimeoutError`. Titanic is made for services that may be down for a
   * long time, so by default it waits as long as it takes.
   * @defaultValue Infinity
   */
  timeoutMs?: number;
  /** Aborts the call: it rejects with `AbortError`. */
  signal?: AbortSignal;
  /**
   * Called with the request's uuid once Titanic has stored it: keep it to
   * collect the reply with {@link TitanicClient.fetchReply} after a crash of
   * this process.
   */
  onAccepted?: (uuid: string) => void;
}

/** The counters of a {@link TitanicClient}. */
export interface TitanicClientStats {
  /** Calls to `request()`. */
  requests: number;
  /** Requests Titanic accepted (200 and a uuid). */
  submitted: number;
  /** titanic.reply calls. */
  polls: number;
  /** Polls answered 300 (pending). */
  pending: number;
  /** Replies received (`request()` calls that succeeded). */
  replies: number;
  /** Calls retried after Titanic was unreachable or answered 500. */
  retries: number;
  /** titanic.close calls that failed after the reply was in hand (the server keeps the request). */
  closeFailures: number;
}

/** What an attempt returns when Titanic answered 500 ("retry later"). */
const BUSY: unique symbol = Symbol("busy");

const OPTION_NAMES = ["endpoint", "timeoutMs", "retries", "trace", "security"] as const;
const REQUEST_OPTIONS = ["pollIntervalMs", "timeoutMs", "signal", "onAccepted"] as const;
const CALL_OPTIONS = ["timeoutMs", "retries", "signal"] as const;

/** The events of a {@link TitanicClient}. */
export interface TitanicClientEvents {
  /**
   * A titanic.request or titanic.reply call is tried again after
   * `delayMs`: Titanic did not answer (`"unreachable"`, after the
   * Majordomo client's own retries) or answered 500 (`"busy"`).
   */
  retry: [event: { call: "titanic.request" | "titanic.reply"; reason: "unreachable" | "busy"; delayMs: number }];
  /** Titanic stored a request: its uuid (as `onAccepted` gets it). */
  accepted: [event: { uuid: string; service: string }];
}

/**
 * A Titanic client (9/TSP, the Guide's `ticlient`): sends requests through
 * Titanic, which stores them and forwards them whenever their service is
 * up, and collects the replies. Each titanic.* call is a Majordomo request
 * with Lazy Pirate retries.
 *
 * @example
 * ```ts
 * const client = new TitanicClient({ endpoint: "tcp://localhost:5555" });
 * const [reply] = await client.request("echo", "Hello world", { timeoutMs: 60_000 });
 * console.log(reply!.toString()); // Hello world
 * await client.close();
 * ```
 */
export class TitanicClient extends Lifecycle<TitanicClientEvents> {
  /** The broker endpoint(s), in CZMQ syntax. */
  readonly endpoint: string;
  readonly #mdp: MajordomoClient;
  readonly #stats: TitanicClientStats = { requests: 0, submitted: 0, polls: 0, pending: 0, replies: 0, retries: 0, closeFailures: 0 };
  readonly #closing = new AbortController();

  /**
   * @param options - see {@link TitanicClientOptions}
   * @throws `InvalidArgumentError` for a missing or bad option
   */
  constructor(options: TitanicClientOptions) {
    super({ owner: "TitanicClient", channel: "zkit:titanic:client" });
    const o = readOptions(options, { owner: "TitanicClient", known: OPTION_NAMES });
    this.endpoint = o.requiredString("endpoint", "tcp://localhost:5555", "the broker");
    const timeoutMs = o.number("timeoutMs", 2500, TIMEOUT_RULE);
    const retries = o.number("retries", 3, RETRIES_RULE);
    const trace = o.function<TraceFn>("trace");
    const security = o.raw("security") as SecurityOptions | undefined;
    securitySocketOptions(security, { owner: "TitanicClient", role: "client" }); // a bad one throws now, naming TitanicClient
    this.#mdp = new MajordomoClient({ endpoint: this.endpoint, timeoutMs, retries, ...(trace ? { trace } : {}), ...(security !== undefined ? { security } : {}) });
  }

  /** The client's counters, live (read-only). */
  get stats(): Readonly<TitanicClientStats> {
    return this.#stats;
  }

  /**
   * titanic.request: hands a request to Titanic, which stores it durably.
   *
   * @param service - the service to forward it to, e.g. `"echo"`
   * @param body - the request body: one frame or several
   * @returns the request's uuid, exactly as Titanic handed it out (32 hex
   *   characters, in the server's case): pass it back unchanged
   * @throws (rejects) `TitanicError` when Titanic answers a status other
   *   than 200 (`500`: retry later; `400`: a bad request); `TimeoutError`
   *   when Titanic or the broker does not answer; `ProtocolError` for a
   *   malformed answer; `AbortError`, `ClosedError`, `InvalidArgumentError`
   */
  async submit(service: string, body: FrameLike | readonly FrameLike[], opts?: TitanicCallOptions): Promise<string> {
    const frames = checkRequest("TitanicClient.submit", service, body);
    this.#usable("TitanicClient.submit");
    const answer = decodeRequestAnswer(await this.#mdp.request(TITANIC_REQUEST, encodeRequestBody(service, frames), checkCall("TitanicClient.submit", opts)));
    if (answer instanceof ProtocolError) throw answer;
    if (answer.kind === "failed") throw new TitanicError(`titanic.request for "${service}" answered ${statusText(answer.status)}`, answer.status);
    this.#stats.submitted++;
    return answer.uuid;
  }

  /**
   * titanic.reply: asks for the reply to a request. It does not delete it:
   * ask again, or close it with {@link closeRequest}.
   *
   * @param uuid - the request's uuid as {@link submit} returned it; it is sent
   *   exactly as given (a server like the Guide's C titanic knows a request
   *   only by the exact string it handed out)
   * @returns `{ kind: "reply", body }`, `{ kind: "pending" }`,
   *   `{ kind: "unknown", status }` (400: no such request), or
   *   `{ kind: "failed", status }` (500: retry later)
   * @throws (rejects) `TimeoutError`, `ProtocolError`, `AbortError`,
   *   `ClosedError`, `InvalidArgumentError` (not a uuid)
   */
  async fetchReply(uuid: string, opts?: TitanicCallOptions): Promise<ReplyAnswer> {
    const id = checkUuid("TitanicClient.fetchReply", uuid);
    this.#usable("TitanicClient.fetchReply");
    this.#stats.polls++;
    const answer = decodeReplyAnswer(await this.#mdp.request(TITANIC_REPLY, encodeUuidBody(id), checkCall("TitanicClient.fetchReply", opts)));
    if (answer instanceof ProtocolError) throw answer;
    if (answer.kind === "pending") this.#stats.pending++;
    return answer;
  }

  /**
   * titanic.close: tells Titanic the reply was received, so it forgets the
   * request and its reply. Idempotent: closing an unknown uuid succeeds.
   *
   * @param uuid - the request's uuid as {@link submit} returned it, sent
   *   exactly as given
   * @throws (rejects) `TitanicError` when Titanic answers another status
   *   than 200; `TimeoutError`, `ProtocolError`, `AbortError`, `ClosedError`,
   *   `InvalidArgumentError`
   */
  async closeRequest(uuid: string, opts?: TitanicCallOptions): Promise<void> {
    const id = checkUuid("TitanicClient.closeRequest", uuid);
    this.#usable("TitanicClient.closeRequest");
    const answer = decodeCloseAnswer(await this.#mdp.request(TITANIC_CLOSE, encodeUuidBody(id), checkCall("TitanicClient.closeRequest", opts)));
    if (answer instanceof ProtocolError) throw answer;
    if (answer.kind === "failed") throw new TitanicError(`titanic.close of ${id} answered ${statusText(answer.status)}`, answer.status);
  }

  /**
   * Sends a request through Titanic and resolves with its reply:
   * titanic.request (retried while Titanic is unreachable or answers 500),
   * then titanic.reply every `pollIntervalMs` until the reply is there, then
   * titanic.close. A request whose acknowledgement was lost may be stored
   * twice; only the one acknowledged is collected.
   *
   * @param service - the service to send it to, e.g. `"echo"`
   * @param body - the request body: one frame or several
   * @returns the reply's body frames
   * @throws (rejects) `TimeoutError` after `timeoutMs`; `TitanicError` when
   *   Titanic refuses the request or forgot it (400); `AbortError` when
   *   `signal` aborts; `ClosedError`; `InvalidArgumentError`
   */
  async request(service: string, body: FrameLike | readonly FrameLike[], opts?: TitanicRequestOptions): Promise<Buffer[]> {
    const what = `TitanicClient.request("${service}")`;
    const frames = checkRequest(what, service, body);
    const o = readOptions(opts, { owner: what, known: REQUEST_OPTIONS });
    const pollMs = o.number("pollIntervalMs", TITANIC_POLL_INTERVAL_MS, { min: 0 });
    const timeoutMs = o.number("timeoutMs", Infinity, { ...TIMEOUT_RULE, infinity: true });
    const userSignal = o.signal("signal");
    const onAccepted = o.function<(uuid: string) => void>("onAccepted", "(uuid: string) => void");
    this.#usable(what);
    this.#stats.requests++;
    const deadline = new DeadlineSignal(timeoutMs, userSignal, this.#closing.signal);
    try {
      const signal = deadline.signal;
      const uuid = await this.#retrying(what, "titanic.request", signal, pollMs, async () => {
        try {
          return await this.submit(service, frames, { signal });
        } catch (err) {
          if (err instanceof TitanicError && err.status.code >= 500) return BUSY; // "500: retry later"
          throw err;
        }
      });
      onAccepted?.(uuid);
      this.notify("accepted", { uuid, service });
      const reply = await this.#retrying(what, "titanic.reply", signal, pollMs, async () => {
        const answer = await this.fetchReply(uuid, { signal });
        switch (answer.kind) {
          case "reply":
            return answer.body;
          case "pending":
            return undefined;
          case "unknown":
            throw new TitanicError(`${what}: Titanic does not know request ${uuid} (${statusText(answer.status)}): it was closed or lost`, answer.status);
          case "failed":
            if (answer.status.code >= 500) return BUSY;
            throw new TitanicError(`${what}: titanic.reply for ${uuid} answered ${statusText(answer.status)}`, answer.status);
        }
      });
      this.#stats.replies++;
      try {
        await this.closeRequest(uuid, { signal: userSignal });
      } catch (err) {
        // the reply is in hand; Titanic keeps the request until someone closes it
        this.#stats.closeFailures++;
        log.warn("%s: titanic.close of %s failed (%s); the reply is returned anyway", what, uuid, (err as Error).message);
      }
      return reply;
    } catch (err) {
      if (deadline.timedOut) throw new TimeoutError(`${what}: no reply within ${timeoutMs} ms`, { cause: err });
      if (this.#closing.signal.aborted && !(err instanceof ClosedError)) throw new ClosedError(`${what}: the client was closed`, { cause: err });
      if (userSignal?.aborted && !(err instanceof AbortError)) throw new AbortError(`${what}: aborted`, { cause: userSignal.reason });
      throw err;
    } finally {
      deadline.dispose();
    }
  }

  /** Starts the client on its first call; throws `ClosedError` once closed. */
  #usable(what: string): void {
    if (this.closed) throw new ClosedError(`${what}: the client is closed`);
    void this.start();
  }

  /**
   * Runs `attempt` until it returns a value, sleeping `pollMs` after each
   * `undefined` and after each `TimeoutError` (Titanic unreachable).
   */
  async #retrying<T>(what: string, call: "titanic.request" | "titanic.reply", signal: AbortSignal, pollMs: number, attempt: () => Promise<T | typeof BUSY | undefined>): Promise<T> {
    for (;;) {
      let value: T | typeof BUSY | undefined;
      try {
        value = await attempt();
      } catch (err) {
        if (!(err instanceof TimeoutError) || signal.aborted) throw err;
        this.#stats.retries++;
        log.warn("%s: Titanic did not answer (%s); trying again in %d ms", what, err.message, pollMs);
        this.notify("retry", { call, reason: "unreachable", delayMs: pollMs });
      }
      if (value === BUSY) {
        this.#stats.retries++;
        this.notify("retry", { call, reason: "busy", delayMs: pollMs });
      } else if (value !== undefined) return value;
      await sleep(pollMs, signal);
    }
  }

  /** Nothing to open: the Majordomo client connects on the first call. */
  protected onStart(): void {}

  /** A call in progress rejects with `ClosedError`; the Majordomo client closes. */
  protected async onClose(): Promise<void> {
    this.#closing.abort(new ClosedError("TitanicClient: the client was closed"));
    await this.#mdp.close();
  }
}

function checkRequest(what: string, service: unknown, body: unknown): Buffer[] {
  if (typeof service !== "string") throw new InvalidArgumentError(`${what}(service, body): service must be a string such as "echo", got ${describeValue(service)}`);
  const problem = targetServiceProblem(service);
  if (problem !== undefined) throw new InvalidArgumentError(`${what}(service, body): ${problem}`);
  if (!isMessageLike(body)) throw new InvalidArgumentError(`${what}(service, body): body must be a frame (Buffer, Uint8Array, string) or an array of frames, got ${describeValue(body)}`);
  return toFrames(body, `${what}(service, body)`, { allowEmpty: true });
}

/** The uuid, unchanged (its case is the server's business), once it is 32 hex characters. */
function checkUuid(what: string, uuid: unknown): string {
  if (typeof uuid !== "string" || !isUuid(uuid)) {
    throw new InvalidArgumentError(`${what}(uuid): pass the 32-hex-character uuid that submit() returned, got ${describeValue(uuid)}`);
  }
  return uuid;
}

function checkCall(what: string, opts: TitanicCallOptions | undefined): { timeoutMs?: number; retries?: number; signal?: AbortSignal } {
  const o = readOptions(opts, { owner: what, known: CALL_OPTIONS });
  const out: { timeoutMs?: number; retries?: number; signal?: AbortSignal } = {};
  const timeoutMs = o.number("timeoutMs", undefined, TIMEOUT_RULE);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  const retries = o.number("retries", undefined, RETRIES_RULE);
  if (retries !== undefined) out.retries = retries;
  const signal = o.signal("signal");
  if (signal !== undefined) out.signal = signal;
  return out;
}

function statusText(status: TspStatus): string {
  return status.text === "" ? status.status : `${status.status} ${status.text}`;
}
