/**
 * zstr: CZMQ's string helpers (`zstr_send`, `zstr_sendm`, `zstr_sendf`,
 * `zstr_sendx`, `zstr_recv`, `zstr_recvx`, `zstr_recv_nowait`) over any
 * `ZSocket` of `@zkit/core`. Strings travel as UTF-8 frames.
 * @module
 */
import { format } from "node:util";
import { InvalidArgumentError } from "@zkit/core";
import { receiveFrames, receivePart, receivePartNowait, sendParts, type ReadableSource } from "./parts.js";
import { describe } from "./zframe.js";
import type { MessageSink, MessageSource } from "./zmsg.js";

function str(text: unknown, what: string): string {
  if (typeof text !== "string") throw new InvalidArgumentError(`${what} needs a string, got ${describe(text)}`);
  return text;
}

function frame(text: unknown, what: string): Buffer {
  return Buffer.from(str(text, what), "utf8");
}

/**
 * CZMQ's `zstr`: strings as message frames. A string is one frame; `recv`
 * reads one part (as `zstr_recv` does), `recvx` the whole message.
 *
 * @example
 * ```ts
 * await zstr.sendm(sock, "Hello");   // held: the first part
 * await zstr.send(sock, "World");    // ["Hello"]["World"] leaves
 * await zstr.recv(peer);             // "Hello" (and "World" waits)
 * await zstr.recv(peer);             // "World"
 * await zstr.sendx(sock, "a", "b");  // ["a"]["b"]
 * await zstr.recvx(peer);            // ["a", "b"]
 * ```
 * @namespace
 */
export const zstr = {
  /**
   * Sends a string as a one-frame message, or as the last part of a message
   * started with {@link zstr.sendm} (CZMQ `zstr_send`).
   * @throws `InvalidArgumentError` when `text` is not a string (nothing is sent)
   */
  send(sink: MessageSink, text: string): Promise<void> {
    return sendParts(sink, [frame(text, "zstr.send")], false);
  },

  /**
   * Sends a string as a part of a message that a later send completes
   * (CZMQ `zstr_sendm`); held until then, see `ZMsg.sendm`.
   */
  sendm(sink: MessageSink, text: string): Promise<void> {
    return sendParts(sink, [frame(text, "zstr.sendm")], true);
  },

  /**
   * Sends a formatted string (CZMQ `zstr_sendf`), formatted by `node:util`
   * `format` (`%s`, `%d`, `%i`, `%j`, ...).
   * @example `await zstr.sendf(sock, "%d-%s", 7, "up")` sends `"7-up"`
   */
  sendf(sink: MessageSink, fmt: string, ...args: unknown[]): Promise<void> {
    return sendParts(sink, [Buffer.from(format(str(fmt, "zstr.sendf"), ...args), "utf8")], false);
  },

  /** Like {@link zstr.sendf}, as a part of a longer message (CZMQ `zstr_sendfm`). */
  sendfm(sink: MessageSink, fmt: string, ...args: unknown[]): Promise<void> {
    return sendParts(sink, [Buffer.from(format(str(fmt, "zstr.sendfm"), ...args), "utf8")], true);
  },

  /**
   * Sends the strings as one message, a frame each (CZMQ `zstr_sendx`).
   * @throws `InvalidArgumentError` for no string or one that is not a string
   */
  sendx(sink: MessageSink, ...texts: string[]): Promise<void> {
    if (texts.length === 0) throw new InvalidArgumentError('zstr.sendx needs at least one string, e.g. zstr.sendx(sock, "a", "b")');
    return sendParts(
      sink,
      texts.map((t, i) => frame(t, `zstr.sendx string ${i}`)),
      false,
    );
  },

  /**
   * Receives one part as a string (CZMQ `zstr_recv`): the next part of a
   * message being read, or the first part of the next message; the other
   * parts wait for the next reads.
   */
  async recv(source: MessageSource): Promise<string> {
    return (await receivePart(source))?.data.toString("utf8") ?? "";
  },

  /** Receives the rest of the current message, or the next one, as strings (CZMQ `zstr_recvx`). */
  async recvx(source: MessageSource): Promise<string[]> {
    return (await receiveFrames(source)).map((f) => f.toString("utf8"));
  },

  /**
   * Receives one part as a string only if it can be had without waiting
   * (CZMQ `zstr_recv_nowait`), else `null`.
   */
  async recvNowait(source: ReadableSource): Promise<string | null> {
    const part = await receivePartNowait(source);
    return part === null ? null : (part?.data.toString("utf8") ?? "");
  },
};
