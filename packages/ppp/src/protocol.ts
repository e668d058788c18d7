/**
 * 6/PPP, the Paranoid Pirate Protocol (ZeroMQ Guide chapter 4,
 * "Robust Reliable Queuing"; rfc.zeromq.org/spec/6): the frames between
 * REQ clients, the queue's two ROUTER sockets and DEALER workers. Pure
 * functions: no sockets, no timers. Decoders return a typed value or a
 * `ProtocolError` naming the bad frame; they never throw.
 *
 * ```
 * client (REQ) -> frontend ROUTER   [client-id][""][body...]
 * worker (DEALER) -> backend ROUTER [worker-id][0x01]                      READY, first
 *                                   [worker-id][0x02]                      HEARTBEAT
 *                                   [worker-id][client-id][""][reply...]   reply
 * backend ROUTER -> worker          [worker-id][client-id][""][body...]    request
 *                                   [worker-id][0x02]                      HEARTBEAT
 * frontend ROUTER -> client (REQ)   [client-id][""][reply...]
 * ```
 * Commands are single frames with no empty delimiter before them.
 * @module
 */
import { ProtocolError, atLeastOneFrame } from "@zkit/core";

/** The READY command byte: a worker's first message on every connection. */
export const PPP_READY = 0x01;
/** The HEARTBEAT command byte, sent both ways. */
export const PPP_HEARTBEAT = 0x02;

/** The Guide's heartbeat interval, in ms (`HEARTBEAT_INTERVAL`). */
export const PPP_HEARTBEAT_INTERVAL_MS = 1000;
/** The Guide's liveness: heartbeats a peer may miss before it counts as dead (`HEARTBEAT_LIVENESS`). */
export const PPP_LIVENESS = 3;
/** The Guide's first reconnect delay of a worker, in ms (`INTERVAL_INIT`). */
export const PPP_RECONNECT_INITIAL_MS = 1000;
/** The Guide's longest reconnect delay, in ms (`INTERVAL_MAX`); the delay doubles up to it. */
export const PPP_RECONNECT_MAX_MS = 32000;

const EMPTY = Buffer.alloc(0);
const READY_FRAME = Buffer.from([PPP_READY]);
const HEARTBEAT_FRAME = Buffer.from([PPP_HEARTBEAT]);

/** What the queue's backend ROUTER can receive from a worker. */
export type BackendMessage =
  | { readonly kind: "ready"; readonly worker: Buffer }
  | { readonly kind: "heartbeat"; readonly worker: Buffer }
  | { readonly kind: "reply"; readonly worker: Buffer; readonly client: Buffer; readonly body: Buffer[] };

/** What a worker's DEALER can receive from the queue. */
export type WorkerInput = { readonly kind: "heartbeat" } | { readonly kind: "request"; readonly client: Buffer; readonly body: Buffer[] };

/** A client's request as the queue's frontend ROUTER receives it. */
export interface ClientRequest {
  /** The routing id of the client (its REQ socket at the frontend). */
  readonly client: Buffer;
  /** The request's frames, one at least. */
  readonly body: Buffer[];
}

/**
 * Decodes a message from the backend ROUTER: `[w][0x01]` READY,
 * `[w][0x02]` HEARTBEAT, or a reply `[w][client][""][body...]`.
 */
export function decodeBackend(frames: readonly Buffer[]): BackendMessage | ProtocolError {
  const what = "6/PPP worker message";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  const worker = frames[0]!;
  if (frames.length === 1) return new ProtocolError(`${what}: nothing after the worker id`, 1);
  if (frames.length === 2) {
    const cmd = frames[1]!;
    if (cmd.length === 1 && cmd[0] === PPP_READY) return { kind: "ready", worker };
    if (cmd.length === 1 && cmd[0] === PPP_HEARTBEAT) return { kind: "heartbeat", worker };
    return new ProtocolError(`${what}: a single-frame command must be READY (0x01) or HEARTBEAT (0x02), got ${describe(cmd)}`, 1);
  }
  if (frames[2]!.length !== 0) return new ProtocolError(`${what}: a reply needs an empty frame after the client id`, 2);
  if (frames.length === 3) return new ProtocolError(`${what}: a reply needs at least one body frame`, 3);
  return { kind: "reply", worker, client: frames[1]!, body: frames.slice(3) };
}

/** Decodes what a worker's DEALER receives: `[0x02]` or `[client][""][body...]`. */
export function decodeWorkerInput(frames: readonly Buffer[]): WorkerInput | ProtocolError {
  const what = "6/PPP message from the queue";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length === 1) {
    const cmd = frames[0]!;
    if (cmd.length === 1 && cmd[0] === PPP_HEARTBEAT) return { kind: "heartbeat" };
    return new ProtocolError(`${what}: a single-frame command from the queue must be HEARTBEAT (0x02), got ${describe(cmd)}`, 0);
  }
  if (frames[1]!.length !== 0) return new ProtocolError(`${what}: a request needs an empty frame after the client id`, 1);
  if (frames.length === 2) return new ProtocolError(`${what}: a request needs at least one body frame`, 2);
  return { kind: "request", client: frames[0]!, body: frames.slice(2) };
}

/** Decodes a client request from the frontend ROUTER: `[client][""][body...]`. */
export function decodeClientRequest(frames: readonly Buffer[]): ClientRequest | ProtocolError {
  const what = "6/PPP client request";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length === 1 || frames[1]!.length !== 0) return new ProtocolError(`${what}: frame 1 must be the empty delimiter a REQ client sends`, 1);
  if (frames.length === 2) return new ProtocolError(`${what}: no body after the delimiter`, 2);
  return { client: frames[0]!, body: frames.slice(2) };
}

/** Queue -> worker request: `[w][client][""][body...]`. */
export function encodeWorkerRequest(worker: Buffer, client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [worker, client, EMPTY, ...atLeastOneFrame(body)];
}

/** Queue -> worker heartbeat: `[w][0x02]`. */
export function encodeQueueHeartbeat(worker: Buffer): Buffer[] {
  return [worker, HEARTBEAT_FRAME];
}

/** Queue -> client reply: `[client][""][body...]`. */
export function encodeClientReply(client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, EMPTY, ...atLeastOneFrame(body)];
}

/** Worker -> queue READY: `[0x01]`. */
export function encodeReady(): Buffer[] {
  return [READY_FRAME];
}

/** Worker -> queue HEARTBEAT: `[0x02]`. */
export function encodeHeartbeat(): Buffer[] {
  return [HEARTBEAT_FRAME];
}

/** Worker -> queue reply: `[client][""][reply...]`. */
export function encodeWorkerReply(client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, EMPTY, ...atLeastOneFrame(body)];
}

function describe(frame: Buffer): string {
  const hex = frame.subarray(0, 8).toString("hex");
  return frame.length === 0 ? "an empty frame" : `${frame.length} byte(s) ${hex}${frame.length > 8 ? "..." : ""}`;
}
