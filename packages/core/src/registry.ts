/**
 * The registry of open sockets and {@link shutdown} (CZMQ `zsys_shutdown`).
 * @module
 */

interface Closable {
  close(): void;
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

/**
 * Closes every zkit socket still open in this thread (CZMQ `zsys_shutdown`).
 * Safe to call more than once.
 * @returns how many sockets it closed
 */
export function shutdown(): number {
  const all = [...open];
  for (const sock of all) sock.close();
  return all.length;
}
