/**
 * 7/MDP (MDP/0.1) and 8/MMI on the wire: constants, and pure encoders and
 * decoders for every message a Majordomo client, worker and broker exchange.
 * No sockets, timers or I/O. Decoders never throw: they return a typed union
 * whose `invalid` member carries a `ProtocolError` naming the bad frame.
 *
 * Frame layouts (see shared/protocols.md; `id` is the ROUTER routing frame):
 * ```
 * client  -> broker  [""]["MDPC01"][service][body...]
 * broker  -> client  [""]["MDPC01"][service][body...]
 * worker  -> broker  [""]["MDPW01"][0x01][service]              READY
 * broker  -> worker  [""]["MDPW01"][0x02][client][""][body...]  REQUEST
 * worker  -> broker  [""]["MDPW01"][0x03][client][""][body...]  REPLY
 * both               [""]["MDPW01"][0x04]                       HEARTBEAT
 * both               [""]["MDPW01"][0x05]                       DISCONNECT
 * ```
 * zkit's envelope extension (a multiplexed client; see
 * {@link MMI_ENVELOPE}): the client puts a correlation frame before the
 * empty delimiter, the broker carries routing id and correlation to the
 * worker as one opaque client address ({@link encodeEnvelopeAddress}) and
 * unwraps it on the reply; workers see standard 7/MDP.
 * ```
 * client  -> broker  [corr][""]["MDPC01"][service][body...]
 * broker  -> worker  [""]["MDPW01"][0x02][0x00 n id corr][""][body...]
 * broker  -> client  [corr][""]["MDPC01"][service][body...]
 * ```
 * @module
 */
import { ProtocolError, atLeastOneFrame, toFrames, toFrame as coreToFrame, type FrameLike, type MessageLike } from "@zkit/core";

/** The protocol header of every client message, 7/MDP's `MDPC01`. */
export const MDPC01 = "MDPC01";
/** The protocol header of every worker message, 7/MDP's `MDPW01`. */
export const MDPW01 = "MDPW01";

/** The worker commands of 7/MDP, by name: the byte in frame 2 of a worker message. */
export const MdpCommand = {
  /** W->B: the worker is ready to serve the service named in the next frame. */
  Ready: 0x01,
  /** B->W: a request, `[client][""][body...]`. */
  Request: 0x02,
  /** W->B: the reply to a request, `[client][""][body...]`. */
  Reply: 0x03,
  /** Both ways: "I am alive". Any command but DISCONNECT counts as one. */
  Heartbeat: 0x04,
  /** Both ways: the sender drops the connection; a worker reconnects. */
  Disconnect: 0x05,
} as const;

/** One of the command bytes of {@link MdpCommand}. */
export type MdpCommandByte = (typeof MdpCommand)[keyof typeof MdpCommand];

/** The names of the worker commands, as the reference broker prints them. */
export const MDP_COMMAND_NAMES: Readonly<Record<MdpCommandByte, string>> = {
  1: "READY",
  2: "REQUEST",
  3: "REPLY",
  4: "HEARTBEAT",
  5: "DISCONNECT",
};

/** Services whose names start with this are answered by the broker itself (8/MMI). */
export const MMI_PREFIX = "mmi.";
/** 8/MMI: body `[name]`, reply `["200"]` if a worker serves `name`, else `["404"]`. */
export const MMI_SERVICE = "mmi.service";
/**
 * zkit's MMI extension: reply `["200"][JSON]` with the broker's counters
 * (see `MajordomoBroker.stats`) and, per service, its workers and queue.
 * Body `[]` for every service, or `[name]` for one.
 */
export const MMI_STATS = "mmi.stats";

/**
 * zkit's MMI extension for multiplexed clients: a broker that answers
 * `["200"]` accepts client requests with one correlation frame before the
 * empty delimiter, `[corr][""]["MDPC01"][service][body...]`, and answers
 * `[corr][""]["MDPC01"][service][body...]` on the same connection. Brokers
 * that do not know it answer `"501"` (every `mmi.*` they do not implement,
 * as 8/MMI says) or nothing. Asked with a plain 7/MDP request (no
 * correlation frame), so any broker can read the question. The name lives
 * under `mmi.zkit.` so that it never clashes with a future standard
 * `mmi.*` service; a different envelope layout would get a new name.
 */
