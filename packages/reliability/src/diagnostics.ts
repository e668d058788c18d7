/**
 * The `node:diagnostics_channel` channels zkit publishes on, declared in one
 * place (as undici does): an APM, a metrics exporter or a test subscribes by
 * name and sees every event of every server, worker and client of a kind,
 * with the object that emitted it. Publishing costs nothing while nobody
 * subscribes.
 *
 * @example
 * ```ts
 * import { subscribe } from "node:diagnostics_channel";
 * subscribe("zkit:mdp:broker", ({ event, info }) => console.log(event, info));
 * ```
 * @module
 */
import { channel, type Channel } from "node:diagnostics_channel";

/**
 * Every channel zkit publishes on, with what publishes there. Each message
 * is a {@link DiagnosticsMessage}: `event` is the event's name (the same as
 * the emitter's), or `"stats"` for a periodic snapshot of the counters.
 */
export const CHANNELS = {
  "zkit:lpp:client": "LazyPirateClient",
  "zkit:spp:queue": "SimplePirateQueue",
  "zkit:spp:worker": "SimplePirateWorker",
  "zkit:ppp:queue": "ParanoidPirateQueue",
  "zkit:ppp:worker": "ParanoidPirateWorker",
  "zkit:mdp:broker": "MajordomoBroker",
  "zkit:mdp:worker": "MajordomoWorker",
  "zkit:mdp:client": "MajordomoClient and MajordomoAsyncClient",
  "zkit:titanic:server": "Titanic",
  "zkit:titanic:client": "TitanicClient",
  "zkit:bstar:server": "BinaryStar",
  "zkit:bstar:client": "BinaryStarClient",
  "zkit:flp:server": "FreelanceServer",
  "zkit:flp:client": "FreelanceClient",
  "zkit:clone:server": "CloneServer",
  "zkit:clone:client": "CloneClient",
} as const;

/** The name of one of zkit's diagnostics channels. */
export type DiagnosticsChannelName = keyof typeof CHANNELS;

/** What zkit publishes on its channels. */
export interface DiagnosticsMessage {
  /** The server, worker or client that emitted it. */
  source: object;
  /** The event name, as its emitter names it (`"worker-gone"`, ...), or `"stats"`. */
  event: string;
  /** The event's payload (or the counters, for `"stats"`). */
  info: unknown;
}

const channels = new Map<DiagnosticsChannelName, Channel>();

/** The channel object for `name` (created once). */
export function diagnosticsChannel(name: DiagnosticsChannelName): Channel {
  let c = channels.get(name);
  if (c === undefined) {
    c = channel(name);
    channels.set(name, c);
  }
  return c;
}

/** Publishes `message` on `name` when anyone subscribes; otherwise does nothing. */
export function publish(name: DiagnosticsChannelName, message: DiagnosticsMessage): void {
  const c = diagnosticsChannel(name);
  if (c.hasSubscribers) c.publish(message);
}
