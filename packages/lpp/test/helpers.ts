// Test helpers for @zkit/lpp: a scripted server on a real ROUTER socket that
// records every request with the identity of the REQ socket that sent it
// (a fresh socket per retry shows as a new identity), and answers as the
// test says.
import { ZSocket } from "@zkit/core";

/** One request as the server saw it. */
export interface Seen {
  /** The ROUTER identity of the client socket that sent it. */
  id: Buffer;
  body: Buffer[];
}

/** What the server does with request number `n` (0-based): reply with frames, or not at all. */
export type Policy = (req: Seen, n: number) => Buffer[] | undefined;

/** A server that answers by policy; replies go to the socket that asked. */
export class ScriptedServer {
  readonly requests: Seen[] = [];
  #loop: Promise<void>;

  private constructor(
    readonly router: ZSocket<"ROUTER">,
    public policy: Policy,
  ) {
    this.#loop = this.#serve();
  }

  static async start(policy: Policy = (req) => req.body, endpoint = "@tcp://127.0.0.1:*"): Promise<ScriptedServer> {
    return new ScriptedServer(await ZSocket.router(endpoint), policy);
  }

  get endpoint(): string {
    return this.router.endpoint;
  }

  /** Replies to `req` (REQ expects the empty delimiter after the identity). */
  reply(req: Seen, frames: Buffer[]): Promise<void> {
    return this.router.send([req.id, Buffer.alloc(0), ...frames]);
  }

  /** Distinct client identities seen so far. */
  identities(): number {
    return new Set(this.requests.map((r) => r.id.toString("hex"))).size;
  }

  async #serve(): Promise<void> {
    for await (const [id, , ...body] of this.router) {
      const req = { id: id!, body };
      const n = this.requests.push(req) - 1;
      const out = this.policy(req, n);
      if (out !== undefined) await this.reply(req, out);
    }
  }

  async close(): Promise<void> {
    this.router.close();
    await this.#loop;
  }
}
