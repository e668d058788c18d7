// One page per foundation package (core, zmsg, zloop, zthread): its README,
// links rewritten for the site. The patterns have pages of their own.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoDir, rewriteLinks } from "../.vitepress/generate.js";
import { packages } from "../.vitepress/packages.js";

export default {
  paths() {
    return packages
      .filter((p) => p.kind === "foundation")
      .map((p) => {
        const repoPath = `packages/${p.dir}/README.md`;
        return { params: { dir: p.dir }, content: rewriteLinks(readFileSync(join(repoDir, repoPath), "utf8"), repoPath) };
      });
  },
};
