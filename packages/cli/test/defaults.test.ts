// The `zkit` flags that mirror a library option take the library's default,
// read from its exported constant: the command and the library never
// disagree (issue 10's "CLI flags take their defaults from the packages").
import { describe, expect, it } from "vitest";
import { commands } from "@zkit/cli";
import { BSTAR_HEARTBEAT_INTERVAL_MS } from "@zkit/bstar";
import { CLONE_DIALECT, CLONE_HUGZ_INTERVAL_MS, CLONE_PEER_TTL_MS, CLONE_SERVER_TTL_MS, CLONE_SET_TIMEOUT_MS } from "@zkit/clone";
import { LPP_RETRIES, LPP_TIMEOUT_MS } from "@zkit/lpp";
import { MDP_CONCURRENCY, MDP_HEARTBEAT_INTERVAL_MS, MDP_LIVENESS, MDP_RECONNECT_MS, MDP_RETRIES, MDP_TIMEOUT_MS } from "@zkit/mdp";
import { PPP_HEARTBEAT_INTERVAL_MS, PPP_LIVENESS, PPP_RECONNECT_INITIAL_MS, PPP_RECONNECT_MAX_MS } from "@zkit/ppp";
import {
  TITANIC_DISPATCH_CONCURRENCY,
  TITANIC_DISPATCH_INTERVAL_MS,
  TITANIC_DISPATCH_TIMEOUT_MS,
  TITANIC_DURABILITY,
  TITANIC_POLL_INTERVAL_MS,
  TITANIC_REQUEST_CONCURRENCY,
} from "@zkit/titanic";

function defaults(...path: string[]): Record<string, unknown> {
  const command = commands.find((c) => c.path.join(" ") === path.join(" "));
  if (command === undefined) throw new Error(`no command zkit ${path.join(" ")}`);
  return Object.fromEntries(Object.entries(command.flags).map(([name, spec]) => [name, (spec as { default?: unknown }).default]));
}

describe("flag defaults are the packages' constants", () => {
  it.each([
    [["mdp", "broker"], { "heartbeat-ms": MDP_HEARTBEAT_INTERVAL_MS, liveness: MDP_LIVENESS }],
    [["mdp", "worker"], { "heartbeat-ms": MDP_HEARTBEAT_INTERVAL_MS, liveness: MDP_LIVENESS, "reconnect-ms": MDP_RECONNECT_MS, concurrency: MDP_CONCURRENCY }],
    [["mdp", "request"], { "timeout-ms": MDP_TIMEOUT_MS, retries: MDP_RETRIES }],
    [["ppp", "queue"], { "heartbeat-ms": PPP_HEARTBEAT_INTERVAL_MS, liveness: PPP_LIVENESS }],
    [["ppp", "worker"], { "heartbeat-ms": PPP_HEARTBEAT_INTERVAL_MS, liveness: PPP_LIVENESS, "reconnect-ms": PPP_RECONNECT_INITIAL_MS, "reconnect-max-ms": PPP_RECONNECT_MAX_MS }],
    [["lpp", "client"], { "timeout-ms": LPP_TIMEOUT_MS, retries: LPP_RETRIES }],
    [
      ["titanic"],
      {
        "heartbeat-ms": MDP_HEARTBEAT_INTERVAL_MS,
        "dispatch-interval-ms": TITANIC_DISPATCH_INTERVAL_MS,
        "dispatch-timeout-ms": TITANIC_DISPATCH_TIMEOUT_MS,
        concurrency: TITANIC_DISPATCH_CONCURRENCY,
        durability: TITANIC_DURABILITY,
        "request-concurrency": TITANIC_REQUEST_CONCURRENCY,
      },
    ],
    [["titanic", "request"], { "poll-ms": TITANIC_POLL_INTERVAL_MS }],
    [["clone", "server"], { dialect: CLONE_DIALECT, "hugz-ms": CLONE_HUGZ_INTERVAL_MS, "heartbeat-ms": BSTAR_HEARTBEAT_INTERVAL_MS, "peer-ttl-ms": CLONE_PEER_TTL_MS }],
    [["clone", "set"], { "server-ttl-ms": CLONE_SERVER_TTL_MS, "timeout-ms": CLONE_SET_TIMEOUT_MS }],
    [["clone", "get"], { "server-ttl-ms": CLONE_SERVER_TTL_MS }],
    [["clone", "watch"], { "server-ttl-ms": CLONE_SERVER_TTL_MS }],
  ])("zkit %s", (path, expected) => {
    expect(defaults(...(path as string[]))).toMatchObject(expected);
  });
});

// The security flags mirror the `security` option, whose default is none:
// no flag, no security (libzmq's NULL mechanism), as the Guide's peers run.
describe("security flags on every server, worker and client command", () => {
  const servers = ["mdp broker", "spp queue", "ppp queue", "bstar server", "fl server"];
  const clients = ["mdp worker", "mdp request", "mdp mmi", "spp worker", "ppp worker", "lpp client", "titanic", "titanic request", "bstar client", "fl client"];
  it.each(servers)("zkit %s takes --curve-secret, --auth-dir and --auth-allow, none by default", (path) => {
    const flags = commands.find((cmd) => cmd.path.join(" ") === path)!.flags as Record<string, { default?: unknown }>;
    for (const f of ["curve-secret", "auth-dir", "auth-allow"]) expect(flags[f], `--${f}`).toMatchObject({ type: "string" });
    expect(flags["curve-secret"]!.default).toBeUndefined();
  });
  it.each(clients)("zkit %s takes --curve-secret and --curve-server-key, none by default", (path) => {
    const flags = commands.find((cmd) => cmd.path.join(" ") === path)!.flags as Record<string, { default?: unknown }>;
    for (const f of ["curve-secret", "curve-server-key"]) expect(flags[f], `--${f}`).toMatchObject({ type: "string" });
    expect(flags["curve-server-key"]!.default).toBeUndefined();
  });
});
