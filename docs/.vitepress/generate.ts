/**
 * Writes the Markdown parts that the pages include, from the repository's own
 * sources, so that nothing on the site is a second copy to keep in step:
 *
 * - `parts/examples/chN.md`: every program of `examples/chN/` with what it
 *   shows and the command that runs it (from the examples' README tables) and
 *   its source, for the chapter page `guide/chN.md`;
 * - `parts/readme/<dir>/<section>.md`: each `##` section of each package's
 *   README, its links rewritten to the site (or to the repository on GitHub);
 * - `parts/cli/commands.md`: every `zkit` command's `--help`, printed by the
 *   command itself;
 * - `parts/cli/metrics.md`: what each server command serves with
 *   `--metrics`, from the commands' own metric specs (the cli's tests check
 *   that a real scrape serves exactly these), and prom-client's default
 *   process metrics.
 *
 * `parts/` is generated on every build and not committed.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type PackageEntry, packages, pageOf } from "./packages.js";

/** The repository's `docs/` folder (VitePress's source folder). */
export const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The repository's root. */
export const repoDir = resolve(docsDir, "..");
/** Where the generated parts go. */
const partsDir = join(docsDir, "parts");

/** Where the repository lives on GitHub; links to files that are not pages go there. */
export const REPOSITORY = "https://github.com/zkit-js/zkit";
const BLOB = `${REPOSITORY}/blob/main/`;
/** Where the site is published (GitHub Pages); links to it from a README stay on the site. */
const SITE = "https://zkit-js.github.io/zkit/";
const TREE = `${REPOSITORY}/tree/main/`;

/** The chapters that have a guide page, `docs/guide/chN.md`, in order. */
export function chapters(): number[] {
  return readdirSync(join(docsDir, "guide"))
    .map((f) => /^ch(\d+)\.md$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Reads a page's `title:` from its frontmatter, or its first `# ` heading. */
export function pageTitle(file: string): string {
  const text = readFileSync(file, "utf8");
  const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1];
  const title = front && /^title:\s*(.+)$/m.exec(front)?.[1];
  if (title) return title.replace(/^["']|["']$/g, "");
  return /^# (.+)$/m.exec(text)?.[1] ?? basename(file, ".md");
}

/** The `## ` sections of a Markdown text, skipping fenced code. */
function sections(text: string): { heading: string; body: string }[] {
  const out: { heading: string; body: string }[] = [{ heading: "", body: "" }];
  let fence = false;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (!fence && line.startsWith("## ")) out.push({ heading: line.slice(3).trim(), body: "" });
    out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

/** A heading's file name: lower case, words joined by dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Where a repository file is on the site, for a link from a README: a package
 * README is its package's page, an example is its section of the chapter page,
 * `docs/x.md` is page `/x`; anything else is the file on GitHub.
 */
export function siteLink(repoPath: string, fragment: string): string {
  const path = posix.normalize(repoPath).replace(/\/$/, "");
  const pkg = /^packages\/([^/]+)(\/README\.md)?$/.exec(path);
  if (pkg) {
    const entry = packages.find((p) => p.dir === pkg[1]);
    if (entry) return pageOf(entry);
  }
  if (path === "README.md" || path === ".") return "/";
  if (path === "examples/README.md" || path === "examples") return "/guide/";
  const chapterReadme = /^examples\/ch(\d+)(\/README\.md)?$/.exec(path);
  if (chapterReadme && chapters().includes(Number(chapterReadme[1]))) return `/guide/ch${chapterReadme[1]}`;
  const example = /^examples\/ch(\d+)\/([^/]+)\.(ts|py)$/.exec(path);
  if (example && chapters().includes(Number(example[1]))) return `/guide/ch${example[1]}#${exampleAnchor(example[2]!)}`;
  const doc = /^docs\/([^/]+)\.md$/.exec(path);
  if (doc && existsSync(join(repoDir, path))) return `/${doc[1]}${fragment}`;
  const full = join(repoDir, path);
  const isDir = existsSync(full) && !/\.[a-z]+$/i.test(path);
  return `${isDir ? TREE : BLOB}${path}${fragment}`;
}

/** `text` with its first letter in upper case: a table cell or a summary as a sentence. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The anchor of an example's section on its chapter page. */
function exampleAnchor(name: string): string {
  return `ex-${slug(name)}`;
}

/** Rewrites the relative links of a Markdown text found at `fromRepoPath` (outside code). */
export function rewriteLinks(text: string, fromRepoPath: string): string {
  let fence = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) fence = !fence;
      if (fence) return line;
      return line.replace(/\]\(([^)\s]+)\)/g, (whole, target: string) => {
        if (target.startsWith(SITE)) return `](/${target.slice(SITE.length).replace(/\.html(?=#|$)/, "")})`;
        if (/^[a-z]+:/i.test(target) || target.startsWith("#")) return whole;
        const hash = target.indexOf("#");
        const file = hash < 0 ? target : target.slice(0, hash);
        const fragment = hash < 0 ? "" : target.slice(hash);
        const repoPath = posix.join(posix.dirname(fromRepoPath), file);
        return `](${siteLink(repoPath, fragment)})`;
      });
    })
    .join("\n");
}

