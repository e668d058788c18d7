/**
 * Message parts one at a time (CZMQ's `ZFRAME_MORE`, `zmsg_sendm`,
 * `zstr_sendm`, `zframe_recv`, `zframe_more`) over sockets that move whole
 * messages. zeromq.js sends and receives complete multipart messages, so
 * zkit keeps, per socket: the parts sent with "more" until the last part
 * comes, and the parts of a received message not read yet.
 *
 * Only zmsg's own calls see them (`ZMsg`, `ZFrame`, `zstr`, `zsend`,
 * `bsend`, `zsignal` and their receiving sides); a socket's own `send()` or
 * `receive()` goes around them.
 * @module
 */
import type { MessageSink, MessageSource } from "./zmsg.js";

/** Parts sent with "more", waiting for the last part of their message. */
const held = new WeakMap<object, Buffer[]>();
/** The rest of a message read part by part. */
const unread = new WeakMap<object, Buffer[]>();

/**
 * A message source whose `readable` says whether a message can be received
 * at once: a `ZSocket` of `@zkit/core`, an actor, a beacon.
 */
export interface ReadableSource extends MessageSource {
  /** True when `receive()` would complete at once. */
  readonly readable: boolean;
}

/**
 * Sends `frames` as the next parts of a message on `sink`. With `more`, they
 * are held until a send without `more` completes the message; without it,
 * the held parts and `frames` leave as one message.
 *
 * @returns resolves at once for held parts, else with the socket's send
 * @internal
 */
export function sendParts(sink: MessageSink, frames: Buffer[], more: boolean): Promise<void> {
  const before = held.get(sink);
  if (more) {
    if (before === undefined) held.set(sink, frames.slice());
    else before.push(...frames);
    return Promise.resolve();
  }
  if (before === undefined) return sink.send(frames);
  held.delete(sink);
  before.push(...frames);
  return sink.send(before);
}

/**
 * How many parts `sink` holds, sent with "more" and waiting for the last
 * part of their message.
 *
 * @param sink - a socket
 */
export function heldParts(sink: MessageSink): number {
  return held.get(sink)?.length ?? 0;
}

/**
 * Takes the parts of a message received part by part that were not read
 * yet, if any.
 * @internal
 */
function takeUnread(source: MessageSource): Buffer[] | undefined {
  const rest = unread.get(source);
  if (rest !== undefined) unread.delete(source);
  return rest;
}

/**
 * The rest of the current message, or the next whole message: what
 * `zmsg_recv` reads.
 * @internal
 */
export async function receiveFrames(source: MessageSource): Promise<Buffer[]> {
  return takeUnread(source) ?? (await source.receive());
}

/**
 * The rest of the current message, the next message when one can be
 * received at once, or `null`.
 * @internal
 */
export async function receiveFramesNowait(source: ReadableSource): Promise<Buffer[] | null> {
  const rest = takeUnread(source);
  if (rest !== undefined) return rest;
  if (!source.readable) return null;
  return source.receive();
}

/**
 * The next part: the next unread part of the current message, or the first
 * part of the next message (whose other parts are kept for the following
 * calls). `more` is true while parts of the message remain.
 * @internal
 */
export async function receivePart(source: MessageSource): Promise<{ data: Buffer; more: boolean } | undefined> {
  return partOf(source, await receiveFrames(source));
}

/** Like {@link receivePart}, or `null` when nothing can be received at once. @internal */
export async function receivePartNowait(source: ReadableSource): Promise<{ data: Buffer; more: boolean } | undefined | null> {
  const frames = await receiveFramesNowait(source);
  return frames === null ? null : partOf(source, frames);
}

function partOf(source: MessageSource, frames: Buffer[]): { data: Buffer; more: boolean } | undefined {
  if (frames.length === 0) return undefined;
  const [data, ...rest] = frames;
  if (rest.length > 0) unread.set(source, rest);
  return { data: data!, more: rest.length > 0 };
}
