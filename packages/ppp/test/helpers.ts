// Test helpers for @zkit/ppp: a Lazy Pirate request over a fresh REQ socket
// per attempt (testkit's lazyRequest), receives with a deadline, a raw 6/PPP worker
// and paths of the fixtures and Python peers. Frames from strings and back
// (`frames`, `text`) and the shared peers come from @zkit/testkit.
import { fileURLToPath } from "node:url";
import { ZSocket } from "@zkit/core";
import { lazyRequest as lazyRequestOver, testSecurity, track, within, type SecurityMode, type TestSecurity } from "@zkit/testkit";
import { ZAuth, ZCert, ZCertStore, securitySocketOptions, type SecurityOptions } from "@zkit/security";

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

/**
 * The security of one mode of the fault-test matrix (testkit's
 * `SECURITY_MODES`): for CURVE, fresh keys, and a ZAuth in this process
 * (closed by closeTracked) whose store holds the clients' key, so that an
 * in-process queue checks them.
 */
export async function matrixSecurity(mode: SecurityMode): Promise<TestSecurity> {
  const sec = testSecurity(mode, () => {
    const c = ZCert.generate();
    return { publicKey: c.publicKey, secretKey: c.secretKey! };
  });
  if (sec.clientKey !== undefined) {
    const store = new ZCertStore();
    store.insert(ZCert.fromKeys(sec.clientKey));
    const auth = track(new ZAuth({ certStore: store }));
    await auth.start();
  }
  return sec;
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
