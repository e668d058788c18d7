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
  /**
   * For CZMQ's ephemeral ranges (`tcp://host:*[60000-]`, `tcp://host:!`):
   * the ports a bind tries; absent for every other endpoint. See
   * {@link PortRange}.
   */
  portRange?: PortRange;
}

/**
 * The ports a bind to `tcp://host:*[first-last]` or `tcp://host:![first-last]`
 * tries, as CZMQ's `zsock_bind` does: `*` takes the first free port from
 * `first` up, `!` starts at a random port of the range and goes up from
 * there, wrapping round to `first`. A bound missing from the brackets is the
 * IANA dynamic range's: 49152 ({@link DYNAMIC_PORT_FIRST}) and 65535
 * ({@link DYNAMIC_PORT_LAST}).
 */
export interface PortRange {
  /** Everything before the port: `tcp://127.0.0.1`. */
  host: string;
  /** The lowest port tried. */
  first: number;
  /** The highest port tried. */
  last: number;
  /** True for `!` (start at a random port of the range), false for `*` (start at `first`). */
  random: boolean;
}

/** The first port of the IANA dynamic (ephemeral) range, CZMQ's default start for `*[...]` and `!`. */
export const DYNAMIC_PORT_FIRST = 0xc000;
/** The last tcp port, CZMQ's default end for `*[...]` and `!`. */
export const DYNAMIC_PORT_LAST = 0xffff;

const TRANSPORTS = ["tcp", "ipc", "inproc", "pgm", "epgm", "udp", "ws", "wss", "tipc", "vmci", "norm"];
const ADDRESS = new RegExp(`^(${TRANSPORTS.join("|")})://.+$`);
const SYNTAX = `expected [@|>]transport://address with transport one of ${TRANSPORTS.join(", ")} (e.g. "@tcp://127.0.0.1:*" binds an ephemeral port, ">tcp://127.0.0.1:5555" connects)`;
const PORTS =
  "a tcp port is a number from 1 to 65535; a bind may also take * (any free port), *[first-last]" +
  " (the first free port of the range, either bound optional) or ! / ![first-last] (a random free port of the range)," +
  ' e.g. "@tcp://127.0.0.1:*"';
const DECIMAL = /^[0-9]+$/;
const EPHEMERAL = /^([*!])(?:\[([0-9]*)-([0-9]*)\])?$/;

/**
 * Parses a CZMQ endpoint list.
 *
 * tcp ports are checked: a number from 1 to 65535 (libzmq would silently
 * take 99999 modulo 65536), or for a bind `*` (libzmq's ephemeral port),
 * `*[first-last]` (the first free port of the range; CZMQ's syntax, either
 * bound may be left out: `*[60000-]`, `*[-60010]`) or `!` / `![first-last]`
 * (a random free port of the range; the dynamic range 49152-65535 when no
 * range is given). A range sets {@link EndpointSpec.portRange}.
 *
 * @param endpoints - e.g. `"@tcp://*:5555,>inproc://x"`
 * @param serverish - what an endpoint with no prefix does: bind when true
 * @throws {@link InvalidEndpointError} for an empty list, an empty item, an
 *   address libzmq cannot parse (no `transport://`), or a bad tcp port; the
 *   message shows the item as it was given and the syntax
 */
export function parseEndpoints(endpoints: string, serverish: boolean): EndpointSpec[] {
  if (typeof endpoints !== "string") {
    throw new InvalidEndpointError(`endpoints must be a string like "@tcp://127.0.0.1:*" (bind) or ">tcp://127.0.0.1:5555" (connect), got ${typeof endpoints}`);
  }
  const items = endpoints.split(",").map((s) => s.trim());
  if (items.length === 0 || (items.length === 1 && items[0] === "")) {
    throw new InvalidEndpointError(`no endpoint given: pass "@tcp://127.0.0.1:*" to bind or ">tcp://127.0.0.1:5555" to connect`);
  }
  const where = items.length > 1 ? ` in "${endpoints}"` : "";
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
    return check(item, where, bind, address);
  });
}

