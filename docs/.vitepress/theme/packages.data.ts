// Build-time data for <PackageTable>: the site's package list with each
// package's description read from its package.json.
import { apiLink, describePackage } from "../generate.js";
import { packages, pageOf } from "../packages.js";

export interface PackageRow {
  dir: string;
  title: string;
  chapters: string;
  description: string;
  /** The page, without the base. */
  page: string;
  /** The API page, without the base. */
  api: string;
}

declare const data: PackageRow[];
export { data };

export default {
  watch: ["../../../packages/*/package.json"],
  load(): PackageRow[] {
    const html = (link: string): string => (link.endsWith("/") ? link : `${link}.html`);
    return packages.map((p) => ({
      dir: p.dir,
      title: p.title,
      chapters: p.chapters,
      description: describePackage(p.dir),
      page: html(pageOf(p)),
      api: html(apiLink(p.dir)),
    }));
  },
};
