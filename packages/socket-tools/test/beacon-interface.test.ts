// Which interface a beacon uses: pure rules over interface lists and routing
// tables, including the trap CZMQ falls into (the first interface listed is
// a container bridge).
import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@zkit/core";
import { broadcastAddress, broadcastInterfaces, defaultBeaconInterface, defaultRouteInterface, resolveBeaconInterface } from "@zkit/socket-tools";

const v4 = (address: string, netmask: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask,
  family: "IPv4",
  mac: "00:00:00:00:00:00",
  internal,
  cidr: null,
});
const v6: NetworkInterfaceInfo = { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "00:00:00:00:00:00", internal: false, cidr: null, scopeid: 1 };

// As a laptop with Docker and a VPN lists them: the LAN comes last.
const LAPTOP = {
  lo: [v4("127.0.0.1", "255.0.0.0", true)],
  docker0: [v4("172.17.0.1", "255.255.0.0")],
  tun0: [v4("10.8.0.6", "255.255.255.0")],
  wlan0: [v4("192.168.1.20", "255.255.255.0"), v6],
  wg0: [v4("10.9.0.2", "255.255.255.255")],
};
const ROUTES = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
  "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
  "tun0\t00000000\t0100080A\t0003\t0\t0\t50\t00000000\t0\t0\t0",
  "wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0",
].join("\n");

describe("broadcast addresses", () => {
  it.each([
    ["192.168.1.20", "255.255.255.0", "192.168.1.255"],
    ["10.1.2.3", "255.255.0.0", "10.1.255.255"],
    ["127.0.0.1", "255.0.0.0", "127.255.255.255"],
    ["172.16.5.9", "255.255.255.252", "172.16.5.11"],
  ])("%s/%s broadcasts to %s", (address, netmask, broadcast) => {
    expect(broadcastAddress(address, netmask)).toBe(broadcast);
  });

  it("lists IPv4 interfaces that can broadcast: no IPv6, no /32", () => {
    expect(broadcastInterfaces(LAPTOP).map((i) => i.name)).toEqual(["lo", "docker0", "tun0", "wlan0"]);
  });
});

describe("the default interface", () => {
  it("reads the default route with the lowest metric from /proc/net/route", () => {
    expect(defaultRouteInterface(ROUTES)).toBe("tun0");
    expect(defaultRouteInterface(ROUTES.replace("\t50\t", "\t900\t"))).toBe("wlan0");
    expect(defaultRouteInterface("Iface\tDestination\n")).toBeUndefined();
    expect(defaultRouteInterface("")).toBeUndefined();
  });

  it("takes the default route's interface, not the first one listed (CZMQ's trap)", () => {
    expect(defaultBeaconInterface(LAPTOP, ROUTES.replace("\t50\t", "\t900\t"))?.name).toBe("wlan0");
  });

  it("without a routing table, skips loopback, bridges and tunnels by name", () => {
    expect(defaultBeaconInterface(LAPTOP, "")).toMatchObject({ name: "wlan0", address: "192.168.1.20", broadcast: "192.168.1.255" });
  });

  it("falls back to a virtual interface, then to loopback, and to nothing without IPv4", () => {
    expect(defaultBeaconInterface({ lo: LAPTOP.lo, docker0: LAPTOP.docker0 }, "")?.name).toBe("docker0");
    expect(defaultBeaconInterface({ lo: LAPTOP.lo }, "")).toMatchObject({ name: "lo", broadcast: "127.255.255.255" });
    expect(defaultBeaconInterface({ eth0: [v6] }, "")).toBeUndefined();
  });
});

describe("the interface option", () => {
  it("takes a name, an address of this host, or * for all", () => {
    expect(resolveBeaconInterface("docker0", LAPTOP, ROUTES).broadcast).toBe("172.17.255.255");
    expect(resolveBeaconInterface("192.168.1.20", LAPTOP, ROUTES).name).toBe("wlan0");
    expect(resolveBeaconInterface("*", LAPTOP, ROUTES)).toEqual({ name: "*", address: "0.0.0.0", netmask: "0.0.0.0", broadcast: "255.255.255.255" });
  });

  it("refuses an interface this host does not have, listing those it has", () => {
    expect(() => resolveBeaconInterface("eth7", LAPTOP, ROUTES)).toThrow(InvalidArgumentError);
    expect(() => resolveBeaconInterface("eth7", LAPTOP, ROUTES)).toThrow(
      'ZBeacon option interface "eth7" is not an IPv4 interface of this host that can broadcast; there are: lo (127.0.0.1), docker0 (172.17.0.1), tun0 (10.8.0.6), wlan0 (192.168.1.20), or "*" for all',
    );
    expect(() => resolveBeaconInterface("wg0", LAPTOP, ROUTES)).toThrow(/not an IPv4 interface of this host that can broadcast/); // a /32 cannot
    expect(() => resolveBeaconInterface(undefined, { eth0: [v6] }, "")).toThrow(/no IPv4 interface that can broadcast/);
  });
});
