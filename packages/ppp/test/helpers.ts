// Test helpers for @zkit/ppp: a minimal Lazy Pirate client (a fresh REQ
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

/**
 * A raw 6/PPP worker on a DEALER socket, for checking the queue frame by
 * frame: it sends READY, heartbeats when told to, and records what it gets.
 */
export class RawWorker {
  /** Requests received, as [client, "", body...]. */
  readonly requests: Buffer[][] = [];
  /** HEARTBEATs received from the queue. */
  heartbeats = 0;
  /** Anything else received. */
  readonly other: Buffer[][] = [];
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void>;

  private constructor(readonly sock: ZSocket<"DEALER">) {
    this.#loop = (async () => {
      for await (const msg of sock) {
        if (msg.length === 1 && msg[0]!.length === 1 && msg[0]![0] === 0x02) this.heartbeats++;
        else if (msg.length >= 3 && msg[1]!.length === 0) this.requests.push(msg);
        else this.other.push(msg);
      }
    })();
  }

  /** Connects and sends READY; heartbeats every `heartbeatMs` if given. */
  static async connect(endpoint: string, heartbeatMs?: number): Promise<RawWorker> {
    const w = new RawWorker(await ZSocket.dealer(`>${endpoint}`));
    await w.sock.send(Buffer.from([0x01]));
    if (heartbeatMs !== undefined) w.heartbeat(heartbeatMs);
    return w;
  }

  heartbeat(ms: number): void {
    this.stopHeartbeats();
    this.#timer = setInterval(() => void this.sock.send(Buffer.from([0x02])).catch(() => {}), ms);
  }

  stopHeartbeats(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Answers request `req` ([client][""][body...]) with `body`. */
  reply(req: Buffer[], body: Buffer[]): Promise<void> {
    return this.sock.send([req[0]!, Buffer.alloc(0), ...body]);
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    this.sock.close();
    await this.#loop;
  }
}
