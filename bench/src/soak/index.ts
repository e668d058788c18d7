/**
 * `pnpm soak <name> [--flag=N ...]`: long runs under faults that print their
 * figures and write `results/soak/<name>.json`. Soaks are run by hand (they
 * take minutes), never in the test suite; each prints what it measured and
 * the target it is judged by.
 *
 * - `mdp-kill`: Majordomo with a worker SIGKILLed every second (issue 8.1).
 * - `mdp-fuzz-memory`: the broker's memory through a long fuzz run and a quiet spell (issue 8.3).
 * - `mdp-burst`: the Guide's mdclient2 burst of 100,000 requests at once, default options (issue 9.3).
 * - `bstar-partition`: Binary Star on a partitioned network, 100 randomized trials in Linux network namespaces (issue 11; needs root).
 * - `clone-converge`: 3 Clone clients x 10,000 updates with random keys and ttls end equal to the server (issue 13).
 * - `clone-late-joiner`: a Clone client joins a 100,000-key store during a write storm: one snapshot, no gap (issue 13).
 * - `clone-failover`: a Binary Star pair of Clone servers, the active SIGKILLed or frozen during a write storm of 3 x 10,000 updates: none lost, none twice (issue 13).
 * @module
 */
const SOAKS = ["mdp-kill", "mdp-fuzz-memory", "mdp-burst", "bstar-partition", "clone-converge", "clone-late-joiner", "clone-failover"] as const;

const [name, ...rest] = process.argv.slice(2).filter((a) => a !== "--");
if (name === undefined || !(SOAKS as readonly string[]).includes(name)) {
  console.error(`usage: pnpm soak <${SOAKS.join("|")}> [--flag=N ...]`);
  process.exit(2);
}
process.argv = [process.argv[0]!, process.argv[1]!, ...rest];
await import(`./${name}.js`);
