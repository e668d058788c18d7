// Binary Star servers and clients as child processes (test/fixtures), and
// their JSON-line output read back: what each did and when, on the system's
// monotonic clock, which every process of the machine shares.
import { join } from "node:path";
import { startNode, startProcess, waitFor, type Child, type StartOptions } from "@zkit/testkit";
import { testDir } from "./helpers.js";

const SERVER = join(testDir, "fixtures/server.ts");
const CLIENT = join(testDir, "fixtures/client.ts");
/** A tsx child on a loaded machine can take a while to start. */
export const START_MS = 30_000;

/** One line a fixture printed. */
export interface Line {
  t: number;
  ev: string;
  [key: string]: unknown;
}

/** The system's monotonic clock in ms: the `t` of every fixture line. */
export function mono(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const parsed = new WeakMap<Child, { offset: number; lines: Line[] }>();

/** Every JSON line `child` printed so far (other lines are skipped); parsed once, as it comes. */
export function lines(child: Child): Line[] {
  let cache = parsed.get(child);
  if (cache === undefined) {
    cache = { offset: 0, lines: [] };
    parsed.set(child, cache);
  }
  const out = child.stdout();
  const end = out.lastIndexOf("\n") + 1;
  if (end > cache.offset) {
    for (const text of out.slice(cache.offset, end).split("\n")) {
      if (!text.startsWith("{") || !text.endsWith("}")) continue;
      try {
        cache.lines.push(JSON.parse(text) as Line);
      } catch {
        // a line cut by a kill
      }
    }
    cache.offset = end;
  }
  return cache.lines;
}

/** Waits for a line that satisfies `pred` (printed after `since`, a mono time), and returns it. */
export async function waitLine(child: Child, pred: (l: Line) => boolean, ms: number, what: string, since = -Infinity): Promise<Line> {
  let found: Line | undefined;
  try {
    await waitFor(
      () => {
        found = lines(child).find((l) => l.t >= since && pred(l));
        if (found === undefined && child.exit !== undefined) throw new Error(`${child.name} exited before ${what}`);
        return found !== undefined;
      },
      ms,
      `${what} from ${child.name}`,
      20,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${child.describe()}`);
  }
  return found!;
}

/** How a fixture process is started: directly, or inside a network namespace. */
export type Launcher = (script: string, args: string[], options: StartOptions) => Child;

/** Starts fixtures with tsx in this network namespace. */
const local: Launcher = (script, args, options) => startNode(script, args, options);

/** Starts fixtures with tsx inside network namespace `ns` (`ip netns exec`, which execs: the pid is node's). */
export function inNamespace(ns: string): Launcher {
  return (script, args, options) =>
    startProcess("ip", ["netns", "exec", ns, process.execPath, "--conditions=@zkit/source", "--import", "tsx", script, ...args], {
      ...options,
      name: options.name ?? `${script.split("/").pop()} in ${ns}`,
    });
}

/** The endpoints of one server. */
export interface ServerEndpoints {
  local: string;
  remote: string;
  voter: string;
}

/** A started server fixture and where it listens. */
export interface ServerProc {
  child: Child;
  role: "primary" | "backup";
}

/** Starts a server fixture and waits until it listens. */
export async function startServer(
  role: "primary" | "backup",
  ep: ServerEndpoints,
  options: { hb: number; answerRejected?: boolean; launch?: Launcher; env?: Record<string, string> },
): Promise<ServerProc> {
  const args = ["--role", role, "--local", ep.local, "--remote", ep.remote, "--voter", ep.voter, "--hb", String(options.hb)];
  if (options.answerRejected) args.push("--answer-rejected");
  const child = (options.launch ?? local)(SERVER, args, { name: role, ...(options.env !== undefined && { env: options.env }) });
  await waitLine(child, (l) => l.ev === "listening", START_MS, "listening");
  return { child, role };
}

/** Starts a client fixture on `servers` (primary first); `env` carries the test's security mode (testkit's matrix). */
export function startClient(servers: string[], options: { timeoutMs: number; settleMs: number; intervalMs?: number; launch?: Launcher; env?: Record<string, string> }): Child {
  const args = ["--servers", servers.join(","), "--timeout-ms", String(options.timeoutMs), "--settle-ms", String(options.settleMs)];
  args.push("--interval-ms", String(options.intervalMs ?? 50));
  return (options.launch ?? local)(CLIENT, args, { name: "client", ...(options.env !== undefined && { env: options.env }) });
}

/** The state changes a server printed: `[t, state]`, in order. */
export function states(child: Child): { t: number; state: string; reason: string }[] {
  return lines(child)
    .filter((l) => l.ev === "state")
    .map((l) => ({ t: l.t, state: String(l.state), reason: String(l.reason) }));
}

/** The replies a client printed, in order. */
export function replies(child: Child): { t: number; seq: number; by: string; ok: boolean; sent: number }[] {
  return lines(child)
    .filter((l) => l.ev === "reply")
    .map((l) => ({ t: l.t, seq: Number(l.seq), by: String(l.by), ok: l.ok === true, sent: Number(l.sent) }));
}

/**
 * Two active servers serving: pairs of consecutive replies from different
 * servers when both servers were ACTIVE throughout the time between them
 * (by the state changes each printed). A client that switches from a
 * server that is still active to another that already was is served by a
 * split brain; a failover (the other server became active in between) or
 * a step-down is not.
 *
 * @param rs - the client's replies, in order
 * @param history - each role's state changes, in order (a restarted server's after the first's)
 */
export function dualServing(rs: { t: number; by: string; seq: number }[], history: (role: string) => { t: number; state: string }[]): string[] {
  const activeThroughout = (role: string, from: number, to: number): boolean => {
    let state = "none";
    for (const s of history(role)) {
      if (s.t <= from) state = s.state;
      else if (s.t <= to) return false;
    }
    return state === "active";
  };
  const bad: string[] = [];
  for (let i = 1; i < rs.length; i++) {
    const a = rs[i - 1]!;
    const b = rs[i]!;
    if (a.by !== b.by && activeThroughout(a.by, a.t, b.t) && activeThroughout(b.by, a.t, b.t)) bad.push(`${a.seq}@${a.by} then ${b.seq}@${b.by}`);
  }
  return bad;
}
