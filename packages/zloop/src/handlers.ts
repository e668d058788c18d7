/**
 * Handler types of ZLoop: what readers, timers and tickets are called with,
 * and what they may return (`-1` ends the loop, as in CZMQ).
 * @module
 */
import type { Pollable } from "@zkit/core";
import type { Ticket } from "./ticket-list.js";
import type { ZLoop } from "./zloop.js";

/**
 * What a handler returns: `-1` ends the loop (CZMQ's convention), anything
 * else (or nothing) keeps it running. A promise is awaited first.
 */
export type HandlerResult = number | void | undefined | Promise<number | void | undefined>;

/**
 * Called with each message of a socket, in order. If it returns a promise,
 * the loop waits for it before reading that socket's next message (other
 * sockets and timers go on meanwhile).
 *
 * @typeParam S - the socket (or actor) type the reader was registered with
 * @param msg - the frames of the message
 * @param sock - the socket it came from
 * @param loop - the loop that called the handler
 */
export type ReaderHandler<S extends Pollable = Pollable> = (msg: Buffer[], sock: S, loop: ZLoop) => HandlerResult;

/**
 * Called each time a timer expires.
 *
 * @param timerId - the id {@link ZLoop.timer} returned (for {@link ZLoop.timerEnd})
 * @param loop - the loop that called the handler
 */
export type TimerHandler = (timerId: number, loop: ZLoop) => HandlerResult;

/**
 * Called once when a ticket expires (it was not reset within the loop's
 * ticket delay).
 *
 * @param ticket - the ticket that expired; {@link ZLoop.ticketReset} on it
 *   from inside the handler re-arms it
 * @param loop - the loop that called the handler
 */
export type TicketHandler = (ticket: Ticket, loop: ZLoop) => HandlerResult;

/** @internal True for a promise or any thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
