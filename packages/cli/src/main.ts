#!/usr/bin/env node
/**
 * The `zkit` command: runs the servers and clients of zkit's patterns.
 * `zkit <pattern> <role> [options]`, `--help` on each.
 * @module
 */
import { runZkit } from "./run.js";

process.exitCode = await runZkit(process.argv.slice(2));
