/**
 * The registry of open sockets and {@link shutdown} (CZMQ `zsys_shutdown`).
 * @module
 */

interface Closable {
  close(options?: { lingerMs?: number }): void;
}

const open = new Set<Closable>();
const closeHooks = new WeakMap<Closable, (() => void)[]>();

/** @internal Called by ZSocket on creation. */
export function register(sock: Closable): void {
  open.add(sock);
}

/** @internal Called by ZSocket on close, before the socket closes; runs its close hooks. */
export function unregister(sock: Closable): void {
  open.delete(sock);
  const hooks = closeHooks.get(sock);
  if (hooks === undefined) return;
  closeHooks.delete(sock);
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // a hook must not stop a close
    }
  }
}

/**
 * @internal Calls `hook` once when `sock` starts closing (what a monitor
 * needs to know: its socket may never report its end, see ZMonitor).
 */
export function onClose(sock: Closable, hook: () => void): void {
  const hooks = closeHooks.get(sock);
  if (hooks === undefined) closeHooks.set(sock, [hook]);
  else hooks.push(hook);
}

/** Number of zkit sockets currently open in this thread (tests use it to check for leaks). */
export function openSocketCount(): number {
  return open.size;
}

/** Options of {@link shutdown}. */
export interface ShutdownOptions {
  /**
   * Overrides every socket's linger: 0 drops whatever is still queued, so the
   * process can end at once. @defaultValue each socket's own linger
   */
  lingerMs?: number;
}

/**
 * Closes every zkit socket still open in this thread (CZMQ `zsys_shutdown`).
 * Safe to call more than once.
 * @returns how many sockets it closed
 */
export function shutdown(options: ShutdownOptions = {}): number {
  const all = [...open];
  for (const sock of all) sock.close(options.lingerMs === undefined ? undefined : { lingerMs: options.lingerMs });
  return all.length;
}
