/**
 * The registry of open sockets and {@link shutdown} (CZMQ `zsys_shutdown`).
 * @module
 */

interface Closable {
  close(options?: { lingerMs?: number }): void;
}

const open = new Set<Closable>();

/** @internal Called by ZSocket on creation. */
export function register(sock: Closable): void {
  open.add(sock);
}

/** @internal Called by ZSocket on close. */
export function unregister(sock: Closable): void {
  open.delete(sock);
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
