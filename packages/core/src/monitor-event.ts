/**
 * Socket monitor events: their names (zkit's, CZMQ's and zeromq.js's), the
 * typed event a `ZMonitor` delivers, and CZMQ's `zmonitor` message
 * `[EVENT_NAME][value][endpoint]`. Pure functions, no sockets.
 * @module
 */
import type * as zmq from "zeromq";
import { now } from "./clock.js";

/**
 * What happened on a monitored socket, in CZMQ's words made kebab-case
 * (CZMQ `CONNECT_RETRIED` is `"connect-retried"`):
 *
 * | type | CZMQ | libzmq event | what it means |
 * | --- | --- | --- | --- |
 * | `connected` | `CONNECTED` | `ZMQ_EVENT_CONNECTED` | a TCP (or ipc) connection to the endpoint is up; the ZMTP handshake follows |
 * | `connect-delayed` | `CONNECT_DELAYED` | `ZMQ_EVENT_CONNECT_DELAYED` | a connect is in progress |
 * | `connect-retried` | `CONNECT_RETRIED` | `ZMQ_EVENT_CONNECT_RETRIED` | nobody answered; libzmq tries again after `value` ms |
 * | `listening` | `LISTENING` | `ZMQ_EVENT_LISTENING` | a bind succeeded |
 * | `bind-failed` | `BIND_FAILED` | `ZMQ_EVENT_BIND_FAILED` | a bind failed (`error`) |
 * | `accepted` | `ACCEPTED` | `ZMQ_EVENT_ACCEPTED` | a peer connected to a bound endpoint |
 * | `accept-failed` | `ACCEPT_FAILED` | `ZMQ_EVENT_ACCEPT_FAILED` | accepting a peer failed (`error`) |
 * | `closed` | `CLOSED` | `ZMQ_EVENT_CLOSED` | a connection or listener was closed |
 * | `close-failed` | `CLOSE_FAILED` | `ZMQ_EVENT_CLOSE_FAILED` | closing failed (ipc only) |
 * | `disconnected` | `DISCONNECTED` | `ZMQ_EVENT_DISCONNECTED` | a live connection broke (the peer went away, or a handshake failed) |
 * | `handshake-succeeded` | `HANDSHAKE_SUCCEEDED` | `ZMQ_EVENT_HANDSHAKE_SUCCEEDED` | the ZMTP handshake (and CURVE/PLAIN security) completed: the peer is reachable |
 * | `handshake-failed-protocol` | `HANDSHAKE_FAILED_PROTOCOL` | `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` | the peers disagree on the protocol; `error.code` says how, e.g. `ERR_ZMTP_CRYPTOGRAPHIC` (a CURVE server given the wrong server key by its client) |
 * | `handshake-failed-auth` | `HANDSHAKE_FAILED_AUTH` | `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH` | ZAP refused the peer; `value` is the status (300, 400, 500) |
 * | `handshake-failed-no-detail` | `HANDSHAKE_FAILED_NO_DETAIL` | `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` | the handshake broke off, e.g. `EPIPE` at a CURVE client whose server key is wrong |
 * | `monitor-stopped` | `MONITOR_STOPPED` | `ZMQ_EVENT_MONITOR_STOPPED` | the socket closed: the monitor's last event |
 * | `unknown` | | | an event zeromq.js could not name |
 */
export type MonitorEventType =
  | "connected"
  | "connect-delayed"
  | "connect-retried"
  | "listening"
  | "bind-failed"
  | "accepted"
  | "accept-failed"
  | "closed"
  | "close-failed"
  | "disconnected"
  | "handshake-succeeded"
  | "handshake-failed-protocol"
  | "handshake-failed-auth"
  | "handshake-failed-no-detail"
  | "monitor-stopped"
  | "unknown";

/** Every {@link MonitorEventType}, in libzmq's order of event bits. */
export const MONITOR_EVENT_TYPES: readonly MonitorEventType[] = [
  "connected",
  "connect-delayed",
  "connect-retried",
  "listening",
  "bind-failed",
  "accepted",
  "accept-failed",
  "closed",
  "close-failed",
  "disconnected",
  "monitor-stopped",
  "handshake-failed-no-detail",
  "handshake-succeeded",
  "handshake-failed-protocol",
  "handshake-failed-auth",
  "unknown",
];

/** The error carried by a failure event (`bind-failed`, `handshake-failed-*`, ...). */
export interface MonitorEventError {
  /**
   * A stable code: an errno name (`EADDRINUSE`, `EPIPE`), a ZMTP or ZAP
   * protocol error (`ERR_ZMTP_CRYPTOGRAPHIC`, `ERR_ZAP_MALFORMED_REPLY`), or
   * for a ZAP refusal the status as text (`"400"`).
   */
  readonly code: string;
  /** What libzmq says about it, e.g. `Broken pipe` or `Authentication failure`. */
  readonly message: string;
}

/** One event of a monitored socket, as a `ZMonitor` delivers it. */
export interface MonitorEvent {
  /** What happened; see {@link MonitorEventType}. */
  readonly type: MonitorEventType;
  /** CZMQ's name of the event, e.g. `CONNECT_RETRIED` (`"UNKNOWN"` for `unknown`). */
  readonly name: string;
  /**
   * The endpoint concerned, as libzmq reports it: the address connected to,
   * or for a bound socket the endpoint it listens on (libzmq does not give
   * the remote peer's address). Empty for `monitor-stopped`.
   */
  readonly endpoint: string;
  /**
   * libzmq's event value where zeromq.js passes it on: the next reconnect
   * interval in ms (`connect-retried`), the errno of a failure, the ZAP
   * status (300, 400, 500) or the ZMTP protocol error number; 0 where
   * zeromq.js does not give it (the file descriptor of `connected`,
   * `accepted`, `closed`, ...).
   */
  readonly value: number;
  /** For failure events: what failed, see {@link MonitorEventError}. */
  readonly error?: MonitorEventError;
  /** When the monitor read the event, on the monotonic clock ({@link now}). */
  readonly at: number;
}

