/**
 * The simplest correct way to let many callers send on one raw zeromq.js
 * socket: a promise chain. zeromq.js allows one pending send per socket (a
 * second throws EBUSY), so each send starts only once the previous one has
 * settled. This is the raw baseline for the concurrent-senders benchmark; it
 * is what a user writes by hand when they do not have zkit's send queue.
 * @module
 */
import type * as zmq from "zeromq";

/** Anything with zeromq.js's `send`. */
export interface RawWritable {
  send(message: zmq.MessageLike | zmq.MessageLike[]): Promise<void>;
}

/**
 * Returns a `send` that any number of callers may call at once: messages go
 * out in call order, each after the previous one has been handed to libzmq.
 * A failed send rejects its own caller only; the chain goes on.
 */
export function chainedSender(sock: RawWritable): (message: zmq.MessageLike | zmq.MessageLike[]) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  const swallow = (): void => {};
  return (message) => {
    const sent = tail.then(() => sock.send(message));
    tail = sent.catch(swallow);
    return sent;
  };
}
