/**
 * A real network to partition: Linux network namespaces joined by veth
 * pairs through a router namespace. Every host gets its own namespace, its
 * own address (`10.201.<n>.2`) and a link to the router; a link between two
 * hosts is cut by a policy-routing rule in the router that blackholes their
 * traffic both ways (packets vanish silently, as on a pulled cable: no
 * reset, no error; TCP on either side just hears nothing), and healed by
 * removing it. Loss and delay use `tc netem` where the kernel has it.
 *
 * Needs root (CI runs as root) and iproute2. Names are unique per run
 * (`<prefix>-<pid>-<n>-<host>`); {@link NetLab.destroy} removes every
 * namespace, and an exit hook removes what a crashed run left.
 *
 *   host p (10.201.1.2) ---\
 *   host b (10.201.2.2) ----- router (forwards; cuts are its rules)
 *   host c (10.201.3.2) ---/
 * @module
 */
import { execFileSync } from "node:child_process";

const SUBNET = "10.201";
let labs = 0;
const alive = new Set<NetLab>();

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryRun(command: string, args: string[]): { ok: true } | { ok: false; error: string } {
  try {
    execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    return { ok: true };
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return { ok: false, error: (e.stderr?.toString().trim() || e.message).split("\n")[0]! };
  }
}

/** Every network namespace whose name starts with `prefix`. */
export function namespacesWithPrefix(prefix: string): string[] {
  let out: string;
  try {
    out = ip(["netns", "list"]);
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(prefix));
}

