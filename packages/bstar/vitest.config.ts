import { zkitVitestConfig } from "../../vitest.shared.js";

export default zkitVitestConfig({ testTimeout: 60_000 });
