/**
 * The zkit site: VitePress over the repository's Markdown, the API reference
 * that TypeDoc writes into `api/` (typedoc.json), local search, Mermaid
 * diagrams and the benchmark charts. `pnpm run docs` at the root builds it.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { type DefaultTheme, defineConfig } from "vitepress";
import { REPOSITORY, chapters, docsDir, generateParts, pageTitle, siteLink } from "./generate.js";
import { packages, pageOf } from "./packages.js";

generateParts();

/**
 * Where the site is served from: GitHub Pages serves the repository's site
 * under `/<repository>/`. `ZKIT_DOCS_BASE=/` builds it for the root of a host.
 */
const base = process.env.ZKIT_DOCS_BASE ?? "/zkit/";

/**
 * For a relative link of page `page` that points outside `docs/` or at a file
 * that is not a page, where it should go instead; undefined to leave it.
 */
function outsideLink(href: string, page: string): string | undefined {
  if (/^[a-z]+:/i.test(href) || href.startsWith("#") || href.startsWith("/")) return undefined;
  const hash = href.indexOf("#");
  const file = hash < 0 ? href : href.slice(0, hash);
  const fragment = hash < 0 ? "" : href.slice(hash);
  const inDocs = posix.normalize(posix.join(posix.dirname(page), file));
  if (!inDocs.startsWith("../") && (/\.(md|html)$/.test(inDocs) || !/\.[a-z0-9]+$/i.test(inDocs))) return undefined;
  return siteLink(posix.join("docs", inDocs), fragment);
}

function guideSidebar(): DefaultTheme.SidebarItem[] {
  return [
    { text: "Getting started", link: "/getting-started" },
    {
      text: "The Guide, chapter by chapter",
      link: "/guide/",
      items: chapters().map((n) => ({ text: pageTitle(join(docsDir, "guide", `ch${n}.md`)), link: `/guide/ch${n}` })),
    },
  ];
}

function patternsSidebar(): DefaultTheme.SidebarItem[] {
  return [
    {
      text: "Patterns",
      items: [{ text: "One contract for all", link: "/contract" }, ...packages.filter((p) => p.kind === "pattern").map((p) => ({ text: p.title, link: pageOf(p) }))],
    },
    {
      text: "Operations",
      items: [
        { text: "Running the Majordomo broker", link: "/majordomo" },
        { text: "Securing servers: CURVE and ZAP", link: "/security" },
      ],
    },
    { text: "Tools", items: [{ text: "The zkit command", link: "/cli" }] },
    {
      text: "Foundation",
      items: packages.filter((p) => p.kind === "foundation").map((p) => ({ text: `${p.title} (@zkit/${p.dir})`, link: pageOf(p) })),
    },
    { text: "All packages", link: "/packages" },
  ];
}

function apiSidebar(): DefaultTheme.SidebarItem[] {
  const file = join(docsDir, "api", "typedoc-sidebar.json");
  const items = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as DefaultTheme.SidebarItem[]) : [];
  return [{ text: "API reference", link: "/api/", items }];
}

export default defineConfig({
  title: "zkit",
  description: "ZeroMQ patterns for Node.js: CZMQ's high-level API and the ZeroMQ Guide's patterns as TypeScript packages",
  base,
  lang: "en-US",
  lastUpdated: false,
  srcExclude: ["parts/**", "test/**", "node_modules/**", "CONTRIBUTING-docs.md", "README.md"],
  head: [
    ["link", { rel: "icon", type: "image/svg+xml", href: `${base}favicon.svg` }],
    ["meta", { name: "theme-color", content: "#c2410c" }],
  ],
  markdown: {
    theme: { light: "github-light", dark: "github-dark" },
    config(md) {
      // ```mermaid blocks become <Mermaid>, which renders them in the browser.
      const fence = md.renderer.rules.fence!;
      md.renderer.rules.fence = (tokens, idx, options, env, self) => {
        const token = tokens[idx]!;
        if (token.info.trim() === "mermaid") return `<Mermaid code="${encodeURIComponent(token.content)}" />\n`;
        return fence(tokens, idx, options, env, self);
      };
      // A relative link to a file outside the site (`../packages/mdp/src/protocol.ts`
      // in docs/majordomo.md) goes to its page on the site, or to the file on GitHub.
      const linkOpen = md.renderer.rules.link_open!;
      md.renderer.rules.link_open = (tokens, idx, options, env: { relativePath?: string }, self) => {
        const token = tokens[idx]!;
        const href = token.attrGet("href");
        if (href && env.relativePath) {
          const rewritten = outsideLink(href, env.relativePath);
          if (rewritten !== undefined) token.attrSet("href", rewritten);
        }
        return linkOpen(tokens, idx, options, env, self);
      };
    },
  },
  vite: {
    build: { chunkSizeWarningLimit: 4096 },
  },
  themeConfig: {
    logo: "/favicon.svg",
    nav: [
      { text: "Getting started", link: "/getting-started" },
      { text: "Guide", link: "/guide/ch1", activeMatch: "^/guide/" },
      { text: "Patterns", link: "/patterns/mdp", activeMatch: "^/(patterns|packages|cli|majordomo|contract|security)" },
      { text: "API", link: "/api/", activeMatch: "^/api/" },
      { text: "Performance", link: "/performance" },
    ],
    sidebar: {
      "/getting-started": guideSidebar(),
      "/guide/": guideSidebar(),
      "/patterns/": patternsSidebar(),
      "/packages": patternsSidebar(),
      "/cli": patternsSidebar(),
      "/majordomo": patternsSidebar(),
      "/contract": patternsSidebar(),
      "/security": patternsSidebar(),
      "/api/": apiSidebar(),
    },
    search: { provider: "local" },
    outline: { level: [2, 3] },
    socialLinks: [{ icon: "github", link: REPOSITORY }],
    editLink: {
      // Generated pages are edited where they come from: a package's README, its
      // TSDoc. VitePress sends this function to the browser as its source text,
      // so it names the repository itself instead of using REPOSITORY.
      pattern: ({ relativePath }) => {
        const repository = "https://github.com/zkit-js/zkit";
        if (relativePath === "api/index.md") return `${repository}/tree/main/packages`;
        const api = /^api\/([^/.]+)/.exec(relativePath);
        if (api) return `${repository}/tree/main/packages/${api[1]}/src`;
        const pkg = /^packages\/([^/.]+)\.md$/.exec(relativePath);
        if (pkg) return `${repository}/edit/main/packages/${pkg[1]}/README.md`;
        return `${repository}/edit/main/docs/${relativePath}`;
      },
      text: "Edit this page",
    },
    footer: { message: "Released under the MPL-2.0 license.", copyright: "zkit contributors" },
  },
});
