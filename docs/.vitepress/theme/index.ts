// The default VitePress theme plus zkit's components: <Mermaid> for diagrams,
// <BenchCharts> for the performance page, <PackageTable> for the packages,
// <ChapterList> for the guide's chapters.
import type { Theme } from "vitepress";
import DefaultTheme from "vitepress/theme";
import BenchCharts from "./BenchCharts.vue";
import ChapterList from "./ChapterList.vue";
import Mermaid from "./Mermaid.vue";
import PackageTable from "./PackageTable.vue";
import "./style.css";

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component("Mermaid", Mermaid);
    app.component("BenchCharts", BenchCharts);
    app.component("PackageTable", PackageTable);
    app.component("ChapterList", ChapterList);
  },
} satisfies Theme;
