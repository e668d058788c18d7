// zthread.fork and zthread.new: a module in a Worker, joined by an inproc
// PAIR pipe (or detached); args in, messages both ways, the ends of the
// pipe, errors from the child, and stop().
//
//   owner                          Worker (bootstrap + fixture)
//   zthread.fork(url, args) ─────> import(url); PAIR >inproc://…
//   pipe.send / receive   <──────> default(pipe, args)
//   pipe.close() ── port ───────> child's pipe closes; for-await ends
//   done settles <────────────── function over; shutdown(); thread ends
import { threadId } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, InvalidArgumentError, TimeoutError, ZSocket, openSocketCount } from "@zkit/core";
import { ThreadError, ZThread, runningThreadCount, zthread } from "@zkit/zthread";
import { inprocName, within } from "@zkit/testkit";
import { cleanUp, fixture, strs, track } from "./helpers.js";

afterEach(cleanUp);

describe("zthread.fork", () => {
  it("runs the module in another thread with the args, and echoes over the pipe", async () => {
    const args = { text: "héllo", n: 42, list: [1, 2, 3], nested: { ok: true } };
    const thread = track(await zthread.fork(fixture("echo"), args));
    expect(thread).toBeInstanceOf(ZThread);
    expect(thread.threadId).not.toBe(threadId);
    expect(thread.module).toBe(fixture("echo").href);
    const [tag, json] = strs(await within(thread.pipe.receive(), 15_000, "args echo"));
    expect(tag).toBe("args");
    expect(JSON.parse(json!)).toEqual(args);
    await thread.pipe.send(["one", Buffer.from([0, 1, 2]), ""]);
    const echoed = await within(thread.pipe.receive(), 5_000, "echo");
    expect(echoed.map((f) => [...f])).toEqual([[..."one"].map((c) => c.charCodeAt(0)), [0, 1, 2], []]);
    expect(thread.running).toBe(true);
  });

  it("carries many messages both ways in order", async () => {
    const thread = track(await zthread.fork(fixture("echo"), null));
    await within(thread.pipe.receive(), 15_000, "args echo");
    const count = 5_000;
    const received = (async () => {
      for (let i = 0; i < count; i++) {
        const [a, b] = strs(await thread.pipe.receive());
        if (a !== "seq" || b !== String(i)) throw new Error(`message ${i} came as ${a} ${b}`);
      }
    })();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) sends.push(thread.pipe.send(["seq", String(i)]));
    await within(Promise.all([...sends, received]), 15_000, `${count} echoes`);
  });

  it("closing the owner's pipe closes the child's end: its for-await ends and the thread ends", async () => {
    const thread = track(await zthread.fork(fixture("echo"), 1));
    await within(thread.pipe.receive(), 15_000, "args echo");
    thread.pipe.close();
    await within(thread.done, 10_000, "thread end");
    expect(thread.running).toBe(false);
    expect(runningThreadCount()).toBe(0);
  });

  it("the owner's pipe closes itself once the child has ended and everything it sent was read", async () => {
    const thread = track(await zthread.fork(fixture("send-and-return"), { count: 50 }));
    const got: string[] = [];
    await within(
      (async () => {
        for await (const msg of thread.pipe) got.push(strs(msg)[1]!);
      })(),
      15_000,
      "the owner's for-await to end",
    );
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(thread.pipe.closed).toBe(true);
    await thread.done;
    await expect(thread.pipe.receive()).rejects.toBeInstanceOf(ClosedError);
  });

  it("a ['$TERM'] message the child understands ends it gracefully", async () => {
    const thread = track(await zthread.fork(fixture("echo"), 1));
    await within(thread.pipe.receive(), 15_000, "args echo");
    await thread.pipe.send("$TERM");
    await within(thread.done, 10_000, "thread end");
    expect(thread.running).toBe(false);
  });

  it("an error thrown by the child rejects done with a ThreadError carrying the child's error and stack", async () => {
    const thread = track(await zthread.fork(fixture("throws"), { message: "boom in the child" }));
    const events: ThreadError[] = [];
    thread.on("error", (err) => events.push(err));
    expect(strs(await within(thread.pipe.receive(), 15_000, "started"))).toEqual(["started"]);
    const err = await within(
      thread.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      "thread end",
    );
    expect(err).toBeInstanceOf(ThreadError);
    const te = err as ThreadError;
    expect(te.code).toBe("ZKIT_THREAD_FAILED");
    expect(te.threadId).toBe(thread.threadId);
    expect(te.message).toContain("throws.ts");
    expect(te.message).toContain("TypeError: boom in the child");
    const cause = te.cause as Error & { code?: string };
    expect(cause.name).toBe("TypeError");
    expect(cause.message).toBe("boom in the child");
    expect(cause.code).toBe("E_CHILD");
    expect(cause.stack).toContain("explodeInChild");
    expect(cause.stack).toContain("throws.ts");
    expect(events).toEqual([te]);
    expect(thread.running).toBe(false);
  });

  it("a module without a default export function fails with a ThreadError that says so", async () => {
    const thread = track(await zthread.fork(fixture("no-default"), null));
    const err = await within(
      thread.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      15_000,
      "thread end",
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect((err as Error).message).toMatch(/default export/);
  });

  it("a module that throws while loading fails with a ThreadError", async () => {
    const thread = track(await zthread.fork(fixture("fails-at-import"), null));
    const err = await within(
      thread.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      15_000,
      "thread end",
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect(((err as Error).cause as Error).message).toBe("this module refuses to load");
    expect(((err as Error).cause as Error).name).toBe("RangeError");
  });

  it("an uncaught exception in the child (receive pending) is reported, and the thread ends without aborting", async () => {
    const thread = track(await zthread.fork(fixture("uncaught"), null));
    expect(strs(await within(thread.pipe.receive(), 15_000, "waiting"))).toEqual(["waiting"]);
    const err = await within(
      thread.done.then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      "thread end",
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect(((err as Error).cause as Error).message).toBe("thrown from a timer in the child");
  });

  it("rejects a missing module, a bad module argument and args that cannot be cloned, leaving nothing open", async () => {
    const before = openSocketCount();
    await expect(zthread.fork(fixture("does-not-exist"), null)).rejects.toThrow(/does not exist/);
    await expect(zthread.fork(42 as unknown as string, null)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(zthread.fork(fixture("echo"), { fn: () => 1 })).rejects.toThrow(/structured-cloneable/);
    expect(openSocketCount()).toBe(before);
    expect(runningThreadCount()).toBe(0);
  });

  it("accepts a path and a file: URL string as well as a URL", async () => {
    const { fileURLToPath } = await import("node:url");
    for (const module of [fileURLToPath(fixture("echo")), fixture("echo").href]) {
      const thread = track(await zthread.fork(module, module));
      expect(strs(await within(thread.pipe.receive(), 15_000, "args echo"))).toEqual(["args", JSON.stringify(module)]);
      thread.pipe.close();
      await within(thread.done, 10_000, "thread end");
    }
  });
});

describe("the Worker's Node options", () => {
  it("running from source, the Worker gets --conditions=@zkit/source, and the options' execArgv when given", async () => {
    const plain = track(await zthread.fork(fixture("exec-argv"), null));
    const inherited = JSON.parse(strs(await within(plain.pipe.receive(), 15_000, "execArgv"))[0]!) as string[];
    // vitest's own fork already passes `--conditions @zkit/source`; plain node gets `--conditions=@zkit/source`
    const hasSource = inherited.some((a, i) => a === "--conditions=@zkit/source" || (a === "--conditions" && inherited[i + 1] === "@zkit/source"));
    expect(hasSource, inherited.join(" ")).toBe(true);
    expect(inherited.some((a) => /tsx/.test(a))).toBe(false); // tsx is registered inside the Worker, not by flags
    const given = track(await zthread.fork(fixture("exec-argv"), null, { execArgv: ["--no-warnings"] }));
    expect(JSON.parse(strs(await within(given.pipe.receive(), 15_000, "execArgv"))[0]!)).toEqual(["--no-warnings", "--conditions=@zkit/source"]);
  });
});

describe("ZThread.stop", () => {
  it("closes every socket of the thread, so a child blocked on another socket ends normally", async () => {
    const thread = track(await zthread.fork(fixture("blocked"), { endpoint: inprocName("zthread") }));
    expect(strs(await within(thread.pipe.receive(), 15_000, "blocked"))).toEqual(["blocked"]);
    await within(thread.stop(), 10_000, "stop");
    expect(thread.running).toBe(false);
    expect(thread.pipe.closed).toBe(true);
    await thread.done;
    await thread.stop(); // again: nothing left to do
  });

  it("fails with a TimeoutError when something other than a socket keeps the thread alive", async () => {
    const flag = new SharedArrayBuffer(4);
    const thread = track(await zthread.fork(fixture("keep-alive"), { flag }));
    expect(strs(await within(thread.pipe.receive(), 15_000, "interval running"))).toEqual(["interval running"]);
    const err = await thread.stop({ timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/keep-alive\.ts .* did not end within 300 ms/);
    expect(thread.running).toBe(true);
    Atomics.store(new Int32Array(flag), 0, 1);
    await within(thread.done, 10_000, "thread end once the interval stops");
  });

  it("checks its timeout option", async () => {
    const thread = track(await zthread.fork(fixture("echo"), null));
    await expect(thread.stop({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("zthread.new", () => {
  it("runs the module detached, with its args and no pipe", async () => {
    const pull = await ZSocket.pull(`@${inprocName("zthread")}`);
    const thread = track(await zthread.new(fixture("detached"), { endpoint: pull.endpoint, word: "independent" }));
    expect(thread.pipe).toBeUndefined();
    const [tag, id, word] = strs(await within(pull.receive(), 15_000, "the detached thread's message"));
    expect(tag).toBe("detached");
    expect(Number(id)).toBe(thread.threadId);
    expect(Number(id)).not.toBe(threadId);
    expect(word).toBe("independent");
    await within(thread.done, 10_000, "thread end");
    expect(runningThreadCount()).toBe(0);
  });

  it("stop() ends a detached thread blocked on a socket, as a normal end", async () => {
    const pull = await ZSocket.pull(`@${inprocName("zthread")}`);
    const thread = track(await zthread.new(fixture("detached-blocked"), { endpoint: pull.endpoint, idle: inprocName("zthread") }));
    expect(strs(await within(pull.receive(), 15_000, "blocked"))).toEqual(["blocked"]);
    await within(thread.stop(), 10_000, "stop");
    expect(thread.running).toBe(false);
    await thread.done;
  });
});
