/**
 * 10/FLP, the Freelance Protocol (ZeroMQ Guide chapter 4, "Brokerless
 * Reliability"): constants and pure encode/decode functions, no sockets, no
 * timers. Client and server both use ROUTER sockets. A server sets its
 * routing id to its public endpoint (`tcp://host:5555`) before it binds, so
 * that clients address it by the very string they connected to:
 *
 * | command | frames at the sender's ROUTER |
 * | --- | --- |
 * | PING C->S | `[server-endpoint]["PING"]` |
 * | PONG S->C | `[client-id]["PONG"]` |
 * | REQUEST C->S | `[server-endpoint][control][body...]` |
 * | REPLY S->C | `[client-id][control unchanged][reply...]` |
 *
 * The control frame is the client's: the server echoes it unchanged, and
 * the client uses it to match replies with requests. zkit's client (as the
 * Guide's reference) uses a decimal request number starting at 1. Decoders
 * return a typed value or an `invalid` carrying a `ProtocolError` that names
 * the bad frame; they never throw.
 * @module
 */
import { ProtocolError, atLeastOneFrame } from "@zkit/core";

/** The Guide's PING interval: a client pings a server it has not heard from for this long, in ms. */
export const FLP_PING_INTERVAL_MS = 2000;

/** The Guide's server TTL: a server silent this long is taken for dead, in ms. */
export const FLP_SERVER_TTL_MS = 6000;

/** The Guide's request timeout (`GLOBAL_TIMEOUT`): a request with no reply this long fails, in ms. */
export const FLP_TIMEOUT_MS = 3000;

/** The PING command, C->S. */
export const PING = "PING";

/** The PONG command, S->C. */
export const PONG = "PONG";

const PING_FRAME = Buffer.from(PING);
const PONG_FRAME = Buffer.from(PONG);

/** The most decimal digits a control frame zkit's client issues can have (`Number.MAX_SAFE_INTEGER` has 16). */
const MAX_CONTROL_DIGITS = 15;

// ---------------------------------------------------------------- encoders

/** A PING as the client's ROUTER sends it: `[server]["PING"]`. */
export function encodePing(server: Buffer): Buffer[] {
  return [server, PING_FRAME];
}

/** A PONG as the server's ROUTER sends it: `[client]["PONG"]`. */
export function encodePong(client: Buffer): Buffer[] {
  return [client, PONG_FRAME];
}

/**
 * A REQUEST as the client's ROUTER sends it: `[server][control][body...]`.
 * An empty body goes out as one empty frame, as in every zkit encoder.
 */
export function encodeRequest(server: Buffer, control: Buffer, body: readonly Buffer[]): Buffer[] {
  return frameList(server, control, body);
}

/**
 * A REPLY as the server's ROUTER sends it: `[client][control][reply...]`,
 * the control frame exactly as the request carried it. An empty reply goes
 * out as one empty frame.
 */
export function encodeReply(client: Buffer, control: Buffer, reply: readonly Buffer[]): Buffer[] {
  return frameList(client, control, reply);
}

function frameList(first: Buffer, control: Buffer, body: readonly Buffer[]): Buffer[] {
  const rest = atLeastOneFrame(body);
  const out = new Array<Buffer>(2 + rest.length);
  out[0] = first;
  out[1] = control;
  for (let i = 0; i < rest.length; i++) out[2 + i] = rest[i]!;
  return out;
}

/**
 * The control frame of request number `seq` as zkit's client (and the
 * Guide's) writes it: decimal ASCII, `1` is `31`, `42` is `34 32`.
 *
 * @param seq - an integer >= 1
 */
export function encodeControl(seq: number): Buffer {
  return Buffer.from(String(seq), "latin1");
}

/**
 * The request number in a control frame written by {@link encodeControl}:
 * 1 to 15 decimal digits, no sign, no leading zero.
 *
 * @returns the number, or undefined for any other control frame (another
 *   client's scheme, or garbage)
 */
export function decodeControl(control: Buffer): number | undefined {
  const n = control.length;
  if (n === 0 || n > MAX_CONTROL_DIGITS || control[0] === 0x30) return undefined;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = control[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    value = value * 10 + d;
  }
  return value;
}

// ---------------------------------------------------------------- decoders

/** A message that breaks the protocol: what is wrong, and which frame. */
export interface Invalid {
  /** Always `"invalid"`. */
  kind: "invalid";
  /** The sender's routing id (frame 0). */
  sender: Buffer | undefined;
  /** Says what is wrong; `error.frame` is the index of the bad frame (routing id included). */
  error: ProtocolError;
}

