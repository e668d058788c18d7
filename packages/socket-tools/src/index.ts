/**
 * `@zkit/socket-tools`: CZMQ's socket toolbox beside `@zkit/core`.
 * {@link ZProxy} is CZMQ's steerable `zproxy` (frontend, backend, capture;
 * PAUSE, RESUME, VERBOSE, TERMINATE) on zkit's own read loops;
 * {@link ZBeacon} is CZMQ's `zbeacon`, LAN discovery by UDP broadcast with
 * an explicit interface. Socket monitoring (`ZMonitor`) lives in
 * `@zkit/core`, the one package that talks to zeromq.js.
 *
 * @packageDocumentation
 */
export {
  ZProxy,
  type ProxySocketSpec,
  type ProxySocketType,
  type ZProxyCommand,
  type ZProxyOptions,
  type ZProxyStats,
} from "./zproxy.js";
export {
  ZBeacon,
  BEACON_MAX_BYTES,
  DEFAULT_BEACON_HWM,
  BEACON_INTERVAL_MS,
  type Beacon,
  type PublishOptions,
  type ZBeaconOptions,
  type ZBeaconStats,
} from "./zbeacon.js";
export {
  broadcastAddress,
  broadcastInterfaces,
  defaultBeaconInterface,
  defaultRouteInterface,
  resolveBeaconInterface,
  type BeaconInterface,
  type InterfaceList,
} from "./beacon-interface.js";
