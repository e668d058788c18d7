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
export async function lazyRequest(open: () => Promise<RequestSocket>, body: Buffer[], timeoutMs = 2000, attempts = 10): Promise<{ reply: Buffer[]; attempts: number }> {
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

/**
 * Runs `clients` sockets from `open` (REQ) side by side, each sending
 * `requests` requests `[c<i>][<n>]` in turn and waiting for each reply,
 * which must end with those two frames (an echo, whatever the server puts
 * before them): a load that proves every reply reaches the client that
 * asked, in order. Resolves with what the server put before the echo, one
 * entry per reply; closes the sockets.
 * @throws when a reply is not the echo of its request
 */
export async function concurrentEcho(open: () => Promise<RequestSocket>, clients: number, requests: number): Promise<string[][]> {
  const sockets = await Promise.all(Array.from({ length: clients }, () => open()));
  const prefixes: string[][] = [];
  try {
    await Promise.all(
      sockets.map(async (socket, c) => {
        for (let n = 0; n < requests; n++) {
          const body = frames(`c${c}`, String(n));
          await socket.send(body);
          const reply = text(await socket.receive());
          const echo = reply.slice(-2);
          if (echo[0] !== `c${c}` || echo[1] !== String(n)) throw new Error(`client ${c}, request ${n}: got [${reply.join("][")}], not an echo of [c${c}][${n}]`);
          prefixes.push(reply.slice(0, -2));
        }
      }),
    );
  } finally {
    for (const s of sockets) s.close();
  }
  return prefixes;
}
