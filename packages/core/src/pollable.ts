/**
 * The structural interfaces that readers, pollers and actors share: anything
 * that receives like a {@link ZSocket} (an actor's pipe, say) can be polled.
 * @module
 */
import type { MessageLike } from "./frames.js";

/**
 * Something a reactor or poller can wait on without losing messages: it
 * receives one message at a time and can read one ahead
 * ({@link Pollable.waitReadable}). {@link ZSocket} implements it, and so do
 * actors.
 */
export interface Pollable {
  /** Receives the next message (the read-ahead one first). */
  receive(): Promise<Buffer[]>;
  /** Resolves true when a message can be received at once, false once closed. */
  waitReadable(): Promise<boolean>;
  /**
   * Optional: takes the message {@link Pollable.waitReadable} read ahead
   * without a promise, or returns undefined (then {@link Pollable.receive}).
   */
  receiveReady?(): Buffer[] | undefined;
  /** True when {@link Pollable.receive} would complete at once. */
  readonly readable: boolean;
  /** True once closed. */
  readonly closed: boolean;
}

/** Something that sends messages like a {@link ZSocket}. */
export interface Sendable {
  /** Sends one message (a frame or an array of frames). */
  send(message: MessageLike): Promise<void>;
}
