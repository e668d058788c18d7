/**
 * `@zkit/testkit`: what zkit's tests share (private, never published).
 * Deadlines instead of sleeps, real child processes that never outlive their
 * test, Python peers for interop, temp dirs and inproc names.
 * @module
 */
export { within, waitFor, inprocName } from "./wait.js";
export { startProcess, startNode, stopAll, runningChildren, count, type Child, type Exit, type StartOptions } from "./process.js";
export { PYTHON, requirePyzmq, startPython } from "./python.js";
export { tempDir } from "./temp.js";
