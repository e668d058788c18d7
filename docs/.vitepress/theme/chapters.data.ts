// Build-time data for <ChapterList>: the guide's chapter pages, guide/chN.md,
// in order, so that a new chapter's page shows up by being there.
import { createContentLoader } from "vitepress";

export interface ChapterRow {
  url: string;
  title: string;
  n: number;
}

declare const data: ChapterRow[];
export { data };

export default createContentLoader("guide/ch*.md", {
  transform(raw): ChapterRow[] {
    return raw.map((page) => ({ url: page.url, title: String(page.frontmatter.title ?? page.url), n: Number(/ch(\d+)/.exec(page.url)?.[1] ?? 0) })).sort((a, b) => a.n - b.n);
  },
});
