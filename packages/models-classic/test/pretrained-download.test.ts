// loadPretrained's downloads, against a local HTTP server on 127.0.0.1 (no test reaches the internet) serving a
// torchvision-format checkpoint (scripts/make-download-fixture.py: LeNet-5 with 3 channels and 1,000 classes,
// registered under test-only table entries whose hash prefix is the fixture's): download, hash check, cache hit, a
// dropped connection, 404, a hash mismatch, a corrupted cache entry, two processes at once, progress, a local file,
// CNN_WEIGHTS_DIR, a mirror, no network; and the shipped Fashion-MNIST files under their old and new options.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend, tf } from '@cnn/tensor';
import { FashionMNIST, imageHWC } from '@cnn/datasets';
import { torchState } from '@cnn/layers';
import { fnv1a, realise } from '../../../test-support/fixtures';
import {
  IMAGENET_CLASSES,
  PretrainedError,
  listPretrained,
  loadPretrained,
  registerPretrained,
  type PretrainedEntry,
} from '../src/index';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(PKG, 'test', 'fixtures', 'download');
const FILE = 'lenet5_imagenet_fixture-f55b2793.pth';
const BYTES = readFileSync(join(FIXTURES, FILE));
const SHA = createHash('sha256').update(BYTES).digest('hex');

let server: Server;
let base: string;
/** Requests per path. */
const hits = new Map<string, number>();
const count = (path: string) => hits.get(path) ?? 0;
let work: string;

