// `pnpm demo` runs the chapter 1 tour in one process: it must end by itself,
// exit 0, and tell what happened in each section.
import { afterEach, expect, it } from "vitest";
import { startExample, stopAll } from "./helpers.js";

afterEach(() => stopAll());

it("pnpm demo plays request-reply, pub-sub and pipeline, then exits 0 by itself", async () => {
  const demo = startExample("demo.ts");
  // The demo's own deadline is 20 s; this one only catches a demo that ignores it.
  const exit = await demo.waitForExit(45_000);
  const out = demo.stdout();
  expect(exit, `${out}\n${demo.stderr()}`).toEqual({ code: 0, signal: null });
  expect(demo.stderr()).toBe("");

  expect(out).toMatch(/^1\. Request-reply: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}a REP server bound tcp:\/\/127\.0\.0\.1:\d+; a REQ client connected to it$/m);
  expect(out).toMatch(/^ {3}request-reply: 5 Hello sent, 5 World received, 5 requests served$/m);

  expect(out).toMatch(/^2\. Publish-subscribe: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}pub-sub: the server published \d+ updates for 100 zipcodes in [\d.]+ ms$/m);
  expect(out).toMatch(/^ {3}the client received 20 updates, all for zipcode 10001; average temperature -?\d+F$/m);

  expect(out).toMatch(/^3\. Pipeline: Guide ch\. 1/m);
  expect(out).toMatch(/^ {3}pipeline: 30 tasks sent, 30 results collected$/m);
  // inproc attaches every worker before the first task: round-robin is exact
  expect(out).toMatch(/^ {3}the workers took 10, 10, 10 tasks: PUSH deals them round-robin$/m);
  expect(out).toMatch(/^ {3}total work \d+ ms, done in [\d.]+ ms: [\d.]+x faster than one worker$/m);

  expect(out.match(/^ {3}ok in [\d.]+ ms$/gm)).toHaveLength(3);
  expect(out).toMatch(/^demo finished: 3 sections in [\d.]+ ms, every socket closed$/m);
});
