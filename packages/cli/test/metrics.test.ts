// `--metrics HOST:PORT`: first the pieces in this process (the spec -> metric
// names, the registry read at scrape time, the HTTP endpoint over a real
// socket), then every server command as a real `zkit` process scraped over
// HTTP with node's fetch and with the Prometheus project's own parser
// (python3-prometheus-client): counters that match the traffic sent through
// them, a bad value or a port in use refused with exit 2, and the port free
// again once SIGTERM/SIGINT stopped the command.
import { execFileSync } from "node:child_process";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { shutdown } from "@zkit/core";
import { BinaryStar } from "@zkit/bstar";
import { FreelanceServer } from "@zkit/flclient";
import { MajordomoBroker, MajordomoWorker } from "@zkit/mdp";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "@zkit/ppp";
import { SimplePirateQueue, SimplePirateWorker } from "@zkit/spp";
import { Titanic } from "@zkit/titanic";
import { CloneServer } from "@zkit/clone";
import { PYTHON, stopAll, tempDir, waitFor, type Child } from "@zkit/testkit";
import {
  UsageError,
  commands,
  createMetricsRegistry,
  defineMetrics,
  metricsCatalog,
  parseCommandLine,
  parseMetricsAddress,
  startMetricsServer,
  unservedStats,
  type AnyMetricsSpec,
  type MetricsServer,
} from "@zkit/cli";
import { START_MS, exitCode, zkit } from "./helpers.js";

const ANY = "tcp://127.0.0.1:*";
const WAIT_MS = 30_000;
const FAST = ["--heartbeat-ms", "250"];
const SCRAPER = fileURLToPath(new URL("./peers/scrape.py", import.meta.url));
/** The server commands: each takes --metrics. */
const SERVERS = ["mdp broker", "mdp worker", "titanic", "spp queue", "spp worker", "ppp queue", "ppp worker", "bstar server", "fl server", "clone server"];

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  shutdown();
  await stopAll();
  for (const f of cleanups.splice(0).reverse()) await f();
});

function specOf(path: string): AnyMetricsSpec {
  const cmd = commands.find((c) => c.path.join(" ") === path);
  if (cmd?.metrics === undefined) throw new Error(`zkit ${path} has no metrics spec`);
  return cmd.metrics;
}

// ---------------------------------------------------------------------------
// The Prometheus text format, read strictly: every line is blank, a comment
// (# HELP name text, # TYPE name type) or a sample `name{labels} value`.

