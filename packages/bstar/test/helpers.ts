// What the bstar tests share: a pair of BinaryStar servers in this process
// on ephemeral tcp ports, optionally joined through relays the test can cut
// (a state link that drops messages, as a partition does), raw clients,
// events collected in order, and cleanup after each test.
import { fileURLToPath } from "node:url";
import { ZSocket, shutdown } from "@zkit/core";
import { closeTracked, stopAll, track, waitFor, within } from "@zkit/testkit";
import { ZLoop } from "@zkit/zloop";
import { BinaryStar, type BinaryStarEvents, type BinaryStarOptions, type BinaryStarState } from "../src/index.js";

/** Generous deadlines: the machine may be loaded. */
export const WAIT_MS = 15_000;
/**
 * Heartbeat of the in-process tests: short, yet its peer expiry (1 s) far
 * above a loaded machine's event-loop stalls. With 200 ms, a 400 ms stall
 * of the test process (seen at a load average of 19 on 2 cores) made a
 * server find itself stalled and rightly refuse a test's one request.
 */
export const HB = 500;
export const ANY = "tcp://127.0.0.1:*";
export const EMPTY = Buffer.alloc(0);
export const b = (s: string): Buffer => Buffer.from(s);

/** The directory of this file (for fixtures and peers). */
export const testDir = fileURLToPath(new URL(".", import.meta.url));

export { track };

/** Closes everything tracked, every socket, every child process. Call in afterEach. */
export async function cleanup(): Promise<void> {
  await closeTracked();
  shutdown();
  await stopAll();
}

/** An echo handler. */
export const echo = (request: Buffer[]): Buffer[] => request;

/** A server in this process on ephemeral ports, closed after the test. */
export function server(role: "primary" | "backup", options: Partial<BinaryStarOptions> = {}): BinaryStar {
  return track(new BinaryStar({ role, local: ANY, voter: ANY, handler: echo, heartbeatIntervalMs: HB, closeOnInterrupt: false, ...options }));
}

/** Every event of a server, in order, as `name` or `name:reason`/`name:kind:decision`. */
export function recorder(s: BinaryStar): string[] {
  const seen: string[] = [];
  const names: (keyof BinaryStarEvents)[] = ["active", "passive", "peer-lost", "peer-seen", "vote-rejected", "split-brain", "stalled", "malformed", "handler-error"];
  for (const name of names) {
    (s.on as (e: string, l: (info: Record<string, unknown>) => void) => void)(name, (info) => {
      const detail = name === "split-brain" ? `${String(info.kind)}:${String(info.decision)}` : (info.reason ?? info.state);
      seen.push(detail === undefined ? name : `${name}:${String(detail)}`);
    });
  }
  return seen;
}

/** Waits until `s` is in `state`. */
export function until(s: BinaryStar, state: BinaryStarState, ms = WAIT_MS): Promise<void> {
  return waitFor(() => s.starState === state, ms, `${s.role} to be ${state} (it is ${s.starState})`);
}

/**
 * A one-way state link between two servers that the test can cut: a SUB
 * reading one server's state publisher and a PUB the other server
 * subscribes to, forwarding while `up`. Cut, it drops every state, as a
 * network partition would (both servers stay up).
 */
class Relay {
  readonly loop = new ZLoop({ nonstop: true });
  up = true;
  forwarded = 0;
  private constructor(
    readonly sub: ZSocket<"SUB">,
    readonly pub: ZSocket<"PUB">,
  ) {}

  static async from(stateEndpoint: string): Promise<Relay> {
    const sub = track(await ZSocket.sub(`>${stateEndpoint}`, "", { linger: 0 }));
    const pub = track(await ZSocket.pub(`@${ANY}`, { linger: 0 }));
    const relay = new Relay(sub, pub);
    track({ close: () => relay.loop.destroy() });
    relay.loop.reader(sub, (frames) => {
      if (!relay.up) return;
      relay.forwarded++;
      void pub.send(frames).catch(() => {});
    });
    void relay.loop.start();
    return relay;
  }

  /** Where the receiving server connects. */
  get endpoint(): string {
    return this.pub.endpoint;
  }
}

/**
 * A started pair: the primary, then the backup connected to it, then the
 * primary connected back; directly, or through two {@link Relay}s (`cut()`
 * drops states both ways, `heal()` lets them through again).
 */
export async function startPair(
  options: { primary?: Partial<BinaryStarOptions>; backup?: Partial<BinaryStarOptions>; relays?: boolean } = {},
): Promise<{ primary: BinaryStar; backup: BinaryStar; cut(): void; heal(): void }> {
  const primary = server("primary", options.primary);
  await primary.start();
  const backup = server("backup", options.backup);
  await backup.start();
  let relays: Relay[] = [];
  if (options.relays) {
    const toBackup = await Relay.from(primary.stateEndpoint);
    const toPrimary = await Relay.from(backup.stateEndpoint);
    relays = [toBackup, toPrimary];
    backup.connectPeer(toBackup.endpoint);
    primary.connectPeer(toPrimary.endpoint);
  } else {
    backup.connectPeer(primary.stateEndpoint);
    primary.connectPeer(backup.stateEndpoint);
  }
  await until(primary, "active");
  await until(backup, "passive");
  return {
    primary,
    backup,
    cut: () => {
      for (const r of relays) r.up = false;
    },
    heal: () => {
      for (const r of relays) r.up = true;
    },
  };
}

/** A raw REQ client connected to `endpoint`. */
export async function reqClient(endpoint: string): Promise<ZSocket<"REQ">> {
  return track(await ZSocket.req(`>${endpoint}`, { linger: 0 }));
}

/** A raw DEALER client connected to `endpoint` (it can send again without a reply). */
export async function dealerClient(endpoint: string): Promise<ZSocket<"DEALER">> {
  return track(await ZSocket.dealer(`>${endpoint}`, { linger: 0 }));
}

/** Receives the next message of `sock` within `ms`, or fails saying `what`. */
export function recv(sock: ZSocket, what: string, ms = WAIT_MS): Promise<Buffer[]> {
  return within(sock.receive(), ms, what);
}

/** Resolves with the next `event` of `s` (its first argument). */
export function next<K extends keyof BinaryStarEvents>(s: BinaryStar, event: K, ms = WAIT_MS): Promise<BinaryStarEvents[K][0]> {
  return within(
    new Promise((resolve) => (s.once as (e: string, l: (info: unknown) => void) => void)(event, resolve as (info: unknown) => void)),
    ms,
    `${s.role}'s ${String(event)} event`,
  ) as Promise<BinaryStarEvents[K][0]>;
}

/** Frames as strings. */
export function texts(frames: readonly Buffer[]): string[] {
  return frames.map((f) => f.toString("latin1"));
}
