/**
 * Logging: every zkit package logs through a {@link Logger} named after it.
 * By default messages go to `node:util` debuglog, silent unless the process
 * runs with `NODE_DEBUG=zkit*` (or `NODE_DEBUG=zkit:mdp`, ...). Plug your own
 * logger (pino, console, ...) with {@link setLogSink}.
 * @module
 */
import { debuglog, format } from "node:util";

/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** What a package logs through. Arguments are formatted like `console.log`. */
export interface Logger {
  /** The namespace, e.g. `zkit:core`. */
  readonly namespace: string;
  /** Traffic and state changes, for a developer reading along. */
  debug(message: string, ...args: unknown[]): void;
  /** Events an operator wants to see (a worker came up, a failover). */
  info(message: string, ...args: unknown[]): void;
  /** Something went wrong but was handled (a malformed message was dropped). */
  warn(message: string, ...args: unknown[]): void;
  /** Something failed that the caller will notice. */
  error(message: string, ...args: unknown[]): void;
  /** True when records at `debug` level go anywhere (skip costly formatting otherwise). */
  readonly enabled: boolean;
}

/**
 * Receives every record of every zkit logger once plugged in with
 * {@link setLogSink}.
 */
export type LogSink = (level: LogLevel, namespace: string, message: string) => void;

let sink: LogSink | undefined;
const loggers = new Map<string, Logger>();

/**
 * Sends every zkit log record to `fn` instead of `node:util` debuglog.
 * Pass `undefined` to go back to debuglog.
 *
 * @example
 * ```ts
 * setLogSink((level, ns, msg) => console.error(`[${level}] ${ns}: ${msg}`));
 * ```
 */
export function setLogSink(fn: LogSink | undefined): void {
  sink = fn;
}

/**
 * Returns the logger for `name` (namespace `zkit:<name>`); the same object for
 * the same name.
 *
 * @param name - usually the package name without scope, e.g. `"mdp"`
 */
export function getLogger(name: string): Logger {
  const namespace = `zkit:${name}`;
  let logger = loggers.get(namespace);
  if (!logger) {
    logger = makeLogger(namespace);
    loggers.set(namespace, logger);
  }
  return logger;
}

function makeLogger(namespace: string): Logger {
  let debug: ReturnType<typeof debuglog> | undefined;
  const dlog = (): ReturnType<typeof debuglog> => (debug ??= debuglog(namespace));
  const emit = (level: LogLevel, message: string, args: unknown[]): void => {
    if (sink) {
      sink(level, namespace, args.length ? format(message, ...args) : message);
      return;
    }
    const d = dlog();
    if (d.enabled) d(`${level} ${message}`, ...args);
  };
  return {
    namespace,
    debug: (m, ...a) => emit("debug", m, a),
    info: (m, ...a) => emit("info", m, a),
    warn: (m, ...a) => emit("warn", m, a),
    error: (m, ...a) => emit("error", m, a),
    get enabled() {
      return sink !== undefined || dlog().enabled;
    },
  };
}

/**
 * Logs a burst of similar records without flooding: the first one at once,
 * then at most one summary per window (`"N more: <what>"`), until a window
 * passes with none. For events that can come by the thousand (requests
 * dropped under load, malformed messages from a fuzzer), where an operator
 * needs to know that it happens, how often, and what to do, but not each one.
 *
 * @example
 * ```ts
 * const drops = new LogBurst(log, "request dropped: the queue is full; raise maxQueueBytes");
 * drops.record("request for %s dropped: the queue is full (maxQueueBytes %d)", service, limit);
 * ```
 */
export class LogBurst {
  readonly #logger: Logger;
  readonly #what: string;
  readonly #level: LogLevel;
  readonly #windowMs: number;
  #count = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param logger - where the records go
   * @param what - what the summary says happened, e.g. `"requests dropped: queue full (raise maxQueueBytes)"`
   * @param options - `level` (default `"warn"`) and `windowMs` (default 1000)
   */
  constructor(logger: Logger, what: string, options: { level?: LogLevel; windowMs?: number } = {}) {
    this.#logger = logger;
    this.#what = what;
    this.#level = options.level ?? "warn";
    this.#windowMs = options.windowMs ?? 1000;
  }

  /** True while a burst goes on: a record now would only be counted. */
  get active(): boolean {
    return this.#timer !== undefined;
  }

  /** Records one event: logged now if no burst is going on, else counted for the next summary. */
  record(message: string, ...args: unknown[]): void {
    if (this.#timer === undefined) {
      this.#logger[this.#level](message, ...args);
      this.#arm();
    } else {
      this.#count++;
    }
  }

  /** Logs the pending summary now, if any, and ends the burst (e.g. when closing). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#summarize();
  }

  #arm(): void {
    this.#timer = setTimeout(this.#tick, this.#windowMs);
    this.#timer.unref();
  }

  #tick = (): void => {
    this.#timer = undefined;
    if (this.#summarize()) this.#arm();
  };

  #summarize(): boolean {
    const n = this.#count;
    if (n === 0) return false;
    this.#count = 0;
    this.#logger[this.#level]("%d more in the last %d ms: %s", n, this.#windowMs, this.#what);
    return true;
  }
}