const BY_ZMQ_TYPE: Readonly<Record<zmq.EventType, MonitorEventType>> = {
  accept: "accepted",
  "accept:error": "accept-failed",
  bind: "listening",
  "bind:error": "bind-failed",
  connect: "connected",
  "connect:delay": "connect-delayed",
  "connect:retry": "connect-retried",
  close: "closed",
  "close:error": "close-failed",
  disconnect: "disconnected",
  end: "monitor-stopped",
  handshake: "handshake-succeeded",
  "handshake:error:protocol": "handshake-failed-protocol",
  "handshake:error:auth": "handshake-failed-auth",
  "handshake:error:other": "handshake-failed-no-detail",
  unknown: "unknown",
};

/** libzmq's numbers of the ZMTP and ZAP protocol errors zeromq.js names (`zmq.h`, `ZMQ_PROTOCOL_ERROR_*`). */
const PROTOCOL_ERRORS: Readonly<Record<string, number>> = {
  ERR_ZMTP_UNSPECIFIED: 0x10000000,
  ERR_ZMTP_UNEXPECTED_COMMAND: 0x10000001,
  ERR_ZMTP_INVALID_SEQUENCE: 0x10000002,
  ERR_ZMTP_KEY_EXCHANGE: 0x10000003,
  ERR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: 0x10000011,
  ERR_ZMTP_MALFORMED_COMMAND_MESSAGE: 0x10000012,
  ERR_ZMTP_MALFORMED_COMMAND_HELLO: 0x10000013,
  ERR_ZMTP_MALFORMED_COMMAND_INITIATE: 0x10000014,
  ERR_ZMTP_MALFORMED_COMMAND_ERROR: 0x10000015,
  ERR_ZMTP_MALFORMED_COMMAND_READY: 0x10000016,
  ERR_ZMTP_MALFORMED_COMMAND_WELCOME: 0x10000017,
  ERR_ZMTP_INVALID_METADATA: 0x10000018,
  ERR_ZMTP_CRYPTOGRAPHIC: 0x11000001,
  ERR_ZMTP_MECHANISM_MISMATCH: 0x11000002,
  ERR_ZAP_UNSPECIFIED: 0x20000000,
  ERR_ZAP_MALFORMED_REPLY: 0x20000001,
  ERR_ZAP_BAD_REQUEST_ID: 0x20000002,
  ERR_ZAP_BAD_VERSION: 0x20000003,
  ERR_ZAP_INVALID_STATUS_CODE: 0x20000004,
  ERR_ZAP_INVALID_METADATA: 0x20000005,
};

/**
 * CZMQ's name of an event type: `"connect-retried"` is `CONNECT_RETRIED`.
 *
 * @param type - a {@link MonitorEventType}
 */
export function czmqEventName(type: MonitorEventType): string {
  return type.toUpperCase().replace(/-/g, "_");
}

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  status?: unknown;
  message?: unknown;
}

/**
 * Turns an event read from zeromq.js's observer into a {@link MonitorEvent}.
 * Never throws: anything it does not recognise becomes `unknown`.
 *
 * @param raw - what `Observer.receive()` resolved with
 * @param at - the time to stamp it with
 * @internal
 */
export function fromZmqEvent(raw: zmq.Event, at: number = now()): MonitorEvent {
  const type = BY_ZMQ_TYPE[raw.type] ?? "unknown";
  const endpoint = typeof (raw as { address?: unknown }).address === "string" ? (raw as { address: string }).address : "";
  let value = 0;
  let error: MonitorEventError | undefined;
  if (raw.type === "connect:retry") value = raw.interval;
  const e = (raw as { error?: ErrorLike }).error;
  if (e !== undefined && e !== null) {
    const message = typeof e.message === "string" ? e.message : String(e);
    if (typeof e.status === "number") {
      value = e.status;
      error = { code: String(e.status), message };
    } else {
      const code = typeof e.code === "string" ? e.code : "UNKNOWN";
      if (typeof e.errno === "number") value = e.errno;
      else value = PROTOCOL_ERRORS[code] ?? 0;
      error = { code, message };
    }
  }
  return error === undefined ? { type, name: czmqEventName(type), endpoint, value, at } : { type, name: czmqEventName(type), endpoint, value, error, at };
}

/**
 * The event as CZMQ's `zmonitor` actor sends it: `[EVENT_NAME][value as
 * decimal text][endpoint]`, e.g. `["CONNECT_RETRIED"]["200"]["tcp://127.0.0.1:5555"]`.
 *
 * @param event - an event from a `ZMonitor`
 */
export function monitorEventFrames(event: MonitorEvent): Buffer[] {
  return [Buffer.from(event.name), Buffer.from(String(event.value)), Buffer.from(event.endpoint)];
}

/**
 * An event in a few words, for messages and logs:
 * `connect-retried tcp://127.0.0.1:5555 (value 200)`,
 * `handshake-failed-no-detail tcp://127.0.0.1:5555 (EPIPE: Broken pipe)`.
 *
 * @param event - an event from a `ZMonitor`
 */
export function describeEvent(event: MonitorEvent): string {
  const parts: string[] = [event.type];
  if (event.endpoint !== "") parts.push(event.endpoint);
  if (event.error !== undefined) parts.push(`(${event.error.code}: ${event.error.message})`);
  else if (event.value !== 0) parts.push(`(value ${event.value})`);
  return parts.join(" ");
}
