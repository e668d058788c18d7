/**
 * A static file server for the built site, on 127.0.0.1 and an ephemeral
 * port, under the site's base (`/zkit/`) as GitHub Pages serves it: a folder
 * serves its `index.html`, anything else that is not a file is a 404. It
 * records every path it could not serve.
 * @module
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

export interface SiteServer {
  /** `http://127.0.0.1:<port><base>`, ending in `/`. */
  url: string;
  /** Paths (under the base) that were asked for and not found. */
  notFound: string[];
  close(): Promise<void>;
}

/** The file a path (under the base) serves, or undefined. */
export function fileFor(root: string, path: string): string | undefined {
  const decoded = decodeURIComponent(path.split(/[?#]/)[0]!);
  const full = normalize(join(root, decoded));
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  if (existsSync(full) && statSync(full).isFile()) return full;
  const index = join(full, "index.html");
  if (existsSync(index)) return index;
  return undefined;
}

export async function serveSite(root: string, base: string): Promise<SiteServer> {
  const notFound: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    const file = path.startsWith(base) ? fileFor(root, path.slice(base.length - 1)) : undefined;
    if (file === undefined) {
      notFound.push(path);
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${base}`,
    notFound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
