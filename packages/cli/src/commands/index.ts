/**
 * Every `zkit` subcommand, in the order `zkit --help` lists them.
 * @module
 */
import type { Command } from "../command.js";
import { flCommands } from "./fl.js";
import { bstarCommands } from "./bstar.js";
import { mdpCommands } from "./mdp.js";
import { pirateCommands } from "./pirate.js";
import { titanicCommands } from "./titanic.js";
import { cloneCommands } from "./clone.js";

/** Every `zkit` subcommand. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: Command<any>[] = [...pirateCommands, ...mdpCommands, ...titanicCommands, ...flCommands, ...bstarCommands, ...cloneCommands];
