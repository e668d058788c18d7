/**
 * ZPL (4/ZPL, the ZeroMQ Property Language): the text format of CZMQ's
 * `zconfig` and of CURVE certificates. A tree of `name` or `name = value`
 * lines, four spaces of indentation a level, `#` comments, values bare or in
 * single or double quotes. Pure functions, no I/O.
 * @module
 */

/** One node of a ZPL tree. */
export interface ZplNode {
  /** Its name (`curve`, `public-key`). */
  readonly name: string;
  /** Its value, or `undefined` for a section (`curve`). */
  value: string | undefined;
  /** Its children, in file order. */
  readonly children: ZplNode[];
}

/** A line of ZPL text that cannot be read, with its line number (from 1). */
export class ZplSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "ZplSyntaxError";
  }
}

const NAME = /^[A-Za-z0-9$\-_@.&+/]+/;

/** True when `name` can be a ZPL name (letters, digits and `$-_@.&+/`). */
export function isZplName(name: string): boolean {
  const m = NAME.exec(name);
  return m !== null && m[0].length === name.length;
}

/**
 * Parses ZPL text into a tree whose root has no name. Tolerates what
 * CZMQ and pyzmq write (quoted and bare values, blank lines, comments,
 * CRLF line ends).
 *
 * @throws {@link ZplSyntaxError} naming the line of the first problem
 */
export function parseZpl(text: string): ZplNode {
  const root: ZplNode = { name: "", value: undefined, children: [] };
  const stack: ZplNode[] = [root]; // stack[level] is the parent of a node at `level`
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.replace(/\s+$/, "");
    const body = line.trimStart();
    if (body === "" || body.startsWith("#")) continue;
    const indent = line.length - body.length;
    if (line.slice(0, indent).includes("\t")) throw new ZplSyntaxError("indentation must be spaces (four a level), not tabs", lineNo);
    if (indent % 4 !== 0) throw new ZplSyntaxError(`indentation must be a multiple of four spaces, got ${indent}`, lineNo);
    const level = indent / 4;
    if (level >= stack.length) throw new ZplSyntaxError(`indented ${level} levels under a node at level ${stack.length - 2}`, lineNo);
    const m = NAME.exec(body);
    if (m === null) throw new ZplSyntaxError(`expected a name (letters, digits and $-_@.&+/), got ${JSON.stringify(body.slice(0, 20))}`, lineNo);
    const name = m[0];
    let rest = body.slice(name.length).trimStart();
    let value: string | undefined;
    if (rest.startsWith("=")) {
      rest = rest.slice(1).trimStart();
      const quote = rest[0];
      if (quote === '"' || quote === "'") {
        const end = rest.indexOf(quote, 1);
        if (end < 0) throw new ZplSyntaxError(`the value of ${name} opens a ${quote} quote that is never closed`, lineNo);
        value = rest.slice(1, end);
        const after = rest.slice(end + 1).trim();
        if (after !== "" && !after.startsWith("#")) throw new ZplSyntaxError(`unexpected text after the value of ${name}: ${JSON.stringify(after.slice(0, 20))}`, lineNo);
      } else {
        // a bare value runs to the end of the line or to a comment (a # after a space)
        const comment = rest.search(/\s#/);
        value = (comment < 0 ? rest : rest.slice(0, comment)).trim();
      }
    } else if (rest !== "" && !rest.startsWith("#")) {
      throw new ZplSyntaxError(`expected "=" or the end of the line after ${name}, got ${JSON.stringify(rest.slice(0, 20))}`, lineNo);
    }
    const node: ZplNode = { name, value, children: [] };
    stack[level]!.children.push(node);
    stack.length = level + 1;
    stack.push(node);
  }
  return root;
}

/**
 * The node at `path` (`"/curve/public-key"`), the first of each name, or
 * `undefined`.
 */
export function locateZpl(root: ZplNode, path: string): ZplNode | undefined {
  let node: ZplNode | undefined = root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    node = node.children.find((c) => c.name === part);
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Writes a value for a ZPL file: in double quotes, or single quotes when it
 * holds a double quote.
 *
 * @throws `Error` for a value with a line break, or with both kinds of quote
 */
export function quoteZpl(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error("a ZPL value cannot hold a line break");
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new Error("a ZPL value cannot hold both a double and a single quote");
}
