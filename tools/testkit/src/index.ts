/**
 * `@zkit/testkit`: what zkit's tests share (private, never published).
 * Deadlines instead of sleeps, real child processes that never outlive their
 * test, Python peers for interop (those several packages share in
 * `peers/`), temp dirs, inproc names, a minimal Lazy Pirate client, a list
 * of what to close after each test, and a real network to partition
 * (Linux network namespaces), and the security matrix of the fault tests
 * (`ZKIT_TEST_SECURITY`).
 * @module
 */
export { within, waitFor, inprocName } from "./wait.js";
export { startProcess, startNode, stopAll, runningChildren, count, type Child, type Exit, type StartOptions } from "./process.js";
export { PYTHON, peer, requirePyzmq, startPython } from "./python.js";
export { concurrentEcho, frames, lazyRequest, text, type RequestSocket } from "./request.js";
export { tempDir } from "./temp.js";
export { TRANSPORTS, bindEndpoint, removeTempDirs, type Transport } from "./transports.js";
export { closeTracked, track } from "./track.js";
export { checkLifecycle, type LifecycleLike } from "./lifecycle.js";
export {
  SECURITY_MODES,
  matrixSecurity,
  startTestAuth,
  testSecurity,
  testSecurityFromEnv,
  type KeyPair,
  type SecurityKit,
  type SecurityMode,
  type TestSecurity,
} from "./security.js";
export { NetLab, namespacesWithPrefix, netnsSupport, type Impairment, type LabHost } from "./netns.js";
