/**
 * The socket types zkit knows, with their zeromq.js classes, CZMQ's default
 * attach direction and which directions each type supports.
 * @module
 */
import * as zmq from "zeromq";
import { XPublisher } from "./xpub.js";

/** A ZeroMQ socket type, by its libzmq name. */
export type SocketType = "PAIR" | "PUB" | "SUB" | "REQ" | "REP" | "DEALER" | "ROUTER" | "PULL" | "PUSH" | "XPUB" | "XSUB" | "STREAM";

// zkit's XPUB class (./xpub.ts) adds this draft option; declared here, where
// the socket options are typed, so that it reaches every user of the types.
declare module "zeromq" {
  interface XPublisher {
    /**
     * ZMQ_XPUB_MANUAL_LAST_VALUE (libzmq draft option, in the libzmq that
     * zeromq.js bundles): like `manual`, and in addition the first message
     * sent after a subscription was received and applied with
     * `subscribe()` goes only to the subscriber that sent it. This is how a
     * Last Value Cache gives the cached value to a new subscriber only.
     *
     * libzmq's rules, which a user must follow: that one-subscriber send
     * happens for whatever message is sent next, so set this option just
     * before the `subscribe()` + send pair and turn it off right after;
     * setting it to `false` also turns `manual` off, so set `manual: true`
     * again. Write-only; takes effect at once, even after a bind.
     */
    manualLastValue: boolean;
  }
}

/** The zeromq.js class behind each {@link SocketType}. */
export interface SocketClassMap {
  PAIR: zmq.Pair;
  PUB: zmq.Publisher;
  SUB: zmq.Subscriber;
  REQ: zmq.Request;
  REP: zmq.Reply;
  DEALER: zmq.Dealer;
  ROUTER: zmq.Router;
  PULL: zmq.Pull;
  PUSH: zmq.Push;
  XPUB: zmq.XPublisher;
  XSUB: zmq.XSubscriber;
  STREAM: zmq.Stream;
}

/**
 * The socket options a socket of type `T` accepts (libzmq's options under
 * zeromq.js's names, e.g. `linger`, `routingId`, `sendHighWaterMark`,
 * `receiveTimeout`, `heartbeatInterval`, `curveServer`).
 */
export type SocketOptionsOf<T extends SocketType> = zmq.SocketOptions<SocketClassMap[T]> & (T extends "ROUTER" ? RouterExtraOptions : unknown);

/**
 * Options zkit adds to ROUTER sockets, beyond what zeromq.js names.
 */
export interface RouterExtraOptions {
  /**
   * libzmq's `ZMQ_ROUTER_NOTIFY` (CZMQ `zsock_set_router_notify`): with
   * {@link ROUTER_NOTIFY_DISCONNECT}, the ROUTER receives `[routing-id][""]`
   * when a peer's connection ends (after every message that peer sent); with
   * {@link ROUTER_NOTIFY_CONNECT}, the same two frames when a peer connects.
   * Tell them apart from data with {@link isRouterNotification}. This is how
   * a broker learns at once that a worker or client is gone, instead of after
   * its heartbeats stop.
   * @defaultValue 0 (no notifications)
   */
  routerNotify?: number;
}

/** {@link RouterExtraOptions.routerNotify}: a peer connected (`ZMQ_NOTIFY_CONNECT`). */
export const ROUTER_NOTIFY_CONNECT = 1;
/** {@link RouterExtraOptions.routerNotify}: a peer's connection ended (`ZMQ_NOTIFY_DISCONNECT`). */
export const ROUTER_NOTIFY_DISCONNECT = 2;

/**
 * True when a message received on a ROUTER with `routerNotify` is a
 * notification: exactly `[routing-id][""]`. A peer that sends one empty
 * frame by itself looks the same; no protocol of the Guide sends that.
 *
 * @param frames - a message as received on a ROUTER (routing id first)
 */
export function isRouterNotification(frames: readonly Buffer[]): boolean {
  return frames.length === 2 && frames[1]!.length === 0;
}

type Ctor = new (options?: object) => zmq.Socket;

/** @internal */
export const SOCKET_CLASSES: Record<SocketType, Ctor> = {
  PAIR: zmq.Pair as unknown as Ctor,
  PUB: zmq.Publisher as unknown as Ctor,
  SUB: zmq.Subscriber as unknown as Ctor,
  REQ: zmq.Request as unknown as Ctor,
  REP: zmq.Reply as unknown as Ctor,
  DEALER: zmq.Dealer as unknown as Ctor,
  ROUTER: zmq.Router as unknown as Ctor,
  PULL: zmq.Pull as unknown as Ctor,
  PUSH: zmq.Push as unknown as Ctor,
  XPUB: XPublisher as unknown as Ctor,
  XSUB: zmq.XSubscriber as unknown as Ctor,
  STREAM: zmq.Stream as unknown as Ctor,
};

/**
 * CZMQ's default for an endpoint with no `@`/`>` prefix: true means bind.
 * PUB, REP, ROUTER, PULL and XPUB bind; the others connect.
 */
export const BINDS_BY_DEFAULT: Readonly<Record<SocketType, boolean>> = {
  PAIR: false,
  PUB: true,
  SUB: false,
  REQ: false,
  REP: true,
  DEALER: false,
  ROUTER: true,
  PULL: true,
  PUSH: false,
  XPUB: true,
  XSUB: false,
  STREAM: false,
};

/** Socket types that can send. */
export const CAN_SEND: ReadonlySet<SocketType> = new Set<SocketType>(["PAIR", "PUB", "REQ", "REP", "DEALER", "ROUTER", "PUSH", "XPUB", "XSUB", "STREAM"]);

/** Socket types that can receive. */
export const CAN_RECEIVE: ReadonlySet<SocketType> = new Set<SocketType>(["PAIR", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "XPUB", "XSUB", "STREAM"]);

/** @internal */
export function isSocketType(value: unknown): value is SocketType {
  return typeof value === "string" && Object.hasOwn(SOCKET_CLASSES, value);
}
