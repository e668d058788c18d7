/**
 * CZMQ's picture and signal calls on a socket (`zsock_send`, `zsock_recv`,
 * `zsock_bsend`, `zsock_brecv`, `zsock_signal`, `zsock_wait`) for any
 * `ZSocket` of `@zkit/core`.
 * @module
 */
import { ProtocolError } from "@zkit/core";
import { checkBinaryPicture, decodeBinaryPicture, encodeBinaryPicture, type BinaryPictureArgs, type BinaryPictureValues } from "./bpicture.js";
import { receiveFrames, sendParts } from "./parts.js";
import { checkPicture, decodePicture, encodePicture, type PictureArgs, type PictureValues } from "./picture.js";
import { signalFrame, signalStatus } from "./signal.js";
import type { MessageSink, MessageSource } from "./zmsg.js";

/**
 * Sends one message built from a text picture (CZMQ `zsock_send`): one frame
 * per character, numbers as decimal text. See {@link ZMsg.fromPicture} for
 * the characters.
 *
 * @example `await zsend(sock, "si8z", "tick", 3, 10n)` sends `["tick"]["3"]["10"][""]`
 * @returns the socket's send promise; rejects with `InvalidArgumentError`
 *   for a bad picture or argument (nothing is sent then)
 */
export async function zsend<P extends string>(sock: MessageSink, picture: P, ...args: PictureArgs<P>): Promise<void> {
  await sendParts(sock, encodePicture(picture, args), false);
}

/**
 * Receives one message and decodes it by a text picture (CZMQ `zsock_recv`).
 * The picture is checked before anything is received. As in CZMQ, a signal
 * (see {@link zsignal}) is not a picture message: it rejects with a
 * `ProtocolError`.
 *
 * @example `const [command, count] = await zrecv(sock, "si")`
 * @returns one value per character except `z` (see {@link ZMsg.toPicture})
 * @throws `InvalidArgumentError` for a bad picture
 * @throws `ProtocolError` when the message does not match the picture
 */
export async function zrecv<P extends string>(sock: MessageSource, picture: P): Promise<PictureValues<P>> {
  checkPicture(picture, "zrecv");
  const frames = await receiveFrames(sock);
  const status = signalStatus(frames);
  if (status >= 0) throw new ProtocolError(`zrecv ${JSON.stringify(picture)}: received a signal (status ${status}) instead of a picture message`, 0);
  return decodePicture(picture, frames) as PictureValues<P>;
}

/**
 * Sends one message built from a binary picture (CZMQ `zsock_bsend`): a data
 * frame with the values big-endian, then `f` frames, then `m` frames. See
 * {@link ZMsg.fromBinaryPicture} for the characters.
 *
 * @example `await bsend(sock, "1248sS", 1, 2, 3, 4, "ab", "cd")`
 * @returns the socket's send promise; rejects with `InvalidArgumentError`
 *   for a bad picture or argument (nothing is sent then)
 */
export async function bsend<P extends string>(sock: MessageSink, picture: P, ...args: BinaryPictureArgs<P>): Promise<void> {
  await sendParts(sock, encodeBinaryPicture(picture, args), false);
}

/**
 * Receives one message and decodes it by a binary picture (CZMQ
 * `zsock_brecv`). The picture is checked before anything is received.
 *
 * @example `const [version, name, seq] = await brecv(sock, "1s8")`
 * @returns one value per character (see {@link ZMsg.toBinaryPicture})
 * @throws `InvalidArgumentError` for a bad picture
 * @throws `ProtocolError` when the data frame is too short for the
 *   picture or an `f` frame is missing
 */
export async function brecv<P extends string>(sock: MessageSource, picture: P): Promise<BinaryPictureValues<P>> {
  checkBinaryPicture(picture, "brecv");
  return decodeBinaryPicture(picture, await receiveFrames(sock)) as BinaryPictureValues<P>;
}

/**
 * Sends a signal with `status` (CZMQ `zsock_signal`): one 8-byte frame, see
 * {@link ZMsg.newSignal}. Actors signal 0 when they are ready and when they end.
 *
 * @param status - 0 to 255
 * @returns the socket's send promise; rejects with `InvalidArgumentError`
 *   when `status` is out of range
 */
export async function zsignal(sock: MessageSink, status = 0): Promise<void> {
  await sendParts(sock, [signalFrame(status)], false);
}

/**
 * Receives messages until one is a signal and returns its status (CZMQ
 * `zsock_wait`). Messages that are not signals are read and dropped, as in CZMQ.
 *
 * @returns the status, 0 to 255
 */
export async function zwait(sock: MessageSource): Promise<number> {
  for (;;) {
    const status = signalStatus(await receiveFrames(sock));
    if (status >= 0) return status;
  }
}
