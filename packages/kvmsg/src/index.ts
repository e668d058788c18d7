/**
 * `@zkit/kvmsg`: the key-value message of 12/CHP, the Clone pattern of the
 * ZeroMQ Guide (chapter 5), with the Guide's `kvmsg` API: {@link KVMsg}
 * (key, sequence, uuid, properties, body; send, receive, store into a map;
 * the `ttl` property), in the five-frame kvmsg form and the three-frame
 * kvsimple form of the Guide's first models, byte-exact.
 *
 * @packageDocumentation
 */
export {
  KVMsg,
  KVMSG_FRAMES,
  KVMSG_TTL,
  KVMSG_UUID_BYTES,
  KVSIMPLE_FRAMES,
  decodeSequence,
  encodeSequence,
  type KVMsgInit,
} from "./kvmsg.js";
