/**
 * Is the repository ready to publish? Builds every package, packs it with
 * `pnpm pack` as a release would, and checks the tarballs: publint (strict)
 * and `attw --profile esm-only` clean, LICENSE, README and dist inside, no
 * `workspace:` range left, the metadata npm shows. Then installs the
 * tarballs into a fresh npm project and runs the getting-started program of
 * the site (import), `require()` of every package, and a TypeScript consumer
 * with the @types/node the READMEs name. Validates the GitHub workflow files
 * with action-validator (SchemaStore's workflow schema) and what they must
 * run, and runs `changeset version` in a temporary copy of the repository so
 * that a malformed changeset fails here, not in the release.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(here, "..", "..", "..");
const bin = (name: string): string => join(here, "..", "node_modules", ".bin", name);
const packagesDir = join(repoDir, "packages");
const dirs = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, "package.json")));
const work = mkdtempSync(join(tmpdir(), "zkit-release-check-"));
const packs = join(work, "packs");

interface Result {
  code: number;
  out: string;
}

/** Runs a command; resolves with its exit code and output (stdout and stderr together). */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

async function mustRun(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(command, args, cwd, env);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.code}:\n${r.out}`);
  return r.out;
}

/** pnpm as it runs this check (`pnpm run check` sets npm_execpath), else the one on PATH. */
function pnpm(args: string[], cwd: string): Promise<string> {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/.test(exec)) return /\.[cm]?js$/.test(exec) ? mustRun(process.execPath, [exec, ...args], cwd) : mustRun(exec, args, cwd);
  return mustRun("pnpm", args, cwd);
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  author?: string;
  license?: string;
  homepage?: string;
  bugs?: string | { url: string };
  keywords?: string[];
  repository?: { type: string; url: string; directory: string };
  exports?: Record<string, unknown>;
  files?: string[];
  engines?: { node?: string };
  publishConfig?: { access?: string; provenance?: boolean };
  dependencies?: Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8")) as Manifest;
const tarball = (dir: string): string => join(packs, `${manifest(dir).name.replace(/^@/, "").replace("/", "-")}-${manifest(dir).version}.tgz`);

beforeAll(async () => {
  mkdirSync(packs, { recursive: true });
  // A release builds first (the root's `release` script); turbo's cache makes it quick after `pnpm build`.
  await mustRun(join(repoDir, "node_modules", ".bin", "turbo"), ["run", "build"], repoDir, { TURBO_TELEMETRY_DISABLED: "1" });
  for (const dir of dirs) await pnpm(["pack", "--pack-destination", packs], join(packagesDir, dir));
}, 15 * 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(dirs)("@zkit/%s", (dir) => {
  it("has the metadata a registry page shows, an ESM-only exports map and a caret zeromq", () => {
    const m = manifest(dir);
    expect(m.private).not.toBe(true);
    expect(m.license).toBe("MPL-2.0");
    expect(m.author).toBeTruthy();
    expect(m.repository).toEqual({ type: "git", url: "git+https://github.com/zkit-js/zkit.git", directory: `packages/${dir}` });
    expect(m.homepage).toMatch(/^https:\/\/zkit-js\.github\.io\/zkit\//);
    expect(m.bugs).toBe("https://github.com/zkit-js/zkit/issues");
    expect(m.keywords?.length).toBeGreaterThan(0);
    expect(m.engines?.node).toBe(">=20");
    expect(m.exports?.["./package.json"]).toBe("./package.json");
    expect(m.files).toContain("LICENSE");
    expect(m.publishConfig).toEqual({ access: "public", provenance: true });
    if (m.dependencies?.zeromq !== undefined) expect(m.dependencies.zeromq).toMatch(/^\^6\./);
  });

  it("says in its README which Node, ESM only, require(esm) and @types/node", () => {
    const readme = readFileSync(join(packagesDir, dir, "README.md"), "utf8");
    expect(readme).toContain("Node.js 20 or later");
    expect(readme).toContain("ESM only");
    expect(readme).toContain("require(esm)");
    expect(readme).toMatch(/@types\/node` 20 or later/);
  });

  it("packs LICENSE, README, package.json and dist with no workspace: range left", async () => {
    const list = (await mustRun("tar", ["-tzf", tarball(dir)], work)).split("\n");
    for (const f of ["package/LICENSE", "package/README.md", "package/package.json", "package/dist/index.js", "package/dist/index.d.ts"]) {
      expect(list, f).toContain(f);
    }
    expect(await mustRun("tar", ["-xzOf", tarball(dir), "package/LICENSE"], work)).toBe(readFileSync(join(repoDir, "LICENSE"), "utf8"));
    const packed = await mustRun("tar", ["-xzOf", tarball(dir), "package/package.json"], work);
    expect(packed).not.toContain("workspace:");
  });

  it("is clean in publint --strict (its tarball)", async () => {
    const r = await run(bin("publint"), [tarball(dir), "--strict"], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("All good!");
  });

  it("is clean in attw --profile esm-only (its tarball)", async () => {
    const r = await run(bin("attw"), [tarball(dir), "--profile", "esm-only", "--format", "ascii"], work);
    expect(r.code, r.out).toBe(0);
  });
});

