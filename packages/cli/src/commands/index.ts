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
// biome-ignore lint/suspicious/noExplicitAny: a list of commands, each with its own flag spec
export const commands: Command<any>[] = [...pirateCommands, ...mdpCommands, ...titanicCommands, ...flCommands, ...bstarCommands, ...cloneCommands];
