/**
 * `-v`: prints every message a pattern sends or receives, frame by frame, in
 * the style of the Guide's `zmsg_dump` (`[006] MDPW01`).
 * @module
 */
import type { TraceFn } from "@zkit/core";
import { ZMsg } from "@zkit/zmsg";

/**
 * A {@link TraceFn} that writes each message as a header line
 * (`I: in broker (4 frames)`) and one line per frame to `write`.
 *
 * @param write - where lines go, e.g. the command's `ctx.out`
 */
export function frameDumper(write: (line: string) => void): TraceFn {
  return ({ direction, socket, frames }) => {
    const msg = ZMsg.fromBuffers([...frames]);
    write(`I: ${direction === "in" ? "received from" : "sending to"} ${socket} (${frames.length} frame${frames.length === 1 ? "" : "s"})`);
    const text = msg.dump();
    if (text) write(text);
  };
}

/**
 * The `trace` option for a pattern class from a command's context: a
 * {@link frameDumper} writing to `ctx.out` with `-v`, nothing without.
 * Spread it into the options: `new MajordomoBroker({ ...traceOption(ctx) })`.
 *
 * @param ctx - the command's context (its `verbose` flag and `out`)
 */
export function traceOption(ctx: { flags: { verbose: boolean }; out(line: string): void }): { trace?: TraceFn } {
  return ctx.flags.verbose ? { trace: frameDumper(ctx.out) } : {};
}
