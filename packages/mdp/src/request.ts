/**
 * What both Majordomo clients share: the endpoint and timeout options,
 * per-request options, their checks, and waiting with a deadline and an
 * AbortSignal.
 * @module
 */
import { InvalidArgumentError, RETRIES_RULE, TIMEOUT_RULE, connectEndpoints, describeValue, isMessageLike, parseEndpoints, readOptions, toFrames, type OptionReader } from "@zkit/core";
import { serviceNameProblem } from "./protocol.js";

/** The Guide's client request timeout, in ms. */
export const MDP_TIMEOUT_MS = 2500;
/** The default number of resends of {@link MajordomoClient} after a timeout. */
export const MDP_RETRIES = 3;

/** Per-request options of `MajordomoClient.request` and `MajordomoAsyncClient.request`. */
export interface MajordomoRequestOptions {
  /** How long to wait for the reply to each attempt, in ms. @defaultValue the client's `timeoutMs` */
  timeoutMs?: number;
  /**
   * How many times to resend after a timeout, each time on a fresh socket
   * (Lazy Pirate). @defaultValue the client's `retries` (3 for
   * `MajordomoClient`, 0 for `MajordomoAsyncClient`)
   */
  retries?: number;
  /** Aborts the request: it rejects with `AbortError`. */
  signal?: AbortSignal;
}

/**
 * @internal Reads the `endpoint` option of a client or worker: required,
 * items without `@`/`>` connect.
 * @throws `InvalidArgumentError` when it is missing, `InvalidEndpointError`
 *   when it is not CZMQ syntax (now rather than at the first send)
 */
export function readEndpoint(o: OptionReader<{ endpoint: string }>): string {
  const endpoint = connectEndpoints(o.requiredString("endpoint", "tcp://127.0.0.1:5555", "the broker"));
  parseEndpoints(endpoint, false);
  return endpoint;
}

const REQUEST_OPTION_NAMES = ["timeoutMs", "retries", "signal"] as const;

/** The checked arguments of a request. @internal */
export interface CheckedRequest {
  service: Buffer;
  serviceName: string;
  body: Buffer[];
  timeoutMs: number;
  retries: number;
  signal: AbortSignal | undefined;
}

/** @internal Checks the arguments of `request()`; throws `InvalidArgumentError`. */
export function checkRequest(what: string, service: unknown, body: unknown, opts: MajordomoRequestOptions | undefined, defaults: { timeoutMs: number; retries: number }): CheckedRequest {
  if (typeof service !== "string") throw new InvalidArgumentError(`${what}(service, body): service must be a string such as "echo", got ${describeValue(service)}`);
  const problem = serviceNameProblem(service);
  if (problem !== undefined) throw new InvalidArgumentError(`${what}(service, body): ${problem}`);
  if (!isMessageLike(body)) throw new InvalidArgumentError(`${what}(service, body): body must be a frame (Buffer, Uint8Array, string) or an array of frames, got ${describeValue(body)}`);
  const o = readOptions(opts, { owner: what, known: REQUEST_OPTION_NAMES, example: "{ timeoutMs, retries, signal }" });
  return {
    service: Buffer.from(service),
    serviceName: service,
    body: toFrames(body, `${what}(service, body)`, { allowEmpty: true }),
    timeoutMs: o.number("timeoutMs", defaults.timeoutMs, TIMEOUT_RULE),
    retries: o.number("retries", defaults.retries, RETRIES_RULE),
    signal: o.signal("signal"),
  };
}
