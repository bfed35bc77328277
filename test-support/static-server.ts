// A static file server on 127.0.0.1 for the browser tests: serves `root` at / (index.html for /), and each extra
// mount (`{ '/files/': dir }`) under its prefix, with the MIME types a page with WebAssembly needs. It records every
// request, so a test can check what the page fetched.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

/** A running server: its base URL, the server (to close) and the requests it answered. */
export interface Served {
  url: string;
  server: Server;
  requests: Array<{ path: string; status: number }>;
}

/**
 * Starts serving; close with `served.server.close()`. `headers` go on every answer (e.g. COOP and COEP
 * for a cross-origin-isolated page).
 */
export async function serveStatic(
  root: string,
  mounts: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const mount = Object.keys(mounts).find((prefix) => url.pathname.startsWith(prefix));
    const [base, rel] = mount
      ? [mounts[mount], url.pathname.slice(mount.length)]
      : [root, url.pathname === '/' ? 'index.html' : url.pathname.slice(1)];
    const file = normalize(join(base, decodeURIComponent(rel)));
    let status = 404;
    try {
      if (!file.startsWith(base + sep) || !(await stat(file)).isFile()) throw new Error('not found');
      const body = await readFile(file);
      status = 200;
      res
        .writeHead(200, {
          ...headers,
          'content-type': MIME[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        })
        .end(body);
    } catch {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
    }
    requests.push({ path: url.pathname, status });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, requests };
}
