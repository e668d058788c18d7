/**
 * HandshakeWatch: the security handshakes of one socket connected to
 * several servers (the Freelance clients), per server. A request fails with
 * a `HandshakeError` only when the handshake failed with every server: one
 * server with a wrong key among good ones is only a server that is down.
 * @module
 * @internal
 */
import type { ZSocket } from "@zkit/core";
import { HandshakeGuard, type HandshakeError } from "@zkit/security";

/** @internal */
export class HandshakeWatch {
  readonly #guard: HandshakeGuard;
  readonly #failures = new Map<string, HandshakeError>();

  /**
   * @param socket - the client's socket, before it connects
   * @param onFailure - called with each failure, as it happens
   */
  constructor(socket: ZSocket, onFailure: (error: HandshakeError) => void) {
    this.#guard = new HandshakeGuard(socket, {
      onFailure: (err) => {
        this.#failures.set(err.endpoint, err);
        onFailure(err);
      },
    });
  }

  /**
   * The last failure when the handshake failed with every one of
   * `endpoints` and none has succeeded since; otherwise undefined.
   */
  allFailed(endpoints: readonly string[]): HandshakeError | undefined {
    const standing = this.#guard.failure;
    if (standing === undefined || endpoints.length === 0) return undefined;
    return endpoints.every((e) => this.#failures.has(e)) ? standing : undefined;
  }

  /** Stops watching. */
  close(): void {
    this.#guard.close();
  }
}
