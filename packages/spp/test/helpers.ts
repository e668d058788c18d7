// Test helpers for @zkit/spp: a minimal Lazy Pirate client (a fresh REQ
// socket per attempt, so a lost request is resent), raw-socket helpers and
// paths of the fixtures and Python peers.
import { fileURLToPath } from "node:url";
import { ZSocket } from "@zkit/core";
import { within } from "@zkit/testkit";

/** Frames from strings. */
export const frames = (...s: string[]): Buffer[] => s.map((x) => Buffer.from(x));
/** Frames as strings. */
export const text = (f: readonly Buffer[]): string[] => f.map(String);

/** Where a test file lives next to this one. */
export const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * Sends `body` over a fresh REQ socket per attempt and resolves with the
 * reply, or rejects after `attempts` timeouts. What a Lazy Pirate client
 * does, in a few lines (`@zkit/lpp` is the real one).
 */
export async function lazyRequest(endpoint: string, body: Buffer[], timeoutMs = 2000, attempts = 10): Promise<{ reply: Buffer[]; attempts: number }> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const req = await ZSocket.req(`>${endpoint}`, { linger: 0 });
    try {
      await req.send(body);
      const reply = await within(req.receive(), timeoutMs, "reply").catch(() => undefined);
      if (reply) return { reply, attempts: attempt };
    } finally {
      req.close();
    }
  }
  throw new Error(`no reply after ${attempts} attempts of ${timeoutMs} ms`);
}

/** Receives one message within `ms`. */
export function recv(sock: ZSocket, ms = 10_000, what = "a message"): Promise<Buffer[]> {
  return within(sock.receive(), ms, what);
}
