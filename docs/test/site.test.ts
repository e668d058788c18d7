/**
 * The site, checked in a real browser. Builds it (TypeDoc, then VitePress),
 * serves the build on 127.0.0.1 under its base, and drives Debian's chromium
 * with playwright-core through every page reachable from the home page. Fails
 * on a broken link or anchor, a console error or an uncaught exception, a
 * request the site could not serve, a Mermaid diagram that did not render, an
 * exported symbol without its API page, an example of the Guide's chapters
 * missing from its chapter page, a benchmark figure without its chart, and a
 * built page that no link reaches. Screenshots of the home page and of a
 * pattern page go to docs/.artifacts/ (gitignored; CI keeps them).
 *
 * `ZKIT_DOCS_CHECK_PREBUILT=1` checks the build already in .vitepress/dist
 * instead of building (for working on the check itself).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiLink, chapters, docsDir, packageDirs, repoDir } from "../.vitepress/generate.js";
import { packages } from "../.vitepress/packages.js";
import { exportsOf } from "./exports.js";
import { type SiteServer, fileFor, serveSite } from "./serve.js";

const BASE = "/zkit/";
const dist = join(docsDir, ".vitepress", "dist");
const artifacts = join(docsDir, ".artifacts");
const CHROMIUM = process.env.ZKIT_CHROMIUM ?? "/usr/bin/chromium";
/** Pages visited at once: two tabs keep a loaded 2-core machine busy enough. */
const TABS = 2;
const PAGE_TIMEOUT_MS = 60_000;

/** Runs a command in docs/, failing with its output if it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: docsDir, env: { ...process.env, ZKIT_DOCS_BASE: BASE }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`))));
  });
}

/** What visiting one page found. */
interface Visit {
  /** Path under the base, without the hash, e.g. `guide/ch1.html`. */
  path: string;
  /** Internal links on the page (absolute, with their hash). */
  links: string[];
  /** Every id on the page. */
  ids: Set<string>;
  mermaid: { rendered: number; failed: string[] };
  /** The text of every code block. */
  code: string[];
  /** The text of every h1, h2 and h3, without its anchor and a trailing `()`. */
  headings: string[];
}

const visits = new Map<string, Visit>();
const problems: string[] = [];
let server: SiteServer;
let context: BrowserContext;
let userDataDir: string;

/** The page path (under the base) of a URL of the site, without query and hash; undefined for other sites. */
function pagePath(url: URL): string | undefined {
  if (url.origin !== new URL(server.url).origin || !url.pathname.startsWith(BASE)) return undefined;
  return url.pathname.slice(BASE.length);
}

async function visit(page: Page, path: string): Promise<Visit> {
  const url = new URL(path, server.url).href;
  const response = await page.goto(url, { waitUntil: "load", timeout: PAGE_TIMEOUT_MS });
  if (response?.status() !== 200) problems.push(`${path}: HTTP ${response?.status() ?? "no response"}`);
  await page.waitForSelector("#app .VPContent", { timeout: PAGE_TIMEOUT_MS });
  // Mermaid renders after mounting; wait until no diagram is still pending.
  await page.waitForFunction(() => document.querySelectorAll(".zkit-mermaid[data-state=pending]").length === 0, undefined, {
    timeout: PAGE_TIMEOUT_MS,
  });
  return page
    .evaluate((p) => {
      const links = [...document.querySelectorAll<HTMLAnchorElement>("a[href]")].map((a) => a.href).filter((href) => href.startsWith(location.origin));
      const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
      const diagrams = [...document.querySelectorAll<HTMLElement>(".zkit-mermaid")];
      return {
        path: p,
        links,
        ids: ids as unknown as Set<string>,
        mermaid: {
          rendered: diagrams.filter((d) => d.dataset.state === "rendered" && d.querySelector("svg") !== null).length,
          failed: diagrams.filter((d) => d.dataset.state !== "rendered" || d.querySelector("svg") === null).map((d) => d.textContent ?? ""),
        },
        code: [...document.querySelectorAll("div[class*='language-'] pre code")].map((c) => c.textContent ?? ""),
        headings: [...document.querySelectorAll(".vp-doc h1, .vp-doc h2, .vp-doc h3")].map((h) =>
          [...h.childNodes]
            .filter((n) => !(n instanceof HTMLElement && n.classList.contains("header-anchor")))
            .map((n) => n.textContent ?? "")
            .join("")
            .trim()
            .replace(/\(\)$/, ""),
        ),
      };
    }, path)
    .then((v) => ({ ...v, ids: new Set(v.ids as unknown as string[]) }));
}

