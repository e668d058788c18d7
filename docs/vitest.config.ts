// The browser check of the site (test/site.test.ts): it builds the site first,
// so its hooks and tests get minutes, not seconds. A JSON report feeds the
// `N passed, N failed` line of .ci/run, as every package's does.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 5 * 60_000,
    hookTimeout: 25 * 60_000,
    teardownTimeout: 60_000,
    reporters: ["default", "json"],
    outputFile: { json: "./.vitest-results/results.json" },
  },
});
