/**
 * The lifecycle contract of `@zkit/reliability` (every server, worker and
 * client keeps it), checked the same way in every package's tests.
 * @module
 */
import { within } from "./wait.js";

/** What {@link checkLifecycle} needs: a `Lifecycle` of `@zkit/reliability` fits. */
export interface LifecycleLike {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly done: Promise<void>;
  readonly running: boolean;
  readonly closed: boolean;
}

/**
 * Checks the contract on an object that has started: it is running;
 * `start()` again returns the same promise; `close()` twice is one close
 * (the same promise) that resolves within `ms`; `done` resolves; it is then
 * closed and not running; `start()` after `close()` rejects with
 * `ZKIT_CLOSED`. Closes the object.
 * @throws an `Error` naming the broken promise
 */
export async function checkLifecycle(thing: LifecycleLike, ms = 10_000): Promise<void> {
  const broken = (what: string): never => {
    throw new Error(`lifecycle contract broken: ${what}`);
  };
  if (!thing.running || thing.closed) broken(`a started object must be running and not closed (running ${thing.running}, closed ${thing.closed})`);
  const start = thing.start();
  if (thing.start() !== start) broken("start() again must return the same promise");
  await within(start, ms, "start() again");
  const close = thing.close();
  if (thing.close() !== close) broken("close() again must return the same promise");
  await within(close, ms, "close()");
  await within(thing.done, ms, "done after close()");
  if (thing.running || !thing.closed) broken(`a closed object must be closed and not running (running ${thing.running}, closed ${thing.closed})`);
  const late = await thing.start().then(
    () => undefined,
    (err: unknown) => err,
  );
  if ((late as { code?: unknown } | undefined)?.code !== "ZKIT_CLOSED")
    broken(`start() after close() must reject with ZKIT_CLOSED, got ${late === undefined ? "a resolved start" : String(late)}`);
}