/** Visits every page reachable from the home page, `TABS` at a time. */
async function crawl(): Promise<void> {
  const queue: string[] = [""];
  const seen = new Set<string>([""]);
  let active = 0;
  // Tabs with nothing to do wait here until a busy tab queues pages or finishes.
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const notify = (): void => {
    wake();
    changed = new Promise<void>((resolve) => (wake = resolve));
  };
  const worker = async (page: Page): Promise<void> => {
    for (;;) {
      const path = queue.shift();
      if (path === undefined) {
        if (active === 0) return;
        await changed;
        continue;
      }
      active += 1;
      try {
        const v = await visit(page, path);
        visits.set(path, v);
        for (const link of v.links) {
          const target = pagePath(new URL(link));
          if (target === undefined || seen.has(target)) continue;
          seen.add(target);
          queue.push(target);
        }
      } finally {
        active -= 1;
        notify();
      }
    }
  };
  const tabs = await Promise.all(Array.from({ length: TABS }, () => context.newPage()));
  for (const page of tabs) {
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error on ${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
    page.on("requestfailed", (req) => {
      // ERR_ABORTED: a prefetch of a linked page cut short by the next navigation
      if (req.url().startsWith(server.url) && req.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed on ${page.url()}: ${req.url()} (${req.failure()?.errorText})`);
    });
  }
  await Promise.all(tabs.map(worker));
  await Promise.all(tabs.map((t) => t.close()));
}

beforeAll(async () => {
  if (process.env.ZKIT_DOCS_CHECK_PREBUILT !== "1") {
    await run(join(docsDir, "node_modules", ".bin", "typedoc"), ["--options", "typedoc.json"]);
    await run(join(docsDir, "node_modules", ".bin", "vitepress"), ["build", "."]);
  }
  expect(existsSync(join(dist, "index.html")), "the build wrote no index.html").toBe(true);
  server = await serveSite(dist, BASE);
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: install Debian's (apt-get install chromium), or set ZKIT_CHROMIUM to a Chromium binary`);
  }
  userDataDir = mkdtempSync(join(tmpdir(), "zkit-docs-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    // --user-data-dir is the first argument of launchPersistentContext: a fresh temp dir.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  await crawl();
}, 20 * 60_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Every .html file of the build, as a path under the base. */
function builtPages(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".html")) out.push(relative(dist, full).split("\\").join("/"));
    }
  };
  walk(dist);
  return out;
}

/** The path a visited page is known by: `api/` and `api/index.html` are one page. */
function canonical(path: string): string {
  return path === "" || path.endsWith("/") ? `${path}index.html` : path;
}

describe("the docs site in chromium", () => {
  it("loads every page without a console error, an uncaught exception or a request it cannot serve", () => {
    expect(visits.size).toBeGreaterThan(20);
    expect(problems).toEqual([]);
    expect(server.notFound).toEqual([]);
  });

  it("has no broken link or anchor", () => {
    const visited = new Map([...visits.values()].map((v) => [canonical(v.path), v]));
    const broken: string[] = [];
    for (const v of visits.values()) {
      for (const link of v.links) {
        const url = new URL(link);
        const target = pagePath(url);
        if (target === undefined) continue;
        if (fileFor(dist, `/${target}`) === undefined) {
          broken.push(`${v.path || "/"} -> ${link}: no such page`);
          continue;
        }
        if (url.hash.length > 1) {
          const page = visited.get(canonical(target));
          const id = decodeURIComponent(url.hash.slice(1));
          if (page && !page.ids.has(id)) broken.push(`${v.path || "/"} -> ${link}: no element with id "${id}"`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("reaches every built page from the home page", () => {
    const reached = new Set([...visits.keys()].map(canonical));
    const orphans = builtPages().filter((p) => p !== "404.html" && !reached.has(p));
    expect(orphans).toEqual([]);
  });

  it("renders every Mermaid diagram as an SVG", () => {
    const failed = [...visits.values()].flatMap((v) => v.mermaid.failed.map((f) => `${v.path}: ${f.slice(0, 200)}`));
    const rendered = [...visits.values()].reduce((n, v) => n + v.mermaid.rendered, 0);
    expect(failed).toEqual([]);
    // the home page, getting started, chapters 1-4 and every pattern page have diagrams
    const withDiagrams = ["", "getting-started.html", "guide/ch1.html", ...packages.filter((p) => p.kind === "pattern").map((p) => `patterns/${p.dir}.html`)];
    for (const path of withDiagrams) expect(visits.get(path)?.mermaid.rendered ?? 0, `diagrams rendered on /${path}`).toBeGreaterThan(0);
    expect(rendered).toBeGreaterThanOrEqual(withDiagrams.length);
  });

  it("has a page for every package, and every pattern has its page", () => {
    expect(packages.map((p) => p.dir).sort()).toEqual(packageDirs().sort());
    for (const p of packages) {
      const api = apiLink(p.dir).slice(1);
      expect(visits.has(api.endsWith("/") ? api : `${api}.html`), `API page of ${p.dir}`).toBe(true);
      if (p.kind === "pattern") expect(visits.has(`patterns/${p.dir}.html`), `pattern page of ${p.dir}`).toBe(true);
      if (p.kind === "foundation") expect(visits.has(`packages/${p.dir}.html`), `package page of ${p.dir}`).toBe(true);
    }
  });

  it("documents every exported symbol of every package on its API pages, reached from the site", () => {
    const missing: string[] = [];
    let count = 0;
    for (const dir of packageDirs()) {
      const headings = new Set(
        [...visits.values()]
          .filter((v) => v.path === `api/${dir}.html` || v.path.startsWith(`api/${dir}/`))
          .flatMap((v) => v.headings)
          .map((h) => h.replace(/^abstract\s+/, "")), // TypeDoc heads an abstract class "abstract Name"
      );
      for (const symbol of exportsOf(repoDir, dir)) {
        count += 1;
        if (!headings.has(symbol.name)) missing.push(`@zkit/${dir}: no heading for ${symbol.kind} ${symbol.name} on its API pages`);
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(100);
  });

  it("shows the source of every example of each chapter on its chapter page, with the command that runs it", () => {
    const missing: string[] = [];
    for (const n of chapters()) {
      const page = visits.get(`guide/ch${n}.html`);
      if (!page) {
        missing.push(`guide/ch${n}.html was not visited`);
        continue;
      }
      const dir = join(repoDir, "examples", `ch${n}`);
      const files = readdirSync(dir)
        .filter((f) => f.endsWith(".ts"))
        .map((f) => `ch${n}/${f}`);
      if (existsSync(join(dir, "peers")))
        files.push(
          ...readdirSync(join(dir, "peers"))
            .filter((f) => f.endsWith(".py"))
            .map((f) => `ch${n}/peers/${f}`),
        );
      expect(files.length, `examples of chapter ${n}`).toBeGreaterThan(0);
      const code = page.code.map((c) => c.trim());
      for (const file of files) {
        const source = readFileSync(join(repoDir, "examples", file), "utf8").trim();
        if (!code.includes(source)) missing.push(`guide/ch${n}.html: no code block with the source of examples/${file}`);
      }
      const commands = code.filter((c) => c.includes("node --conditions=@zkit/source --import tsx")).join("\n");
      const programs = readFileSync(join(repoDir, n === 1 ? "examples/README.md" : `examples/ch${n}/README.md`), "utf8").match(new RegExp(`\`ch${n}/[^\`]+\\.ts\``, "g"));
      for (const p of new Set(programs ?? [])) {
        if (!commands.includes(p.slice(1, -1))) missing.push(`guide/ch${n}.html: no command that runs ${p}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("charts every benchmark figure of the committed results beside raw zeromq.js", async () => {
    const dir = join(repoDir, "bench", "results");
    const runs = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { quick?: boolean; results: unknown[] })
      .filter((r) => r.quick !== true);
    const figures = runs.reduce((n, r) => n + r.results.length, 0);
    const page = await context.newPage();
    try {
      await page.goto(new URL("performance.html", server.url).href, { waitUntil: "load" });
      const charts = await page.$$eval(".zkit-bench-metric", (els) => els.map((e) => ({ bars: e.querySelectorAll("svg rect").length, text: e.textContent ?? "" })));
      expect(charts.length).toBe(figures);
      for (const c of charts) {
        expect(c.bars).toBe(2);
        expect(c.text).toContain("raw zeromq.js");
        expect(c.text).toMatch(/zkit\/raw \d+\.\d\d/);
      }
      if (figures === 0) expect(await page.textContent(".zkit-bench-empty")).toContain("No benchmark results");
    } finally {
      await page.close();
    }
  });

  it("finds an API symbol with the local search", async () => {
    const page = await context.newPage();
    try {
      await page.goto(server.url, { waitUntil: "load" });
      await page.click(".VPNavBarSearch button");
      await page.fill(".VPLocalSearchBox input", "MajordomoBroker");
      await page.waitForSelector(".VPLocalSearchBox .result", { timeout: PAGE_TIMEOUT_MS });
      const titles = await page.$$eval(".VPLocalSearchBox .result", (els) => els.map((e) => e.textContent ?? ""));
      expect(titles.some((t) => t.includes("MajordomoBroker"))).toBe(true);
    } finally {
      await page.close();
    }
  });

  it("saves screenshots of the home page and a pattern page", async () => {
    mkdirSync(artifacts, { recursive: true });
    const page = await context.newPage();
    try {
      await page.goto(server.url, { waitUntil: "load" });
      await page.screenshot({ path: join(artifacts, "home.png") });
      await page.goto(new URL("patterns/mdp.html", server.url).href, { waitUntil: "load" });
      await page.waitForSelector(".zkit-mermaid[data-state=rendered] svg", { timeout: PAGE_TIMEOUT_MS });
      await page.screenshot({ path: join(artifacts, "pattern-mdp.png") });
      await page
        .locator(".zkit-mermaid")
        .first()
        .screenshot({ path: join(artifacts, "pattern-mdp-diagram.png") });
    } finally {
      await page.close();
    }
    for (const f of ["home.png", "pattern-mdp.png", "pattern-mdp-diagram.png"]) expect(readFileSync(join(artifacts, f)).subarray(1, 4).toString()).toBe("PNG");
  });
});
