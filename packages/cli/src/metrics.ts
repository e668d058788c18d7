/**
 * `--metrics HOST:PORT`: a server command's counters and gauges, served over
 * HTTP at `/metrics` in the Prometheus text format with `prom-client`.
 *
 * A command names its object, a prefix and its gauges in a
 * {@link MetricsSpec}; every field of the object's `stats` becomes a counter
 * `<prefix>_<field in snake_case>_total` (or a gauge, for the few fields that
 * are gauges), read when Prometheus scrapes, never on a timer. The registry
 * is the process's own (not prom-client's global one), has no default labels,
 * and also holds prom-client's default process metrics.
 *
 * `prom-client` is loaded only when `--metrics` is given: the other commands
 * start without it.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { UsageError } from "./command.js";

/** One sample of a labelled gauge. */
export interface LabelledValue {
  /** The labels, e.g. `{ service: "echo" }`. */
  labels: Record<string, string>;
  /** The value now. */
  value: number;
}

/** A gauge read from the live object on every scrape (through its getters). */
export interface GaugeSpec<O> {
  /** What it measures, the metric's HELP text. */
  help: string;
  /** The names of its labels, when it has one sample per label set (e.g. `["service"]`). */
  labelNames?: readonly string[];
  /** The value now; with `labelNames`, one sample per label set. */
  read(object: O): number | readonly LabelledValue[];
}

/** The names of the fields of a server object's `stats` (its counters and gauges). */
export type StatKey<O extends { readonly stats: object }> = keyof O["stats"] & string;

/**
 * What a server command serves on `/metrics`.
 *
 * @typeParam O - the served object (a broker, a queue, a worker...)
 * @typeParam G - the fields of its `stats` that are gauges (the present,
 *   e.g. the broker's `workers`); every other field is a counter
 */
export interface MetricsSpec<O extends { readonly stats: object }, G extends StatKey<O> = never> {
  /** The name of every metric starts with it: `zkit_<package>_<role>`, e.g. `zkit_mdp_broker`. */
  prefix: string;
  /** Every counter field of `stats` with its HELP text: `<prefix>_<snake_case>_total`. */
  counters: { readonly [K in Exclude<StatKey<O>, G>]: string };
  /** The gauge fields of `stats` with their HELP texts: `<prefix>_<snake_case>`. */
  statGauges?: { readonly [K in G]: string };
  /** More gauges, read from the object's getters: `<prefix>_<name>`. */
  gauges?: Readonly<Record<string, GaugeSpec<O>>>;
}

/**
 * A {@link MetricsSpec} with its object's type erased: what the docs and
 * `zkit`'s command table see.
 */
export interface AnyMetricsSpec {
  prefix: string;
  counters: Readonly<Record<string, string>>;
  statGauges?: Readonly<Record<string, string>>;
  gauges?: Readonly<Record<string, { help: string; labelNames?: readonly string[] }>>;
}

/**
 * Defines the metrics of a server object of type `O`. Curried so that `O`
 * is given and the gauge fields are inferred:
 * `defineMetrics<MajordomoBroker>()({ prefix, counters, statGauges, gauges })`.
 * TypeScript then requires a HELP text for every field of `O["stats"]`.
 */
export function defineMetrics<O extends { readonly stats: object }>() {
  return <G extends StatKey<O> = never>(spec: MetricsSpec<O, G>): MetricsSpec<O, G> => spec;
}

/** One metric as served: its name, type, HELP text and label names. */
export interface MetricInfo {
  name: string;
  /** A command's own metrics are counters and gauges; the process's default ones also include histograms. */
  type: "counter" | "gauge" | "histogram" | "summary";
  help: string;
  labels: readonly string[];
}

/** `workersExpired` -> `workers_expired`. */
function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toLowerCase();
}

/** Every metric a spec serves (without the process's default metrics), in the order they are served. */
export function metricsCatalog(spec: AnyMetricsSpec): MetricInfo[] {
  const out: MetricInfo[] = [];
  for (const [field, help] of Object.entries(spec.counters)) out.push({ name: `${spec.prefix}_${snakeCase(field)}_total`, type: "counter", help, labels: [] });
  for (const [field, help] of Object.entries(spec.statGauges ?? {})) out.push({ name: `${spec.prefix}_${snakeCase(field)}`, type: "gauge", help, labels: [] });
  for (const [name, g] of Object.entries(spec.gauges ?? {})) out.push({ name: `${spec.prefix}_${name}`, type: "gauge", help: g.help, labels: g.labelNames ?? [] });
  return out;
}

