// What the titanic tests share: a Majordomo broker and workers in the test
// process, a raw 7/MDP client that sends exactly the frames it is given,
// Titanic on a temp directory, receives with deadlines, and a list of things
// to close after each test.
import { fileURLToPath } from "node:url";
import { ZSocket, shutdown } from "@zkit/core";
import { MajordomoBroker, MajordomoWorker, type MajordomoHandler } from "@zkit/mdp";
import type { SecurityOptions } from "@zkit/security";
import { closeTracked, stopAll, tempDir, track, within } from "@zkit/testkit";
import { Titanic, type TitanicOptions } from "../src/index.js";

/** Generous deadlines: the machine may be loaded. */
export const WAIT_MS = 15_000;
/** Short protocol intervals, so that the tests are quick. */
export const HEARTBEAT_MS = 250;

const EMPTY = Buffer.alloc(0);
export const b = (s: string): Buffer => Buffer.from(s);

/** The directory of this file (for fixtures and peers). */
export const testDir = fileURLToPath(new URL(".", import.meta.url));

const dirs: (() => void)[] = [];

export { track };

/** A fresh temporary directory, removed after the test. */
export function storeDir(): string {
  const t = tempDir("zkit-titanic-");
  dirs.push(t.remove); // removed last, once every socket and child process that uses it is gone
  return t.dir;
}

/** Closes everything tracked, every socket, every child process, then removes the temp dirs. Call in afterEach. */
export async function cleanup(): Promise<void> {
  await closeTracked();
  shutdown();
  await stopAll();
  for (const remove of dirs.splice(0)) remove();
}

/** A Majordomo broker on an ephemeral tcp port (with `security`, a CURVE server: testkit's matrix). */
export async function startBroker(security?: SecurityOptions): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  const broker = track(new MajordomoBroker({ heartbeatIntervalMs: HEARTBEAT_MS, security }));
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  await broker.start();
  return { broker, endpoint };
}

/** Resolves once the broker has a worker for `service`. */
export async function workerReady(broker: MajordomoBroker, service: string): Promise<void> {
  await nextEvent<{ service: string }>(broker, "worker-ready", (info) => info.service === service, `a worker for ${service} at the broker`);
}

/** A Majordomo worker for `service` (an echo worker unless a handler is given; with `security`, a CURVE client). */
export async function startWorker(endpoint: string, service: string, handler: MajordomoHandler = (r) => r, security?: SecurityOptions): Promise<MajordomoWorker> {
  const worker = track(new MajordomoWorker({ endpoint, service, handler, heartbeatIntervalMs: HEARTBEAT_MS, reconnectMs: HEARTBEAT_MS, security }));
  await worker.start();
  return worker;
}

/** Titanic on `dir` with short intervals; resolves once its three services are registered. */
export async function startTitanic(broker: MajordomoBroker, endpoint: string, dir: string, options: Partial<TitanicOptions> = {}): Promise<Titanic> {
  const ready = Promise.all(["titanic.request", "titanic.reply", "titanic.close"].map((s) => workerReady(broker, s)));
  const titanic = track(new Titanic({ endpoint, dir, heartbeatIntervalMs: HEARTBEAT_MS, reconnectMs: HEARTBEAT_MS, dispatchIntervalMs: 100, ...options }));
  await titanic.start();
  await ready;
  return titanic;
}

/** Resolves with the first event `name` of `emitter` whose payload satisfies `pred`, within {@link WAIT_MS}. */
export function nextEvent<T>(
  emitter: { on(name: string, fn: (arg: T) => void): unknown; off(name: string, fn: (arg: T) => void): unknown },
  name: string,
  pred: (arg: T) => boolean = () => true,
  what = `the ${name} event`,
): Promise<T> {
  return within(
    new Promise<T>((resolve) => {
      const on = (arg: T): void => {
        if (!pred(arg)) return;
        emitter.off(name, on);
        resolve(arg);
      };
      emitter.on(name, on);
    }),
    WAIT_MS,
    what,
  );
}

/** A raw 7/MDP client: a DEALER that sends exactly the frames of protocols.md. */
export class RawClient {
  private constructor(readonly socket: ZSocket<"DEALER">) {}

  static async connect(endpoint: string): Promise<RawClient> {
    return new RawClient(track(await ZSocket.dealer(`>${endpoint}`, { linger: 0 })));
  }

  /** Sends `[""]["MDPC01"][service][body...]` and returns the whole reply, frame 0 included. */
  async call(service: string, body: (string | Buffer)[]): Promise<Buffer[]> {
    await this.socket.send([EMPTY, b("MDPC01"), b(service), ...body.map((f) => (typeof f === "string" ? b(f) : f))]);
    return within(this.socket.receive(), WAIT_MS, `the reply of ${service}`);
  }

  close(): void {
    this.socket.close();
  }
}

/** Frames as strings, for assertions. */
export function show(frames: readonly Buffer[]): string[] {
  return frames.map((f) => f.toString("latin1"));
}