/** What a server's ROUTER receives, decoded. Frames are the received ones, not copies. */
export type ServerInbound =
  | {
      /** A PING: answer PONG. */
      kind: "ping";
      /** The client's routing id. */
      client: Buffer;
    }
  | {
      /** A REQUEST. */
      kind: "request";
      /** The client's routing id. */
      client: Buffer;
      /** The control frame, to echo unchanged. */
      control: Buffer;
      /** The body frames (none at all for a request of two frames). */
      body: Buffer[];
    }
  | Invalid;

/**
 * Decodes a message received by a server's ROUTER (routing id first):
 * `[client]["PING"]` (extra frames ignored) or `[client][control][body...]`.
 * An empty control frame is invalid: a reply could not be told apart.
 */
export function decodeServerMessage(frames: readonly Buffer[]): ServerInbound {
  const client = frames[0];
  const control = frames[1];
  if (client === undefined || control === undefined) {
    return { kind: "invalid", sender: client, error: new ProtocolError("10/FLP: a message needs a routing id and a control frame (PING or a request's control)", frames.length) };
  }
  if (control.length === 0) {
    return { kind: "invalid", sender: client, error: new ProtocolError("10/FLP: the control frame is empty; a request needs a control frame the reply can be matched by", 1) };
  }
  if (control.equals(PING_FRAME)) return { kind: "ping", client };
  return { kind: "request", client, control, body: frames.slice(2) };
}

/** What a client's ROUTER receives, decoded. Frames are the received ones, not copies. */
export type ClientInbound =
  | {
      /**
       * A PONG. The Guide's C `flserver3` answers PING with `["PING"]["OK"]`
       * (it tests for "PONG" where it means "PING"); that decodes as a pong too.
       */
      kind: "pong";
      /** The server's routing id: its endpoint. */
      server: Buffer;
    }
  | {
      /** A REPLY (or anything else with a control frame: the client decides). */
      kind: "reply";
      /** The server's routing id: its endpoint. */
      server: Buffer;
      /** The control frame as it came. */
      control: Buffer;
      /** The request number in the control frame ({@link decodeControl}), or undefined. */
      seq: number | undefined;
      /** The reply frames (none for a message of two frames). */
      body: Buffer[];
    }
  | Invalid;

/**
 * Decodes a message received by a client's ROUTER (routing id first):
 * `[server]["PONG"]`, or `[server][control][reply...]`. Tell ROUTER
 * notifications (`[server][""]`, `isRouterNotification` of `@zkit/core`)
 * apart first.
 */
export function decodeClientMessage(frames: readonly Buffer[]): ClientInbound {
  const server = frames[0];
  const control = frames[1];
  if (server === undefined || control === undefined) {
    return { kind: "invalid", sender: server, error: new ProtocolError("10/FLP: a message needs a routing id and a control frame (PONG or a reply's control)", frames.length) };
  }
  if (control.equals(PONG_FRAME) || control.equals(PING_FRAME)) return { kind: "pong", server };
  return { kind: "reply", server, control, seq: decodeControl(control), body: frames.slice(2) };
}

// --------------------------------------------------------------- endpoints

/**
 * The endpoint clients can reach a server at, from the endpoint it binds:
 * a wildcard host (`*`, `0.0.0.0`, `[::]`, `::`) becomes `localhost`, as in
 * the Guide's `flserver3` (binds `tcp://*:5555`, calls itself
 * `tcp://localhost:5555`); anything else stays as it is. A server on
 * another host passes its public endpoint explicitly.
 *
 * @param bound - the endpoint as bound, e.g. `tcp://0.0.0.0:5555`
 */
export function publicEndpoint(bound: string): string {
  const m = /^(tcp|ws|wss):\/\/(\*|0\.0\.0\.0|\[::\]|::|\[\*\]):(.*)$/.exec(bound);
  return m === null ? bound : `${m[1]}://localhost:${m[3]}`;
}

/** True when `endpoint` asks libzmq for an ephemeral port or path (`tcp://host:*`, `ipc://*`). */
export function hasWildcardPort(endpoint: string): boolean {
  return endpoint.endsWith(":*") || endpoint === "ipc://*";
}

/**
 * A routing id (or other frame) for messages: the text when it is
 * printable ASCII (a 10/FLP server's id is its endpoint), else hex.
 */
export function printable(frame: Buffer): string {
  for (let i = 0; i < frame.length; i++) {
    const c = frame[i]!;
    if (c < 0x20 || c > 0x7e) return `0x${frame.toString("hex")}`;
  }
  return frame.toString("latin1");
}
