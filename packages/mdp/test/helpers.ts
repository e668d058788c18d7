// What the mdp tests share: raw peers that speak 7/MDP frame by frame over
// real sockets, receives with deadlines, and a list of things to close after
// each test.
import { fileURLToPath } from "node:url";
import { ZSocket, shutdown } from "@zkit/core";
import { MajordomoBroker, type MajordomoBrokerOptions } from "../src/index.js";
import { closeTracked, stopAll, testSecurity, track, within, type SecurityMode, type TestSecurity } from "@zkit/testkit";
import { ZAuth, ZCert, ZCertStore } from "@zkit/security";

/** Generous deadlines: the machine may be loaded. */
export const WAIT_MS = 10_000;

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

/** A broker in this process on an ephemeral tcp port, closed after the test. */
export async function startBroker(options: MajordomoBrokerOptions = {}): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  const broker = track(new MajordomoBroker(options));
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  await broker.start();
  return { broker, endpoint };
}

/**
 * The security of one mode of the fault-test matrix (testkit's
 * `SECURITY_MODES`): for CURVE, fresh keys, and a ZAuth in this process
 * (closed after the test) whose store holds the clients' key, so that an
 * in-process broker checks them.
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

/** Receives the next message of `sock` within `ms`, or fails saying `what`. */
export function recv(sock: ZSocket, what: string, ms = WAIT_MS): Promise<Buffer[]> {
  return within(sock.receive(), ms, what);
}

/** Receives messages until one satisfies `pred` (others are dropped), within `ms`. */
export async function recvUntil(sock: ZSocket, pred: (frames: Buffer[]) => boolean, what: string, ms = WAIT_MS): Promise<Buffer[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const frames = await recv(sock, what, Math.max(1, deadline - Date.now()));
    if (pred(frames)) return frames;
  }
}

/** True when no message arrives on `sock` within `ms` (the message, if any, stays readable). */
export async function quiet(sock: ZSocket, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const got = await Promise.race([sock.waitReadable(), timeout]);
  clearTimeout(timer);
  return got === false;
}

/** Frames as strings for assertions; one-byte command frames as `0xNN`. */
export function show(frames: readonly Buffer[]): string[] {
  return frames.map((f) => (f.length === 1 && f[0]! < 0x20 ? `0x${f[0]!.toString(16).padStart(2, "0")}` : f.toString("latin1")));
}

/** A raw 7/MDP worker: a DEALER that sends exactly the frames it is given. */
export async function rawWorker(endpoint: string, service?: string): Promise<ZSocket<"DEALER">> {
  const sock = track(await ZSocket.dealer(`>${endpoint}`, { linger: 0 }));
  if (service !== undefined) await sock.send([EMPTY, b("MDPW01"), Buffer.from([1]), b(service)]);
  return sock;
}

/** A raw 7/MDP client: a DEALER. */
export async function rawClient(endpoint: string): Promise<ZSocket<"DEALER">> {
  return track(await ZSocket.dealer(`>${endpoint}`, { linger: 0 }));
}

/** True for a routing id libzmq made up: 5 bytes, a zero then a counter. */
export function isAutoId(frame: Buffer | undefined): boolean {
  return frame !== undefined && frame.length === 5 && frame[0] === 0;
}

/**
 * Counts, from a broker's `trace`, how many requests each worker holds:
 * +1 for every REQUEST the broker sends it, -1 for every REPLY it sends
 * back. `most` is the highest count any worker reached.
 */
export function inHandTracker(): {
  trace: (e: { direction: "in" | "out"; frames: readonly Buffer[] }) => void;
  now: Map<string, number>;
  most: Map<string, number>;
  highest(): number;
} {
  const now = new Map<string, number>();
  const most = new Map<string, number>();
  return {
    now,
    most,
    trace: ({ direction, frames }) => {
      const command = frames[3];
      if (frames[2]?.toString() !== "MDPW01" || command?.length !== 1) return;
      const worker = frames[0]!.toString("hex");
      const delta = direction === "out" && command[0] === 2 ? 1 : direction === "in" && command[0] === 3 ? -1 : 0;
      if (delta === 0) return;
      const n = (now.get(worker) ?? 0) + delta;
      now.set(worker, n);
      most.set(worker, Math.max(most.get(worker) ?? 0, n));
    },
    highest: () => Math.max(0, ...most.values()),
  };
}
