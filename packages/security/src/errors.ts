/**
 * The errors of `@zkit/security`: a certificate file that cannot be read
 * ({@link CertificateError}) and a connection whose security handshake
 * failed ({@link HandshakeError}). Both are `ZkitError`s of `@zkit/core`.
 * @module
 */
import { ZkitError, type ZkitErrorOptions } from "@zkit/core";

/** The codes `@zkit/security` adds to core's `ErrorCode`. */
export const SecurityErrorCode = {
  /** A certificate file is missing, unreadable, or not a certificate (ZPL with `curve/public-key`). */
  Certificate: "ZKIT_CERTIFICATE",
  /** A connection's CURVE or PLAIN handshake failed, or ZAP refused it. */
  Handshake: "ZKIT_HANDSHAKE",
} as const;

/**
 * A certificate file that cannot be used: missing, unreadable, not ZPL, or
 * without a valid `curve/public-key`. `file` and `line` say where.
 */
export class CertificateError extends ZkitError {
  /** The file, when the certificate came from one. */
  readonly file: string | undefined;
  /** The line (from 1) of the problem, when one can be named. */
  readonly line: number | undefined;

  constructor(message: string, where: { file?: string; line?: number } = {}, options?: ZkitErrorOptions) {
    super(SecurityErrorCode.Certificate, message, options);
    this.file = where.file;
    this.line = where.line;
  }
}
