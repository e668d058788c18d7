/**
 * `@zkit/core`: the one package of zkit that talks to zeromq.js. Typed
 * sockets with CZMQ's endpoint syntax ({@link ZSocket}), a send path that
 * never reports "busy", the socket registry and {@link shutdown}, opt-in
 * interrupt handling, a monotonic clock, pluggable logging, typed errors,
 * socket monitoring ({@link ZMonitor}), CURVE keys ({@link curveKeyPair})
 * and the options checking every zkit class shares ({@link readOptions}).
 *
 * @packageDocumentation
 */
export { ZSocket, ZSOCKET_LINGER_MS, type PostFailure } from "./zsocket.js";
export { atLeastOneFrame, isFrameLike, isMessageLike, toFrame, toFrames, type FrameLike, type MessageLike, type ToFramesOptions } from "./frames.js";
export type { Pollable, Sendable } from "./pollable.js";
export type { TraceEvent, TraceFn } from "./trace.js";
export {
  BINDS_BY_DEFAULT,
  CAN_RECEIVE,
  CAN_SEND,
  ROUTER_NOTIFY_CONNECT,
  ROUTER_NOTIFY_DISCONNECT,
  isRouterNotification,
  type RouterExtraOptions,
  type SocketClassMap,
  type SocketOptionsOf,
  type SocketType,
} from "./socket-types.js";
export {
  DYNAMIC_PORT_FIRST,
  DYNAMIC_PORT_LAST,
  bindEndpoints,
  connectEndpoints,
  parseEndpoint,
  parseEndpoints,
  portRangeAddresses,
  type EndpointSpec,
  type PortRange,
} from "./endpoints.js";
export {
  AbortError,
  ClosedError,
  ErrorCode,
  InvalidArgumentError,
  InvalidEndpointError,
  ProtocolError,
  TimeoutError,
  ZkitError,
  fromZmqError,
  type ErrorCodeValue,
  type ZkitErrorOptions,
} from "./errors.js";
export { OptionReader, describeValue, readOptions, type NumberRule, type OptionsSpec } from "./options.js";
export { now, sleep, time } from "./clock.js";
export { DeadlineSignal, RETRIES_RULE, TIMED_OUT, TIMEOUT_RULE, abortError, raceDeadline, type RaceOptions } from "./deadline.js";
export { IdleCollector, collectGarbage, type IdleCollectorOptions } from "./memory.js";
export { zmqCapabilities, zmqVersion } from "./version.js";
export { LogBurst, getLogger, setLogSink, type LogLevel, type LogSink, type Logger } from "./log.js";
export { openSocketCount, shutdown, type ShutdownOptions } from "./registry.js";
export { ZMonitor, DEFAULT_MONITOR_BUFFER, MONITOR_HISTORY, type MonitorEventMatch, type WaitForEventOptions, type ZMonitorEvents, type ZMonitorOptions } from "./zmonitor.js";
export {
  MONITOR_EVENT_TYPES,
  czmqEventName,
  describeEvent,
  monitorEventFrames,
  type MonitorEvent,
  type MonitorEventError,
  type MonitorEventType,
} from "./monitor-event.js";
export { curveKeyPair, type CurveKeyPair } from "./curve.js";
export { handleInterrupts, interruptSignal, interrupted, type InterruptOptions } from "./interrupt.js";