/** One row of an examples README table: `| \`chN/x.ts\` | \`command\` | what | Guide section |`. */
interface ExampleRow {
  file: string;
  command: string;
  what: string;
  section: string;
}

function exampleRows(chapter: number): Map<string, ExampleRow> {
  const rows = new Map<string, ExampleRow>();
  for (const readme of ["examples/README.md", `examples/ch${chapter}/README.md`]) {
    const full = join(repoDir, readme);
    if (!existsSync(full)) continue;
    for (const line of readFileSync(full, "utf8").split("\n")) {
      const cells = line.split(" | ").map((c) => c.replace(/^\|\s*|\s*\|$/g, "").trim());
      const file = /^`ch(\d+)\/([^`]+\.ts)`$/.exec(cells[0] ?? "");
      if (!file || Number(file[1]) !== chapter || cells.length < 4) continue;
      rows.set(file[2]!, {
        file: file[2]!,
        command: cells[1]!.replace(/^`|`$/g, ""),
        what: rewriteLinks(cells[2]!, readme),
        section: cells[3]!,
      });
    }
  }
  return rows;
}

/** The examples part of chapter `n`: a section per program, then the modules and peers they use. */
function examplesPart(n: number): string {
  const dir = join(repoDir, "examples", `ch${n}`);
  if (!existsSync(dir)) return `No programs in \`examples/ch${n}\` yet.\n`;
  const rows = exampleRows(n);
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  const programs = [...rows.keys()].filter((f) => files.includes(f));
  const modules = files.filter((f) => !rows.has(f)).sort();
  const peersDir = join(dir, "peers");
  const peers = existsSync(peersDir)
    ? readdirSync(peersDir)
        .filter((f) => f.endsWith(".py"))
        .sort()
    : [];
  const out: string[] = [];
  const source = (rel: string): string[] => [`Source: [\`examples/${rel}\`](${BLOB}examples/${rel})`, "", `<<< @/../examples/${rel}`, ""];
  out.push("## The programs", "");
  out.push("Run each command in `examples/` of the repository (after `pnpm install` at its root); `--help` lists a program's flags, with the Guide's defaults.", "");
  for (const f of programs) {
    const row = rows.get(f)!;
    const name = f.replace(/\.ts$/, "");
    out.push(`### ${name} {#${exampleAnchor(name)}}`, "");
    out.push(`${sentence(row.what)}. *Guide: ${row.section}.*`, "");
    out.push("```sh", `cd examples`, row.command, "```", "");
    out.push(...source(`ch${n}/${f}`));
  }
  if (modules.length > 0) {
    out.push("## The modules they run", "");
    out.push("Threads, actors and shared helpers of the programs above: each one is loaded by a program, not run by itself.", "");
    for (const f of modules) {
      const name = f.replace(/\.ts$/, "");
      out.push(`### ${name} {#${exampleAnchor(name)}}`, "");
      out.push(...source(`ch${n}/${f}`));
    }
  }
  if (peers.length > 0) {
    out.push("## Peers in Python", "");
    out.push("Programs zkit did not write, on pyzmq: the tests run them against the programs above, frame for frame. Run one with `python3` (Debian's `python3-zmq`).", "");
    for (const f of peers) {
      const name = `peer-${f.replace(/\.py$/, "")}`;
      out.push(`### peers/${f} {#${exampleAnchor(name)}}`, "");
      out.push(...source(`ch${n}/peers/${f}`));
    }
  }
  return `${out.join("\n")}\n`;
}

