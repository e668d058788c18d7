/**
 * What the Binary Star examples share: the Guide's `-p`/`-b` switches, its
 * ports, and its words for each state change.
 * @module
 */
import type { BinaryStarRole, Transition } from "@zkit/bstar";

/**
 * The role from `-p`/`--primary` or `-b`/`--backup` (exactly one), and the
 * command line with `-p`/`-b` spelled out for the flag parser. Prints the
 * usage and exits 2 without a role, as the Guide's programs do.
 */
export function roleArgs(program: string, argv: string[] = process.argv.slice(2)): { role: BinaryStarRole; argv: string[] } {
  const spelled = argv.map((a) => (a === "-p" ? "--primary" : a === "-b" ? "--backup" : a));
  if (spelled.includes("--help")) return { role: "primary", argv: spelled };
  const primary = spelled.includes("--primary");
  const backup = spelled.includes("--backup");
  if (primary === backup) {
    process.stderr.write(`usage: ${program} { -p | -b } [options]   (--help for the options)\n`);
    process.exit(2);
  }
  return { role: primary ? "primary" : "backup", argv: spelled };
}

/** The Guide's endpoints: primary frontend 5001, state 5003; backup frontend 5002, state 5004. */
export function guideEndpoints(role: BinaryStarRole): { frontend: string; local: string; remote: string } {
  return role === "primary"
    ? { frontend: "tcp://*:5001", local: "tcp://*:5003", remote: "tcp://localhost:5004" }
    : { frontend: "tcp://*:5002", local: "tcp://*:5004", remote: "tcp://localhost:5003" };
}

/** A state change in the Guide's words. */
export function describeTransition(t: Transition): string {
  switch (t.reason) {
    case "peer-backup":
      return "I: connected to backup (passive), ready active";
    case "peer-active":
      return t.from === "primary" ? "I: connected to backup (active), ready passive" : "I: connected to primary (active), ready passive";
    case "peer-restarting":
      return "I: peer (passive) is restarting, ready active";
    case "failover":
      return "I: failover successful, ready active";
    case "no-peer":
      return "I: request from client, ready active";
    case "split-brain":
      return t.to === "active" ? "I: both passive: the primary takes over, ready active" : "I: both active: stepping down, ready passive";
  }
}
