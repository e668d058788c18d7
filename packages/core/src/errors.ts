/**
 * Typed errors shared by every zkit package.
 *
 * Every error zkit throws is a {@link ZkitError} with a stable `code`; the
 * original zeromq.js error, when there is one, is kept as `cause`.
 * @module
 */

/** The stable codes carried by {@link ZkitError}. Packages may add their own. */
export const ErrorCode = {
  /** An argument to the API is invalid: the message says which and why. */
  InvalidArgument: "ZKIT_INVALID_ARGUMENT",
  /** An endpoint string is not valid CZMQ endpoint syntax or transport. */
  InvalidEndpoint: "ZKIT_INVALID_ENDPOINT",
  /** The operation needs an open socket (or object) and it is closed. */
  Closed: "ZKIT_CLOSED",
  /** The operation did not complete in time. */
  Timeout: "ZKIT_TIMEOUT",
  /** The operation was cancelled through an `AbortSignal`. */
  Aborted: "ZKIT_ABORTED",
  /** A second concurrent receive on a socket that allows only one reader. */
  Busy: "ZKIT_BUSY",
  /** The socket type cannot do this (receive on PUB, send on SUB, ...). */
  NotSupported: "ZKIT_NOT_SUPPORTED",
  /** The socket is in the wrong state for this operation (REQ/REP lockstep). */
  State: "ZKIT_STATE",
  /** The address is already bound by another socket or process. */
  AddressInUse: "ZKIT_ADDRESS_IN_USE",
  /** A ROUTER with `mandatory` set has no peer with this routing id. */
  HostUnreachable: "ZKIT_HOST_UNREACHABLE",
  /** A message does not follow the protocol it claims to speak. */
  Protocol: "ZKIT_PROTOCOL",
  /**
   * No socket could be created: libzmq's socket limit (1023 per context by
   * default) or the process's file limit (`ulimit -n`) is reached.
   */
  TooManySockets: "ZKIT_TOO_MANY_SOCKETS",
  /** Any other socket failure reported by libzmq; see `cause`. */
  Socket: "ZKIT_SOCKET",
} as const;

/** One of the values of {@link ErrorCode}, or a package-specific code. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {});

/** Options accepted by the {@link ZkitError} constructor. */
export interface ZkitErrorOptions {
  /** The underlying error (for example the zeromq.js error). */
  cause?: unknown;
}

/**
 * The base class of every error zkit throws. Test `err instanceof ZkitError`
 * and switch on `err.code` (see {@link ErrorCode}).
 */
export class ZkitError extends Error {
  /** A stable, machine-readable code such as `ZKIT_CLOSED`. */
  readonly code: ErrorCodeValue;

  constructor(code: ErrorCodeValue, message: string, options?: ZkitErrorOptions) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument to the API: the message names it and says what to pass. */
export class InvalidArgumentError extends ZkitError {
  constructor(message: string, options?: ZkitErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** An endpoint that is not valid CZMQ syntax, or a transport libzmq rejects. */
export class InvalidEndpointError extends ZkitError {
  constructor(message: string, options?: ZkitErrorOptions) {
    super(ErrorCode.InvalidEndpoint, message, options);
  }
}

/** The socket (or client, broker, ...) is closed. */
export class ClosedError extends ZkitError {
  constructor(message = "the socket is closed", options?: ZkitErrorOptions) {
    super(ErrorCode.Closed, message, options);
  }
}

/** An operation did not complete within its deadline. */
export class TimeoutError extends ZkitError {
  constructor(message = "the operation timed out", options?: ZkitErrorOptions) {
    super(ErrorCode.Timeout, message, options);
  }
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortError extends ZkitError {
  constructor(message = "the operation was aborted", options?: ZkitErrorOptions) {
    super(ErrorCode.Aborted, message, options);
  }
}

/** A message does not follow its protocol; `frame` names the bad frame index. */
export class ProtocolError extends ZkitError {
  /** Index of the offending frame, when one can be named. */
  readonly frame: number | undefined;

  constructor(message: string, frame?: number, options?: ZkitErrorOptions) {
    super(ErrorCode.Protocol, message, options);
    this.frame = frame;
  }
}

interface ErrnoLike {
  code?: unknown;
  message?: unknown;
}

/**
 * Maps an error thrown by zeromq.js to a {@link ZkitError}, keeping the
 * original as `cause`. Used at the core boundary only.
 *
 * @param err - what zeromq.js threw or rejected with
 * @param context - a few words on what was being done, e.g. `"bind tcp://..."`
 */
export function fromZmqError(err: unknown, context: string): ZkitError {
  if (err instanceof ZkitError) return err;
  const code = typeof (err as ErrnoLike)?.code === "string" ? ((err as ErrnoLike).code as string) : "";
  const detail = typeof (err as ErrnoLike)?.message === "string" ? ((err as ErrnoLike).message as string) : String(err);
  const opts = { cause: err };
  switch (code) {
    case "EBADF":
    case "ETERM":
      return new ClosedError(`${context}: the socket is closed`, opts);
    case "EAGAIN":
      return new TimeoutError(`${context}: timed out (${detail})`, opts);
    case "EBUSY":
      return new ZkitError(ErrorCode.Busy, `${context}: another receive is already pending on this socket; read each socket from one place (one for-await loop, or a ZLoop reader)`, opts);
    case "EFSM":
      return new ZkitError(ErrorCode.State, `${context}: the socket is in the wrong state (REQ must alternate send/receive, REP receive/send)`, opts);
    case "EADDRINUSE":
      return new ZkitError(ErrorCode.AddressInUse, `${context}: address already in use; pick another port or use ':*' for an ephemeral one`, opts);
    case "EHOSTUNREACH":
      return new ZkitError(ErrorCode.HostUnreachable, `${context}: no peer with that routing id`, opts);
    case "EMFILE":
    case "ENFILE":
      return new ZkitError(
        ErrorCode.TooManySockets,
        `${context}: too many open sockets or files (${detail}); close sockets you no longer need, or raise the limit (libzmq allows 1023 sockets per context; the process's file limit is \`ulimit -n\`)`,
        opts,
      );
    case "EPROTONOSUPPORT":
    case "EINVAL":
    case "ENODEV":
    case "EADDRNOTAVAIL":
    case "ENOCOMPATPROTO":
      return new InvalidEndpointError(`${context}: ${detail}`, opts);
    default:
      return new ZkitError(ErrorCode.Socket, `${context}: ${detail}`, opts);
  }
}
