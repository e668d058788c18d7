/**
 * `@zkit/zthread`: CZMQ's zthread and zactor for Node.js on `worker_threads`.
 * {@link zthread.fork} runs a module in a Worker joined to its owner by an
 * inproc PAIR pipe; {@link ZActor} adds CZMQ's actor contract (a ready
 * signal on start, `$TERM` and a final signal on destroy), in this thread or
 * in a Worker. {@link signal} and {@link waitSignal} are CZMQ's
 * `zsock_signal` and `zsock_wait`.
 *
 * @packageDocumentation
 */
export { zthread, type AttachedFn, type DetachedFn, type ThreadOptions } from "./zthread.js";
export { ZThread, type ForkedThread, type StopOptions, type ZThreadEvents } from "./thread.js";
export { runningThreadCount } from "./worker-runner.js";
export { ZACTOR_FORK_START_TIMEOUT_MS, ZActor, type ActorFn, type ActorForkOptions, type ActorOptions, type DestroyOptions, type ZActorEvents } from "./zactor.js";
export { signal, waitSignal, type WaitSignalOptions } from "./signal.js";
export { ThreadError } from "./errors.js";
