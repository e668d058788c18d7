// Test helpers for @zkit/socket-tools: a bind endpoint for each transport
// (tcp ephemeral port, ipc in a temp dir, unique inproc), fixtures run as
// real child processes. Deadlines come from @zkit/testkit.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inprocName, startNode, tempDir, type Child } from "@zkit/testkit";

/** The transports every proxy pairing runs over. */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/** One of {@link TRANSPORTS}. */
export type Transport = (typeof TRANSPORTS)[number];

const removers: (() => void)[] = [];

/** A bind endpoint (with `@`) for `transport`; read the real one back from the socket. */
export function bindEndpoint(transport: Transport): string {
  switch (transport) {
    case "tcp":
      return "@tcp://127.0.0.1:*";
    case "ipc": {
      const t = tempDir("zkit-tools-");
      removers.push(t.remove);
      return `@ipc://${join(t.dir, "s")}`;
    }
    case "inproc":
      return `@${inprocName("tools")}`;
  }
}

/** Removes the temp dirs made for ipc endpoints. */
export function removeTempDirs(): void {
  for (const remove of removers.splice(0)) remove();
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
