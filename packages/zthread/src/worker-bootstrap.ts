/**
 * Internal: what runs first inside every Worker zthread starts. It imports
 * the user's module, connects the child's end of the pipe, calls the default
 * export, and when that returns or throws flushes the pipe, closes every zkit
 * socket of the thread (`shutdown()`) and lets the thread end by itself. It never calls
 * `process.exit()` and the owner never calls `worker.terminate()`: with a
 * socket operation pending, either aborts the whole process (zeromq.js
 * issue 411).
 *
 * Messages from the owner on the Worker's port: `close-pipe` (the owner
 * closed its end) closes the child's end; `shutdown` closes every socket.
 * An uncaught exception in the thread is reported to the owner and closes
 * every socket too, instead of tearing the thread down with sockets busy.
 * @module
 * @internal
 */
import { parentPort, workerData } from "node:worker_threads";
import { ZSOCKET_LINGER_MS, ZSocket, getLogger, now, shutdown } from "@zkit/core";
import { raceDeadline } from "./deadline.js";
import { encodeSignal } from "./signal-codec.js";
import { BOOT_KEY, isClosedError, serializeError, type BootData, type FromThread, type ToThread } from "./wire.js";

const log = getLogger("zthread");
const boot = (workerData as Record<string, BootData>)[BOOT_KEY]!;
const port = parentPort!;

let pipe: ZSocket<"PAIR"> | undefined;
/** The owner closed the pipe or asked for shutdown: a ClosedError is then a normal end. */
let stopRequested = false;
let failed = false;

function report(err: unknown): void {
  if (failed) return;
  failed = true;
  port.postMessage({ t: "error", error: serializeError(err) } satisfies FromThread);
}

function onMessage(msg: ToThread): void {
  if (msg.t === "close-pipe") {
    stopRequested = true;
    pipe?.close();
  } else if (msg.t === "shutdown") {
    // thread.stop(): a forced end, so whatever its sockets had not delivered
    // is dropped rather than holding the process up to their linger
    stopRequested = true;
    shutdown({ lingerMs: 0 });
  }
}
port.on("message", onMessage);
port.unref(); // the port alone must not keep the thread alive

process.on("uncaughtException", (err) => {
  log.error("uncaught exception in thread running %s: %s", boot.module, err);
  report(err);
  shutdown();
});

async function run(): Promise<void> {
  const mod = (await import(boot.module)) as { default?: unknown };
  const fn = mod.default;
  if (typeof fn !== "function") {
    throw new TypeError(`${boot.module} must have a default export that is a function, got ${typeof fn}`);
  }
  if (stopRequested) return; // the owner gave up before the thread started
  if (boot.kind === "detached") {
    await (fn as (args: unknown) => unknown)(boot.args);
    return;
  }
  pipe = await ZSocket.pair(`>${boot.endpoint!}`);
  if (stopRequested) return;
  await (fn as (pipe: ZSocket<"PAIR">, args: unknown) => unknown)(pipe, boot.args);
}

try {
  await run();
} catch (err) {
  if (!(stopRequested && isClosedError(err))) {
    log.debug("thread running %s failed: %s", boot.module, err);
    report(err);
  }
}
// Sends the function left queued (not awaited) still reach the owner, as
// they would in CZMQ where a send returns once libzmq has the message; within
// a linger's time, in case the owner stopped reading.
if (pipe && !pipe.closed) await raceDeadline(pipe.flush(), now() + ZSOCKET_LINGER_MS);
// An actor's end is signalled as CZMQ's actor shim does: signal 0 once the
// function returned. Never blocks: the owner may be gone already.
if (boot.kind === "actor" && !failed && pipe && !pipe.closed) {
  try {
    pipe.set("sendTimeout", 0);
    await pipe.send(encodeSignal(0));
  } catch {
    // nobody to tell
  }
}
shutdown();
port.off("message", onMessage);
port.postMessage({ t: "ended" } satisfies FromThread);