interface Family {
  type?: string;
  help?: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
// NaN in any case: prom-client writes "Nan", which Prometheus reads (Go's
// ParseFloat ignores case), as does the Python client's parser
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? ([Nn][Aa][Nn]|[+-]Inf|[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(?: -?[0-9]+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/** Parses exposition text; throws naming the first line that is none of the above. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { samples: [] }));
    return f;
  };
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let m: RegExpExecArray | null;
    if ((m = HELP.exec(line))) family(m[1]!).help = m[2]!;
    else if ((m = TYPE.exec(line))) family(m[1]!).type = m[2]!;
    else if (line.startsWith("#"))
      continue; // any other comment
    else if ((m = SAMPLE.exec(line))) {
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
      // a histogram's samples (_bucket, _sum, _count) belong to its family
      const base = [...families.keys()].reverse().find((n) => m![1] === n || (families.get(n)!.type === "histogram" && m![1]!.startsWith(`${n}_`))) ?? m[1]!;
      family(base).samples.push({ name: m[1]!, labels, value: /^nan$/i.test(m[3]!) ? NaN : Number(m[3]!.replace("Inf", "Infinity")) });
    } else throw new Error(`line ${i + 1} is neither a comment nor a sample: ${JSON.stringify(line)}`);
  }
  return families;
}

/** The value of the one sample of `name` with `labels`, or undefined. */
function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = JSON.stringify(labels);
  return families.get(name)?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === key)?.value;
}

/** GET `url` with node's fetch: the status, content type and parsed body. */
async function scrape(url: string): Promise<{ contentType: string | null; text: string; families: Map<string, Family> }> {
  const res = await fetch(url);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { contentType: res.headers.get("content-type"), text, families: parseExposition(text) };
}

/** Scrapes until `name` (with `labels`) has `value`; fails with the last scrape after the deadline. */
async function scrapeUntil(url: string, name: string, value: number, labels: Record<string, string> = {}): Promise<Map<string, Family>> {
  let last = new Map<string, Family>();
  try {
    await waitFor(
      async () => {
        last = (await scrape(url)).families;
        return sampleValue(last, name, labels) === value;
      },
      WAIT_MS,
      `${name}${JSON.stringify(labels)} = ${value} at ${url}`,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${sampleValue(last, name, labels)}`);
  }
  return last;
}

/**
 * Checks that a scrape serves exactly the spec's metrics (each with its type
 * and HELP) beside the process's default ones, and nothing else named zkit_.
 */
function expectServes(families: Map<string, Family>, spec: AnyMetricsSpec): void {
  const catalog = metricsCatalog(spec);
  for (const m of catalog) {
    expect(families.get(m.name), m.name).toMatchObject({ type: m.type, help: m.help });
    if (m.labels.length === 0) expect(families.get(m.name)!.samples, m.name).toHaveLength(1);
  }
  expect([...families.keys()].filter((n) => n.startsWith("zkit_")).sort()).toEqual(catalog.map((m) => m.name).sort());
  // prom-client's default metrics, on the command's own registry
  expect(families.get("process_cpu_user_seconds_total")?.type).toBe("counter");
  expect(families.get("nodejs_heap_size_used_bytes")?.type).toBe("gauge");
  expect(sampleValue(families, "process_start_time_seconds")).toBeGreaterThan(1_600_000_000);
}

/** Starts `zkit <args> --metrics 127.0.0.1:0` and reads the URL it prints. */
async function withMetricsFlag(...args: string[]): Promise<{ child: Child; url: string }> {
  const child = zkit(...args, "--metrics", "127.0.0.1:0");
  const url = (await child.waitFor(/^I: metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m, START_MS))[1]!;
  return { child, url };
}

/** A TCP port that something listens on (this test's server), closed after the test. */
async function occupiedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** True when this process can listen on 127.0.0.1:`port` (it then closes it again). */
async function portIsFree(port: number): Promise<boolean> {
  const server: NetServer = createNetServer();
  return new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------

describe("metric names and values (in this process)", () => {
  const demo = defineMetrics<{ stats: { requests: number; workersLost: number; queued: number }; services: Map<string, number> }>()({
    prefix: "zkit_demo_queue",
    counters: { requests: "Requests read.", workersLost: "Workers gone." },
    statGauges: { queued: "Requests waiting now." },
    gauges: {
      ready_workers: { help: "Workers ready now.", read: (o) => o.services.size },
      service_queued: { help: "Waiting per service.", labelNames: ["service"], read: (o) => [...o.services].map(([service, value]) => ({ labels: { service }, value })) },
    },
  });

  it("names counters <prefix>_<snake_case>_total and gauges <prefix>_<name>, with their HELP", () => {
    expect(metricsCatalog(demo)).toEqual([
      { name: "zkit_demo_queue_requests_total", type: "counter", help: "Requests read.", labels: [] },
      { name: "zkit_demo_queue_workers_lost_total", type: "counter", help: "Workers gone.", labels: [] },
      { name: "zkit_demo_queue_queued", type: "gauge", help: "Requests waiting now.", labels: [] },
      { name: "zkit_demo_queue_ready_workers", type: "gauge", help: "Workers ready now.", labels: [] },
      { name: "zkit_demo_queue_service_queued", type: "gauge", help: "Waiting per service.", labels: ["service"] },
    ]);
  });

  it("reads the object at every scrape: counters follow stats, labelled series come and go", async () => {
    const object = { stats: { requests: 0, workersLost: 0, queued: 0 }, services: new Map([["echo", 2]]) };
    const registry = await createMetricsRegistry(demo, object);
    let families = parseExposition(await registry.metrics());
    expect(sampleValue(families, "zkit_demo_queue_requests_total")).toBe(0);
    expect(sampleValue(families, "zkit_demo_queue_service_queued", { service: "echo" })).toBe(2);
    object.stats.requests = 41;
    object.stats.queued = 3;
    object.services = new Map([
      ["tea", 1],
      ['a "quoted"\nname', 5],
    ]);
    families = parseExposition(await registry.metrics());
    expect(sampleValue(families, "zkit_demo_queue_requests_total")).toBe(41);
    expect(sampleValue(families, "zkit_demo_queue_queued")).toBe(3);
    expect(sampleValue(families, "zkit_demo_queue_ready_workers")).toBe(2);
    expect(sampleValue(families, "zkit_demo_queue_service_queued", { service: "echo" })).toBeUndefined();
    expect(sampleValue(families, "zkit_demo_queue_service_queued", { service: "tea" })).toBe(1);
    expect(sampleValue(families, "zkit_demo_queue_service_queued", { service: 'a "quoted"\nname' })).toBe(5);
    // its own registry: nothing on prom-client's global one, and no default labels
    expect(families.get("zkit_demo_queue_requests_total")!.samples[0]!.labels).toEqual({});
    expect(registry.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
  });

  it("a value that is not a number is served as NaN (a gauge) or 0 (a counter), never a failed scrape", async () => {
    const odd = { stats: { requests: Number.NaN, workersLost: -1, queued: Infinity }, services: new Map<string, number>() };
    const families = parseExposition(await (await createMetricsRegistry(demo, odd)).metrics());
    expect(sampleValue(families, "zkit_demo_queue_requests_total")).toBe(0);
    expect(sampleValue(families, "zkit_demo_queue_workers_lost_total")).toBe(0);
    expect(sampleValue(families, "zkit_demo_queue_queued")).toBeNaN();
  });

  it("every server command has a spec that serves every field of its object's stats, with valid unique names and a HELP each", async () => {
    const dir = tempDir("zkit-cli-metrics-");
    cleanups.push(dir.remove);
    const handler = async (request: Buffer[]): Promise<Buffer[]> => request;
    const objects: Record<string, { readonly stats: object; close(): Promise<unknown> }> = {
      "mdp broker": new MajordomoBroker(),
      "mdp worker": new MajordomoWorker({ endpoint: "tcp://127.0.0.1:5555", service: "echo", handler }),
      titanic: new Titanic({ endpoint: "tcp://127.0.0.1:5555", dir: join(dir.dir, "store") }),
      "spp queue": new SimplePirateQueue({ frontend: ANY, backend: ANY }),
      "spp worker": new SimplePirateWorker({ endpoint: "tcp://127.0.0.1:5556", handler }),
      "ppp queue": new ParanoidPirateQueue({ frontend: ANY, backend: ANY }),
      "ppp worker": new ParanoidPirateWorker({ endpoint: "tcp://127.0.0.1:5556", handler }),
      "clone server": new CloneServer({ port: 0, host: "127.0.0.1" }),
      "bstar server": new BinaryStar({ role: "primary", voter: ANY, local: ANY, remote: "tcp://127.0.0.1:5557", handler }),
      "fl server": new FreelanceServer({ bind: ANY, handler }),
    };
    try {
      const withSpec = commands.filter((c) => c.metrics !== undefined).map((c) => c.path.join(" "));
      const withFlag = commands.filter((c) => "metrics" in c.flags).map((c) => c.path.join(" "));
      expect(withSpec.sort()).toEqual([...SERVERS].sort());
      expect(withFlag.sort()).toEqual([...SERVERS].sort());
      const names = new Set<string>();
      for (const path of SERVERS) {
        const spec = specOf(path);
        expect(spec.prefix).toBe(`zkit_${path.replace(/ /g, "_")}${path === "titanic" ? "_server" : ""}`);
        expect(unservedStats(spec, objects[path]!), `zkit ${path}: stats fields with no metric`).toEqual([]);
        for (const m of metricsCatalog(spec)) {
          expect(m.name).toMatch(/^zkit_[a-z]+_[a-z]+_[a-z0-9_]+$/);
          expect(m.name.endsWith("_total")).toBe(m.type === "counter");
          expect(m.help, m.name).toMatch(/^\S.{8,}\.$/);
          expect(names.has(m.name), m.name).toBe(false);
          names.add(m.name);
        }
      }
    } finally {
      await Promise.all(Object.values(objects).map((o) => o.close()));
    }
  });

  it.each([
    ["127.0.0.1:9100", { host: "127.0.0.1", port: 9100 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    [":9100", { host: "", port: 9100 }],
    ["[::1]:65535", { host: "::1", port: 65535 }],
    ["metrics.example-host.internal:80", { host: "metrics.example-host.internal", port: 80 }],
  ])("parseMetricsAddress(%j)", (text, address) => {
    expect(parseMetricsAddress(text)).toEqual(address);
  });

  it.each([
    ["9100", /^"9100" has no port: write HOST:PORT, e\.g\. 127\.0\.0\.1:9100/],
    ["localhost", /has no port/],
    ["127.0.0.1:99999", /the port must be a number from 0 to 65535, got "99999"/],
    ["127.0.0.1:http", /the port must be a number from 0 to 65535, got "http"/],
    ["127.0.0.1:", /the port must be a number/],
    ["::1:9100", /an IPv6 address goes in brackets, e\.g\. \[::1\]:9100/],
    ["[localhost]:9100", /"\[localhost\]" is not an IPv6 address/],
    ["bad host:9100", /"bad host" is not a host name or address/],
    ["http://127.0.0.1:9100", /is not a host name or address/],
  ])("parseMetricsAddress(%j) throws a UsageError that says what to write", (text, message) => {
    expect(() => parseMetricsAddress(text)).toThrow(UsageError);
    expect(() => parseMetricsAddress(text)).toThrow(message);
  });

  it("the flag is checked when the command line is parsed, named in the message", () => {
    const broker = commands.find((c) => c.path.join(" ") === "mdp broker")!;
    expect(parseCommandLine(broker, ["--metrics", "127.0.0.1:0"]).flags.metrics).toBe("127.0.0.1:0");
    expect(parseCommandLine(broker, []).flags.metrics).toBeUndefined();
    expect(() => parseCommandLine(broker, ["--metrics", "9100"])).toThrow(/^--metrics: "9100" has no port: write HOST:PORT/);
  });
});

describe("the HTTP endpoint (in this process, real sockets)", () => {
  async function serve(registry: Registry, onError?: (err: unknown) => void): Promise<MetricsServer> {
    const server = await startMetricsServer("127.0.0.1:0", registry, onError);
    cleanups.push(() => server.close());
    return server;
  }

  it("GET and HEAD /metrics with prom-client's content type; 404 elsewhere; 405 for other methods", async () => {
    const registry = await createMetricsRegistry(defineMetrics<{ stats: { requests: number } }>()({ prefix: "zkit_demo_server", counters: { requests: "Requests read." } }), {
      stats: { requests: 7 },
    });
    const server = await serve(registry);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const { contentType, families } = await scrape(`${server.url}?name[]=ignored`);
    expect(contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(sampleValue(families, "zkit_demo_server_requests_total")).toBe(7);
    const head = await fetch(server.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(100);
    expect(await head.text()).toBe("");
    const elsewhere = await fetch(server.url.replace(/\/metrics$/, "/"));
    expect([elsewhere.status, await elsewhere.text()]).toEqual([404, "not found: the metrics are at /metrics\n"]);
    const post = await fetch(server.url, { method: "POST", body: "x" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    await post.text();
  });

  it("a collection that fails is a 500 and reported, and the next scrape works", async () => {
    let broken = true;
    const registry = await createMetricsRegistry(
      defineMetrics<{ stats: { requests: number } }>()({
        prefix: "zkit_demo_server",
        counters: { requests: "Requests read." },
        gauges: {
          fragile: {
            help: "Fails while broken.",
            read: () => {
              if (broken) throw new Error("the object is gone");
              return 1;
            },
          },
        },
      }),
      { stats: { requests: 1 } },
    );
    const errors: unknown[] = [];
    const server = await serve(registry, (err) => errors.push(err));
    const res = await fetch(server.url);
    expect([res.status, await res.text()]).toEqual([500, "collecting the metrics failed: the object is gone\n"]);
    expect(errors).toHaveLength(1);
    broken = false;
    expect(sampleValue((await scrape(server.url)).families, "zkit_demo_server_fragile")).toBe(1);
  });

  it("close() closes a scraper's keep-alive connection too and frees the port; twice is fine", async () => {
    const registry = new Registry();
    const server = await startMetricsServer("127.0.0.1:0", registry);
    const port = Number(new URL(server.url).port);
    await scrape(server.url); // fetch keeps this connection open for the next request
    await server.close();
    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
    expect(await portIsFree(port)).toBe(true);
  });

  it("a port in use is a UsageError that says what to do", async () => {
    const port = await occupiedPort();
    const attempt = startMetricsServer(`127.0.0.1:${port}`, new Registry());
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(attempt).rejects.toThrow(`--metrics 127.0.0.1:${port}: address already in use; stop what listens there, or pick another port (127.0.0.1:0 takes a free one)`);
  });
});

// ---------------------------------------------------------------------------

describe("zkit servers with --metrics (real processes, scraped over HTTP)", () => {
  beforeAll(() => {
    try {
      execFileSync(PYTHON, ["-c", "import prometheus_client.parser"], { stdio: "pipe" });
    } catch {
      throw new Error(
        `the metrics test scrapes with the Prometheus project's parser: install Debian's python3-prometheus-client for ${PYTHON} ` +
          "(apt-get install python3-prometheus-client; `pnpm test` does it when run as root), or set ZKIT_TEST_PYTHON to a python3 that has it",
      );
    }
  });

  it("mdp broker and worker: after N requests the broker's zkit_mdp_broker_requests_total is N; the text parses, with Prometheus' own parser too", async () => {
    const N = 7;
    const broker = await withMetricsFlag("mdp", "broker", "--bind", ANY, ...FAST);
    const endpoint = (await broker.child.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const worker = await withMetricsFlag("mdp", "worker", "--connect", endpoint, "--service", "echo", ...FAST);
    await worker.child.waitFor(/^broker at \S+ answered: serving echo$/m, START_MS);

    const request = zkit("mdp", "request", "--connect", endpoint, "--service", "echo", "--requests", String(N), "hello");
    expect(await exitCode(request), request.describe()).toBe(0);

    const { contentType, text, families } = await scrape(broker.url);
    expect(contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(sampleValue(families, "zkit_mdp_broker_requests_total")).toBe(N);
    expect(sampleValue(families, "zkit_mdp_broker_replies_total")).toBe(N);
    expect(sampleValue(families, "zkit_mdp_broker_workers_ready_total")).toBe(1);
    expect(sampleValue(families, "zkit_mdp_broker_malformed_total")).toBe(0);
    expect(sampleValue(families, "zkit_mdp_broker_workers")).toBe(1);
    expect(sampleValue(families, "zkit_mdp_broker_services")).toBe(1);
    expect(sampleValue(families, "zkit_mdp_broker_service_workers", { service: "echo" })).toBe(1);
    expect(sampleValue(families, "zkit_mdp_broker_ready_workers")).toBe(1);
    expect(sampleValue(families, "zkit_mdp_broker_queued")).toBe(0);
    expectServes(families, specOf("mdp broker"));

    // the same body through a scraper zkit did not write
    const python = JSON.parse(execFileSync(PYTHON, [SCRAPER, broker.url], { encoding: "utf8", timeout: WAIT_MS })) as {
      contentType: string;
      families: { name: string; type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }[];
    };
    expect(python.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const requests = python.families.find((f) => f.name === "zkit_mdp_broker_requests")!; // the parser drops a counter's _total
    expect(requests).toMatchObject({ type: "counter", help: specOf("mdp broker").counters.requests });
    expect(requests.samples.find((s) => s.name === "zkit_mdp_broker_requests_total")?.value).toBe(N);
    const served = new Set(python.families.flatMap((f) => f.samples.map((s) => s.name)));
    for (const m of metricsCatalog(specOf("mdp broker"))) expect(served.has(m.name), m.name).toBe(true);
    expect(python.families.length).toBe([...parseExposition(text).keys()].length);

    const w = await scrapeUntil(worker.url, "zkit_mdp_worker_replies_total", N);
    expect(sampleValue(w, "zkit_mdp_worker_requests_total")).toBe(N);
    expect(sampleValue(w, "zkit_mdp_worker_in_hand")).toBe(0);
    expectServes(w, specOf("mdp worker"));
  });

  it("spp queue and worker: their counters follow the Lazy Pirate client's requests", async () => {
    const queue = await withMetricsFlag("spp", "queue", "--frontend", ANY, "--backend", ANY);
    const frontend = (await queue.child.waitFor(/^listening on (\S+) \(frontend\)$/m, START_MS))[1]!;
    const backend = (await queue.child.waitFor(/^listening on (\S+) \(backend\)$/m, START_MS))[1]!;
    const worker = await withMetricsFlag("spp", "worker", "--connect", backend);
    await scrapeUntil(queue.url, "zkit_spp_queue_ready_workers", 1);
    const client = zkit("lpp", "client", "--connect", frontend, "--requests", "3", "--timeout-ms", "10000");
    expect(await exitCode(client), client.describe()).toBe(0);
    const q = await scrapeUntil(queue.url, "zkit_spp_queue_replies_total", 3);
    expect(sampleValue(q, "zkit_spp_queue_requests_total")).toBe(3);
    expectServes(q, specOf("spp queue"));
    const w = await scrapeUntil(worker.url, "zkit_spp_worker_replies_total", 3);
    expect(sampleValue(w, "zkit_spp_worker_requests_total")).toBe(3);
    expectServes(w, specOf("spp worker"));
  });

  it("ppp queue and worker: counters, the queue's workers and the worker's connection", async () => {
    const queue = await withMetricsFlag("ppp", "queue", "--frontend", ANY, "--backend", ANY, ...FAST);
    const frontend = (await queue.child.waitFor(/^listening on (\S+) \(frontend\)$/m, START_MS))[1]!;
    const backend = (await queue.child.waitFor(/^listening on (\S+) \(backend\)$/m, START_MS))[1]!;
    const worker = await withMetricsFlag("ppp", "worker", "--connect", backend, ...FAST);
    await worker.child.waitFor(/^I: worker ready: the queue at \S+ answered$/m, START_MS);
    const client = zkit("lpp", "client", "--connect", frontend, "--requests", "4", "--timeout-ms", "10000");
    expect(await exitCode(client), client.describe()).toBe(0);
    const q = await scrapeUntil(queue.url, "zkit_ppp_queue_replies_total", 4);
    expect(sampleValue(q, "zkit_ppp_queue_requests_total")).toBe(4);
    expect(sampleValue(q, "zkit_ppp_queue_workers")).toBe(1);
    expectServes(q, specOf("ppp queue"));
    const w = await scrapeUntil(worker.url, "zkit_ppp_worker_replies_total", 4);
    expect(sampleValue(w, "zkit_ppp_worker_connected")).toBe(1);
    expectServes(w, specOf("ppp worker"));
  });

  it("titanic: a request stored, forwarded and closed shows in its counters and gauges", async () => {
    const broker = zkit("mdp", "broker", "--bind", ANY, ...FAST);
    const endpoint = (await broker.waitFor(/^listening on (\S+)$/m, START_MS))[1]!;
    const dir = tempDir("zkit-cli-metrics-");
    cleanups.push(dir.remove);
    const titanic = await withMetricsFlag("titanic", "--connect", endpoint, "--dir", join(dir.dir, "store"), ...FAST, "--dispatch-interval-ms", "100");
    await titanic.child.waitFor(/^titanic ready/m, START_MS);
    zkit("mdp", "worker", "--connect", endpoint, "--service", "echo", ...FAST);
    const client = zkit("titanic", "request", "--connect", endpoint, "--service", "echo", "--poll-ms", "100", "stored");
    expect(await exitCode(client), client.describe()).toBe(0);
    const t = await scrapeUntil(titanic.url, "zkit_titanic_server_closes_total", 1);
    expect(sampleValue(t, "zkit_titanic_server_requests_total")).toBe(1);
    expect(sampleValue(t, "zkit_titanic_server_replies_total")).toBe(1);
    expect(sampleValue(t, "zkit_titanic_server_pending")).toBe(0);
    expect(sampleValue(t, "zkit_titanic_server_stored")).toBe(0);
    expectServes(t, specOf("titanic"));
  });

  it("bstar server: the pair's states, and the active one's counters follow the client's requests", async () => {
    const d = tempDir("zkit-cli-metrics-");
    cleanups.push(d.remove);
    const ep = (name: string): string => `ipc://${d.dir}/${name}`;
    const primary = await withMetricsFlag("bstar", "server", "--primary", "--frontend", ep("p-front"), "--local", ep("p-state"), "--remote", ep("b-state"), ...FAST);
    const backup = await withMetricsFlag("bstar", "server", "--backup", "--frontend", ep("b-front"), "--local", ep("b-state"), "--remote", ep("p-state"), ...FAST);
    await primary.child.waitFor(/^I: active /m, START_MS);
    await backup.child.waitFor(/^I: passive /m, START_MS);
    const client = zkit("bstar", "client", "--servers", `${ep("p-front")},${ep("b-front")}`, "--requests", "5", "--timeout-ms", "5000");
    expect(await exitCode(client), client.describe()).toBe(0);
    const p = await scrapeUntil(primary.url, "zkit_bstar_server_replies_total", 5);
    expect(sampleValue(p, "zkit_bstar_server_votes_accepted_total")).toBe(5);
    expect(sampleValue(p, "zkit_bstar_server_active")).toBe(1);
    expect(sampleValue(p, "zkit_bstar_server_state", { state: "active" })).toBe(1);
    expect(sampleValue(p, "zkit_bstar_server_activations_total")).toBe(1);
    expectServes(p, specOf("bstar server"));
    const b = await scrape(backup.url);
    expect(sampleValue(b.families, "zkit_bstar_server_active")).toBe(0);
    expect(sampleValue(b.families, "zkit_bstar_server_state", { state: "passive" })).toBe(1);
    expect(sampleValue(b.families, "zkit_bstar_server_replies_total")).toBe(0);
    expectServes(b.families, specOf("bstar server"));
  });

  it("fl server: its counters and gauges follow a Freelance client's requests", async () => {
    const server = await withMetricsFlag("fl", "server", "--bind", ANY);
    const endpoint = (await server.child.waitFor(/^serving as (\S+)$/m, START_MS))[1]!;
    const client = zkit("fl", "client", "--connect", endpoint, "--requests", "6", "--inflight", "2", "hello");
    expect(await exitCode(client), client.describe()).toBe(0);
    const s = await scrapeUntil(server.url, "zkit_fl_server_replies_total", 6);
    expect(sampleValue(s, "zkit_fl_server_requests_total")).toBe(6);
    expect(sampleValue(s, "zkit_fl_server_malformed_total")).toBe(0);
    expect(sampleValue(s, "zkit_fl_server_active")).toBe(0);
    expect(sampleValue(s, "zkit_fl_server_queued")).toBe(0);
    expectServes(s, specOf("fl server"));
  });

  it("--help of every server command shows --metrics", async () => {
    const helps = SERVERS.map((s) => zkit(...s.split(" "), "--help"));
    for (const [i, help] of helps.entries()) {
      expect(await exitCode(help)).toBe(0);
      expect(help.stdout(), SERVERS[i]).toMatch(/^ {6}--metrics VALUE +serve counters and gauges for Prometheus at http:\/\/HOST:PORT\/metrics/m);
    }
  });

  it("a bad --metrics value exits 2 with what to write and the usage", async () => {
    const cases: [string[], string][] = [
      [
        ["mdp", "broker", "--metrics", "9100"],
        'zkit mdp broker: --metrics: "9100" has no port: write HOST:PORT, e.g. 127.0.0.1:9100 (this host only), :9100 (every interface) or 127.0.0.1:0 (a free port)',
      ],
      [
        ["ppp", "worker", "--metrics", "127.0.0.1:70000"],
        'zkit ppp worker: --metrics: "127.0.0.1:70000": the port must be a number from 0 to 65535, got "70000"; write HOST:PORT, e.g. 127.0.0.1:9100 (this host only), :9100 (every interface) or 127.0.0.1:0 (a free port)',
      ],
      [
        ["titanic", "--metrics"],
        "zkit titanic: --metrics needs a value: serve counters and gauges for Prometheus at http://HOST:PORT/metrics (e.g. 127.0.0.1:9100; port 0 takes a free one; off by default)",
      ],
    ];
    const children = cases.map(([args]) => zkit(...args));
    for (const [i, child] of children.entries()) {
      expect(await exitCode(child), child.describe()).toBe(2);
      expect(child.stderr().split("\n")[0]).toBe(cases[i]![1]);
      expect(child.stderr()).toContain(`usage: zkit ${cases[i]![0][0] === "titanic" ? "titanic" : cases[i]![0].slice(0, 2).join(" ")} [options]`);
      expect(child.stdout()).toBe("");
    }
  });

  it("a port in use exits 2 on every server command, before it serves anything", async () => {
    const port = await occupiedPort();
    const dir = tempDir("zkit-cli-metrics-");
    cleanups.push(dir.remove);
    const extra: Record<string, string[]> = {
      "mdp broker": ["--bind", ANY],
      titanic: ["--dir", join(dir.dir, "store")],
      "spp queue": ["--frontend", ANY, "--backend", ANY],
      "ppp queue": ["--frontend", ANY, "--backend", ANY],
      "bstar server": ["--primary", "--frontend", ANY, "--local", ANY, "--remote", "tcp://127.0.0.1:1"],
      "fl server": ["--bind", ANY],
    };
    const children = SERVERS.map((s) => zkit(...s.split(" "), ...(extra[s] ?? []), "--metrics", `127.0.0.1:${port}`));
    for (const [i, child] of children.entries()) {
      expect(await exitCode(child), child.describe()).toBe(2);
      expect(child.stderr().split("\n")[0]).toBe(
        `zkit ${SERVERS[i]}: --metrics 127.0.0.1:${port}: address already in use; stop what listens there, or pick another port (127.0.0.1:0 takes a free one)`,
      );
      expect(child.stdout(), SERVERS[i]).not.toMatch(/listening on|READY|answered|titanic ready/);
    }
  });

  it("SIGTERM and SIGINT stop the command with exit 0 and close its HTTP server: the port is free again", async () => {
    const broker = await withMetricsFlag("mdp", "broker", "--bind", ANY, ...FAST);
    const endpoint = (await broker.child.waitFor(/^listening on (tcp:\/\/\S+)$/m, START_MS))[1]!;
    const worker = await withMetricsFlag("mdp", "worker", "--connect", endpoint, ...FAST);
    for (const { child, url } of [broker, worker]) {
      await scrape(url); // a keep-alive connection stays open in fetch's pool
      const port = Number(new URL(url).port);
      expect(await portIsFree(port)).toBe(false);
      child.kill(child === broker.child ? "SIGTERM" : "SIGINT");
      expect(await exitCode(child), child.describe()).toBe(0);
      await expect(fetch(url)).rejects.toThrow();
      expect(await portIsFree(port)).toBe(true);
    }
    expect(broker.child.stdout()).toMatch(/^broker stopped: /m);
    expect(worker.child.stdout()).toMatch(/^worker stopped: /m);
  });
});
