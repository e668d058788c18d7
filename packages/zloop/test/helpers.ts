// Test helpers for @zkit/zloop: loops destroyed after each test, numbered
// messages and a check that none was lost or reordered, and its fixtures
// (test/fixtures/<name>.ts) as real child processes. Deadlines and inproc
// names come from @zkit/testkit.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shutdown } from "@zkit/core";
import { startNode, type Child } from "@zkit/testkit";
import { ZLoop } from "@zkit/zloop";

const loops: ZLoop[] = [];

/** A new ZLoop that {@link destroyLoops} destroys after the test. */
export function newLoop(...args: ConstructorParameters<typeof ZLoop>): ZLoop {
  const loop = new ZLoop(...args);
  loops.push(loop);
  return loop;
}

/** Destroys every loop {@link newLoop} made and closes every socket. Call in afterEach. */
export function destroyLoops(): void {
  for (const l of loops.splice(0)) l.destroy();
  shutdown();
}

/** The message `i` as a frame, and back. */
export const frame = (i: number): Buffer => Buffer.from(String(i));
export const num = (msg: Buffer[]): number => Number(msg[0]!.toString());

/** Asserts `seq` is exactly 0..n-1 and says where it is not. */
export function checkSequence(seq: number[], n: number): string | undefined {
  if (seq.length !== n) {
    const seen = new Set(seq);
    let missing = -1;
    for (let i = 0; i < n; i++)
      if (!seen.has(i)) {
        missing = i;
        break;
      }
    return `got ${seq.length} of ${n} messages (first missing: ${missing})`;
  }
  for (let i = 0; i < n; i++) if (seq[i] !== i) return `out of order at position ${i}: got ${seq[i]}`;
  return undefined;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** Runs `test/fixtures/<name>.ts` in a new Node process, from source, cwd the package. Stop it with testkit's `stopAll`. */
export function runFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  return startNode(join(here, "fixtures", `${name}.ts`), args, { cwd: join(here, ".."), env, name });
}
