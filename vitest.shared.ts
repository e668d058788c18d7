// Shared vitest settings for every package of the workspace.
// - `@zkit/source` resolves workspace packages to their TypeScript sources,
//   so tests run without a prior build.
// - The `forks` pool: zeromq.js aborts a `threads` run when a test leaves a
//   receive pending (see shared/DESIGN.md).
// - A JSON report per package feeds the `N passed, N failed` line of .ci/run.
import { defineConfig } from "vitest/config";

export function zkitVitestConfig(options: { testTimeout?: number } = {}) {
  const conditions = ["@zkit/source", "module", "node", "import", "default"];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@zkit/source"] } },
    test: {
      pool: "forks",
      include: ["test/**/*.test.ts"],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 20_000,
      teardownTimeout: 10_000,
      reporters: ["default", "json"],
      outputFile: { json: "./.vitest-results/results.json" },
    },
  });
}