/**
 * The fields of `object.stats` that `spec` does not serve (empty when it
 * serves them all): a field a package added after the spec was written.
 */
export function unservedStats(spec: AnyMetricsSpec, object: { readonly stats: object }): string[] {
  const served = new Set([...Object.keys(spec.counters), ...Object.keys(spec.statGauges ?? {})]);
  return Object.keys(object.stats).filter((k) => !served.has(k));
}

/** A number a metric may carry: a finite number, else NaN (never a crash). */
function finite(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : typeof value === "boolean" ? Number(value) : NaN;
}

/**
 * A new registry (not prom-client's global one, no default labels) with
 * prom-client's default process metrics and the metrics of `spec`, read
 * from `object` at every scrape.
 */
export async function createMetricsRegistry<O extends { readonly stats: object }, G extends StatKey<O>>(spec: MetricsSpec<O, G>, object: O): Promise<Registry> {
  const prom = await import("prom-client");
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const stat = (field: string): number => finite((object.stats as Record<string, unknown>)[field]);
  for (const [field, help] of Object.entries<string>(spec.counters)) {
    new prom.Counter({
      name: `${spec.prefix}_${snakeCase(field)}_total`,
      help,
      registers: [registry],
      // stats are totals since the object started: the counter is set to them
      collect() {
        const value = stat(field);
        this.reset();
        if (value > 0) this.inc(value);
      },
    });
  }
  for (const [field, help] of Object.entries<string>(spec.statGauges ?? {})) {
    new prom.Gauge({
      name: `${spec.prefix}_${snakeCase(field)}`,
      help,
      registers: [registry],
      collect() {
        this.set(stat(field));
      },
    });
  }
  for (const [name, g] of Object.entries(spec.gauges ?? {})) {
    new prom.Gauge({
      name: `${spec.prefix}_${name}`,
      help: g.help,
      labelNames: g.labelNames ?? [],
      registers: [registry],
      collect() {
        const value = g.read(object);
        if (typeof value === "number") {
          this.set(finite(value));
          return;
        }
        // one sample per label set now: a set gone since the last scrape is gone
        this.reset();
        for (const sample of value) this.set(sample.labels, finite(sample.value));
      },
    });
  }
  return registry;
}

/**
 * prom-client's default process metrics (`process_*`, `nodejs_*`) as
 * `--metrics` serves them beside a command's own, for the docs. Which ones
 * there are depends on the platform (some are Linux only).
 */
export async function defaultMetricsCatalog(): Promise<MetricInfo[]> {
  const prom = await import("prom-client");
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  return metrics.map((m) => ({ name: m.name, type: String(m.type) as MetricInfo["type"], help: m.help, labels: [...new Set(m.values.flatMap((v) => Object.keys(v.labels)))] }));
}

/** A `--metrics` value, checked. */
export interface MetricsAddress {
  /** The host or address to listen on; `""` for every interface. */
  host: string;
  /** The port; 0 takes a free one. */
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/**
 * Parses a `--metrics` value: `HOST:PORT` (`127.0.0.1:9100`,
 * `localhost:9100`), `[IPv6]:PORT` (`[::1]:9100`) or `:PORT` (every
 * interface). PORT is 0 to 65535; 0 takes a free one.
 * @throws UsageError that says what to write
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const example = "write HOST:PORT, e.g. 127.0.0.1:9100 (this host only), :9100 (every interface) or 127.0.0.1:0 (a free port)";
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new UsageError(`"${text}" has no port: ${example}`);
  let host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`"${text}": the port must be a number from 0 to 65535, got "${port}"; ${example}`);
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(":")) throw new UsageError(`"${text}": "[${host}]" is not an IPv6 address; ${example}`);
  } else if (host !== "" && !HOSTNAME.test(host)) {
    const hint = host.includes(":") ? "an IPv6 address goes in brackets, e.g. [::1]:9100" : example;
    throw new UsageError(`"${text}": "${host}" is not a host name or address; ${hint}`);
  }
  return { host, port: Number(port) };
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where to scrape, e.g. `http://127.0.0.1:9100/metrics` (the real port). */
  readonly url: string;
  /** Stops listening and closes every connection (a scraper's keep-alive too). */
  close(): Promise<void>;
}

