/**
 * Internal: starting a Worker that runs zthread's bootstrap, from source
 * (`.ts`, inside the zkit repo or a user's TypeScript project) or from `dist`.
 *
 * - A `.ts` bootstrap or user module needs TypeScript in the Worker. On Node
 *   20, tsx's `--import tsx` does not reach Worker threads, so the Worker's
 *   entry (a few lines of eval'd JavaScript) registers tsx's ESM hooks itself
 *   before importing the bootstrap. tsx is looked up from the user's module,
 *   then from this package, then from the working directory.
 * - Running zkit from source (the bootstrap is `.ts`), the Worker gets
 *   `--conditions=@zkit/source` so that `@zkit/*` resolves to the sources as
 *   in the owner.
 * - Otherwise the Worker inherits `process.execArgv`, as Node does by default.
 * @module
 * @internal
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { Worker, type TransferListItem, type WorkerOptions } from "node:worker_threads";
import { InvalidArgumentError, getLogger } from "@zkit/core";
import { BOOT_KEY, type BootData, type ThreadKind } from "./wire.js";

const log = getLogger("zthread");

const SOURCE_CONDITION = "@zkit/source";

// The Worker's entry. Plain JavaScript, so it runs before any loader exists.
const ENTRY = `"use strict";
const { workerData } = require("node:worker_threads");
const boot = workerData[${JSON.stringify(BOOT_KEY)}];
(async () => {
  if (boot.tsx) (await import(boot.tsx)).register();
  await import(boot.bootstrap);
})();
`;

// This file's extension tells whether zkit runs from source (.ts) or dist (.js).
const selfUrl = new URL(import.meta.url);
const selfExt = /\.[cm]?[jt]s$/.exec(selfUrl.pathname)?.[0] ?? ".js";
const bootstrapUrl = new URL(`./worker-bootstrap${selfExt}`, selfUrl).href;

/** Options that go to the Worker. */
export interface SpawnOptions {
  execArgv?: readonly string[] | undefined;
  transferList?: readonly TransferListItem[] | undefined;
  resourceLimits?: WorkerOptions["resourceLimits"] | undefined;
}

/**
 * Normalizes a module given as a URL, a `file:` URL string or a path
 * (relative paths resolve against the working directory).
 * @throws InvalidArgumentError when it is none of these or the file is missing
 */
export function toModuleUrl(module: unknown, what: string): URL {
  let url: URL;
  if (module instanceof URL) url = module;
  else if (typeof module === "string" && module.length > 0) {
    const isUrl = /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(module) && !/^[a-zA-Z]:[\\/]/.test(module);
    try {
      url = isUrl ? new URL(module) : pathToFileURL(resolve(module));
    } catch (err) {
      throw new InvalidArgumentError(`${what}: ${JSON.stringify(module)} is not a valid module URL`, { cause: err });
    }
  } else {
    throw new InvalidArgumentError(`${what}: the module must be a URL or a path (e.g. new URL("./worker.js", import.meta.url)), got ${module === null ? "null" : typeof module}`);
  }
  if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw new InvalidArgumentError(`${what}: the module ${url.href} does not exist`);
  }
  return url;
}

/** A short name for logs and errors: the module's file name. */
export function moduleLabel(url: URL): string {
  return url.protocol === "file:" ? basename(url.pathname) : url.protocol;
}

const isTypeScript = (href: string): boolean => /\.[cm]?tsx?$/.test(new URL(href).pathname);

const tsxCache = new Map<string, string | null>();

/** URL of tsx's ESM API (`tsx/esm/api`) as seen from `base`, or null. */
function findTsx(base: string): string | null {
  const cached = tsxCache.get(base);
  if (cached !== undefined) return cached;
  let found: string | null = null;
  try {
    const pkgPath = createRequire(base).resolve("tsx/package.json");
    const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { exports?: Record<string, { import?: { default?: string } }> };
    const target = pkg.exports?.["./esm/api"]?.import?.default ?? "./dist/esm/api/index.mjs";
    const file = join(dirname(pkgPath), target);
    if (existsSync(file)) found = pathToFileURL(file).href;
  } catch {
    found = null;
  }
  tsxCache.set(base, found);
  return found;
}

function tsxFor(moduleUrl: URL): string {
  const bases = [moduleUrl.protocol === "file:" ? moduleUrl.href : undefined, selfUrl.href, pathToFileURL(join(process.cwd(), "index.js")).href];
  for (const base of bases) {
    if (base === undefined) continue;
    const found = findTsx(base);
    if (found) return found;
  }
  throw new InvalidArgumentError(`cannot run ${moduleUrl.href} in a Worker: it is TypeScript and tsx is not installed (npm i -D tsx), or compile it to JavaScript`);
}

const LOADER_FLAGS = new Set(["--import", "--loader", "--experimental-loader", "--require", "-r"]);

/** process.execArgv without tsx's loader flags (zkit registers tsx in the Worker itself). */
function withoutTsx(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (LOADER_FLAGS.has(arg) && /tsx/.test(argv[i + 1] ?? "")) {
      i++;
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq > 0 && LOADER_FLAGS.has(arg.slice(0, eq)) && /tsx/.test(arg.slice(eq + 1))) continue;
    out.push(arg);
  }
  return out;
}

function hasSourceCondition(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === `--conditions=${SOURCE_CONDITION}` || a === `-C=${SOURCE_CONDITION}` || ((a === "--conditions" || a === "-C") && argv[i + 1] === SOURCE_CONDITION));
}

/** Starts the Worker; it imports the bootstrap, which runs `module`. */
export function spawnWorker(kind: ThreadKind, moduleUrl: URL, endpoint: string | null, args: unknown, options: SpawnOptions): Worker {
  const fromSource = isTypeScript(bootstrapUrl);
  const needTsx = fromSource || isTypeScript(moduleUrl.href);
  const boot: BootData = {
    bootstrap: bootstrapUrl,
    tsx: needTsx ? tsxFor(moduleUrl) : null,
    module: moduleUrl.href,
    endpoint,
    kind,
    args,
  };
  let execArgv: string[] | undefined;
  if (options.execArgv !== undefined || needTsx) {
    const base = options.execArgv ?? process.execArgv;
    execArgv = needTsx ? withoutTsx(base) : [...base];
    if (fromSource && !hasSourceCondition(execArgv)) execArgv.push(`--conditions=${SOURCE_CONDITION}`);
  }
  const workerOptions: WorkerOptions = {
    eval: true,
    workerData: { [BOOT_KEY]: boot },
    ...(options.transferList ? { transferList: [...options.transferList] } : {}),
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  };
  try {
    return new Worker(ENTRY, execArgv === undefined ? workerOptions : { ...workerOptions, execArgv });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ERR_WORKER_INVALID_EXEC_ARGV" && options.execArgv === undefined && execArgv !== undefined) {
      // an inherited process-wide flag (e.g. --max-old-space-size): keep only what zkit needs
      log.debug("Worker rejected execArgv %o (%s); retrying with zkit's flags only", execArgv, (err as Error).message);
      const minimal = fromSource ? [`--conditions=${SOURCE_CONDITION}`] : [];
      return new Worker(ENTRY, { ...workerOptions, execArgv: minimal });
    }
    if ((err as Error).name === "DataCloneError") {
      throw new InvalidArgumentError(`the thread's args must be structured-cloneable (plain data, Buffers, MessagePorts; no functions or sockets): ${(err as Error).message}`, {
        cause: err,
      });
    }
    throw err;
  }
}
