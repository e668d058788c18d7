// The release check builds and packs every package and installs the tarballs
// with npm, so its hooks get minutes. A JSON report feeds the
// `N passed, N failed` line of .ci/run, as every package's does.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 15 * 60_000,
    reporters: ["default", "json"],
    outputFile: { json: "./.vitest-results/results.json" },
  },
});
