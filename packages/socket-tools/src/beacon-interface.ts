/**
 * Which network interface a beacon uses, and its broadcast address: CZMQ's
 * `ZSYS_INTERFACE` choice made an explicit option, with a default that
 * avoids the classic trap of taking the first interface in the list (a
 * container bridge or a VPN tunnel) instead of the one on the LAN.
 * Pure functions over what `os.networkInterfaces()` and the routing table
 * say, so every rule is testable without a network.
 * @module
 */
import { readFileSync } from "node:fs";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { InvalidArgumentError, describeValue } from "@zkit/core";

/** The IPv4 interface a beacon sends and listens on. */
export interface BeaconInterface {
  /** The interface name (`eth0`, `lo`), or `*` for every interface. */
  readonly name: string;
  /** Its IPv4 address: what peers see as the beacon's sender (`0.0.0.0` for `*`). */
  readonly address: string;
  /** Its netmask, e.g. `255.255.255.0`. */
  readonly netmask: string;
  /** Where beacons are sent: the subnet's broadcast address (`255.255.255.255` for `*`). */
  readonly broadcast: string;
}

/** The interfaces of a host as `os.networkInterfaces()` lists them: name to addresses. */
export type InterfaceList = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** Names of interfaces that are usually not the LAN: container bridges, virtual pairs, tunnels. */
const VIRTUAL = /^(docker|br-|veth|virbr|vboxnet|vmnet|tun|tap|wg|zt|tailscale|utun|lxc|lxd|cni|flannel|cali|kube)/;

function isIPv4(info: NetworkInterfaceInfo): boolean {
  return info.family === "IPv4" || (info.family as unknown) === 4;
}

function toNumber(ip: string): number {
  return ip.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function toText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * The broadcast address of `address`/`netmask`: the address with every
 * host bit set, e.g. `10.1.2.3`/`255.255.255.0` gives `10.1.2.255`.
 */
export function broadcastAddress(address: string, netmask: string): string {
  return toText((toNumber(address) | ~toNumber(netmask)) >>> 0);
}

/** The IPv4 interfaces that can broadcast (a netmask shorter than /32), in the system's order. */
export function broadcastInterfaces(list: InterfaceList = networkInterfaces()): BeaconInterface[] {
  const out: BeaconInterface[] = [];
  for (const [name, infos] of Object.entries(list)) {
    for (const info of infos ?? []) {
      if (!isIPv4(info) || info.netmask === "255.255.255.255") continue;
      out.push({ name, address: info.address, netmask: info.netmask, broadcast: broadcastAddress(info.address, info.netmask) });
    }
  }
  return out;
}

/**
 * The interface of the IPv4 default route in a Linux `/proc/net/route`
 * table (the one with the lowest metric), or `undefined`.
 */
export function defaultRouteInterface(table: string): string | undefined {
  let best: { name: string; metric: number } | undefined;
  for (const line of table.split("\n").slice(1)) {
    const [name, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (name === undefined || destination !== "00000000" || mask !== "00000000") continue;
    if ((Number.parseInt(flags ?? "0", 16) & 1) === 0) continue; // RTF_UP
    const m = Number(metric);
    if (best === undefined || m < best.metric) best = { name, metric: m };
  }
  return best?.name;
}

function readRouteTable(): string {
  try {
    return readFileSync("/proc/net/route", "utf8");
  } catch {
    return "";
  }
}

/**
 * The interface a beacon uses when none is given:
 * 1. the interface of the IPv4 default route (Linux), if it can broadcast;
 * 2. else the first interface that can broadcast and is neither loopback
 *    nor, by its name, a container bridge, virtual pair or VPN tunnel;
 * 3. else the first that can broadcast other than loopback;
 * 4. else loopback (beacons then reach this host only).
 *
 * @returns the interface, or `undefined` when there is no IPv4 interface at all
 */
export function defaultBeaconInterface(list: InterfaceList = networkInterfaces(), routeTable: string = readRouteTable()): BeaconInterface | undefined {
  const all = broadcastInterfaces(list);
  const internal = new Set(
    Object.entries(list)
      .filter(([, infos]) => (infos ?? []).some((i) => i.internal))
      .map(([name]) => name),
  );
  const viaRoute = defaultRouteInterface(routeTable);
  const routed = all.find((i) => i.name === viaRoute);
  if (routed !== undefined) return routed;
  const external = all.filter((i) => !internal.has(i.name));
  return external.find((i) => !VIRTUAL.test(i.name)) ?? external[0] ?? all.find((i) => internal.has(i.name));
}

/**
 * Resolves a beacon's `interface` option: `"*"` (every interface: listen on
 * all, send to 255.255.255.255, which Linux sends out of the default route's
 * interface only), an interface name (`"eth0"`, `"lo"`), one of this host's
 * IPv4 addresses (`"192.168.1.20"`), or `undefined` for
 * {@link defaultBeaconInterface}.
 *
 * @throws `InvalidArgumentError` naming the interfaces there are when
 *   `spec` matches none, or none can broadcast
 */
export function resolveBeaconInterface(spec: string | undefined, list: InterfaceList = networkInterfaces(), routeTable?: string): BeaconInterface {
  const all = broadcastInterfaces(list);
  const known = (): string => all.map((i) => `${i.name} (${i.address})`).join(", ") || "none";
  if (spec === undefined) {
    const chosen = defaultBeaconInterface(list, routeTable ?? readRouteTable());
    if (chosen === undefined) throw new InvalidArgumentError("ZBeacon: this host has no IPv4 interface that can broadcast; pass the interface option");
    return chosen;
  }
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new InvalidArgumentError(`ZBeacon option interface must be an interface name, an IPv4 address of this host or "*", got ${describeValue(spec)}`);
  }
  if (spec === "*") return { name: "*", address: "0.0.0.0", netmask: "0.0.0.0", broadcast: "255.255.255.255" };
  const found = all.find((i) => i.name === spec) ?? all.find((i) => i.address === spec);
  if (found === undefined) {
    throw new InvalidArgumentError(`ZBeacon option interface ${JSON.stringify(spec)} is not an IPv4 interface of this host that can broadcast; there are: ${known()}, or "*" for all`);
  }
  return found;
}
