// Types for the imports that Vite resolves and tsc does not: Vue components and CSS.
declare module "*.vue" {
  import type { DefineComponent } from "vue";
  const component: DefineComponent;
  export default component;
}
declare module "*.css";
