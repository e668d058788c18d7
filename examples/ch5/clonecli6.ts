/**
 * Clone client, model six (Guide chapter 5, "Adding the Binary Star Pattern
 * for Reliability", and the clone class of "Building a Multithreaded Stack
 * and API"): the client of model five, given two servers (a primary and a
 * backup): when the one it follows stops sending updates and HUGZ for
 * `--server-ttl-ms`, it moves to the other and takes a fresh snapshot; a
 * gap in the sequences makes it resync too.
 * This is `CloneClient` of @zkit/clone: it subscribes before it asks for
 * the snapshot, keeps the updates that come meanwhile, and prints each
 * change as `I: received update=N KEY`.
 *
 *   node --conditions=@zkit/source --import tsx ch5/clonecli6.ts [--connect tcp://localhost:5556,tcp://localhost:5566] [--count 0]
 */
import { cloneClientProgram } from "./clone-common.js";

await cloneClientProgram("clonecli6", "Clone client, model six: CloneClient with a primary and a backup server.", {
  default: "tcp://localhost:5556,tcp://localhost:5566",
  help: "the primary's and the backup's snapshot ports, comma-separated",
});
