/**
 * Versions: the libzmq inside zeromq.js (CZMQ `zsys_version`) and the
 * transports and security mechanisms it was built with.
 * @module
 */
import * as zmq from "zeromq";

/** The libzmq version zkit runs on, as `[major, minor, patch]` (e.g. `[4, 3, 5]`). */
export function zmqVersion(): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = zmq.version.split(".").map((n) => Number.parseInt(n, 10));
  return [major, minor, patch];
}

/**
 * What the bundled libzmq supports (`ipc`, `curve`, `draft`, ...), as libzmq's
 * `zmq_has` reports it.
 */
export function zmqCapabilities(): Readonly<Record<string, boolean>> {
  return { ...zmq.capability } as Record<string, boolean>;
}