/**
 * Parses one endpoint for `ZSocket.bind` (`bind` true) or
 * `ZSocket.connect`: the address alone, or with the prefix that says
 * the same (`@` to bind, `>` to connect). Errors show the endpoint exactly as
 * it was given.
 *
 * @param endpoint - e.g. `"tcp://127.0.0.1:*[60000-]"`
 * @param bind - true for a bind, false for a connect
 * @throws {@link InvalidEndpointError} as {@link parseEndpoints} does, for a
 *   comma list, or for the other prefix (`>` given to a bind)
 */
export function parseEndpoint(endpoint: string, bind: boolean): EndpointSpec {
  if (typeof endpoint !== "string") {
    throw new InvalidEndpointError(`the endpoint must be a string like "tcp://127.0.0.1:${bind ? "*" : "5555"}", got ${typeof endpoint}`);
  }
  const item = endpoint.trim();
  const own = bind ? "@" : ">";
  const other = bind ? ">" : "@";
  if (item.startsWith(other)) {
    throw new InvalidEndpointError(
      `${bind ? "bind" : "connect"}("${endpoint}"): "${other}" ${bind ? "connects" : "binds"}; ${bind ? "connect" : "bind"}() it, or attach() a list that mixes both`,
    );
  }
  if (item.includes(",")) throw new InvalidEndpointError(`${bind ? "bind" : "connect"}("${endpoint}") takes one endpoint; attach() takes a comma-separated list`);
  return check(item, "", bind, item.startsWith(own) ? item.slice(1) : item);
}

/**
 * The addresses a bind tries for a {@link PortRange}, in CZMQ's order: from
 * `first` (or a random port of the range, for `!`) up to `last`, then from
 * `first` on, each port once.
 *
 * @param range - from {@link EndpointSpec.portRange}
 * @param random - a number in [0, 1) (tests pass their own)
 */
export function* portRangeAddresses(range: PortRange, random: () => number = Math.random): Generator<string> {
  const size = range.last - range.first + 1;
  const start = range.random ? Math.floor(random() * size) : 0;
  for (let i = 0; i < size; i++) yield `${range.host}:${range.first + ((start + i) % size)}`;
}

function check(item: string, where: string, bind: boolean, address: string): EndpointSpec {
  if (!ADDRESS.test(address)) throw new InvalidEndpointError(`invalid endpoint "${item}"${where}: ${SYNTAX}`);
  if (!address.startsWith("tcp://")) return { bind, address };
  const fail = (why: string): never => {
    throw new InvalidEndpointError(`invalid endpoint "${item}"${where}: ${why}; ${PORTS}`);
  };
  // libzmq's tcp address: [source-address;]host:port, host maybe [ipv6]
  const target = address.slice(address.lastIndexOf(";") + 1).replace(/^tcp:\/\//, "");
  const colon = target.lastIndexOf(":");
  if (colon < 0) return fail("no port (tcp://host:port)");
  if (colon === 0) return fail("no host before the port (tcp://host:port; * binds every interface)");
  const port = target.slice(colon + 1);
  if (DECIMAL.test(port)) {
    const n = Number(port);
    if (n < 1 || n > 65535) return fail(`port ${port} is out of range`);
    return { bind, address };
  }
  const m = EPHEMERAL.exec(port);
  if (m === null) return fail(port === "" ? "no port after the colon" : `port "${port}" is not a port`);
  if (!bind) return fail(`"${port}" picks a port to bind; a connect needs the port number`);
  if (m[1] === "*" && m[2] === undefined) return { bind, address }; // libzmq's own ephemeral port
  const first = m[2] ? Number(m[2]) : DYNAMIC_PORT_FIRST;
  const last = m[3] ? Number(m[3]) : DYNAMIC_PORT_LAST;
  if (first < 1 || first > 65535 || last < 1 || last > 65535) return fail(`the range ${port.slice(1)} goes outside 1-65535`);
  if (first > last) return fail(`the range ${port.slice(1)} is empty (${first} > ${last})`);
  const host = address.slice(0, address.length - port.length - 1);
  return { bind, address, portRange: { host, first, last, random: m[1] === "!" } };
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