export const MMI_ENVELOPE = "mmi.zkit.envelope";

/**
 * The shortest correlation frame the envelope extension accepts, in bytes:
 * with at least 4, an envelope address (`0x00`, length, routing id,
 * correlation: 7 bytes or more) can never equal a routing id libzmq makes
 * up (`0x00` and 4 bytes), nor one an application sets (never `0x00` first).
 */
export const MIN_CORRELATION_BYTES = 4;
/** The longest correlation frame the envelope extension accepts, in bytes (as long as a routing id may be). */
export const MAX_CORRELATION_BYTES = 255;

/** MMI status: a worker serves the service (or the extension answered). */
export const MMI_OK = "200";
/** MMI status: no worker serves the service. */
export const MMI_NOT_FOUND = "404";
/** MMI status: the broker does not implement this `mmi.*` service. */
export const MMI_NOT_IMPLEMENTED = "501";

/** The Guide's heartbeat interval for 7/MDP, in ms (both sides). */
export const MDP_HEARTBEAT_INTERVAL_MS = 2500;
/** The Guide's heartbeat liveness: intervals of silence before a peer counts as dead. */
export const MDP_LIVENESS = 3;

/**
 * The longest service name zkit accepts, in bytes. 7/MDP sets no limit; a
 * broker needs one, and 255 is what every real deployment stays under.
 */
export const MAX_SERVICE_BYTES = 255;

const EMPTY = Buffer.alloc(0);
const MDPC01_FRAME = Buffer.from(MDPC01);
const MDPW01_FRAME = Buffer.from(MDPW01);
const COMMAND_FRAMES: readonly Buffer[] = [0, 1, 2, 3, 4, 5].map((n) => Buffer.from([n]));

/** Frames shared by every encoded message; never modify them. @internal */
const Frames = {
  empty: EMPTY,
  mdpc01: MDPC01_FRAME,
  mdpw01: MDPW01_FRAME,
  ready: COMMAND_FRAMES[1]!,
  request: COMMAND_FRAMES[2]!,
  reply: COMMAND_FRAMES[3]!,
  heartbeat: COMMAND_FRAMES[4]!,
  disconnect: COMMAND_FRAMES[5]!,
} as const;

// ------------------------------------------------------------------ frames

/**
 * One `FrameLike` (from `@zkit/core`) as a Buffer (strings as UTF-8; bytes
 * are not copied): `toFrame` of `@zkit/core`.
 * @throws `InvalidArgumentError` for anything else
 */
export function toFrame(frame: FrameLike): Buffer {
  return coreToFrame(frame);
}

/**
 * A body given as one frame or a list of frames (none at all included), as
 * Buffers: `toFrames` of `@zkit/core` with `allowEmpty`.
 * @throws `InvalidArgumentError` for an item that is not a frame
 */
export function toBody(body: MessageLike): Buffer[] {
  return toFrames(body, undefined, { allowEmpty: true });
}

/**
 * Why a service name is not acceptable, or undefined when it is: non-empty,
 * at most {@link MAX_SERVICE_BYTES} bytes.
 */
export function serviceNameProblem(name: Buffer | string): string | undefined {
  const bytes = typeof name === "string" ? Buffer.byteLength(name) : name.length;
  if (bytes === 0) return "the service name is empty";
  if (bytes > MAX_SERVICE_BYTES) return `the service name is ${bytes} bytes long, more than ${MAX_SERVICE_BYTES}`;
  return undefined;
}

/** True for a service name the broker answers itself (`mmi.` prefix, 8/MMI). */
export function isMmiService(name: Buffer | string): boolean {
  if (typeof name === "string") return name.startsWith(MMI_PREFIX);
  return name.length >= 4 && name[0] === 0x6d && name[1] === 0x6d && name[2] === 0x69 && name[3] === 0x2e;
}

