/**
 * Traffic tracing: the hook through which pattern servers and clients report
 * every message they send or receive, for `zkit ... -v` and for debugging.
 * Costs nothing when unset.
 * @module
 */

/** One message seen by a pattern, as handed to a {@link TraceFn}. */
export interface TraceEvent {
  /** `"in"` for a received message, `"out"` for a sent one. */
  readonly direction: "in" | "out";
  /** Which socket of the pattern, in its own words: `"frontend"`, `"backend"`, `"broker"`, ... */
  readonly socket: string;
  /** The frames as on the wire (a ROUTER's identity frame included). Do not modify them. */
  readonly frames: readonly Buffer[];
}

/**
 * Receives a {@link TraceEvent} for every message a pattern sends or
 * receives. Pattern classes take one as their `trace` option; it must not
 * throw and should be quick.
 *
 * @example
 * ```ts
 * const trace: TraceFn = ({ direction, socket, frames }) =>
 *   console.log(`${direction} ${socket}`, frames.map(String));
 * ```
 */
export type TraceFn = (event: TraceEvent) => void;
