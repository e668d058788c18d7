// Test helpers for @zkit/spp: a Lazy Pirate request over a fresh REQ socket
// per attempt (testkit's lazyRequest), receives with a deadline
// and paths of the fixtures and Python peers. Frames from strings and back
// (`frames`, `text`) and the shared peers come from @zkit/testkit.
import { fileURLToPath } from "node:url";
import { ZSocket } from "@zkit/core";
import { lazyRequest as lazyRequestOver, within } from "@zkit/testkit";
import { securitySocketOptions, type SecurityOptions } from "@zkit/security";

/** Where a test file lives next to this one. */
export const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * Sends `body` to `endpoint` over a fresh REQ socket per attempt (so a lost
 * request is resent) and resolves with the reply, or rejects after
 * `attempts` timeouts. With `security`, the sockets are CURVE clients.
 */
export function lazyRequest(endpoint: string, body: Buffer[], timeoutMs?: number, attempts?: number, security?: SecurityOptions): Promise<{ reply: Buffer[]; attempts: number }> {
  return lazyRequestOver(() => ZSocket.req(`>${endpoint}`, { ...securitySocketOptions(security, { role: "client" }), linger: 0 }), body, timeoutMs, attempts);
}

/** Receives one message within `ms`. */
export function recv(sock: ZSocket, ms = 10_000, what = "a message"): Promise<Buffer[]> {
  return within(sock.receive(), ms, what);
}