// ---------------------------------------------------------------- encoders

/**
 * 7/MDP: every REQUEST and REPLY carries at least one body frame; an empty
 * body is one empty frame (the Guide's C broker asserts on a 3-frame client
 * REQUEST). Every encoder below sends it so; decoders accept both.
 */
const atLeastOne = atLeastOneFrame;

/**
 * A client REQUEST as a DEALER sends it: `[""]["MDPC01"][service][body...]`
 * (a REQ socket adds the empty frame itself: drop the first frame). An
 * empty body goes out as one empty frame.
 */
export function encodeRequest(service: FrameLike, body: readonly Buffer[]): Buffer[] {
  return [EMPTY, MDPC01_FRAME, toFrame(service), ...atLeastOne(body)];
}

/**
 * A REPLY to a client as the broker's ROUTER sends it:
 * `[client][""]["MDPC01"][service][body...]`; an empty body goes out as one
 * empty frame.
 */
export function encodeClientReply(client: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  const frames = atLeastOne(body);
  const out = new Array<Buffer>(4 + frames.length);
  out[0] = client;
  out[1] = EMPTY;
  out[2] = MDPC01_FRAME;
  out[3] = service;
  for (let i = 0; i < frames.length; i++) out[4 + i] = frames[i]!;
  return out;
}

/**
 * zkit's envelope extension: a client REQUEST as a multiplexed DEALER sends
 * it, `[corr][""]["MDPC01"][service][body...]`; an empty body goes out as
 * one empty frame.
 *
 * @param corr - the correlation frame, {@link MIN_CORRELATION_BYTES} to
 *   {@link MAX_CORRELATION_BYTES} bytes, echoed in the reply
 */
export function encodeEnvelopedRequest(corr: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  const frames = atLeastOne(body);
  const out = new Array<Buffer>(4 + frames.length);
  out[0] = corr;
  out[1] = EMPTY;
  out[2] = MDPC01_FRAME;
  out[3] = service;
  for (let i = 0; i < frames.length; i++) out[4 + i] = frames[i]!;
  return out;
}

/**
 * zkit's envelope extension: the one client-address frame the broker puts
 * in the REQUEST to a worker for an enveloped request, and which the worker
 * echoes in its REPLY: `0x00`, the routing id's length (one byte), the
 * routing id, the correlation frame. Unambiguous (length-prefixed), and
 * never equal to a plain routing id (see {@link MIN_CORRELATION_BYTES}).
 */
export function encodeEnvelopeAddress(identity: Buffer, corr: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + identity.length + corr.length);
  out[0] = 0;
  out[1] = identity.length;
  identity.copy(out, 2);
  corr.copy(out, 2 + identity.length);
  return out;
}

/**
 * zkit's envelope extension: a REPLY to a multiplexed client as the
 * broker's ROUTER sends it, `[client][corr][""]["MDPC01"][service][body...]`;
 * an empty body goes out as one empty frame.
 */
export function encodeEnvelopedClientReply(client: Buffer, corr: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  const frames = atLeastOne(body);
  const out = new Array<Buffer>(5 + frames.length);
  out[0] = client;
  out[1] = corr;
  out[2] = EMPTY;
  out[3] = MDPC01_FRAME;
  out[4] = service;
  for (let i = 0; i < frames.length; i++) out[5 + i] = frames[i]!;
  return out;
}

/** A worker READY as its DEALER sends it: `[""]["MDPW01"][0x01][service]`. */
export function encodeReady(service: FrameLike): Buffer[] {
  return [EMPTY, MDPW01_FRAME, Frames.ready, toFrame(service)];
}

/**
 * A REQUEST to a worker as the broker's ROUTER sends it:
 * `[worker][""]["MDPW01"][0x02][client][""][body...]`; an empty body (a
 * client that sent none) goes out as one empty frame.
 */
