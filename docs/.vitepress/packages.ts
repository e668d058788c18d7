/**
 * The packages the site knows, one line each. Adding a package to the site is
 * adding its line here: the sidebar, the packages table, the link rewriting of
 * README sections and the browser check all read this list, and the API pages
 * come from TypeDoc's `../packages/*` glob by themselves. A `pattern` also needs
 * its page, `patterns/<dir>.md` (see docs/CONTRIBUTING-docs.md).
 * @module
 */

/** One package of `packages/`. */
export interface PackageEntry {
  /** Its folder under `packages/`; its API page is `/api/<dir>` (TypeDoc names it after the folder). */
  dir: string;
  /** What the sidebar and the packages table call it. */
  title: string;
  /** `foundation` (CZMQ's layer), `pattern` (a page in `patterns/`) or `tool`. */
  kind: "foundation" | "pattern" | "tool";
  /**
   * The ZeroMQ Guide chapters it comes from, as the root README says
   * (`"4"`, `"2-3"`); for a package the Guide has no chapter on, what it
   * comes from instead (`"RFC 26, 27"`), shown as it is.
   */
  chapters: string;
}

export const packages: readonly PackageEntry[] = [
  { dir: "core", title: "ZSocket, lifecycle, errors", kind: "foundation", chapters: "1-2" },
  { dir: "zmsg", title: "ZFrame and ZMsg", kind: "foundation", chapters: "2-3" },
  { dir: "zloop", title: "ZLoop and ZPoller", kind: "foundation", chapters: "3-5" },
  { dir: "zthread", title: "zthread and ZActor", kind: "foundation", chapters: "2-3" },
  { dir: "socket-tools", title: "ZProxy and ZBeacon", kind: "foundation", chapters: "5, 8" },
  { dir: "security", title: "ZCert, ZCertStore, ZAuth", kind: "foundation", chapters: "RFC 26, 27" },
  { dir: "reliability", title: "The reliability layer", kind: "foundation", chapters: "4" },
  { dir: "lpp", title: "Lazy Pirate", kind: "pattern", chapters: "4" },
  { dir: "spp", title: "Simple Pirate", kind: "pattern", chapters: "4" },
  { dir: "ppp", title: "Paranoid Pirate", kind: "pattern", chapters: "4" },
  { dir: "mdp", title: "Majordomo", kind: "pattern", chapters: "4" },
  { dir: "titanic", title: "Titanic", kind: "pattern", chapters: "4" },
  { dir: "flclient", title: "Freelance", kind: "pattern", chapters: "4" },
  { dir: "bstar", title: "Binary Star", kind: "pattern", chapters: "4" },
  { dir: "kvmsg", title: "kvmsg", kind: "foundation", chapters: "5" },
  { dir: "clone", title: "Clone", kind: "pattern", chapters: "5" },
  { dir: "cli", title: "The zkit command", kind: "tool", chapters: "4" },
];

/** The site page of a package: its pattern page, the CLI reference, or its README page (`packages/[dir].md`). */
export function pageOf(p: PackageEntry): string {
  if (p.kind === "pattern") return `/patterns/${p.dir}`;
  if (p.kind === "tool" && p.dir === "cli") return "/cli";
  return `/packages/${p.dir}`;
}
