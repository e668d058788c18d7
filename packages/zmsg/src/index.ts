/**
 * `@zkit/zmsg`: CZMQ's `zframe` and `zmsg` for Node.js. {@link ZFrame} and
 * {@link ZMsg} with CZMQ's semantics (push, pop, add, wrap, unwrap,
 * addmsg/popmsg, dup, eq, dump, signals), CZMQ's `zmsg_encode` format, and
 * text and binary pictures (`zsock_send`/`zsock_recv`,
 * `zsock_bsend`/`zsock_brecv`), parts sent and received one at a time
 * (`zmsg_sendm`, `zframe_more`), non-blocking receives, `zmsg_save`/`zmsg_load`
 * on streams and `zstr`'s string helpers, over any `ZSocket` of `@zkit/core`.
 *
 * @packageDocumentation
 */
export { ZFrame, type FrameInput } from "./zframe.js";
export { ZMsg, type DumpOptions, type MessageSink, type MessageSource } from "./zmsg.js";
export { encodeFrames, decodeFrames } from "./encoding.js";
export { signalFrame, signalStatus } from "./signal.js";
export {
  encodePicture,
  decodePicture,
  type PictureArg,
  type PictureArgs,
  type PictureValue,
  type PictureValues,
} from "./picture.js";
export {
  encodeBinaryPicture,
  decodeBinaryPicture,
  type BinaryPictureArg,
  type BinaryPictureArgs,
  type BinaryPictureValue,
  type BinaryPictureValues,
} from "./bpicture.js";
export { zsend, zrecv, bsend, brecv, zsignal, zwait } from "./zsock.js";
export { zstr } from "./zstr.js";
export { heldParts, type ReadableSource } from "./parts.js";
export type { LoadSource, SaveTarget } from "./saved.js";