beforeAll(async () => {
  await setBackend('wasm');
  work = await mkdtemp(join(tmpdir(), 'cnn-pretrained-'));
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, count(path) + 1);
    const [, route] = path.split('/');
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(BYTES.length) };
    if (route === 'files' || route === 'mirror') res.writeHead(200, headers).end(BYTES);
    else if (route === 'half') {
      // Half the file, then the connection drops.
      res.writeHead(200, headers);
      res.write(BYTES.subarray(0, BYTES.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    } else if (route === 'slow') {
      // Four pieces, 150 ms apart: two clients overlap.
      res.writeHead(200, headers);
      const step = Math.ceil(BYTES.length / 4);
      let at = 0;
      const next = () => {
        res.write(BYTES.subarray(at, at + step));
        at += step;
        if (at >= BYTES.length) res.end();
        else setTimeout(next, 150);
      };
      next();
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((ok) => server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

/** A test-only entry for the fixture under `route`, named `name`; removed by the returned function. */
function entry(name: string, route: string, over: Partial<PretrainedEntry> = {}): () => void {
  const file = over.file ?? FILE;
  return registerPretrained({
    id: 'lenet5',
    name,
    source: 'torchvision',
    dataset: 'imagenet-1k',
    url: `${base}/${route}/${file}`,
    file,
    sha256Prefix: 'f55b2793',
    keyMap: 'torchvision',
    license: 'test fixture',
    top1: 0.1,
    top5: 0.5,
    preprocess: {
      resize: 32,
      crop: 28,
      interpolation: 'bilinear',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    modelOptions: { inChannels: 3 },
    verified: true,
    ...over,
  });
}

let dirs = 0;
const freshDir = () => join(work, `cache-${++dirs}`);
const listDir = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();

/** Runs `f`, which must throw a PretrainedError; returns it. */
async function refused(f: () => Promise<unknown>): Promise<PretrainedError> {
  const before = tf.memory().numTensors;
  const t0 = Date.now();
  const e = await f().then(
    () => new Error('no error'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PretrainedError);
  expect(tf.memory().numTensors).toBe(before);
  console.log(`refused in ${Date.now() - t0} ms: ${(e as Error).message}`);
  return e as PretrainedError;
}

/** The fixture's value of a parameter, as the script computes it (numpy's round half to even). */
function expected(key: string, shape: number[]): Float32Array {
  const v = realise(shape, fnv1a(`pretrained.${key}`));
  return v.map((x) => {
    const y = x * 8;
    let r = Math.round(y);
    if (Math.abs(y % 1) === 0.5 && r % 2 !== 0) r -= 1;
    return r / 64;
  });
}

describe('loadPretrained downloads, verifies and caches', () => {
  it('downloads once with progress, checks the hash prefix, records the full SHA-256, and serves the next load from the cache', async () => {
    const remove = entry('T_DL', 'files');
    const cacheDir = freshDir();
    try {
      const progress: Array<{ loaded: number; total: number | undefined; url: string }> = [];
      const net = await loadPretrained('lenet5', { weights: 'T_DL', cacheDir, onProgress: (p) => progress.push(p) });
      const url = `${base}/files/${FILE}`;
      expect(count(`/files/${FILE}`)).toBe(1);
      expect(progress.length).toBeGreaterThan(1);
      for (let i = 1; i < progress.length; i++)
        expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
      expect(progress.at(-1)).toEqual({ loaded: BYTES.length, total: BYTES.length, url });
      expect(await listDir(cacheDir)).toEqual([FILE, `${FILE}.sha256`]);
      expect((await readFile(join(cacheDir, `${FILE}.sha256`), 'utf8')).trim()).toBe(SHA);
      expect(Buffer.compare(await readFile(join(cacheDir, FILE)), BYTES)).toBe(0);
      // The weights are the file's (torchvision's keys, OIHW -> HWIO on the way), the model is in eval mode.
      const host = torchState(net).get('classifier.2.weight')!.data;
      expect(Array.from(host)).toEqual(Array.from(expected('classifier.2.weight', [1000, 84])));
      expect(net.training).toBe(false);
      expect(net.pretrained?.classes).toBe(IMAGENET_CLASSES);
      expect(net.pretrained?.weights.name).toBe('T_DL');
      expect(net.pretrained?.preprocess).toMatchObject({ resize: 32, crop: 28, channels: 3 });
      net.dispose();
      const again = await loadPretrained('lenet5', { weights: 'T_DL', cacheDir, onProgress: (p) => progress.push(p) });
      expect(count(`/files/${FILE}`)).toBe(1);
      again.dispose();
    } finally {
      remove();
    }
  });

  it('predict takes decoded images: preprocessed as the entry says, labelled with the ImageNet classes', async () => {
    const remove = entry('T_PRED', 'files');
    try {
      const net = await loadPretrained('lenet5', { weights: 'T_PRED', cacheDir: freshDir() });
      const px = new Uint8Array(40 * 48 * 3).map((_, i) => (i * 37) % 256);
      const img = imageHWC(px, 40, 48, 3);
      const before = tf.memory().numTensors;
      const p = net.predict([img, img], { topk: 3 });
      expect(tf.memory().numTensors).toBe(before);
      expect(p.labels).toEqual(p.indices.map((row) => row.map((i) => IMAGENET_CLASSES[i])));
      expect(p.indices[0]).toEqual(p.indices[1]);
      // The same as preprocessing by hand: resize the short side to 32, centre-crop 28, normalise.
      const { Compose, Resize, CenterCrop, ToTensor, Normalize, Rng } = await import('@cnn/datasets');
      const t = new Compose([
        new Resize(32),
        new CenterCrop(28),
        new ToTensor(),
        new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      ]);
      const x = tf.tensor4d(t.apply(img, new Rng(0)).data as Float32Array, [1, 28, 28, 3]);
      const q = net.predict(x, { topk: 3 });
      x.dispose();
      expect(q.indices[0]).toEqual(p.indices[0]);
      expect(q.scores[0]![0]).toBeCloseTo(p.scores[0]![0]!, 6);
      const grey = imageHWC(new Uint8Array(28 * 28), 28, 28, 1);
      expect(() => net.predict(grey)).toThrow(
        /image 0 has 1 channel, the model takes 3 \(load it with loadImage\(src, 3\)\)/,
      );
      net.dispose();
    } finally {
      remove();
    }
  });

  it("a killed process's temporary file older than a day is removed by the next download; a fresh one is left alone", async () => {
    const remove = entry('T_STALE', 'files');
    const cacheDir = freshDir();
    try {
      const { mkdir, utimes } = await import('node:fs/promises');
      await mkdir(cacheDir, { recursive: true });
      const stale = join(cacheDir, `.${FILE}.12345.abcdef.tmp`);
      const fresh = join(cacheDir, `.${FILE}.67890.abcdef.tmp`);
      await writeFile(stale, 'half');
      await writeFile(fresh, 'half');
      const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(stale, old, old);
      (await loadPretrained('lenet5', { weights: 'T_STALE', cacheDir })).dispose();
      expect(await listDir(cacheDir)).toEqual([`.${FILE}.67890.abcdef.tmp`, FILE, `${FILE}.sha256`]);
    } finally {
      remove();
    }
  });

  it('a connection dropped halfway: PretrainedError naming the URL, the cache path and what to do; nothing cached; the next call downloads again', async () => {
    const remove = entry('T_HALF', 'half');
    const cacheDir = freshDir();
    try {
      for (let attempt = 1; attempt <= 2; attempt++) {
        const e = await refused(() => loadPretrained('lenet5', { weights: 'T_HALF', cacheDir }));
        expect(e.kind).toBe('truncated');
        expect(e.message).toContain(`${base}/half/${FILE}`);
        expect(e.message).toMatch(/stopped after \d+ of 587287 bytes|ended after \d+ of the 587287 bytes/);
        expect(e.message).toContain(`download it by hand to ${join(cacheDir, FILE)}`);
        expect(e.message).toContain('CNN_WEIGHTS_DIR');
        expect(await listDir(cacheDir)).toEqual([]);
        expect(count(`/half/${FILE}`)).toBe(attempt);
      }
    } finally {
      remove();
    }
  });

  it('HTTP 404: PretrainedError with the status, the URL and the cache path; nothing cached', async () => {
    const remove = entry('T_404', 'gone');
    const cacheDir = freshDir();
    try {
      const e = await refused(() => loadPretrained('lenet5', { weights: 'T_404', cacheDir }));
      expect(e.kind).toBe('http');
      expect(e.message).toMatch(new RegExp(`^${base}/gone/${FILE} answered HTTP 404`));
      expect(e.message).toContain(join(cacheDir, FILE));
      expect(e.url).toBe(`${base}/gone/${FILE}`);
      expect(await listDir(cacheDir)).toEqual([]);
    } finally {
      remove();
    }
  });

  it('a file whose SHA-256 does not start with the published prefix is refused and not cached', async () => {
    const file = 'lenet5_imagenet_fixture-deadbeef.pth';
    const remove = entry('T_HASH', 'files', { file, sha256Prefix: 'deadbeef' });
    const cacheDir = freshDir();
    try {
      const e = await refused(() => loadPretrained('lenet5', { weights: 'T_HASH', cacheDir }));
      expect(e.kind).toBe('hash-mismatch');
      expect(e.message).toContain(`the download from ${base}/files/${file} has SHA-256 ${SHA.slice(0, 16)}`);
      expect(e.message).toContain('starts with deadbeef');
      expect(e.message).toContain('nothing was cached');
      expect(await listDir(cacheDir)).toEqual([]);
    } finally {
      remove();
    }
  });

  it('a corrupted cache entry (one byte flipped) is detected, removed and fetched again', async () => {
    const remove = entry('T_CORRUPT', 'mirror');
    const cacheDir = freshDir();
    try {
      (await loadPretrained('lenet5', { weights: 'T_CORRUPT', cacheDir })).dispose();
      expect(count(`/mirror/${FILE}`)).toBe(1);
      const cached = join(cacheDir, FILE);
      const bad = Buffer.from(await readFile(cached));
      bad[bad.length >> 1] ^= 0x40;
      await writeFile(cached, bad);
      (await loadPretrained('lenet5', { weights: 'T_CORRUPT', cacheDir })).dispose();
      expect(count(`/mirror/${FILE}`)).toBe(2);
      expect(Buffer.compare(await readFile(cached), BYTES)).toBe(0);
      expect(await listDir(cacheDir)).toEqual([FILE, `${FILE}.sha256`]);
    } finally {
      remove();
    }
  });

  it('an aborted download (signal) is a PretrainedError of kind aborted; nothing cached', async () => {
    const remove = entry('T_ABORT', 'slow');
    const cacheDir = freshDir();
    try {
      const ctl = new AbortController();
      const e = await refused(() =>
        loadPretrained('lenet5', {
          weights: 'T_ABORT',
          cacheDir,
          signal: ctl.signal,
          onProgress: (p) => {
            if (p.loaded > 0) ctl.abort();
          },
        }),
      );
      expect(e.kind).toBe('aborted');
      expect(e.message).toBe(`the download of ${base}/slow/${FILE} was aborted; nothing was cached`);
      expect(await listDir(cacheDir)).toEqual([]);
    } finally {
      remove();
    }
  });

  it('two processes downloading at once both succeed and leave one valid cache file', async () => {
    const cacheDir = freshDir();
    const script = `
      import { setBackend } from '@cnn/tensor';
      import { loadPretrained, registerPretrained } from '@cnn/models-classic';
      await setBackend('cpu');
      registerPretrained(JSON.parse(process.env.ENTRY));
      const net = await loadPretrained('lenet5', { weights: 'T_TWO', cacheDir: process.env.DIR });
      console.log('loaded', net.pretrained.weights.name);
    `;
    const e = {
      id: 'lenet5',
      name: 'T_TWO',
      source: 'torchvision',
      dataset: 'imagenet-1k',
      url: `${base}/slow/${FILE}`,
      file: FILE,
      sha256Prefix: 'f55b2793',
      keyMap: 'torchvision',
      license: 'test',
      top1: 0,
      top5: 0,
      verified: true,
      preprocess: { resize: 32, crop: 28, interpolation: 'bilinear', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      modelOptions: { inChannels: 3 },
    };
    const run = () =>
      new Promise<{ code: number | null; out: string }>((ok) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          cwd: PKG,
          env: { ...process.env, ENTRY: JSON.stringify(e), DIR: cacheDir },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => ok({ code, out }));
      });
    const t0 = Date.now();
    const [a, b] = await Promise.all([run(), run()]);
    console.log(`two processes in ${Date.now() - t0} ms`);
    expect(a.out).toContain('loaded T_TWO');
    expect(b.out).toContain('loaded T_TWO');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(await listDir(cacheDir)).toEqual([FILE, `${FILE}.sha256`]);
    expect(Buffer.compare(await readFile(join(cacheDir, FILE)), BYTES)).toBe(0);
    expect((await readFile(join(cacheDir, `${FILE}.sha256`), 'utf8')).trim()).toBe(SHA);
  }, 120_000);
});

describe('offline use, mirrors and no network', () => {
  it('{ file }: a local file, no request; a file with another hash is refused, naming it', async () => {
    const remove = entry('T_FILE', 'files');
    try {
      const before = count(`/files/${FILE}`);
      const cacheDir = freshDir();
      const net = await loadPretrained('lenet5', { weights: 'T_FILE', file: join(FIXTURES, FILE), cacheDir });
      net.dispose();
      expect(count(`/files/${FILE}`)).toBe(before);
      expect(await listDir(cacheDir)).toEqual([]);
      const other = join(work, 'other.pth');
      await writeFile(other, BYTES.subarray(1));
      const e = await refused(() => loadPretrained('lenet5', { weights: 'T_FILE', file: other }));
      expect(e.kind).toBe('hash-mismatch');
      expect(e.message).toContain(`the file ${other} (the file option) has SHA-256`);
      expect(e.message).toContain('starts with f55b2793');
      const missing = await refused(() =>
        loadPretrained('lenet5', { weights: 'T_FILE', file: join(work, 'nope.pth') }),
      );
      expect(missing.kind).toBe('file');
      expect(missing.message).toContain('nope.pth (the file option) is not a file');
    } finally {
      remove();
    }
  });

  it('CNN_WEIGHTS_DIR is searched first: no request, nothing cached', async () => {
    const remove = entry('T_DIR', 'files');
    const cacheDir = freshDir();
    process.env.CNN_WEIGHTS_DIR = FIXTURES;
    try {
      const before = count(`/files/${FILE}`);
      (await loadPretrained('lenet5', { weights: 'T_DIR', cacheDir })).dispose();
      expect(count(`/files/${FILE}`)).toBe(before);
      expect(await listDir(cacheDir)).toEqual([]);
    } finally {
      delete process.env.CNN_WEIGHTS_DIR;
      remove();
    }
  });

  it('a mirror (baseUrl, or CNN_WEIGHTS_URL) replaces the publisher; with no network the error says so', async () => {
    // A port nothing listens on: a server's, closed.
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((ok) => closed.close(ok));
    const remove = registerPretrainedAt(`${dead}/files/${FILE}`, 'T_MIRROR');
    try {
      const before = count(`/mirror/${FILE}`);
      (
        await loadPretrained('lenet5', { weights: 'T_MIRROR', cacheDir: freshDir(), baseUrl: `${base}/mirror` })
      ).dispose();
      expect(count(`/mirror/${FILE}`)).toBe(before + 1);
      process.env.CNN_WEIGHTS_URL = `${base}/mirror/`;
      try {
        (await loadPretrained('lenet5', { weights: 'T_MIRROR', cacheDir: freshDir() })).dispose();
      } finally {
        delete process.env.CNN_WEIGHTS_URL;
      }
      expect(count(`/mirror/${FILE}`)).toBe(before + 2);
      const cacheDir = freshDir();
      const e = await refused(() => loadPretrained('lenet5', { weights: 'T_MIRROR', cacheDir }));
      expect(e.kind).toBe('offline');
      expect(e.message).toContain(`cannot download ${dead}/files/${FILE}`);
      expect(e.message).toMatch(/ECONNREFUSED/);
      expect(e.message).toContain(`download it by hand to ${join(cacheDir, FILE)}`);
      const bad = await refused(() => loadPretrained('lenet5', { weights: 'T_MIRROR', baseUrl: 'ftp://example.org/' }));
      expect(bad.message).toMatch(/the weights mirror ftp:\/\/example\.org\/ is not http\(s\)/);
    } finally {
      remove();
    }
  });
});

function registerPretrainedAt(url: string, name: string): () => void {
  return entry(name, 'files', { url });
}

describe('which weights', () => {
  it('an id with no weights lists none, and loading it names the ids that have some', async () => {
    expect(listPretrained('resnet18_cifar')).toEqual([]);
    const e = await refused(() => loadPretrained('resnet18_cifar'));
    expect(e.kind).toBe('unknown-weights');
    expect(e.message).toMatch(
      /^no pretrained weights for 'resnet18_cifar' .*models with weights: (.*, )?lenet5, (.*, )?resnet20_cifar/,
    );
    const u = await refused(() => loadPretrained('lenet5', { weights: 'IMAGENET9K' }));
    expect(u.message).toBe("'lenet5' has no weights named 'IMAGENET9K'; it has 'fashion-mnist'");
    expect(() => listPretrained('nope')).toThrow(PretrainedError);
  });

  it("'fashion-mnist' and the deprecated { dataset } alias load the shipped files; a registered entry lists first", async () => {
    const shipped = listPretrained('lenet5');
    expect(shipped.map((w) => [w.name, w.source, w.dataset, w.numClasses])).toEqual([
      ['fashion-mnist', 'cnn', 'fashion-mnist', 10],
    ]);
    const a = await loadPretrained('lenet5', { weights: 'fashion-mnist' });
    const b = await loadPretrained('lenet5', { dataset: 'fashion-mnist' });
    for (const net of [a, b]) {
      expect(net.pretrained?.classes).toEqual(FashionMNIST.CLASSES);
      expect(net.pretrained?.preprocess).toMatchObject({ resize: [28, 28], channels: 1 });
    }
    const x = tf.randomUniform([1, 28, 28, 1]);
    expect(a.predict(x).scores).toEqual(b.predict(x).scores);
    expect(a.predict(x, { topk: 1 }).labels![0]![0]).toBe(
      FashionMNIST.CLASSES[a.predict(x, { topk: 1 }).indices[0]![0]!],
    );
    x.dispose();
    a.dispose();
    b.dispose();
    const remove = entry('T_FIRST', 'files');
    try {
      expect(listPretrained('lenet5').map((w) => w.name)).toEqual(['T_FIRST', 'fashion-mnist']);
    } finally {
      remove();
    }
  });

  it('registerPretrained checks the entry before adding it', () => {
    expect(() => entry('T_BAD', 'files', { file: '../escape.pth' })).toThrow(
      /registerPretrained: file "\.\.\/escape\.pth" is not a plain file name/,
    );
    expect(() => entry('T_BAD', 'files', { sha256Prefix: 'xyz' })).toThrow(
      /sha256Prefix "xyz" is not 8 to 64 lower-case hex digits/,
    );
    expect(() => entry('T_BAD', 'files', { keyMap: 'nope' })).toThrow(/keyMap 'nope' is not one of torchvision/);
    expect(() => entry('T_BAD', 'files', { id: 'nope' })).toThrow(/id "nope" is not a registered model/);
    expect(() => entry('fashion-mnist', 'files')).toThrow(/'lenet5' already has weights named 'fashion-mnist'/);
  });
});

describe('the browser build', () => {
  it('carries no Node built-ins: no node: import, no fs/promises', () => {
    const js = readFileSync(join(PKG, 'dist', 'browser', 'index.js'), 'utf8');
    const builtins =
      /from "(node:)?(fs|fs\/promises|crypto|os|path)"|import\("(node:)?(fs|fs\/promises|crypto|os|path)"\)/;
    expect(js).not.toMatch(/node:/);
    expect(js).not.toMatch(/fs\/promises/);
    expect(js).not.toMatch(builtins);
    expect(js).toContain('caches.open');
    // The Node build does use them (so the check above is not vacuous).
    expect(readFileSync(join(PKG, 'dist', 'index.js'), 'utf8')).toMatch(builtins);
  });
});
