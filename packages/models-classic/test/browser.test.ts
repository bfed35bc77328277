/**
 * The built browser entry (dist/browser/index.js) in a Vite-built page in headless Chromium on http://127.0.0.1 (a
 * secure context): loadPretrained downloads a torchvision-format fixture checkpoint (test-only entry), checks it with
 * SubtleCrypto, keeps it in Cache Storage, and a second load is served from the cache (the server sees one request);
 * predict labels a decoded image with the ImageNet classes.
 *
 * Needs the build first, and Debian's `chromium` at /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, launchChromium } from '../../../test-support/chromium-page';
import { IMAGENET_CLASSES } from '../src/index';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FILE = 'lenet5_imagenet_fixture-f55b2793.pth';

const MAIN = `
import { setBackend, tf } from '@cnn/tensor';
import { imageHWC } from '@cnn/datasets';
import { loadPretrained, registerPretrained } from '@cnn/models-classic';
const out = document.getElementById('out');
try {
  await setBackend('cpu');
  registerPretrained({
    id: 'lenet5', name: 'T_WEB', source: 'torchvision', dataset: 'imagenet-1k', url: location.origin + '/files/${FILE}',
    file: '${FILE}', sha256Prefix: 'f55b2793', keyMap: 'torchvision', license: 'test', top1: 0, top5: 0, verified: true,
    preprocess: { resize: 32, crop: 28, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    modelOptions: { inChannels: 3 },
  });
  if (location.hostname === 'insecure.test') {
    // Not a secure context (plain http, not localhost): no SubtleCrypto, no Cache Storage.
    let error = 'no error';
    try { await loadPretrained('lenet5', { weights: 'T_WEB' }); } catch (e) { error = e.name + ' [' + e.kind + ']: ' + e.message; }
    out.textContent = JSON.stringify({ ok: true, secure: isSecureContext, error, requests: await (await fetch('/count')).json() });
    throw 'done';
  }
  const progress = [];
  const first = await loadPretrained('lenet5', { weights: 'T_WEB', onProgress: (p) => progress.push(p.loaded) });
  const img = imageHWC(new Uint8Array(40 * 48 * 3).map((_, i) => (i * 37) % 256), 40, 48, 3);
  const p1 = first.predict(img, { topk: 3 });
  first.dispose();
  const afterFirst = await (await fetch('/count')).json();
  const cache = await caches.open('cnn-weights');
  const keys = (await cache.keys()).map((r) => r.url);
  const recorded = (await cache.match(keys[0])).headers.get('x-cnn-sha256');
  const second = await loadPretrained('lenet5', { weights: 'T_WEB', onProgress: (p) => progress.push(-1) });
  const p2 = second.predict(img, { topk: 3 });
  second.dispose();
  const afterSecond = await (await fetch('/count')).json();
  // The shipped weights are fetched from the URLs a page passes (the shipped-weights subpath); without them, a named error.
  let noShipped = 'no error';
  try { await loadPretrained('lenet5', { weights: 'fashion-mnist' }); } catch (e) { noShipped = e.name + ' [' + e.kind + ']: ' + e.message; }
  out.textContent = JSON.stringify({ ok: true, p1, p2, afterFirst, afterSecond, keys, recorded, progress,
    secure: isSecureContext, tensors: tf.memory().numTensors, noShipped });
} catch (e) {
  if (e !== 'done') out.textContent = JSON.stringify({ ok: false, error: String((e && (e.stack || e.message)) || e) });
}
`;

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

let work: string;
let server: Server;
let url: string;
let context: import('playwright-core').BrowserContext;
let weightRequests = 0;

beforeAll(async () => {
  const built = await buildPage({
    tag: 'models-classic-browser',
    pkgDir: PKG,
    deps: ['@cnn/tensor', '@cnn/layers', '@cnn/datasets'],
    main: MAIN,
    built: 'dist/browser/index.js',
  });
  work = built.work;
  const dist = built.dist;
  const weights = await readFile(join(PKG, 'test', 'fixtures', 'download', FILE));
  server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === `/files/${FILE}`) {
      weightRequests++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(weights.length) });
      res.end(weights);
      return;
    }
    if (path === '/count') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(weightRequests));
      return;
    }
    const file = normalize(join(dist, path === '/' ? 'index.html' : decodeURIComponent(path.slice(1))));
    try {
      if (!file.startsWith(dist + sep) || !(await stat(file)).isFile()) throw new Error('not found');
      res
        .writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' })
        .end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // A host name that is not localhost, for the insecure-context case; it resolves to this server.
  context = await launchChromium(work, ['--host-resolver-rules=MAP insecure.test 127.0.0.1']);
}, 180_000);

afterAll(async () => {
  await context?.close();
  if (server) await new Promise((ok) => server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('@cnn/models-classic in a browser (Vite build, headless Chromium)', () => {
  it('loadPretrained downloads, verifies with SubtleCrypto, caches in Cache Storage, and serves the second load from the cache', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
        timeout: 60_000,
      });
      const r = JSON.parse((await page.textContent('#out')) ?? '{}');
      expect(r.ok, r.error).toBe(true);
      expect(errors).toEqual([]);
      expect(r.secure).toBe(true);
      expect(r.afterFirst).toBe(1);
      expect(r.afterSecond).toBe(1);
      expect(r.keys).toEqual([`${url}files/${FILE}`]);
      expect(r.recorded).toMatch(/^f55b2793[0-9a-f]{56}$/);
      // Progress only for the download, never for the cache hit.
      expect(r.progress.at(-1)).toBe(587287);
      expect(r.progress).not.toContain(-1);
      expect(r.p1.labels[0]).toEqual(r.p1.indices[0].map((i: number) => IMAGENET_CLASSES[i]));
      expect(r.p2).toEqual(r.p1);
      expect(r.tensors).toBe(0);
      expect(r.noShipped).toMatch(
        /^PretrainedError \[options\]: in a browser the shipped weights file lenet5-fashion-mnist\.safetensors is fetched from the URL you pass in shippedFiles: import \{ shippedWeightsFiles \} from '@cnn\/models-classic\/shipped-weights'/,
      );
    } finally {
      await page.close();
    }
  });

  it('a page that is not a secure context gets a PretrainedError that says why and what to do, and fetches nothing', async () => {
    const page = await context.newPage();
    try {
      const before = weightRequests;
      await page.goto(url.replace('127.0.0.1', 'insecure.test'));
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
        timeout: 60_000,
      });
      const r = JSON.parse((await page.textContent('#out')) ?? '{}');
      expect(r.ok, r.error).toBe(true);
      expect(r.secure).toBe(false);
      expect(r.error).toMatch(
        /^PretrainedError \[insecure-context\]: loadPretrained needs SubtleCrypto .* and the Cache Storage API, which browsers give only to secure contexts; http:\/\/insecure\.test:\d+ is not one: serve the page over https:\/\/, or from http:\/\/localhost/,
      );
      expect(weightRequests).toBe(before);
    } finally {
      await page.close();
    }
  });
});
