/**
 * Giving memory back when a server goes quiet. Node frees the native memory
 * behind received frames (libzmq's message buffers, held by zero-copy
 * Buffers) only when V8 collects the Buffers, and an idle process may not run
 * a full collection for a long time: after a burst of traffic a broker that
 * has dropped or answered everything can sit on hundreds of MB of garbage.
 * {@link IdleCollector} asks V8 for one full collection when a server goes
 * idle after enough traffic.
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { getLogger } from "./log.js";

const log = getLogger("core");

let gcFunction: (() => void) | null | undefined;

/**
 * Runs one full garbage collection, if the runtime allows it: with
 * `--expose-gc`, or through V8's `expose-gc` flag set at run time (the way
 * Jest's `--logHeapUsage` does it). Best effort: returns false when no
 * collector could be found, and never throws.
 *
 * @returns true when a collection ran
 */
export function collectGarbage(): boolean {
  if (gcFunction === undefined) gcFunction = findGc();
  if (gcFunction === null) return false;
  try {
    gcFunction();
    return true;
  } catch (err) {
    log.debug("garbage collection failed: %s", (err as Error)?.message ?? String(err));
    return false;
  }
}

function findGc(): (() => void) | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as () => void;
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch (err) {
    log.debug("no garbage collector available: %s", (err as Error)?.message ?? String(err));
    return null;
  }
}

/** Options of {@link IdleCollector}. */
export interface IdleCollectorOptions {
  /**
   * How many bytes of received frames make a burst worth collecting after.
   * @defaultValue 16777216 (16 MiB)
   */
  thresholdBytes?: number;
}

/**
 * Runs one full garbage collection when a server goes quiet after a burst:
 * call {@link IdleCollector.received} for every message (or batch) with its
 * size, {@link IdleCollector.released} for what the server drops on its own
 * (expired requests), and {@link IdleCollector.tick} from a periodic timer (a
 * heartbeat does). A tick that finds nothing received since the previous
 * tick, after at least `thresholdBytes` were received or released since the
 * last collection, collects once. "Nothing" allows a trickle (heartbeats, a monitoring probe): less than
 * `thresholdBytes / 256` in the period. Cost: an addition per message, and
 * one collection (milliseconds on a small heap) per burst.
 */
export class IdleCollector {
  readonly #threshold: number;
  #sinceCollection = 0;
  #sinceTick = 0;
  #collections = 0;

  /** @param options - see {@link IdleCollectorOptions} */
  constructor(options: IdleCollectorOptions = {}) {
    this.#threshold = options.thresholdBytes ?? 16 * 1024 * 1024;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** Notes `bytes` received (traffic: it also keeps the period busy). */
  received(bytes: number): void {
    this.#sinceTick += bytes;
  }

  /**
   * Notes `bytes` that the server let go of without traffic (requests it
   * expired or dropped long after they arrived): they count toward the next
   * collection, but do not make the period busy.
   */
  released(bytes: number): void {
    this.#sinceCollection += bytes;
  }

  /**
   * Called periodically: collects when the period was quiet after a burst.
   * @returns true when it collected
   */
  tick(): boolean {
    const busy = this.#sinceTick > this.#threshold / 256;
    this.#sinceCollection += this.#sinceTick;
    this.#sinceTick = 0;
    if (busy || this.#sinceCollection < this.#threshold) return false;
    this.#sinceCollection = 0;
    if (!collectGarbage()) return false;
    this.#collections++;
    log.debug("quiet after a burst: ran one garbage collection");
    return true;
  }
}
