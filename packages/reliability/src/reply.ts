/**
 * Reply: what zkit's clients resolve with. It is the reply's frames (an
 * array of Buffers, so `const [frame] = await client.request(...)` works),
 * with readers for the common cases: `text()`, `json()`.
 * @module
 */
import { ProtocolError } from "@zkit/core";

/**
 * A reply's frames, with readers.
 *
 * @example
 * ```ts
 * const reply = await client.request("echo", "hi");
 * reply.text();      // "hi": frame 0 as UTF-8
 * reply.length;      // the number of frames
 * const [first] = reply;
 * ```
 */
export class Reply extends Array<Buffer> {
  /** Array methods that make new arrays (`map`, `slice`...) make plain ones. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** A Reply holding the frames of `frames` (the Buffers themselves, not copies). */
  static fromFrames(frames: readonly Buffer[]): Reply {
    const reply = new Reply();
    for (let i = 0; i < frames.length; i++) reply.push(frames[i]!);
    return reply;
  }

  /** Frame `index` as UTF-8 text (`""` when there is no such frame). */
  text(index = 0): string {
    return this[index]?.toString("utf8") ?? "";
  }

  /** Every frame as UTF-8 text. */
  texts(): string[] {
    return Array.prototype.map.call(this, (f: Buffer) => f.toString("utf8")) as string[];
  }

  /**
   * Frame `index` parsed as JSON.
   * @throws `ProtocolError` (naming the frame) when it is not JSON
   */
  json<T = unknown>(index = 0): T {
    try {
      return JSON.parse(this.text(index)) as T;
    } catch (err) {
      throw new ProtocolError(`reply frame ${index} is not JSON: ${(err as Error).message}`, index, { cause: err });
    }
  }

  /** The frames as a plain array. */
  frames(): Buffer[] {
    return Array.from(this);
  }
}
