/**
 * What each package exports, read by the TypeScript compiler from its
 * `src/index.ts`: the names the API reference must have a page for.
 * @module
 */
import { join } from "node:path";
import ts from "typescript";

/** One exported symbol of a package. */
export interface ExportedSymbol {
  name: string;
  /** What it is, in TypeDoc's words. */
  kind: "class" | "function" | "interface" | "type alias" | "variable" | "enumeration" | "namespace";
}

function kindOf(symbol: ts.Symbol): ExportedSymbol["kind"] | undefined {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return "class";
  if (f & ts.SymbolFlags.Enum) return "enumeration";
  if (f & ts.SymbolFlags.Function) return "function";
  if (f & ts.SymbolFlags.Interface) return "interface";
  if (f & ts.SymbolFlags.TypeAlias) return "type alias";
  if (f & ts.SymbolFlags.Variable) return "variable";
  if (f & (ts.SymbolFlags.NamespaceModule | ts.SymbolFlags.ValueModule)) return "namespace";
  return undefined;
}

function isInternal(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === "internal"));
}

/** The exported symbols of `packages/<dir>/src/index.ts`, `@internal` ones left out (TypeDoc leaves them out too). */
export function exportsOf(repoDir: string, dir: string): ExportedSymbol[] {
  const entry = join(repoDir, "packages", dir, "src", "index.ts");
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    customConditions: ["@zkit/source"],
    types: ["node"],
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`cannot read the exports of ${entry}`);
  const out: ExportedSymbol[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (isInternal(symbol)) continue;
    const kind = kindOf(symbol);
    if (kind === undefined) throw new Error(`${dir}: export ${exported.name} is of a kind this check does not know (flags ${symbol.flags})`);
    out.push({ name: exported.name, kind });
  }
  return out;
}
