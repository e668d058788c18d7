/**
 * Clone client, model five (Guide chapter 5, "Ephemeral Values"):
 * replicates the subtree `/client/` of one server and sets a random key
 * under it every second with a ttl of 30 s (the server deletes it then).
 * This is `CloneClient` of @zkit/clone: it subscribes before it asks for
 * the snapshot, keeps the updates that come meanwhile, and prints each
 * change as `I: received update=N KEY`.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli5.ts [--connect tcp://localhost:5556] [--count 0]
 */
import { cloneClientProgram } from "./clone-common.js";

await cloneClientProgram("clonecli5", "Clone client, model five: CloneClient.", { default: "tcp://localhost:5556", help: "the server's snapshot port P" });
