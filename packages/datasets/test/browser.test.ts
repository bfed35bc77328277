/**
 * The built browser entry (dist/browser/index.js) in a Vite-built page in headless Chromium: the
 * embedded sample is bundled as assets (the page imports their URLs from `@cnn/datasets/fashion-mnist-sample`) and
 * read with fetch + DecompressionStream, images decode
 * through createImageBitmap, and a DataLoader batch becomes a tensor.
 *
 * Needs the build first, and Debian's `chromium` at /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, launchChromium } from '../../../test-support/chromium-page';
import { idx, palettePng } from './helpers';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MAIN = `
import { setBackend, tf } from '@cnn/tensor';
import { FashionMNIST, DataLoader, Compose, ToTensor, Normalize, decodeImage, loadImage, readIdx } from '@cnn/datasets';
import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample';
const out = document.getElementById('out');
try {
  await setBackend('cpu');
  const test = await FashionMNIST.sample({ train: false, files: fashionMnistSampleFiles });
  const png = Uint8Array.from(atob(window.PNG), (c) => c.charCodeAt(0));
  const img = await decodeImage(png, 'inline.png');
  const loader = new DataLoader(test.withTransform(new Compose([new ToTensor(), new Normalize([0.286], [0.353])])), { batchSize: 100, shuffle: true, seed: 1 });
  let shape = null;
  for await (const b of loader) { shape = b.x.shape; b.dispose(); break; }
  let gzipError = null;
  try { await readIdx(window.TRUNCATED_URL, 1); } catch (e) { gzipError = e.message; }
  const caught = async (f) => { try { await f(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
  const bomb = new Uint8Array(await (await fetch('/bomb.png')).arrayBuffer());
  const limits = {
    bombBytes: bomb.length,
    decode: await caught(() => decodeImage(bomb, 'bomb.png')),
    load: await caught(() => loadImage('/bomb.png')),
    small: await caught(() => decodeImage(png, 'inline.png', 3, { maxPixels: 5 })),
    idxBomb: await caught(() => readIdx('/bomb-idx.gz', 3)),
    idxLimit: await caught(() => readIdx('/labels-idx1-ubyte', 1, { maxBytes: 4 })),
    sampleWithoutFiles: await caught(() => FashionMNIST.sample()),
  };
  // loadImage's browser sources: an ImageBitmap, an OffscreenCanvas, a <canvas>, an <img>, ImageData.
  const pick = (im) => ({ h: im.height, w: im.width, c: im.channels, data: Array.from(im.data) });
  const blob = new Blob([png], { type: 'image/png' });
  const bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const off = new OffscreenCanvas(bitmap.width, bitmap.height);
  off.getContext('2d').drawImage(bitmap, 0, 0);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  const el = new Image();
  el.src = URL.createObjectURL(blob);
  await el.decode();
  const sources = {
    bitmap: pick(await loadImage(bitmap)), offscreen: pick(await loadImage(off)), canvas: pick(await loadImage(canvas)), img: pick(await loadImage(el)),
    imageData: pick(await loadImage(off.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height))),
    greyBitmap: pick(await loadImage(bitmap, 1)), greyDecoded: pick(await decodeImage(png, 'inline.png', 1)),
    notLoaded: await caught(() => loadImage(new Image())), sized: await caught(() => loadImage({ width: 3, height: 2 })),
  };
  // Absolute http(s) URLs: downloaded within timeoutMs and maxBytes, as in Node.
  const web = {
    url: pick(await loadImage(location.origin + '/pixels.png')),
    silent: await caught(() => loadImage(location.origin + '/silent', { timeoutMs: 300 })),
    big: await caught(() => loadImage(location.origin + '/bomb.png', { maxBytes: 1000 })),
    relativeBig: await caught(() => loadImage('/bomb.png', { maxBytes: 1000 })),
  };
  out.textContent = JSON.stringify({ ok: true, length: test.length, counts: test.labelCounts(), first: Array.from(test.raw(0).data.subarray(300, 310)),
    decoded: { h: img.height, w: img.width, c: img.channels, data: Array.from(img.data) }, shape, tensors: tf.memory().numTensors, gzipError, limits, sources, web });
} catch (e) {
  out.textContent = JSON.stringify({ ok: false, error: String((e && (e.stack || e.message)) || e) });
}
`;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.gz': 'application/gzip',
};

let work: string;
let server: Server;
let url: string;
let context: import('playwright-core').BrowserContext;
let dist: string;
const pixels = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 7, 8, 9]); // 3 x 2 RGB

beforeAll(async () => {
  const png = await sharp(pixels, { raw: { width: 3, height: 2, channels: 3 } })
    .png()
    .toBuffer();
  const built = await buildPage({
    tag: 'datasets-browser',
    pkgDir: PKG,
    deps: ['@cnn/tensor'],
    main: MAIN,
    built: 'dist/browser/index.js',
    html: `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre>
<script>window.PNG = '${png.toString('base64')}'; window.TRUNCATED_URL = '/cut.gz';</script><script type="module" src="./main.js"></script></body></html>`,
    prepare: async (app) => {
      await mkdir(join(app, 'public'));
      const gz = await readFile(join(PKG, 'data', 'fashion-mnist-sample', 't10k-labels-idx1-ubyte.gz'));
      await writeFile(join(app, 'public', 'cut.gz'), gz.subarray(0, gz.length - 50));
      // Issue 19's hostile files: a 249 kB PNG of 16000x16000, and a gzip IDX whose header declares 10
      // images but which inflates to 64 MB (cut short at the end: only a reader that stops early can
      // say it runs past its header rather than that it is truncated).
      await writeFile(join(app, 'public', 'bomb.png'), palettePng(16000, 16000));
      await writeFile(join(app, 'public', 'pixels.png'), png);
      const idxBomb = gzipSync(Buffer.concat([idx([10, 28, 28], new Uint8Array(0)), Buffer.alloc(64 << 20)]));
      await writeFile(join(app, 'public', 'bomb-idx.gz'), idxBomb.subarray(0, idxBomb.length - 10));
      await writeFile(join(app, 'public', 'labels-idx1-ubyte'), idx([10], new Uint8Array(10)));
    },
  });
  work = built.work;
  dist = built.dist;
  server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/silent') return; // accepts the request, never answers (loadImage's timeoutMs must end it)
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
  context = await launchChromium(work, ['--disable-quic', '--disable-component-update', '--disable-sync']);
});

afterAll(async () => {
  await context?.close();
  server?.closeAllConnections();
  if (server) await new Promise((ok) => server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

/** Opens the page, waits for the JSON it writes, and returns it with the page's uncaught errors. */
async function pageResult(): Promise<{ r: any; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
      timeout: 30_000,
    });
    return { r: JSON.parse((await page.textContent('#out')) ?? '{}'), errors };
  } finally {
    await page.close();
  }
}

