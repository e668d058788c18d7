/**
 * CZMQ's `zmsg_save`/`zmsg_load` file format, and reading and writing it on
 * Node streams. Each frame is its size as a C `size_t` (8 bytes on 64-bit
 * hosts, in host byte order: little-endian on x86-64 and ARM64) followed by
 * its bytes; one file holds one message, read to its end.
 *
 * CZMQ calls the format not portable between systems; zkit writes the
 * 64-bit form on every host, so files move between zkit and CZMQ on 64-bit
 * little-endian machines (almost all of them). Unlike CZMQ 4.2, empty
 * frames are saved and loaded (CZMQ's `fwrite` of 0 bytes reports failure).
 * @module
 */
import { InvalidArgumentError, ProtocolError } from "@zkit/core";
import { describe } from "./zframe.js";

const SIZE_BYTES = 8;

/**
 * The bytes `zmsg_save` writes for `frames`.
 * @internal
 */
export function encodeSaved(frames: readonly Buffer[]): Buffer {
  let total = 0;
  for (const f of frames) total += SIZE_BYTES + f.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const f of frames) {
    out.writeBigUInt64LE(BigInt(f.length), at);
    at += SIZE_BYTES;
    f.copy(out, at);
    at += f.length;
  }
  return out;
}

/**
 * The frames in bytes written by `zmsg_save` (views into `data`).
 *
 * @throws `ProtocolError` when the bytes end inside a size or a frame,
 *   naming the frame and offset
 * @internal
 */
export function decodeSaved(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const index = frames.length;
    if (data.length - at < SIZE_BYTES) {
      throw new ProtocolError(`ZMsg.load: frame ${index} at offset ${at} has a ${data.length - at}-byte size; zmsg_save writes ${SIZE_BYTES} (truncated, or not a saved message)`, index);
    }
    const size = data.readBigUInt64LE(at);
    const left = data.length - at - SIZE_BYTES;
    if (size > BigInt(left)) {
      throw new ProtocolError(`ZMsg.load: frame ${index} at offset ${at} declares ${size} bytes but only ${left} remain (truncated, or not a saved message)`, index);
    }
    at += SIZE_BYTES;
    frames.push(data.subarray(at, at + Number(size)));
    at += Number(size);
  }
  return frames;
}

/** Where {@link ZMsg.save} writes: a Node writable stream (`fs.createWriteStream`, a socket, `process.stdout`). */
export interface SaveTarget {
  write(chunk: Uint8Array, callback: (err?: Error | null) => void): boolean;
}

/** What {@link ZMsg.load} reads: a Node readable stream, any async iterable of bytes, or the bytes themselves. */
export type LoadSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array> | Uint8Array;

/** Writes `data` to `target`; resolves once the stream has taken it. @internal */
export function writeAll(target: SaveTarget, data: Buffer): Promise<void> {
  if (target === null || typeof target !== "object" || typeof target.write !== "function") {
    throw new InvalidArgumentError(`ZMsg.save needs a writable stream (an object with write(chunk, callback)), got ${describe(target)}`);
  }
  return new Promise((resolve, reject) => {
    target.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/** Reads `source` to its end. @internal */
export async function readAll(source: LoadSource): Promise<Buffer> {
  if (source instanceof Uint8Array) return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const iterable = source as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null;
  const iterate = iterable?.[Symbol.asyncIterator] ?? iterable?.[Symbol.iterator];
  if (source === null || typeof source !== "object" || typeof iterate !== "function") {
    throw new InvalidArgumentError(`ZMsg.load needs a readable stream, an async iterable of bytes or a Buffer, got ${describe(source)}`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (typeof chunk === "string") {
      throw new InvalidArgumentError("ZMsg.load: the stream gives strings; open it without an encoding (a saved message is binary)");
    }
    if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError(`ZMsg.load: the stream gave ${describe(chunk)} instead of bytes`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