describe("a project that installs the tarballs with npm", () => {
  const app = join(work, "app");

  beforeAll(async () => {
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "zkit-consumer", private: true, type: "module" }, null, 2));
    const tarballs = dirs.map(tarball);
    await mustRun("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], app);
    await mustRun("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--save-dev", "typescript@6.0.3", "@types/node@20"], app);
  }, 10 * 60_000);

  it("runs the getting-started program of the site: a broker, a worker and a client", async () => {
    const page = readFileSync(join(repoDir, "docs", "getting-started.md"), "utf8");
    const code = /`service\.js`[\s\S]*?```js\n([\s\S]*?)```/.exec(page)?.[1];
    expect(code, "the service.js block of docs/getting-started.md").toBeTruthy();
    writeFileSync(join(app, "service.js"), code!);
    const r = await run(process.execPath, ["service.js"], app);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("HELLO FROM ZKIT");
  }, 60_000);

  it("loads every package with require() (require(esm)) and with import", async () => {
    const names = dirs.map((d) => manifest(d).name);
    const script = `for (const n of ${JSON.stringify(names)}) { const m = require(n); if (Object.keys(m).length === 0) throw new Error(n + " exports nothing"); } console.log("required", ${names.length});`;
    const r = await run(process.execPath, ["-e", script], app);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`required ${names.length}`);
    const esm = `for (const n of ${JSON.stringify(names)}) { await import(n); await import(n + "/package.json", { with: { type: "json" } }); } console.log("imported");`;
    const i = await run(process.execPath, ["--input-type=module", "-e", esm], app);
    expect(i.code, i.out).toBe(0);
  }, 60_000);

  it("typechecks a TypeScript consumer with @types/node 20", async () => {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, types: ["node"] }, include: ["consumer.ts"] }),
    );
    const imports = dirs.map((d, i) => `import * as p${i} from "${manifest(d).name}";`).join("\n");
    writeFileSync(
      join(app, "consumer.ts"),
      `${imports}\nimport { MajordomoClient } from "@zkit/mdp";\nimport { ZSocket } from "@zkit/core";\n` +
        `const client: MajordomoClient = new MajordomoClient({ endpoint: "tcp://127.0.0.1:5555" });\n` +
        `const reply: Buffer[] = await client.request("echo", "hi");\nconst sock = await ZSocket.dealer();\nsock.close();\nawait client.close();\n` +
        `console.log(reply.length, ${dirs.map((_, i) => `p${i}`).join(", ")});\n`,
    );
    const r = await run(join(app, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], app);
    expect(r.code, r.out).toBe(0);
  }, 120_000);
});

