import { zkitVitestConfig } from "../../vitest.shared.js";

export default zkitVitestConfig();
