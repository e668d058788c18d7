/**
 * Every benchmark module, in the order `pnpm bench` runs them.
 * @module
 */
import type { BenchCase } from "../harness.js";
import { cases as pushPull } from "./push-pull.js";
import { cases as zmsgEcho } from "./zmsg-echo.js";

export const allCases: BenchCase[] = [...pushPull, ...zmsgEcho];