/** What a listen error means for the `--metrics` value, or undefined when it is not about the value. */
function listenProblem(err: NodeJS.ErrnoException, text: string, address: MetricsAddress): string | undefined {
  const free = `${address.host.includes(":") ? `[${address.host}]` : address.host}:0`;
  switch (err.code) {
    case "EADDRINUSE":
      return `--metrics ${text}: address already in use; stop what listens there, or pick another port (${free} takes a free one)`;
    case "EACCES":
      return `--metrics ${text}: permission denied to listen on port ${address.port}; pick a port above 1023 (${free} takes a free one)`;
    case "EADDRNOTAVAIL":
      return `--metrics ${text}: ${address.host} is not an address of this machine; use 127.0.0.1 (this host only), 0.0.0.0 (every interface) or one of its addresses`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return `--metrics ${text}: cannot resolve the host "${address.host}"; use an address such as 127.0.0.1`;
    default:
      return undefined;
  }
}

/**
 * Serves `registry` at `http://HOST:PORT/metrics` (GET or HEAD, the content
 * type from prom-client); any other path is 404, any other method 405. A
 * scrape whose collection fails is answered 500 and reported to `onError`.
 *
 * @param text - the `--metrics` value, e.g. `"127.0.0.1:0"`
 * @throws UsageError when the value is bad or nothing can listen there (the
 *   port is in use, the address is not this machine's...)
 */
export async function startMetricsServer(text: string, registry: Registry, onError: (err: unknown) => void = () => {}): Promise<MetricsServer> {
  const address = parseMetricsAddress(text);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed: GET /metrics\n");
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (err) {
      onError(err);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`collecting the metrics failed: ${(err as Error)?.message ?? String(err)}\n`);
      return;
    }
    res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      onError(err);
      res.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host === "" ? undefined : address.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    server.close();
    const problem = listenProblem(err as NodeJS.ErrnoException, text, address);
    if (problem !== undefined) throw new UsageError(problem);
    throw err;
  }
  server.on("error", onError);
  const bound = server.address();
  const where = typeof bound === "object" && bound !== null ? bound : { address: address.host, port: address.port };
  const host = where.address.includes(":") ? `[${where.address}]` : where.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${where.port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The `--metrics` flag of every server command (off unless given). */
export const METRICS_FLAG = {
  type: "string",
  help: "serve counters and gauges for Prometheus at http://HOST:PORT/metrics (e.g. 127.0.0.1:9100; port 0 takes a free one; off by default)",
  check: parseMetricsAddress,
} as const;

/**
 * Runs `body` (the command serving `object`) with `--metrics` served when the
 * flag was given: listens first (a port in use is a usage error before
 * anything else starts), prints `I: metrics on <url>`, and closes the HTTP
 * server once `body` settles, however it ends.
 *
 * @param ctx - the command's context: its `metrics` flag, `out` and `err`
 * @param spec - what to serve
 * @param object - the server the metrics read
 * @param body - runs the server until it stops
 */
export async function withMetrics<O extends { readonly stats: object }, G extends StatKey<O>, T>(
  ctx: { flags: { metrics?: string | undefined }; out(line: string): void; err(line: string): void },
  spec: MetricsSpec<O, G>,
  object: O,
  body: () => Promise<T>,
): Promise<T> {
  const text = ctx.flags.metrics;
  if (text === undefined) return body();
  const registry = await createMetricsRegistry(spec, object);
  let reported = false;
  const server = await startMetricsServer(text, registry, (err) => {
    // once: a scraper retrying every few seconds must not flood the log
    if (!reported) ctx.err(`W: metrics: ${(err as Error)?.message ?? String(err)}`);
    reported = true;
  });
  ctx.out(`I: metrics on ${server.url}`);
  try {
    return await body();
  } finally {
    await server.close();
  }
}