/** Writes `parts/readme/<dir>/<slug>.md` for every `##` section of a package README (`_intro.md` before the first). */
function readmeParts(p: PackageEntry): void {
  const repoPath = `packages/${p.dir}/README.md`;
  const full = join(repoDir, repoPath);
  if (!existsSync(full)) return;
  const out = join(partsDir, "readme", p.dir);
  mkdirSync(out, { recursive: true });
  for (const s of sections(readFileSync(full, "utf8"))) {
    const name = s.heading === "" ? "_intro" : slug(s.heading);
    const body = s.heading === "" ? s.body.replace(/^# .*\n/, "") : s.body;
    writeFileSync(join(out, `${name}.md`), rewriteLinks(body, repoPath));
  }
}

/** A metric as the cli's catalog describes it. */
interface MetricRow {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

/** What the `zkit` command says about itself: its help and its metrics. */
interface CliData {
  overview: string;
  commands: { path: string[]; summary: string; usage: string; metrics?: MetricRow[] }[];
  processMetrics: MetricRow[];
}

/** The `zkit` commands' help and metrics, from the commands themselves (run from source with tsx). */
function cliData(): CliData {
  const script = [
    `import { commands, overview, usage, metricsCatalog, defaultMetricsCatalog } from ${JSON.stringify(join(repoDir, "packages/cli/src/index.ts"))};`,
    "const data = {",
    "  overview: overview(),",
    "  commands: commands.map((c) => ({ path: c.path, summary: c.summary, usage: usage(c), metrics: c.metrics && metricsCatalog(c.metrics) })),",
    "  processMetrics: await defaultMetricsCatalog(),",
    "};",
    "console.log(JSON.stringify(data));",
  ].join("\n");
  const json = execFileSync(process.execPath, ["--import", "tsx", "--conditions=@zkit/source", "--input-type=module", "-e", script], {
    cwd: join(repoDir, "packages/cli"),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(json) as CliData;
}

/** Command groups of `zkit` whose name is not their package's folder. */
const CLI_GROUP_PACKAGE: Readonly<Record<string, string>> = { fl: "flclient" };

/** The `zkit` commands' help. */
function cliPart(data: CliData): string {
  const out: string[] = ["## Every command", "", "`zkit --help`:", "", "```text", data.overview, "```", ""];
  let pattern = "";
  for (const c of data.commands) {
    if (c.path[0] !== pattern) {
      pattern = c.path[0]!;
      // a command group is named after its package's folder, or after the protocol it speaks (fl: 10/FLP, @zkit/flclient)
      const dir = CLI_GROUP_PACKAGE[pattern] ?? pattern;
      const entry = packages.find((p) => p.dir === dir);
      out.push(`### ${pattern}`, "");
      if (entry) out.push(`Over [\`@zkit/${entry.dir}\`](${pageOf(entry)}): ${entry.title}.`, "");
    }
    out.push(`#### zkit ${c.path.join(" ")} {#${slug(`zkit ${c.path.join(" ")}`)}}`, "", `${sentence(c.summary)}.`, "", "```text", c.usage, "```", "");
  }
  return `${out.join("\n")}\n`;
}

/** A table cell: Markdown's emphasis and table characters escaped. */
function cell(text: string): string {
  return text.replace(/([\\|*_<>[\]`])/g, "\\$1");
}

/** A table of metrics: name (with its labels), type, HELP text. */
function metricsTable(rows: MetricRow[], withLabels = true): string[] {
  return [
    "| metric | type | what it counts |",
    "| --- | --- | --- |",
    ...rows.map((m) => `| \`${m.name}${withLabels && m.labels.length > 0 ? `{${m.labels.join(",")}}` : ""}\` | ${m.type} | ${cell(m.help)} |`),
    "",
  ];
}

/** What each server command serves with `--metrics`, and the process metrics they all serve. */
function metricsPart(data: CliData): string {
  const out: string[] = [];
  for (const c of data.commands) {
    if (c.metrics === undefined) continue;
    const name = `zkit ${c.path.join(" ")}`;
    out.push(`### ${name} {#metrics-${slug(name)}}`, "");
    out.push(...metricsTable(c.metrics));
  }
  out.push("### Process metrics {#metrics-process}", "");
  out.push(
    "Every server command with `--metrics` also serves prom-client's default metrics of its Node.js process (CPU, memory, file descriptors, event loop lag, heap, garbage collection); some are Linux only. Their labels, where they have some, are prom-client's.",
    "",
  );
  out.push(...metricsTable(data.processMetrics, false));
  return `${out.join("\n")}\n`;
}

/** Writes every part. Called when the site's config loads (dev and build). */
export function generateParts(): void {
  rmSync(partsDir, { recursive: true, force: true });
  mkdirSync(join(partsDir, "examples"), { recursive: true });
  for (const n of chapters()) writeFileSync(join(partsDir, "examples", `ch${n}.md`), examplesPart(n));
  for (const p of packages) readmeParts(p);
  mkdirSync(join(partsDir, "cli"), { recursive: true });
  const cli = cliData();
  writeFileSync(join(partsDir, "cli", "commands.md"), cliPart(cli));
  writeFileSync(join(partsDir, "cli", "metrics.md"), metricsPart(cli));
}

/** Every folder of `packages/` that has a package.json: the browser check compares it with {@link packages}. */
export function packageDirs(): string[] {
  const root = join(repoDir, "packages");
  return readdirSync(root).filter((d) => existsSync(join(root, d, "package.json")));
}

/**
 * The API page of a package, as TypeDoc's Markdown plugin writes it (one page
 * a package): `/api/<dir>`, or `/api/<dir>/` when the package has namespaces
 * with pages of their own. Call it after TypeDoc has run.
 */
export function apiLink(dir: string): string {
  return existsSync(join(docsDir, "api", dir, "index.md")) ? `/api/${dir}/` : `/api/${dir}`;
}

/** A package's description from its package.json. */
export function describePackage(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(repoDir, "packages", dir, "package.json"), "utf8")) as { description?: string };
  return pkg.description ?? "";
}
