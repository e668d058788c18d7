/**
 * CPU time of this process's main thread (the one running JavaScript), read
 * from Linux's `/proc/<pid>/task/<pid>/schedstat` in nanoseconds. Unlike wall
 * time it does not count the time another process held the core, so it is
 * the steadiest measure of what a layer costs on a shared machine; and unlike
 * `process.cpuUsage()` it leaves out libzmq's I/O thread, whose work is the
 * same for zkit and raw zeromq.js.
 * @module
 */
import { readFileSync } from "node:fs";

const FILE = `/proc/${process.pid}/task/${process.pid}/schedstat`;

function read(): number | undefined {
  try {
    const ns = Number(readFileSync(FILE, "utf8").split(" ")[0]);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** True where the main thread's CPU time can be read (Linux with schedstat). */
export const threadCpuAvailable: boolean = read() !== undefined;

/** The main thread's CPU time so far, in microseconds (NaN where unavailable). */
export function mainThreadCpuUs(): number {
  const ns = read();
  return ns === undefined ? NaN : ns / 1000;
}
