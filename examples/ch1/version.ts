/**
 * Report the ZeroMQ version (Guide chapter 1, "Version Reporting").
 *
 *   node --conditions=@zkit/source --import tsx ch1/version.ts
 */
import { zmqVersion } from "@zkit/core";
import { main, parseOptions } from "../lib/cli.js";

parseOptions("version", "Prints the version of libzmq that zkit runs on.", {});

await main(async () => {
  const [major, minor, patch] = zmqVersion();
  console.log(`Current ZeroMQ version is ${major}.${minor}.${patch}`);
});