export function encodeWorkerRequest(worker: Buffer, client: Buffer, request: readonly Buffer[]): Buffer[] {
  const body = atLeastOne(request);
  const out = new Array<Buffer>(6 + body.length);
  out[0] = worker;
  out[1] = EMPTY;
  out[2] = MDPW01_FRAME;
  out[3] = Frames.request;
  out[4] = client;
  out[5] = EMPTY;
  for (let i = 0; i < body.length; i++) out[6 + i] = body[i]!;
  return out;
}

/**
 * A worker REPLY as its DEALER sends it: `[""]["MDPW01"][0x03][client][""][body...]`;
 * an empty body goes out as one empty frame.
 */
export function encodeReply(client: Buffer, reply: readonly Buffer[]): Buffer[] {
  const body = atLeastOne(reply);
  const out = new Array<Buffer>(5 + body.length);
  out[0] = EMPTY;
  out[1] = MDPW01_FRAME;
  out[2] = Frames.reply;
  out[3] = client;
  out[4] = EMPTY;
  for (let i = 0; i < body.length; i++) out[5 + i] = body[i]!;
  return out;
}

/**
 * A HEARTBEAT: `[""]["MDPW01"][0x04]`, prefixed with `routingId` when the
 * broker's ROUTER sends it to a worker.
 */
export function encodeHeartbeat(routingId?: Buffer): Buffer[] {
  return routingId === undefined ? [EMPTY, MDPW01_FRAME, Frames.heartbeat] : [routingId, EMPTY, MDPW01_FRAME, Frames.heartbeat];
}

/**
 * A DISCONNECT: `[""]["MDPW01"][0x05]`, prefixed with `routingId` when the
 * broker's ROUTER sends it to a worker.
 */
export function encodeDisconnect(routingId?: Buffer): Buffer[] {
  return routingId === undefined ? [EMPTY, MDPW01_FRAME, Frames.disconnect] : [routingId, EMPTY, MDPW01_FRAME, Frames.disconnect];
}

// ---------------------------------------------------------------- decoders

/** A message that breaks the protocol: what is wrong, and which frame. */
export interface Invalid {
  /** Always `"invalid"`. */
  kind: "invalid";
  /** The sender's routing id when the message had one (broker side). */
  sender: Buffer | undefined;
  /** Says what is wrong; `error.frame` is the index of the bad frame (routing id included). */
  error: ProtocolError;
}

/** What the broker's ROUTER receives, decoded. Frames are views of the received ones. */
export type BrokerInbound =
  | {
      /** A client REQUEST. */
      kind: "request";
      /** The client's routing id. */
      sender: Buffer;
      /** The service asked for. */
      service: Buffer;
      /** The request body frames. */
      body: Buffer[];
      /**
       * The correlation frame of an enveloped request (zkit's extension,
       * {@link MMI_ENVELOPE}), or undefined for a plain 7/MDP one.
       */
      corr: Buffer | undefined;
    }
  | {
      /** A worker READY. */
      kind: "ready";
      /** The worker's routing id. */
      sender: Buffer;
      /** The service it offers. */
      service: Buffer;
    }
  | {
      /** A worker REPLY. */
      kind: "reply";
      /** The worker's routing id. */
      sender: Buffer;
      /** The client address the reply goes to. */
      client: Buffer;
      /** The reply body frames. */
      body: Buffer[];
    }
  | {
      /** A worker HEARTBEAT. */
      kind: "heartbeat";
      /** The worker's routing id. */
      sender: Buffer;
    }
  | {
      /** A worker DISCONNECT. */
      kind: "disconnect";
      /** The worker's routing id. */
      sender: Buffer;
    }
  | Invalid;

/** What a worker's DEALER receives from the broker, decoded. */
export type WorkerInbound =
  | {
      /** A REQUEST to serve. */
      kind: "request";
      /** The client address, to send back in the REPLY. */
      client: Buffer;
      /** The request body frames. */
      body: Buffer[];
    }
  | {
      /** A broker HEARTBEAT. */
      kind: "heartbeat";
    }
  | {
      /** A broker DISCONNECT. */
      kind: "disconnect";
    }
  | Invalid;

