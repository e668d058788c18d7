// One bind endpoint per transport, for tests that run the same exchange over
// tcp (an ephemeral port), ipc (a socket file in a temp dir) and inproc (a
// unique name).
import { join } from "node:path";
import { tempDir } from "./temp.js";
import { inprocName } from "./wait.js";

/** The transports a test runs over. */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/** One of {@link TRANSPORTS}. */
export type Transport = (typeof TRANSPORTS)[number];

const removers: (() => void)[] = [];

/**
 * A bind endpoint (with `@`) for `transport`; read the real one back from
 * the socket. `tag` names the temp dir and the inproc name.
 */
export function bindEndpoint(transport: Transport, tag = "test"): string {
  switch (transport) {
    case "tcp":
      return "@tcp://127.0.0.1:*";
    case "ipc": {
      const t = tempDir(`zkit-${tag}-`);
      removers.push(t.remove);
      return `@ipc://${join(t.dir, "s")}`;
    }
    case "inproc":
      return `@${inprocName(tag)}`;
  }
}

/** Removes the temp dirs made for ipc endpoints (call after each test). */
export function removeTempDirs(): void {
  for (const remove of removers.splice(0)) remove();
}