describe("GitHub workflows", () => {
  const workflows = join(repoDir, ".github", "workflows");
  const files = existsSync(workflows) ? readdirSync(workflows).filter((f) => /\.ya?ml$/.test(f)) : [];
  const read = (f: string): string => readFileSync(join(workflows, f), "utf8");

  it("has CI, docs and release workflows", () => {
    expect(files.sort()).toEqual(expect.arrayContaining(["ci.yml", "docs.yml", "release.yml"]));
  });

  it.each(files)("%s is valid against the workflow schema (action-validator)", async (f) => {
    const r = await run(bin("action-validator"), [join(workflows, f)], repoDir);
    expect(r.code, r.out).toBe(0);
  });

  it("runs the README's test command on Node 20, 22 and 24", () => {
    const readme = readFileSync(join(repoDir, "README.md"), "utf8");
    const command = /^npx -y pnpm@[\d.]+ install && npx -y pnpm@[\d.]+ test$/m.exec(readme)?.[0];
    expect(command, "the test command in README.md").toBeTruthy();
    const ci = read("ci.yml");
    expect(ci).toContain(`run: ${command}`);
    expect(ci).toMatch(/node: \[20, 22, 24\]/);
  });

  it("builds the site and deploys it to GitHub Pages", () => {
    const docs = read("docs.yml");
    expect(docs).toContain("run docs");
    expect(docs).toContain("actions/upload-pages-artifact");
    expect(docs).toContain("path: docs/.vitepress/dist");
    expect(docs).toContain("actions/deploy-pages");
    expect(docs).toMatch(/pages: write/);
  });

  it("releases with the changesets action and npm provenance", () => {
    const release = read("release.yml");
    expect(release).toContain("changesets/action");
    expect(release).toMatch(/id-token: write/);
    expect(release).toContain('NPM_CONFIG_PROVENANCE: "true"');
    const root = JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(release).toContain("run version-packages");
    expect(root.scripts["version-packages"]).toBe("changeset version");
    expect(release).toContain("run release");
    expect(root.scripts.release).toContain("changeset publish");
  });
});

describe("changesets", () => {
  it("`changeset version` works on a temporary copy of the repository", async () => {
    const copy = join(work, "repo");
    // the repository's files as git sees them (tracked, and new files not ignored)
    const files = (await mustRun("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], repoDir)).split("\0").filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(repoDir, f))) continue; // deleted in the work tree
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      cpSync(join(repoDir, f), join(copy, f));
    }
    // changesets loads its changelog generator from node_modules
    symlinkSync(join(repoDir, "node_modules"), join(copy, "node_modules"), "dir");
    const pending = readdirSync(join(copy, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
    const named = new Set(pending.flatMap((f) => [...readFileSync(join(copy, ".changeset", f), "utf8").matchAll(/^"(@zkit\/[^"]+)":\s*(major|minor|patch)$/gm)].map((m) => m[1]!)));
    expect(named.size, "packages named by the pending changesets").toBeGreaterThan(0);
    const r = await run(join(repoDir, "node_modules", ".bin", "changeset"), ["version"], copy);
    expect(r.code, r.out).toBe(0);
    const left = readdirSync(join(copy, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
    expect(left, "changesets left unconsumed").toEqual([]);
    for (const dir of dirs) {
      const m = JSON.parse(readFileSync(join(copy, "packages", dir, "package.json"), "utf8")) as Manifest;
      if (!named.has(m.name)) continue;
      expect(m.version, `${m.name} bumped`).not.toBe(manifest(dir).version);
      expect(readFileSync(join(copy, "packages", dir, "CHANGELOG.md"), "utf8")).toContain(`## ${m.version}`);
    }
    // the real repository is untouched
    expect(readdirSync(join(repoDir, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md")).toEqual(pending);
  }, 120_000);
});
