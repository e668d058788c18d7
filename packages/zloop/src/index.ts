/**
 * `@zkit/zloop`: CZMQ's reactor and poller for Node.js. {@link ZLoop} calls
 * handlers on socket messages, drift-free timers and O(1) tickets, owning
 * each socket's read loop so no message is ever lost; {@link ZPoller} waits
 * on several sockets and returns the first readable one in priority order.
 *
 * @packageDocumentation
 */
export { ZLoop, DEFAULT_YIELD_EVERY, MAX_TURN_MS, MAX_CATCH_UP_MS, TIMER_RESOLUTION_MS, type ZLoopOptions } from "./zloop.js";
export { ZPoller } from "./zpoller.js";
export type { HandlerResult, ReaderHandler, TicketHandler, TimerHandler } from "./handlers.js";
export type { Ticket } from "./ticket-list.js";
export { isPollable } from "./pollable-check.js";