/** What a client's DEALER receives from the broker, decoded. */
export type ClientInbound =
  | {
      /** A REPLY. */
      kind: "reply";
      /** The service that answered. */
      service: Buffer;
      /** The reply body frames. */
      body: Buffer[];
    }
  | Invalid;

/** Limits a decoder applies on top of the protocol. */
export interface DecodeLimits {
  /**
   * Frames larger than this many bytes make the message invalid.
   * @defaultValue Infinity
   */
  maxFrameBytes?: number;
}

function invalid(message: string, frame: number | undefined, sender?: Buffer): Invalid {
  return { kind: "invalid", sender, error: new ProtocolError(message, frame) };
}

function oversized(frames: readonly Buffer[], max: number): number {
  if (max === Infinity) return -1;
  for (let i = 0; i < frames.length; i++) if (frames[i]!.length > max) return i;
  return -1;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function headerProblem(frame: Buffer | undefined, expected: Buffer | undefined, label: string): string | undefined {
  if (frame === undefined) return `missing the protocol header (${label})`;
  if (expected !== undefined && sameBytes(frame, expected)) return undefined;
  const text = printable(frame);
  if (text === "MDPC02" || text === "MDPW02") return `${text} (18/MDP) is not supported; this peer speaks MDP/0.1 (${label})`;
  return `unknown protocol header ${JSON.stringify(text)}, expected ${label}`;
}

/**
 * Decodes a message received by the broker's ROUTER:
 * `[sender][""]["MDPC01"|"MDPW01"]...`. Never throws.
 *
 * @param frames - the frames as received, routing id first
 * @param limits - optional size limits
 */
export function decodeBrokerMessage(frames: readonly Buffer[], limits: DecodeLimits = {}): BrokerInbound {
  const sender = frames[0];
  if (sender === undefined || sender.length === 0) return invalid("no routing id frame", 0);
  const big = oversized(frames, limits.maxFrameBytes ?? Infinity);
  if (big >= 0) return invalid(`frame ${big} is ${frames[big]!.length} bytes, more than the limit of ${limits.maxFrameBytes}`, big, sender);
  if (frames.length < 2) return invalid("missing the empty delimiter frame", 1, sender);
  if (frames[1]!.length !== 0) return decodeEnvelopedRequest(frames, sender);
  const header = frames[2];
  if (header !== undefined && sameBytes(header, MDPC01_FRAME)) {
    const service = frames[3];
    if (service === undefined) return invalid("REQUEST without a service frame", 3, sender);
    const problem = serviceNameProblem(service);
    if (problem !== undefined) return invalid(`REQUEST: ${problem}`, 3, sender);
    return { kind: "request", sender, service, body: frames.slice(4), corr: undefined };
  }
  const headerError = headerProblem(header, MDPW01_FRAME, "MDPC01 or MDPW01");
  if (headerError !== undefined) return invalid(headerError, 2, sender);
  const command = frames[3];
  if (command === undefined) return invalid("worker message without a command frame", 3, sender);
  if (command.length !== 1) return invalid(`the command frame must be one byte, got ${command.length}`, 3, sender);
  switch (command[0]) {
    case MdpCommand.Ready: {
      const service = frames[4];
      if (service === undefined) return invalid("READY without a service frame", 4, sender);
      if (frames.length > 5) return invalid(`READY has ${frames.length - 5} frame(s) after the service`, 5, sender);
      const problem = serviceNameProblem(service);
      if (problem !== undefined) return invalid(`READY: ${problem}`, 4, sender);
      return { kind: "ready", sender, service };
    }
    case MdpCommand.Reply: {
      const client = frames[4];
      if (client === undefined || client.length === 0) return invalid("REPLY without a client address", 4, sender);
      const delimiter = frames[5];
      if (delimiter === undefined) return invalid("REPLY without the empty frame after the client address", 5, sender);
      if (delimiter.length !== 0) return invalid("REPLY: the frame after the client address must be empty", 5, sender);
      return { kind: "reply", sender, client, body: frames.slice(6) };
    }
    case MdpCommand.Heartbeat:
      if (frames.length > 4) return invalid(`HEARTBEAT has ${frames.length - 4} extra frame(s)`, 4, sender);
      return { kind: "heartbeat", sender };
    case MdpCommand.Disconnect:
      if (frames.length > 4) return invalid(`DISCONNECT has ${frames.length - 4} extra frame(s)`, 4, sender);
      return { kind: "disconnect", sender };
    case MdpCommand.Request:
      return invalid("REQUEST (0x02) goes from broker to worker, never from a worker", 3, sender);
    default:
      return invalid(`unknown worker command 0x${command[0]!.toString(16).padStart(2, "0")}`, 3, sender);
  }
}

/**
 * A broker message whose frame 1 is not empty: an enveloped client request
 * `[sender][corr][""]["MDPC01"][service][body...]` (zkit's extension), or
 * invalid. Off the plain path: a 7/MDP message never gets here.
 */
function decodeEnvelopedRequest(frames: readonly Buffer[], sender: Buffer): BrokerInbound {
  const corr = frames[1]!;
  const header = frames[3];
  if (frames.length < 4 || frames[2]!.length !== 0 || header === undefined || !sameBytes(header, MDPC01_FRAME)) {
    return invalid("frame 1 must be the empty delimiter (or a correlation frame followed by the empty delimiter and MDPC01)", 1, sender);
  }
  if (corr.length < MIN_CORRELATION_BYTES || corr.length > MAX_CORRELATION_BYTES) {
    return invalid(`the correlation frame is ${corr.length} bytes; it must be ${MIN_CORRELATION_BYTES} to ${MAX_CORRELATION_BYTES}`, 1, sender);
  }
  const service = frames[4];
  if (service === undefined) return invalid("REQUEST without a service frame", 4, sender);
  const problem = serviceNameProblem(service);
  if (problem !== undefined) return invalid(`REQUEST: ${problem}`, 4, sender);
  return { kind: "request", sender, service, body: frames.slice(5), corr };
}

/**
 * Decodes a message a worker's DEALER received from the broker:
 * `[""]["MDPW01"][command]...`. Never throws.
 */
export function decodeWorkerMessage(frames: readonly Buffer[], limits: DecodeLimits = {}): WorkerInbound {
  const big = oversized(frames, limits.maxFrameBytes ?? Infinity);
  if (big >= 0) return invalid(`frame ${big} is ${frames[big]!.length} bytes, more than the limit of ${limits.maxFrameBytes}`, big);
  const first = frames[0];
  if (first === undefined) return invalid("empty message", 0);
  if (first.length !== 0) return invalid("frame 0 must be the empty delimiter", 0);
  const headerError = headerProblem(frames[1], MDPW01_FRAME, MDPW01);
  if (headerError !== undefined) return invalid(headerError, 1);
  const command = frames[2];
  if (command === undefined) return invalid("missing the command frame", 2);
  if (command.length !== 1) return invalid(`the command frame must be one byte, got ${command.length}`, 2);
  switch (command[0]) {
    case MdpCommand.Request: {
      const client = frames[3];
      if (client === undefined || client.length === 0) return invalid("REQUEST without a client address", 3);
      const delimiter = frames[4];
      if (delimiter === undefined) return invalid("REQUEST without the empty frame after the client address", 4);
      if (delimiter.length !== 0) return invalid("REQUEST: the frame after the client address must be empty", 4);
      return { kind: "request", client, body: frames.slice(5) };
    }
    case MdpCommand.Heartbeat:
      if (frames.length > 3) return invalid(`HEARTBEAT has ${frames.length - 3} extra frame(s)`, 3);
      return { kind: "heartbeat" };
    case MdpCommand.Disconnect:
      if (frames.length > 3) return invalid(`DISCONNECT has ${frames.length - 3} extra frame(s)`, 3);
      return { kind: "disconnect" };
    case MdpCommand.Ready:
    case MdpCommand.Reply:
      return invalid(`${MDP_COMMAND_NAMES[command[0] as MdpCommandByte]} goes from worker to broker, never to a worker`, 2);
    default:
      return invalid(`unknown worker command 0x${command[0]!.toString(16).padStart(2, "0")}`, 2);
  }
}

/**
 * Decodes a reply a client's DEALER received: `[""]["MDPC01"][service][body...]`.
 * Never throws. (A REQ socket strips the empty frame: put it back, or use a DEALER.)
 */
export function decodeClientReply(frames: readonly Buffer[], limits: DecodeLimits = {}): ClientInbound {
  const big = oversized(frames, limits.maxFrameBytes ?? Infinity);
  if (big >= 0) return invalid(`frame ${big} is ${frames[big]!.length} bytes, more than the limit of ${limits.maxFrameBytes}`, big);
  const first = frames[0];
  if (first === undefined) return invalid("empty message", 0);
  if (first.length !== 0) return invalid("frame 0 must be the empty delimiter", 0);
  const headerError = headerProblem(frames[1], MDPC01_FRAME, MDPC01);
  if (headerError !== undefined) return invalid(headerError, 1);
  const service = frames[2];
  if (service === undefined) return invalid("REPLY without a service frame", 2);
  return { kind: "reply", service, body: frames.slice(3) };
}

/** What a multiplexed client's DEALER receives, decoded (zkit's envelope extension). */
export type EnvelopedClientInbound =
  | {
      /** A REPLY to an enveloped request. */
      kind: "reply";
      /** The correlation frame of the request it answers. */
      corr: Buffer;
      /** The service that answered. */
      service: Buffer;
      /** The reply body frames. */
      body: Buffer[];
    }
  | {
      /** A plain 7/MDP REPLY (the answer to a plain request, such as the {@link MMI_ENVELOPE} question). */
      kind: "plain";
      /** The service that answered. */
      service: Buffer;
      /** The reply body frames. */
      body: Buffer[];
    }
  | Invalid;

/**
 * Decodes a reply a multiplexed client's DEALER received:
 * `[corr][""]["MDPC01"][service][body...]`, or a plain
 * `[""]["MDPC01"][service][body...]`. Never throws.
 */
export function decodeEnvelopedClientReply(frames: readonly Buffer[], limits: DecodeLimits = {}): EnvelopedClientInbound {
  const first = frames[0];
  if (first === undefined) return invalid("empty message", 0);
  if (first.length === 0) {
    const plain = decodeClientReply(frames, limits);
    return plain.kind === "reply" ? { kind: "plain", service: plain.service, body: plain.body } : plain;
  }
  const big = oversized(frames, limits.maxFrameBytes ?? Infinity);
  if (big >= 0) return invalid(`frame ${big} is ${frames[big]!.length} bytes, more than the limit of ${limits.maxFrameBytes}`, big);
  const delimiter = frames[1];
  if (delimiter === undefined || delimiter.length !== 0) return invalid("frame 1 must be the empty delimiter after the correlation frame", 1);
  const headerError = headerProblem(frames[2], MDPC01_FRAME, MDPC01);
  if (headerError !== undefined) return invalid(headerError, 2);
  const service = frames[3];
  if (service === undefined) return invalid("REPLY without a service frame", 3);
  return { kind: "reply", corr: first, service, body: frames.slice(4) };
}

/**
 * A frame as text for logs: UTF-8 when printable, else hex. At most 64
 * characters. @internal
 */
export function printable(frame: Buffer): string {
  const short = frame.length > 48 ? frame.subarray(0, 48) : frame;
  let text = true;
  for (const b of short) if (b < 0x20 || b > 0x7e) text = false;
  const s = text ? short.toString("latin1") : short.toString("hex");
  return frame.length > short.length ? `${s}...` : s;
}
