import { mergeConfig } from "vitest/config";
import { zkitVitestConfig } from "../../vitest.shared.js";

// The tests run the built `zkit` bin with plain node: global-setup.ts builds
// it (and what it imports) first when it is missing or older than its sources.
export default mergeConfig(zkitVitestConfig({ testTimeout: 60_000 }), {
  test: { globalSetup: ["./test/global-setup.ts"] },
});
