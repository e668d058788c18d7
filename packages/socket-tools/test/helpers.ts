// Test helpers for @zkit/socket-tools: a bind endpoint for each transport
// (tcp ephemeral port, ipc in a temp dir, unique inproc), fixtures run as
// real child processes. Deadlines come from @zkit/testkit.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bindEndpoint as bindEndpointFor, startNode, type Child, type Transport } from "@zkit/testkit";

/** The transports every proxy pairing runs over (testkit's). */
export { TRANSPORTS, removeTempDirs, type Transport } from "@zkit/testkit";

/** A bind endpoint (with `@`) for `transport`; read the real one back from the socket. */
export function bindEndpoint(transport: Transport): string {
  return bindEndpointFor(transport, "tools");
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** Runs `test/fixtures/<name>.ts` in a new Node process, from source. Stop it with testkit's `stopAll`. */
export function runFixture(name: string, args: string[] = []): Child {
  return startNode(join(here, "fixtures", `${name}.ts`), args, { cwd: join(here, ".."), name });
}

/** The path of a Python peer in `test/peers/`. */
export function peerPath(name: string): string {
  return join(here, "peers", name);
}
