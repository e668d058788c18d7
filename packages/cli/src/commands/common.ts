/**
 * What the `zkit` subcommands share: flag specs that several commands take
 * (with their help in each command's words), printing frames, and running a
 * server until Ctrl-C.
 * @module
 */

/** The endpoint clients and workers connect to by default: a broker or queue on this host. */
const DEFAULT_CONNECT = "tcp://localhost:5555";

/** A `--connect` flag: a CZMQ endpoint list to connect to. */
export function connectFlag(help: string, dflt = DEFAULT_CONNECT) {
  return { type: "string", default: dflt, help, endpoint: "connect" } as const;
}

/**
 * A flag that takes a CZMQ endpoint list that binds, e.g. `--frontend`
 * (items with `>` connect); with `only`, none may connect (`--bind`).
 */
export function bindFlag(help: string, dflt: string, only = false) {
  return { type: "string", default: dflt, help, endpoint: only ? "bind-only" : "bind" } as const;
}

/** A `--heartbeat-ms` flag: a heartbeat interval in ms, at least 1; its default is the library's constant, never a copy. */
export function heartbeatFlag(help: string, dflt: number) {
  return { type: "number", default: dflt, min: 1, help } as const;
}

/** A `--liveness` flag: heartbeat intervals of silence before a peer counts as dead, at least 1. */
export function livenessFlag(help: string, dflt: number) {
  return { type: "number", default: dflt, min: 1, help } as const;
}

/** A `--timeout-ms` flag: how long an attempt waits for its reply, at least 1 ms. */
export function timeoutFlag(help: string, dflt: number) {
  return { type: "number", default: dflt, min: 1, help } as const;
}

/** A `--retries` flag: resends after a timeout. */
export function retriesFlag(help: string, dflt: number) {
  return { type: "number", default: dflt, help } as const;
}

/** A `--work-ms` flag: how long an echo worker "works" on each request. */
export function workFlag(help: string) {
  return { type: "number", default: 0, help } as const;
}

/** Resolves when `signal` aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * Starts `server`, then waits until `signal` aborts (Ctrl-C) or, with
 * `until`, the promise it returns settles (a rejection is thrown), and
 * closes the server whatever happened.
 *
 * @param signal - the command's `ctx.signal`
 * @param server - anything with `start()` and `close()`
 * @param options - `started`, called once the server runs (to print where it
 *   listens); `until`, called once it runs, for a promise that also ends the
 *   wait (e.g. `() => queue.done`, the run that `start()` began)
 */
export async function serveUntilAborted(
  signal: AbortSignal,
  server: { start(): Promise<unknown>; close(): Promise<unknown> },
  options: { started?: () => void; until?: () => Promise<unknown> } = {},
): Promise<void> {
  try {
    await server.start();
    options.started?.();
    await Promise.race(options.until === undefined ? [aborted(signal)] : [aborted(signal), options.until()]);
  } finally {
    await server.close();
  }
}

/** A frame for the terminal: text when it is printable UTF-8, else `0x` and hex. */
export function showFrame(frame: Buffer): string {
  const text = frame.toString("utf8");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (Buffer.from(text, "utf8").equals(frame) && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return text;
  return `0x${frame.toString("hex")}`;
}
