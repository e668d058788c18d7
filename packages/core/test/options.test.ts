// readOptions: the one set of option checks every zkit class uses. Each rule
// is tried with good and bad values, and every message must name the owner,
// the option and what to pass.
import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidArgumentError, bindEndpoints, connectEndpoints, describeValue, readOptions } from "@zkit/core";

interface Opts {
  endpoint?: string;
  timeoutMs?: number;
  liveness?: number;
  expiryMs?: number;
  ratio?: number;
  verbose?: boolean;
  dir?: string;
  mode?: "fast" | "safe";
  trace?: (e: unknown) => void;
  handler?: (r: Buffer[]) => Buffer[];
  signal?: AbortSignal;
}

const KNOWN = ["endpoint", "timeoutMs", "liveness", "expiryMs", "ratio", "verbose", "dir", "mode", "trace", "handler", "signal"] as const;

/** Reads `options` as the class "Thing" with the known names. */
const read = (options: unknown) => readOptions<Opts>(options as Opts, { owner: "Thing", known: KNOWN });

/** The message of what `fn` throws, checking that it is an InvalidArgumentError. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe(ErrorCode.InvalidArgument);
    return (err as Error).message;
  }
  throw new Error("expected a throw");
}

describe("readOptions: the options object", () => {
  it("takes undefined as no options, and an object", () => {
    expect(read(undefined).raw("timeoutMs")).toBeUndefined();
    expect(read({ timeoutMs: 5 }).raw("timeoutMs")).toBe(5);
  });

  it.each([
    [null, "null"],
    [42, "42"],
    ["x", '"x"'],
    [[1], "an array"],
    [() => 1, "function"],
  ])("rejects %j, naming the owner and showing an example", (bad, shown) => {
    expect(messageOf(() => readOptions(bad as never, { owner: "Thing", example: "{ timeoutMs: 5 }" }))).toBe(`Thing options must be an object like { timeoutMs: 5 }, got ${shown}`);
    expect(messageOf(() => readOptions(bad as never, { owner: "Thing" }))).toBe(`Thing options must be an object, got ${shown}`);
  });

  it("rejects an unknown option name and lists the known ones", () => {
    expect(messageOf(() => read({ timeoutMS: 5 }))).toBe(`unknown Thing option "timeoutMS": the options are ${KNOWN.join(", ")}`);
  });

  it("ignores other names when no list of known names is given", () => {
    expect(readOptions({ anything: 1 } as { anything?: number; timeoutMs?: number }, { owner: "Thing" }).number("timeoutMs", 7, { min: 0 })).toBe(7);
  });
});

describe("readOptions: number", () => {
  it("gives the default when unset, the value when it follows the rule", () => {
    expect(read({}).number("timeoutMs", 2500, { min: 0, exclusive: true })).toBe(2500);
    expect(read({}).number("timeoutMs", undefined, { min: 0, exclusive: true })).toBeUndefined();
    expect(read({ timeoutMs: 0.5 }).number("timeoutMs", 1, { min: 0, exclusive: true })).toBe(0.5);
    expect(read({ liveness: 1 }).number("liveness", 3, { min: 1, integer: true })).toBe(1);
    expect(read({ expiryMs: Infinity }).number("expiryMs", 1, { min: 0, exclusive: true, infinity: true })).toBe(Infinity);
    expect(read({ ratio: 0 }).number("ratio", 1, { min: 0 })).toBe(0);
  });

  it.each([
    ["timeoutMs", 0, { min: 0, exclusive: true }, "Thing option timeoutMs must be a number of milliseconds > 0, got 0"],
    ["timeoutMs", -1, { min: 0 }, "Thing option timeoutMs must be a number of milliseconds >= 0, got -1"],
    ["timeoutMs", Number.NaN, { min: 0 }, "Thing option timeoutMs must be a number of milliseconds >= 0, got NaN"],
    ["timeoutMs", Infinity, { min: 0 }, "Thing option timeoutMs must be a number of milliseconds >= 0, got Infinity"],
    ["timeoutMs", "5", { min: 0 }, 'Thing option timeoutMs must be a number of milliseconds >= 0, got "5"'],
    ["timeoutMs", 1.5, { min: 0, integer: true }, "Thing option timeoutMs must be an integer number of milliseconds >= 0, got 1.5"],
    ["liveness", 0, { min: 1, integer: true }, "Thing option liveness must be an integer >= 1, got 0"],
    ["liveness", 2.5, { min: 1, integer: true }, "Thing option liveness must be an integer >= 1, got 2.5"],
    ["liveness", -Infinity, { min: 1, integer: true, infinity: true }, "Thing option liveness must be an integer >= 1 (or Infinity), got -Infinity"],
    ["liveness", 0, { min: 1, integer: true, meaning: "heartbeats missed" }, "Thing option liveness must be an integer >= 1 (heartbeats missed), got 0"],
    ["ratio", null, { min: 0 }, "Thing option ratio must be a number >= 0, got null"],
    ["ratio", {}, { min: 0 }, "Thing option ratio must be a number >= 0, got object"],
  ] as const)("%s = %j breaks %j", (name, value, rule, message) => {
    expect(messageOf(() => read({ [name]: value }).number(name, 1, rule))).toBe(message);
  });

  it("an integer rule accepts Infinity when allowed", () => {
    expect(read({ liveness: Infinity }).number("liveness", 1, { min: 1, integer: true, infinity: true })).toBe(Infinity);
  });
});

describe("readOptions: boolean, string, oneOf", () => {
  it("boolean: true or false, else the default", () => {
    expect(read({}).boolean("verbose", false)).toBe(false);
    expect(read({ verbose: true }).boolean("verbose", false)).toBe(true);
    expect(messageOf(() => read({ verbose: "yes" }).boolean("verbose", false))).toBe('Thing option verbose must be true or false, got "yes"');
    expect(messageOf(() => read({ verbose: 1 }).boolean("verbose", false))).toBe("Thing option verbose must be true or false, got 1");
  });

  it("string: a non-blank string, else the default", () => {
    expect(read({}).string("dir", ".store")).toBe(".store");
    expect(read({ dir: "/tmp/x" }).string("dir", ".store")).toBe("/tmp/x");
    expect(messageOf(() => read({ dir: "" }).string("dir", ".store"))).toBe('Thing option dir must be a non-empty string (default ".store"), got ""');
    expect(messageOf(() => read({ dir: "  " }).string("dir", ".store"))).toBe('Thing option dir must be a non-empty string (default ".store"), got "  "');
    expect(messageOf(() => read({ dir: 5 }).string("dir", ".store"))).toBe('Thing option dir must be a non-empty string (default ".store"), got 5');
  });

  it("requiredString: must be set, and the message says what to pass", () => {
    expect(read({ endpoint: "tcp://x:1" }).requiredString("endpoint", "tcp://localhost:5555")).toBe("tcp://x:1");
    expect(messageOf(() => read({}).requiredString("endpoint", "tcp://localhost:5555"))).toBe(
      'Thing option endpoint is required: pass a non-empty string such as "tcp://localhost:5555", got undefined',
    );
    expect(messageOf(() => read({ endpoint: "" }).requiredString("endpoint", "tcp://localhost:5555", "the server to connect to"))).toBe(
      'Thing option endpoint is required: pass the server to connect to, a non-empty string such as "tcp://localhost:5555", got ""',
    );
  });

  it("oneOf: one of the choices, else the default", () => {
    expect(read({}).oneOf("mode", ["fast", "safe"], "safe")).toBe("safe");
    expect(read({ mode: "fast" }).oneOf("mode", ["fast", "safe"], "safe")).toBe("fast");
    expect(messageOf(() => read({ mode: "quick" }).oneOf("mode", ["fast", "safe"], "safe"))).toBe('Thing option mode must be "fast" or "safe", got "quick"');
  });
});

describe("readOptions: function, requiredFunction, signal, fail", () => {
  const fn = (): void => {};

  it("function: a function or undefined", () => {
    expect(read({}).function("trace")).toBeUndefined();
    expect(read({ trace: fn }).function("trace")).toBe(fn);
    expect(messageOf(() => read({ trace: 1 }).function("trace"))).toBe("Thing option trace must be a function, got 1");
    expect(messageOf(() => read({ trace: {} }).function("trace", "(event) => void"))).toBe("Thing option trace must be a function (event) => void, got object");
  });

  it("requiredFunction: must be set", () => {
    expect(read({ handler: fn }).requiredFunction("handler", "(r) => r")).toBe(fn);
    expect(messageOf(() => read({}).requiredFunction("handler", "async (request: Buffer[]) => reply"))).toBe(
      "Thing option handler is required: pass a function async (request: Buffer[]) => reply, got undefined",
    );
  });

  it("signal: an AbortSignal or undefined", () => {
    const signal = new AbortController().signal;
    expect(read({}).signal("signal")).toBeUndefined();
    expect(read({ signal }).signal("signal")).toBe(signal);
    expect(messageOf(() => read({ signal: {} }).signal("signal"))).toBe("Thing option signal must be an AbortSignal, got object");
  });

  it("fail: a rule of the owner's own, in the same words", () => {
    expect(messageOf(() => read({}).fail("timeoutMs", "must be >= liveness (3)"))).toBe("Thing option timeoutMs must be >= liveness (3)");
  });

  it("a method owner reads the same", () => {
    const o = readOptions({ timeoutMs: -1 } as Opts, { owner: "Client.request" });
    expect(messageOf(() => o.number("timeoutMs", 1, { min: 0, exclusive: true }))).toBe("Client.request option timeoutMs must be a number of milliseconds > 0, got -1");
  });
});

describe("describeValue, connectEndpoints and bindEndpoints", () => {
  it("describes values briefly", () => {
    expect(describeValue(null)).toBe("null");
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue([1, 2])).toBe("an array");
    expect(describeValue("x".repeat(50))).toBe(JSON.stringify(`${"x".repeat(40)}...`));
    expect(describeValue(3n)).toBe("3");
    expect(describeValue(false)).toBe("false");
    expect(describeValue(Symbol("s"))).toBe("symbol");
    expect(describeValue(Buffer.from("abc"))).toBe("3 bytes");
    expect(describeValue(new Uint8Array(1))).toBe("1 byte");
  });

  it("makes items with no prefix connect, trimming spaces", () => {
    expect(connectEndpoints("tcp://a:1")).toBe(">tcp://a:1");
    expect(connectEndpoints(" tcp://a:1 , @ipc:///x,>inproc://y")).toBe(">tcp://a:1,@ipc:///x,>inproc://y");
  });

  it("makes items with no prefix bind, trimming spaces", () => {
    expect(bindEndpoints("tcp://*:1")).toBe("@tcp://*:1");
    expect(bindEndpoints(" tcp://*:1 , >tcp://peer:2,@inproc://y")).toBe("@tcp://*:1,>tcp://peer:2,@inproc://y");
  });
});
