/**
 * Simple Pirate (ZeroMQ Guide chapter 4, "Basic Reliable Queuing"; no RFC):
 * the frames between REQ clients, the queue's two ROUTER sockets and REQ
 * workers. Pure functions: no sockets, no timers. Decoders return a typed
 * value or a `ProtocolError` naming the bad frame; they never throw.
 *
 * ```
 * client (REQ) -> frontend ROUTER   [client-id][""][body...]
 * worker (REQ) -> backend ROUTER    [worker-id][""][0x01]                      READY, once
 * backend ROUTER -> worker (REQ)    [worker-id][""][client-id][""][body...]    request
 *   the worker's REQ socket hands it [client-id][""][body...]
 * worker (REQ) -> backend ROUTER    [worker-id][""][client-id][""][reply...]   reply
 * frontend ROUTER -> client (REQ)   [client-id][""][reply...]
 * ```
 * @module
 */
import { ProtocolError, atLeastOneFrame } from "@zkit/core";

/** The READY command byte a worker sends once, when it starts. */
export const SPP_READY = 0x01;

const EMPTY = Buffer.alloc(0);
const READY_FRAME = Buffer.from([SPP_READY]);

/** What the queue's backend ROUTER can receive from a worker. */
export type BackendMessage = { readonly kind: "ready"; readonly worker: Buffer } | { readonly kind: "reply"; readonly worker: Buffer; readonly client: Buffer; readonly body: Buffer[] };

/** A client's request as the queue's frontend ROUTER receives it. */
export interface ClientRequest {
  /** The routing id of the client (its REQ socket at the frontend). */
  readonly client: Buffer;
  /** The request's frames, one at least. */
  readonly body: Buffer[];
}

/**
 * Decodes a message from the backend ROUTER: READY `[w][""][0x01]`, or a
 * reply `[w][""][client][""][body...]`.
 */
export function decodeBackend(frames: readonly Buffer[]): BackendMessage | ProtocolError {
  const what = "Simple Pirate worker message";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length === 1) return new ProtocolError(`${what}: no envelope delimiter after the worker id`, 1);
  if (frames[1]!.length !== 0) return new ProtocolError(`${what}: frame 1 must be the empty delimiter a REQ worker sends`, 1);
  const worker = frames[0]!;
  if (frames.length === 2) return new ProtocolError(`${what}: nothing after the delimiter, expected READY or a reply`, 2);
  if (frames.length === 3) {
    const cmd = frames[2]!;
    if (cmd.length === 1 && cmd[0] === SPP_READY) return { kind: "ready", worker };
    return new ProtocolError(`${what}: a single frame after the delimiter must be READY (0x01), got ${describe(cmd)}`, 2);
  }
  if (frames[3]!.length !== 0) return new ProtocolError(`${what}: a reply needs an empty frame after the client id`, 3);
  if (frames.length === 4) return new ProtocolError(`${what}: a reply needs at least one body frame`, 4);
  return { kind: "reply", worker, client: frames[2]!, body: frames.slice(4) };
}

/** Decodes a client request from the frontend ROUTER: `[client][""][body...]`. */
export function decodeClientRequest(frames: readonly Buffer[]): ClientRequest | ProtocolError {
  const what = "Simple Pirate client request";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length === 1 || frames[1]!.length !== 0) return new ProtocolError(`${what}: frame 1 must be the empty delimiter a REQ client sends`, 1);
  if (frames.length === 2) return new ProtocolError(`${what}: no body after the delimiter`, 2);
  return { client: frames[0]!, body: frames.slice(2) };
}

/** The request the queue sends a worker: `[w][""][client][""][body...]`. */
export function encodeWorkerRequest(worker: Buffer, client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [worker, EMPTY, client, EMPTY, ...atLeastOneFrame(body)];
}

/** The reply the queue sends a client: `[client][""][body...]`. */
export function encodeClientReply(client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, EMPTY, ...atLeastOneFrame(body)];
}

/** What a worker sends first (its REQ socket adds the delimiter): `[0x01]`. */
export function encodeReady(): Buffer[] {
  return [READY_FRAME];
}

/**
 * Decodes a request as a worker's REQ socket hands it over (the queue's
 * delimiter already stripped): `[client][""][body...]`.
 */
export function decodeWorkerRequest(frames: readonly Buffer[]): ClientRequest | ProtocolError {
  const what = "Simple Pirate request at the worker";
  if (frames.length === 0) return new ProtocolError(`${what}: empty message`);
  if (frames.length === 1 || frames[1]!.length !== 0) return new ProtocolError(`${what}: frame 1 must be the empty frame after the client id`, 1);
  if (frames.length === 2) return new ProtocolError(`${what}: no body after the client envelope`, 2);
  return { client: frames[0]!, body: frames.slice(2) };
}

/** A worker's reply (its REQ socket adds the delimiter): `[client][""][reply...]`. */
export function encodeWorkerReply(client: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, EMPTY, ...atLeastOneFrame(body)];
}

function describe(frame: Buffer): string {
  const hex = frame.subarray(0, 8).toString("hex");
  return frame.length === 0 ? "an empty frame" : `${frame.length} byte(s) ${hex}${frame.length > 8 ? "..." : ""}`;
}
