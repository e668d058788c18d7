/**
 * What a test opened, closed after it: {@link track} registers a client,
 * server or socket as it is made, {@link closeTracked} in `afterEach`
 * closes them all.
 * @module
 */

const closers: (() => unknown)[] = [];

/** Registers `thing` for {@link closeTracked} and returns it. */
export function track<T extends { close(): unknown }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

/**
 * Closes everything tracked since the last call, newest first (clients
 * before the servers they talk to), awaiting each. A close that throws or
 * rejects is ignored: closing what already failed is fine.
 */
export async function closeTracked(): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      // closing what already failed is fine
    }
  }
}
