/**
 * Heartbeat: one peer's liveness, seen from a worker or client. Every
 * interval it either beats (the owner sends its HEARTBEAT) or, when the peer
 * has been silent for `liveness` intervals, reports it lost, once, until it
 * is heard from again or reset. With `beatWhileLost` it beats on while the
 * peer is lost (a server that must keep announcing itself to a peer that
 * may come back, as Binary Star's state publisher does).
 * @module
 */
import { now, readOptions } from "@zkit/core";
import type { ZLoop } from "@zkit/zloop";

/** Options of a {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** How often to beat, and the unit of silence, in ms. */
  intervalMs: number;
  /** Intervals of silence after which the peer is lost. */
  liveness: number;
  /** Called every interval while the peer is alive: send a HEARTBEAT. */
  onBeat: () => void;
  /** Called once when the peer has been silent for `liveness` intervals. */
  onLost: (silentMs: number) => void;
  /**
   * Keep calling `onBeat` every interval while the peer is lost, instead of
   * pausing until it is heard from again: for an owner whose beat is also
   * how a returning peer learns about it (Binary Star publishes its state
   * every interval whether or not its peer is there). A worker that
   * reconnects when its broker is lost leaves it off: it has nobody to beat
   * to until it reconnects.
   * @defaultValue false
   */
  beatWhileLost?: boolean;
}

/**
 * A peer's liveness on a {@link ZLoop} timer.
 *
 * @example
 * ```ts
 * const hb = new Heartbeat({ intervalMs: 2500, liveness: 3, onBeat: () => send(HEARTBEAT), onLost: () => reconnect() });
 * hb.start(loop);
 * // on every message from the peer:
 * hb.heard();
 * ```
 */
export class Heartbeat {
  /** The interval, in ms. */
  readonly intervalMs: number;
  /** Intervals of silence before the peer is lost. */
  readonly liveness: number;
  readonly #onBeat: () => void;
  readonly #onLost: (silentMs: number) => void;
  readonly #beatWhileLost: boolean;
  #loop: ZLoop | undefined;
  #timer: number | undefined;
  #lastHeard = now();
  #lost = false;

  /**
   * @param options - see {@link HeartbeatOptions}
   * @throws `InvalidArgumentError` for a bad option
   */
  constructor(options: HeartbeatOptions) {
    const o = readOptions(options, { owner: "Heartbeat", known: ["intervalMs", "liveness", "onBeat", "onLost", "beatWhileLost"] });
    this.intervalMs = o.number("intervalMs", 1000, { min: 0, exclusive: true });
    this.liveness = o.number("liveness", 3, { min: 1, integer: true });
    this.#onBeat = o.requiredFunction("onBeat", "() => void");
    this.#onLost = o.requiredFunction("onLost", "(silentMs) => void");
    this.#beatWhileLost = o.boolean("beatWhileLost", false);
  }

  /** How long the peer would have to stay silent to be lost, in ms. */
  get expiryMs(): number {
    return this.intervalMs * this.liveness;
  }

  /** Milliseconds since the peer was last heard from (or since `reset()`). */
  get silentMs(): number {
    return now() - this.#lastHeard;
  }

  /** True once the peer was reported lost, until it is heard from again or reset. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Starts beating on `loop` (one timer). Restarting on the same loop is a no-op. */
  start(loop: ZLoop): void {
    if (this.#loop === loop && this.#timer !== undefined) return;
    this.stop();
    this.#loop = loop;
    this.#lastHeard = now();
    this.#timer = loop.timer(this.intervalMs, 0, this.#tick);
  }

  /** Stops beating. */
  stop(): void {
    if (this.#loop !== undefined && this.#timer !== undefined) this.#loop.timerEnd(this.#timer);
    this.#timer = undefined;
  }

  /** The peer said something: it is alive. */
  heard(): void {
    this.#lastHeard = now();
    this.#lost = false;
  }

  /** Starts counting silence afresh (a new connection). */
  reset(): void {
    this.heard();
  }

  #tick = (): void => {
    if (this.#lost) {
      if (this.#beatWhileLost) this.#onBeat();
      return;
    }
    const silent = now() - this.#lastHeard;
    if (silent > this.expiryMs) {
      this.#lost = true;
      this.#onLost(silent);
      // onLost may have stopped it (a worker that reconnects)
      if (this.#beatWhileLost && this.#timer !== undefined) this.#onBeat();
      return;
    }
    this.#onBeat();
  };
}
