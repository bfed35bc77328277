// @ts-check
/**
 * A small static server for the built site (`.vitepress/dist`) that sends the two headers which make
 * a page cross-origin isolated, so that the wasm backend can use threads (SharedArrayBuffer):
 *
 *   Cross-Origin-Opener-Policy: same-origin
 *   Cross-Origin-Embedder-Policy: require-corp
 *
 * `npm run docs:preview` runs it (`vitepress preview` serves the build with its own server, which
 * Vite plugins cannot reach, so it cannot send these headers); the browser tests serve the site with
 * it too. Any host of the built site must send the same two headers: see guide/hosting.md.
 *
 * Usage: node scripts/serve.mjs [--port 4173] [--host 127.0.0.1] [--root .vitepress/dist]
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The headers that make a page cross-origin isolated (`self.crossOriginIsolated === true`). */
export const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
});

/** Content types by extension; `.wasm` must be `application/wasm` for streaming compilation. */
export const MIME = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
});

/** The site's default location, next to this script. */
export const DIST = fileURLToPath(new URL('../.vitepress/dist', import.meta.url));

/**
 * @typedef {{ path: string, status: number, type: string }} ServedRequest
 * @typedef {{ url: string, requests: ServedRequest[], close(): Promise<void> }} StaticServer
 */

/**
 * Serves `root` over HTTP with the isolation headers on every response.
 * `/dir/` serves `dir/index.html`; `/page` also finds `page.html` (VitePress's clean URLs); anything
 * else missing gets `404.html` with status 404.
 *
 * @param {string} root
 * @param {{ host?: string, port?: number }} [options] port 0 (the default) picks a free one
 * @returns {Promise<StaticServer>}
 */
export async function serveStatic(root, { host = '127.0.0.1', port = 0 } = {}) {
  const base = resolve(root);
  /** @type {ServedRequest[]} */
  const requests = [];

  /** @param {string} pathname */
  async function find(pathname) {
    let rel;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
    const candidates = rel.endsWith('/') ? [`${rel}index.html`] : [rel, `${rel}.html`, `${rel}/index.html`];
    for (const c of candidates) {
      const file = normalize(join(base, c));
      if (file !== base && !file.startsWith(base + sep)) return undefined; // no escaping the root
      try {
        if ((await stat(file)).isFile()) return file;
      } catch {
        // try the next candidate
      }
    }
    return undefined;
  }

  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    const file = await find(pathname);
    const status = file ? 200 : 404;
    const body = file
      ? await readFile(file)
      : await readFile(join(base, '404.html')).catch(() => Buffer.from('not found'));
    const type = file
      ? (MIME[/** @type {keyof MIME} */ (extname(file))] ?? 'application/octet-stream')
      : 'text/html; charset=utf-8';
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
    requests.push({ path: pathname, status, type });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(undefined));
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${actualPort}/`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok(undefined))),
  };
}

// As a command: serve the built site until interrupted.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  /** @param {string} name @param {string} fallback */
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
  };
  const root = resolve(arg('root', DIST));
  stat(join(root, 'index.html')).then(
    async () => {
      const { url } = await serveStatic(root, { host: arg('host', '127.0.0.1'), port: Number(arg('port', '4173')) });
      console.log(`cnn docs: serving ${root} at ${url} (cross-origin isolated)`);
    },
    () => {
      console.error(`cnn docs: ${root} has no index.html; build the site first (npm run docs:build)`);
      process.exitCode = 1;
    },
  );
}
