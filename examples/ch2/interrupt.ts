/**
 * Handling Ctrl-C cleanly (Guide chapter 2, "Handling Interrupt Signals").
 * A REP server that answers each request with "World" and, on SIGINT or
 * SIGTERM, notices the interrupt, says so, and exits 0.
 *
 *   node --conditions=@zkit/source --import tsx ch2/interrupt.ts [--bind tcp://*:5555]
 *
 * In C the signal makes the blocking zmq_recv fail with EINTR and the
 * program checks a flag. In zkit, `handleInterrupts()` installs the handler:
 * the first signal sets `interrupted()`, aborts `interruptSignal()` and
 * closes every socket, so the pending `receive()` rejects at once and the
 * program checks `interrupted()` to tell a Ctrl-C from a real failure. A
 * second Ctrl-C exits at once with code 130. Every other example gets the
 * same from `main()` in lib/cli.ts; this one spells it out.
 */
import { ZSocket, ZkitError, handleInterrupts, interrupted, shutdown } from "@zkit/core";
import { binding, parseOptions } from "../lib/cli.js";

const opts = parseOptions("interrupt", "A REP server that shows clean Ctrl-C handling with handleInterrupts() and interrupted().", {
  bind: { type: "string", default: "tcp://*:5555", help: "where the REP socket binds" },
});

handleInterrupts();

try {
  const server = await ZSocket.rep(binding(opts.bind));
  console.log(`listening on ${server.endpoints.join(",")}`);
  for (;;) {
    // Blocks until a request comes, or until Ctrl-C closes the socket: then
    // it rejects with a ClosedError (as zmq_recv fails with EINTR in C).
    const [request] = await server.receive();
    console.log(`Received ${request}`);
    await server.send("World");
  }
} catch (err) {
  // Signal handling: was it the interrupt, or a real failure?
  if (interrupted()) {
    console.log("W: interrupt received, killing server...");
  } else {
    process.stderr.write(`${err instanceof ZkitError ? `${err.code}: ${err.message}` : ((err as Error)?.stack ?? String(err))}\n`);
    process.exitCode = 1;
  }
} finally {
  shutdown(); // whatever is still open; the process then ends by itself
}
