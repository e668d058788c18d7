/**
 * `@zkit/cli`: the `zkit` command, which runs the servers and clients of
 * zkit's patterns (`zkit mdp broker`, `zkit ppp worker`, ...), and the pieces
 * to run it from code or add a command of your own.
 *
 * @packageDocumentation
 */
export { runZkit, overview, version, GRACE_MS } from "./run.js";
export { defineCommand, UsageError, type Command, type CommandContext, type FlagSpec, type FlagValues } from "./command.js";
export { editDistance, nearest, parseCommandLine, usage } from "./parse.js";
export { commands } from "./commands/index.js";
export { frameDumper, traceOption } from "./trace.js";
export {
  METRICS_FLAG,
  createMetricsRegistry,
  defaultMetricsCatalog,
  defineMetrics,
  metricsCatalog,
  parseMetricsAddress,
  startMetricsServer,
  unservedStats,
  withMetrics,
  type AnyMetricsSpec,
  type GaugeSpec,
  type LabelledValue,
  type MetricInfo,
  type MetricsAddress,
  type MetricsServer,
  type MetricsSpec,
  type StatKey,
} from "./metrics.js";