/**
 * Whether this machine can build a {@link NetLab}: root, iproute2, and a
 * kernel that lets it create a namespace and a veth pair. When it cannot,
 * `reason` says why in words a test can print.
 */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: `network namespaces are Linux only (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "network namespaces need root (CI runs as root; run the test as root)" };
  const probe = `zkprobe-${process.pid}`;
  const made = tryRun("ip", ["netns", "add", probe]);
  if (!made.ok) return { ok: false, reason: `the kernel refused a network namespace (ip netns add: ${made.error})` };
  try {
    const veth = tryRun("ip", ["-n", probe, "link", "add", "name", "probe0", "type", "veth", "peer", "name", "probe1"]);
    if (!veth.ok) return { ok: false, reason: `the kernel refused a veth pair (${veth.error})` };
    return { ok: true };
  } finally {
    tryRun("ip", ["netns", "del", probe]);
  }
}

/** One host of a {@link NetLab}. */
export interface LabHost {
  /** The short name given to {@link NetLab.create}, e.g. `"p"`. */
  readonly name: string;
  /** Its network namespace, for `ip netns exec`. */
  readonly ns: string;
  /** Its address, e.g. `10.201.1.2`. */
  readonly address: string;
  /** Its subnet, e.g. `10.201.1.0/24`. */
  readonly subnet: string;
  /** The router's end of its link (an interface in the router namespace). */
  readonly routerIf: string;
}

/** Loss and delay on one host's link, both directions (`tc netem`). */
export interface Impairment {
  /** Added one-way delay, in ms. */
  delayMs?: number;
  /** Random delay variation, in ms. */
  jitterMs?: number;
  /** Percentage of packets dropped, each way. */
  lossPercent?: number;
}

/** A set of hosts in network namespaces behind one router, whose links can be cut and healed. */
export class NetLab {
  readonly router: string;
  readonly hosts: ReadonlyMap<string, LabHost>;
  /** Whether `tc netem` works in this kernel (loss and delay); see {@link NetLab.netemError}. */
  readonly netem: boolean;
  /** Why netem does not work, when it does not. */
  readonly netemError: string | undefined;
  readonly #cuts = new Set<string>();
  #destroyed = false;

  private constructor(router: string, hosts: Map<string, LabHost>, netemError: string | undefined) {
    this.router = router;
    this.hosts = hosts;
    this.netem = netemError === undefined;
    this.netemError = netemError;
  }

  /**
   * Builds the lab: a router namespace and one namespace per host, each
   * joined to the router by a veth pair, loopback up, routes set.
   *
   * @param hostNames - short names, e.g. `["p", "b", "c"]` (at most 200)
   * @param prefix - the namespaces' prefix, e.g. `"zkbs"`; the pid and a counter follow it
   * @throws when the machine cannot (see {@link netnsSupport}); what was made is removed
   */
  static create(hostNames: readonly string[], prefix: string): NetLab {
    const base = `${prefix}-${process.pid}-${++labs}`;
    const router = `${base}-r`;
    const made: string[] = [];
    const hosts = new Map<string, LabHost>();
    try {
      ip(["netns", "add", router]);
      made.push(router);
      ip(["-n", router, "link", "set", "dev", "lo", "up"]);
      execFileSync("ip", ["netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], { stdio: "ignore" });
      hostNames.forEach((name, i) => {
        const n = i + 1;
        const ns = `${base}-${name}`;
        const routerIf = `to-${name}`.slice(0, 15);
        ip(["netns", "add", ns]);
        made.push(ns);
        ip(["link", "add", "name", "eth0", "netns", ns, "type", "veth", "peer", "name", routerIf, "netns", router]);
        ip(["-n", ns, "addr", "add", `${SUBNET}.${n}.2/24`, "dev", "eth0"]);
        ip(["-n", router, "addr", "add", `${SUBNET}.${n}.1/24`, "dev", routerIf]);
        ip(["-n", ns, "link", "set", "dev", "lo", "up"]);
        ip(["-n", ns, "link", "set", "dev", "eth0", "up"]);
        ip(["-n", router, "link", "set", "dev", routerIf, "up"]);
        ip(["-n", ns, "route", "add", "default", "via", `${SUBNET}.${n}.1`]);
        hosts.set(name, { name, ns, address: `${SUBNET}.${n}.2`, subnet: `${SUBNET}.${n}.0/24`, routerIf });
      });
    } catch (err) {
      for (const ns of made.reverse()) tryRun("ip", ["netns", "del", ns]);
      throw err;
    }
    const first = [...hosts.values()][0];
    let netemError: string | undefined;
    if (first !== undefined) {
      const probe = tryRun("tc", ["-n", router, "qdisc", "add", "dev", first.routerIf, "root", "netem", "delay", "1ms"]);
      if (probe.ok) tryRun("tc", ["-n", router, "qdisc", "del", "dev", first.routerIf, "root"]);
      else netemError = `tc netem is not available in this kernel (CONFIG_NET_SCH_NETEM): ${probe.error}`;
    }
    const lab = new NetLab(router, hosts, netemError);
    alive.add(lab);
    return lab;
  }

  /** The host named `name`. */
  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no host ${JSON.stringify(name)} in this lab; there are ${[...this.hosts.keys()].join(", ")}`);
    return h;
  }

  /** Every namespace of the lab, the router's included. */
  get namespaces(): string[] {
    return [this.router, ...[...this.hosts.values()].map((h) => h.ns)];
  }

  /** True while the link between `a` and `b` is cut. */
  isCut(a: string, b: string): boolean {
    return this.#cuts.has(key(a, b));
  }

  /** Cuts the link between hosts `a` and `b`, both ways: their packets vanish in the router. Idempotent. */
  cut(a: string, b: string): void {
    if (this.isCut(a, b)) return;
    const ha = this.host(a);
    const hb = this.host(b);
    for (const [from, to] of [
      [ha, hb],
      [hb, ha],
    ] as const) {
      ip(["-n", this.router, "rule", "add", "from", from.subnet, "to", to.subnet, "blackhole", "priority", "100"]);
    }
    this.#cuts.add(key(a, b));
  }

  /** Heals the link between `a` and `b`. Idempotent. */
  heal(a: string, b: string): void {
    if (!this.isCut(a, b)) return;
    const ha = this.host(a);
    const hb = this.host(b);
    for (const [from, to] of [
      [ha, hb],
      [hb, ha],
    ] as const) {
      tryRun("ip", ["-n", this.router, "rule", "del", "from", from.subnet, "to", to.subnet, "blackhole", "priority", "100"]);
    }
    this.#cuts.delete(key(a, b));
  }

  /** Cuts `name` off from every other host. */
  isolate(name: string): void {
    for (const other of this.hosts.keys()) if (other !== name) this.cut(name, other);
  }

  /** Heals every cut link. */
  healAll(): void {
    for (const k of [...this.#cuts]) {
      const [a, b] = k.split("|") as [string, string];
      this.heal(a, b);
    }
  }

  /**
   * Sets loss and delay on `name`'s link, both ways (`tc netem` on both of
   * its ends); an empty impairment removes them.
   * @throws when netem is not available ({@link NetLab.netemError} says why)
   */
  impair(name: string, impairment: Impairment): void {
    if (!this.netem) throw new Error(this.netemError);
    const h = this.host(name);
    const ends: [string, string][] = [
      [this.router, h.routerIf],
      [h.ns, "eth0"],
    ];
    const spec: string[] = [];
    if (impairment.delayMs) spec.push("delay", `${impairment.delayMs}ms`, ...(impairment.jitterMs ? [`${impairment.jitterMs}ms`] : []));
    if (impairment.lossPercent) spec.push("loss", `${impairment.lossPercent}%`);
    for (const [ns, dev] of ends) {
      if (spec.length === 0) tryRun("tc", ["-n", ns, "qdisc", "del", "dev", dev, "root"]);
      else execFileSync("tc", ["-n", ns, "qdisc", "replace", "dev", dev, "root", "netem", ...spec], { stdio: "ignore" });
    }
  }

  /**
   * Removes the lab: kills whatever still runs in its namespaces (SIGKILL),
   * then deletes them. Idempotent; never throws.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    alive.delete(this);
    for (const ns of this.namespaces) {
      try {
        for (const pid of ip(["netns", "pids", ns]).split("\n").filter(Boolean)) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            // already gone
          }
        }
      } catch {
        // no such namespace
      }
    }
    for (const ns of this.namespaces.reverse()) tryRun("ip", ["netns", "del", ns]);
  }
}

function key(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

// a test process that dies without its afterAll still leaves no namespace behind
process.on("exit", () => {
  for (const lab of [...alive]) lab.destroy();
});