describe('@cnn/datasets in a browser (Vite build, headless Chromium)', () => {
  it('bundles the sample as assets and leaves Node-only code out', async () => {
    const assets = await readdir(join(dist, 'assets'));
    // The image files become assets; the small label files are inlined (Vite's 4 kB limit).
    expect(assets.filter((f) => /^(train|t10k)-images-idx3-ubyte-[\w-]+\.gz$/.test(f)).length).toBe(2);
    const js = (
      await Promise.all(assets.filter((f) => f.endsWith('.js')).map((f) => readFile(join(dist, 'assets', f), 'utf8')))
    ).join('\n');
    // None of the Node platform (sharp, node:zlib, the file system) is in the page.
    expect(js).not.toMatch(/failOn|needs the 'sharp' package|embedded Fashion-MNIST sample is missing/);
    expect(js).toContain('DecompressionStream');
  });

  it('loads the sample, decodes a PNG, and batches into a tensor', async () => {
    const { r, errors } = await pageResult();
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    expect(r.length).toBe(1000);
    expect(r.counts).toEqual(new Array(10).fill(100));
    const { FashionMNIST } = await import('../src/index');
    expect(r.first).toEqual(Array.from((await FashionMNIST.sample({ train: false })).raw(0).data.subarray(300, 310)));
    expect(r.decoded).toEqual({ h: 2, w: 3, c: 3, data: Array.from(pixels) });
    expect(r.shape).toEqual([100, 28, 28, 1]);
    expect(r.tensors).toBe(0);
    expect(r.gzipError).toMatch(/cut\.gz: corrupt or truncated gzip stream/);
    // The limits hold in the browser build too (header checks before createImageBitmap, streamed gunzip).
    expect(r.limits.bombBytes).toBeLessThan(260_000);
    expect(r.limits.decode).toMatch(
      /^DatasetError: bomb\.png: image is 16000x16000 = 256,000,000 pixels, over the decoding budget of 67,108,864 pixels/,
    );
    expect(r.limits.load).toMatch(/^DatasetError: \/bomb\.png: image is 16000x16000 = 256,000,000 pixels/);
    expect(r.limits.small).toMatch(
      /^DatasetError: inline\.png: image is 3x2 = 6 pixels, over the decoding budget of 5 pixels/,
    );
    // In a page the sample's files come from the subpath's URLs; without them, a named error that says so.
    expect(r.limits.sampleWithoutFiles).toMatch(
      /^DatasetUsageError: FashionMNIST\.sample: in a browser the sample's files are fetched from the URLs you pass as files \(train-images-idx3-ubyte\.gz is one\): import \{ fashionMnistSampleFiles \} from '@cnn\/datasets\/fashion-mnist-sample'/,
    );
    expect(r.limits.idxBomb).toMatch(
      /^DatasetError: \/bomb-idx\.gz: inflates past the 10x28x28 = 7,840 values its header declares/,
    );
    expect(r.limits.idxLimit).toMatch(
      /^DatasetError: \/labels-idx1-ubyte: its header declares 10 = 10 values, over the limit/,
    );
  });

  it('loadImage reads an ImageBitmap, an OffscreenCanvas, a <canvas>, an <img>, ImageData and an http URL as the decoder does', async () => {
    const { r, errors } = await pageResult();
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    const rgb = { h: 2, w: 3, c: 3, data: Array.from(pixels) };
    for (const kind of ['bitmap', 'offscreen', 'canvas', 'img', 'imageData'])
      expect(r.sources[kind], kind).toEqual(rgb);
    expect(r.sources.greyBitmap.c).toBe(1);
    expect(r.sources.greyBitmap).toEqual(r.sources.greyDecoded);
    expect(r.sources.notLoaded).toMatch(
      /^DatasetUsageError: loadImage: the image or canvas is 0x0 \(not loaded yet\?\)/,
    );
    expect(r.web.url).toEqual(rgb);
    expect(r.web.silent).toMatch(
      /^DatasetError: http:\/\/127\.0\.0\.1:\d+\/silent: no complete answer within 300 ms, the download was stopped/,
    );
    expect(r.web.big).toMatch(
      /^DatasetError: http:\/\/127\.0\.0\.1:\d+\/bomb\.png: is (more than )?\d[\d,]* bytes, over the limit of 1,000 bytes \(raise the maxBytes option/,
    );
    expect(r.web.relativeBig).toMatch(
      /^DatasetError: \/bomb\.png: is (more than )?\d[\d,]* bytes, over the limit of 1,000 bytes/,
    );
    expect(r.sources.sized).toMatch(
      /^DatasetUsageError: loadImage: expected a path, file bytes, an ImageHWC, ImageData or \(in a browser\) an image or canvas/,
    );
  });
});
