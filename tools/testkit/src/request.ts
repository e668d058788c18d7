/**
 * Messages in tests: frames from strings and back, and a minimal Lazy
 * Pirate client to talk to a queue under test.
 * @module
 */
import { within } from "./wait.js";

/** Frames from strings. */
export const frames = (...s: string[]): Buffer[] => s.map((x) => Buffer.from(x));

/** Frames as strings. */
export const text = (f: readonly Buffer[]): string[] => f.map(String);

/** What {@link lazyRequest} needs of a socket: a REQ `ZSocket` of `@zkit/core` fits. */
export interface RequestSocket {
  send(message: Buffer[]): Promise<void>;
  receive(): Promise<Buffer[]>;
  close(): void;
}

/**
 * Sends `body` over a fresh socket from `open` (a REQ socket, linger 0) per
 * attempt and resolves with the reply, or rejects after `attempts`
 * attempts of `timeoutMs` each: what a Lazy Pirate client does, in a few
 * lines (`@zkit/lpp` is the real one), so that a lost request is resent.
 */
export async function lazyRequest(
  open: () => Promise<RequestSocket>,
  body: Buffer[],
  timeoutMs = 2000,
  attempts = 10,
): Promise<{ reply: Buffer[]; attempts: number }> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const req = await open();
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
