/**
 * Every benchmark module, in the order `pnpm bench` runs them.
 * @module
 */
import type { BenchCase } from "../harness.js";
import { cases as flp } from "./flp.js";
import { cases as bstar } from "./bstar.js";
import { cases as clone } from "./clone.js";
import { cases as mdp } from "./mdp.js";
import { cases as mdpCurve } from "./mdp-curve.js";
import { cases as ppp } from "./ppp.js";
import { cases as proxy } from "./proxy.js";
import { cases as pushPull } from "./push-pull.js";
import { cases as titanic } from "./titanic.js";
import { cases as zloop } from "./zloop.js";
import { cases as zmsgEcho } from "./zmsg-echo.js";

export const allCases: BenchCase[] = [...pushPull, ...zmsgEcho, ...zloop, ...proxy, ...ppp, ...mdp, ...mdpCurve, ...flp, ...bstar, ...titanic, ...clone];
