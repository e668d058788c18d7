// Test helpers for @zkit/zthread: fixture URLs, child processes that run
// TypeScript fixtures from source, and tracking of what a test started so
// that afterEach can end it. Deadlines and inproc names come from
// @zkit/testkit.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shutdown } from "@zkit/core";
import { startNode, waitFor, type Child } from "@zkit/testkit";
import { runningThreadCount, type ZActor, type ZThread } from "@zkit/zthread";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The URL of `test/fixtures/<name>.ts`. */
export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}.ts`, import.meta.url);
}

/** The message as strings. */
export function strs(msg: Buffer[]): string[] {
  return msg.map((f) => f.toString());
}

const actors: ZActor[] = [];
const threads: ZThread[] = [];

/** Registers an actor for {@link cleanUp}. */
export function track<T extends ZActor | ZThread>(x: T): T {
  if ("destroy" in x) actors.push(x);
  else threads.push(x);
  return x;
}

/**
 * For afterEach: destroys tracked actors, stops tracked threads (errors were
 * the tests' business), closes every socket, and waits until no thread
 * started by zthread is left.
 */
export async function cleanUp(): Promise<void> {
  await Promise.allSettled([...actors.splice(0).map((a) => a.destroy()), ...threads.splice(0).map((t) => t.stop())]);
  shutdown();
  await waitFor(() => runningThreadCount() === 0, 15_000, "every zthread thread to end");
}

/** Runs `test/fixtures/<name>.ts` in a plain Node process, from source, cwd the package dir. Stop it with testkit's `stopAll`. */
export function runFixture(name: string, args: string[] = []): Child {
  return startNode(join(here, "fixtures", `${name}.ts`), args, { cwd: join(here, ".."), name });
}
