/**
 * CZMQ endpoint syntax: `"@tcp://127.0.0.1:*"` binds, `">tcp://host:5555"`
 * connects, several endpoints are separated by commas, and an endpoint with
 * no prefix binds or connects as the socket type's CZMQ default says.
 * @module
 */
import { InvalidEndpointError } from "./errors.js";

/** One parsed endpoint: bind or connect, and the libzmq address. */
export interface EndpointSpec {
  /** True to bind, false to connect. */
  bind: boolean;
  /** The address without prefix, e.g. `tcp://127.0.0.1:5555`. */
  address: string;
}

const TRANSPORTS = ["tcp", "ipc", "inproc", "pgm", "epgm", "udp", "ws", "wss", "tipc", "vmci", "norm"];
const ADDRESS = new RegExp(`^(${TRANSPORTS.join("|")})://.+$`);

/**
 * Parses a CZMQ endpoint list.
 *
 * @param endpoints - e.g. `"@tcp://*:5555,>inproc://x"`
 * @param serverish - what an endpoint with no prefix does: bind when true
 * @throws {@link InvalidEndpointError} for an empty list, an empty item or an
 *   address libzmq cannot parse (no `transport://`)
 */
export function parseEndpoints(endpoints: string, serverish: boolean): EndpointSpec[] {
  if (typeof endpoints !== "string") {
    throw new InvalidEndpointError(`endpoints must be a string like "@tcp://127.0.0.1:*" (bind) or ">tcp://127.0.0.1:5555" (connect), got ${typeof endpoints}`);
  }
  const items = endpoints.split(",").map((s) => s.trim());
  if (items.length === 0 || (items.length === 1 && items[0] === "")) {
    throw new InvalidEndpointError(`no endpoint given: pass "@tcp://127.0.0.1:*" to bind or ">tcp://127.0.0.1:5555" to connect`);
  }
  return items.map((item) => {
    let bind = serverish;
    let address = item;
    if (item.startsWith("@")) {
      bind = true;
      address = item.slice(1);
    } else if (item.startsWith(">")) {
      bind = false;
      address = item.slice(1);
    }
    if (!ADDRESS.test(address)) {
      throw new InvalidEndpointError(
        `invalid endpoint "${item}" in "${endpoints}": expected [@|>]transport://address with transport one of ${TRANSPORTS.join(", ")}` +
          ` (e.g. "@tcp://127.0.0.1:*" binds an ephemeral port, ">tcp://127.0.0.1:5555" connects)`,
      );
    }
    return { bind, address };
  });
}

function withPrefix(endpoints: string, prefix: "@" | ">"): string {
  return endpoints
    .split(",")
    .map((e) => e.trim())
    .map((e) => (e.startsWith("@") || e.startsWith(">") ? e : `${prefix}${e}`))
    .join(",");
}

/**
 * Makes every item of a CZMQ endpoint list that has no `@` or `>` prefix
 * connect: `"tcp://host:5555,@ipc://x"` becomes `">tcp://host:5555,@ipc://x"`.
 * For clients and workers, whose endpoints connect whatever the socket
 * type's default. Items are trimmed; nothing else is checked (see
 * {@link parseEndpoints}).
 *
 * @param endpoints - a CZMQ endpoint list
 */
export function connectEndpoints(endpoints: string): string {
  return withPrefix(endpoints, ">");
}

/**
 * Makes every item of a CZMQ endpoint list that has no `@` or `>` prefix
 * bind: `"tcp://*:5555,>tcp://peer:5556"` becomes `"@tcp://*:5555,>tcp://peer:5556"`.
 * For servers, whose endpoints bind whatever the socket type's default.
 *
 * @param endpoints - a CZMQ endpoint list
 */
export function bindEndpoints(endpoints: string): string {
  return withPrefix(endpoints, "@");
}
