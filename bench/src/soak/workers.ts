/**
 * Worker processes for the soaks: the standby worker bundled once into plain
 * JavaScript (esbuild; `zeromq` stays external), so a process starts in tens
 * of milliseconds, and a pool that keeps spares warm.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const OUT_DIR = fileURLToPath(new URL("../../.soak/", import.meta.url));

/** Bundles `standby-worker.ts` to `.soak/standby-worker.mjs` (inside the bench package, so `zeromq` resolves) and returns its path. */
export async function bundleWorker(): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = `${OUT_DIR}standby-worker.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL("./standby-worker.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@zkit/source"],
    external: ["zeromq"],
    logLevel: "warning",
  });
  return outfile;
}

/** A worker process, warm (loaded, not connected) or started. */
export interface WorkerProcess {
  readonly pid: number;
  /** Connects and sends READY; resolves once it says so. */
  start(): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, and SIGKILL after 5 s; resolves when it is gone. */
  stop(): Promise<void>;
}

/** Spawns a standby worker and resolves once it is warm. */
export function spawnWorker(script: string, endpoint: string, workMs: number): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, [script, endpoint, String(workMs)], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  const waitFor = (word: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (new RegExp(`^${word}$`, "m").test(out)) {
          child.stdout!.off("data", check);
          child.off("exit", fail);
          resolve();
        }
      };
      const fail = (): void => reject(new Error(`worker ${child.pid} exited before "${word}": ${out}`));
      child.stdout!.on("data", check);
      child.once("exit", fail);
      check();
    });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (out += d));
  return waitFor("warm").then(() => ({
    pid: child.pid!,
    start: () => {
      child.stdin!.write("go\n");
      return waitFor("ready");
    },
    kill: (signal) => void child.kill(signal),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  }));
}
