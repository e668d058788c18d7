/**
 * Opt-in interrupt handling for applications and the `zkit` command (CZMQ's
 * `zsys_interrupted`). A library never installs signal handlers by itself:
 * call {@link handleInterrupts} from your program's entry point.
 * @module
 */
import { setMaxListeners } from "node:events";
import { shutdown } from "./registry.js";

/** What {@link handleInterrupts} does on a signal. */
export interface InterruptOptions {
  /** Signals to catch. @defaultValue `["SIGINT", "SIGTERM"]` */
  signals?: NodeJS.Signals[];
  /**
   * Close every open zkit socket ({@link shutdown}) on the first signal, which
   * ends `for await` loops and pending receives. @defaultValue true
   */
  shutdown?: boolean;
  /**
   * The linger of the sockets that the first signal closes: an interrupted
   * program drops what it has not delivered instead of holding the process
   * up to each socket's linger (CZMQ's default linger is 0 too).
   * @defaultValue 0
   */
  lingerMs?: number;
  /** Called once on the first signal, after the flag is set. */
  onInterrupt?: (signal: NodeJS.Signals) => void;
}

let interruptedBy: NodeJS.Signals | undefined;

/**
 * The process-wide interrupt controller. Every loop, lifecycle and pending
 * call of the process listens to its signal, so it has no listener limit
 * (Node warns past 10 listeners on one AbortSignal: a Titanic alone runs 12
 * loops).
 */
function interruptController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}
const controller = { current: interruptController() };

/** True once a handled signal arrived (CZMQ `zsys_interrupted`). */
export function interrupted(): boolean {
  return interruptedBy !== undefined;
}

/**
 * An `AbortSignal` that aborts on the first handled interrupt; pass it to any
 * zkit call that takes a `signal` to stop it cleanly.
 */
export function interruptSignal(): AbortSignal {
  return controller.current.signal;
}

/**
 * Installs SIGINT/SIGTERM handlers: the first signal sets {@link interrupted},
 * aborts {@link interruptSignal} and (by default) closes every socket, so the
 * program can finish cleanly; a second signal exits at once with code 130.
 *
 * @returns a function that removes the handlers and clears the flag
 */
export function handleInterrupts(options: InterruptOptions = {}): () => void {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const handler = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) {
      process.exit(130);
    }
    interruptedBy = signal;
    controller.current.abort(signal);
    options.onInterrupt?.(signal);
    if (options.shutdown ?? true) shutdown({ lingerMs: options.lingerMs ?? 0 });
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
    interruptedBy = undefined;
    controller.current = interruptController();
  };
}
