/**
 * The BUILT package (dist/), as consumers get it: Node ESM, Node CJS and a Vite-built page in
 * headless Chromium. Each consumer lives in a temporary directory outside the repo whose
 * node_modules/@cnn/tensor is a symlink to this package (tfjs resolves from the repo's
 * node_modules, as it would from an installed @cnn/tensor).
 *
 * Needs `npm run build` (tsup) first, and Debian's `chromium` at /usr/bin/chromium (or
 * CNN_CHROMIUM) for the browser part.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { serveStatic, type Served } from '../../../test-support/static-server';
import { relErr } from '../../../test-support/fixtures';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conv2d, setBackend, tf } from '../src/index';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(join(PKG, 'package.json'));
/** The repo's node_modules/@tensorflow, where an installed @cnn/tensor's tfjs would come from. */
const TFJS_SCOPE = dirname(dirname(requireHere.resolve('@tensorflow/tfjs-core/package.json')));
const TFJS_WASM_DIST = join(TFJS_SCOPE, 'tfjs-backend-wasm', 'dist');
const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';
const WASM_NAMES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/**
 * The computation every consumer runs (source text, so each consumer runs exactly this): the
 * gradients of a grouped (2) and dilated (2) convolution, through chained ops.
 */
const COMPUTE = `
function compute(tf, conv2d) {
  const x = tf.tensor(Float32Array.from({ length: 1 * 9 * 9 * 4 }, (_, i) => Math.sin(i * 0.37)), [1, 9, 9, 4]);
  const f = tf.tensor(Float32Array.from({ length: 3 * 3 * 2 * 6 }, (_, i) => Math.cos(i * 0.11)), [3, 3, 2, 6]);
  const opts = { pad: 'same', dilations: 2, groups: 2 };
  const [dx, df] = tf.grads((a, b) => conv2d(a, b, opts).square().sum())([x, f]);
  return {
    dx: { shape: dx.shape, values: Array.from(dx.dataSync()) },
    df: { shape: df.shape, values: Array.from(df.dataSync()) },
    squared: Array.from(tf.ones([2]).square().dataSync()),
    // Methods that need the op handler of the tfjs-core copy that owns the engine (a bundled partial copy has none).
    cloned: Array.from(tf.tensor([1, 2]).clone().bufferSync().values),
  };
}
`;
type Grad = { shape: number[]; values: number[] };
interface Computed {
  dx: Grad;
  df: Grad;
  squared: number[];
  cloned: number[];
}
const compute = new Function(`${COMPUTE}\nreturn compute;`)() as (t: typeof tf, c: typeof conv2d) => Computed;

/** Checks shared by the Node consumers, run inside them (`core` is the CJS require of tfjs-core). */
const NODE_CHECKS = `
function coreFiles(cache) {
  return Object.keys(cache).filter((k) => /[\\\\/]@tensorflow[\\\\/]tfjs-core[\\\\/]/.test(k));
}
async function run(tf, setBackend, conv2d, backendInfo, core, cache, resolved) {
  const active = await setBackend('wasm');
  const result = compute(tf, conv2d);
  console.log('CNN_RESULT ' + JSON.stringify({
    active,
    resolved,
    ...result,
    info: backendInfo(),
    oneEngine: tf.engine() === core.engine() && globalThis._tfengine === core.engine(),
    sameClasses: tf.Tensor === core.Tensor && tf.tensor === core.tensor,
    coreFiles: coreFiles(cache),
  }));
}
`;

const ESM_CONSUMER = `
import { tf, setBackend, conv2d, backendInfo } from '@cnn/tensor';
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const core = require('@tensorflow/tfjs-core');
${COMPUTE}
${NODE_CHECKS}
await run(tf, setBackend, conv2d, backendInfo, core, require.cache, realpathSync(fileURLToPath(import.meta.resolve('@cnn/tensor'))));
`;

const CJS_CONSUMER = `
const { tf, setBackend, conv2d, backendInfo } = require('@cnn/tensor');
const core = require('@tensorflow/tfjs-core');
const { realpathSync } = require('node:fs');
${COMPUTE}
${NODE_CHECKS}
run(tf, setBackend, conv2d, backendInfo, core, require.cache, realpathSync(require.resolve('@cnn/tensor'))).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
`;

const BROWSER_MAIN = `
import { setBackend, setThreads, setWasmPaths, tf, conv2d, backendInfo } from '@cnn/tensor';
${COMPUTE}
/** The gradients of a grouped convolution and a matmul on all threads, then on one: threads and error. */
async function compareThreads() {
  const run = () => tf.tidy(() => {
    const x = tf.tensor(Float32Array.from({ length: 2 * 24 * 24 * 16 }, (_, i) => Math.sin(i * 0.37)), [2, 24, 24, 16]);
    const f = tf.tensor(Float32Array.from({ length: 3 * 3 * 4 * 32 }, (_, i) => Math.cos(i * 0.11)), [3, 3, 4, 32]);
    const [dx, df] = tf.grads((a, b) => conv2d(a, b, { pad: 1, groups: 4 }).square().sum())([x, f]);
    const m = tf.matMul(x.reshape([2 * 24 * 24, 16]), f.reshape([36, 32]).slice([0, 0], [16, 32]));
    return [...dx.dataSync(), ...df.dataSync(), ...m.dataSync()];
  });
  const all = run();
  const threads = backendInfo().threads;
  await setThreads(1);
  const one = run();
  let err = 0;
  let scale = 0;
  for (let i = 0; i < one.length; i++) {
    err = Math.max(err, Math.abs(all[i] - one[i]));
    scale = Math.max(scale, Math.abs(one[i]));
  }
  return { threads, oneThread: backendInfo().threads, maxRelErr: err / scale, values: one.length };
}
const out = document.getElementById('out');
const params = new URLSearchParams(location.search);
const fetchBefore = globalThis.fetch;
try {
  // The documented way to host the binaries elsewhere (a CDN, a folder of one's own).
  if (params.has('custom')) setWasmPaths(new URL('/custom-wasm/', location.href).href);
  const active = await setBackend('wasm');
  const result = compute(tf, conv2d);
  const info = backendInfo();
  // Tensors start on a 64-byte cache line (cnn wraps the backend's allocator).
  const probe = [1, 3, 7, 1001].map((n) => tf.zeros([n]));
  const aligned = probe.every((t) => tf.backend().dataIdMap.get(t.dataId).memoryOffset % 64 === 0);
  tf.dispose(probe);
  const threaded = params.has('threads') ? await compareThreads() : undefined;
  out.textContent = JSON.stringify({
    ok: true,
    active,
    ...result,
    info,
    aligned,
    threaded,
    isolated: globalThis.crossOriginIsolated === true,
    cores: navigator.hardwareConcurrency,
    oneEngine: tf.engine() === globalThis._tfengine,
    fetchRestored: globalThis.fetch === fetchBefore,
  });
} catch (e) {
  out.textContent = JSON.stringify({ ok: false, error: String((e && (e.stack || e.message)) || e) });
}
`;

const BROWSER_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>@cnn/tensor consumer</title></head>
<body><pre id="out">pending</pre><script type="module" src="./main.js"></script></body></html>
`;

let reference: Computed;
let work: string;

/** A temporary consumer project outside the repo, with @cnn/tensor and @tensorflow linked in. */
async function consumerDir(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'node_modules', '@cnn'), { recursive: true });
  await symlink(PKG, join(dir, 'node_modules', '@cnn', 'tensor'), 'dir');
  await symlink(TFJS_SCOPE, join(dir, 'node_modules', '@tensorflow'), 'dir');
  return dir;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs `node file` and waits for it to exit by itself (it is killed after `timeoutMs`). */
function runNode(cwd: string, file: string, timeoutMs = 30_000): Promise<Exit> {
  return new Promise((resolvePromise, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [file], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - start, timedOut });
    });
  });
}

function parseResult(out: Exit): Record<string, any> {
  const line = out.stdout.split('\n').find((l) => l.startsWith('CNN_RESULT '));
  if (!line)
    throw new Error(`no result line; exit ${out.code} ${out.signal}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
  return JSON.parse(line.slice('CNN_RESULT '.length));
}

function expectMatchesReference(r: Computed): void {
  expect(r.dx.shape).toEqual([1, 9, 9, 4]);
  expect(r.df.shape).toEqual([3, 3, 2, 6]);
  for (const g of [r.dx, r.df]) expect(g.values.every(Number.isFinite)).toBe(true);
  expect(relErr(r.dx.values, reference.dx.values).rel).toBeLessThan(1e-4);
  expect(relErr(r.df.values, reference.df.values).rel).toBeLessThan(1e-4);
  expect(r.squared).toEqual([1, 1]);
  expect(r.cloned).toEqual([1, 2]);
}

beforeAll(async () => {
  for (const f of [
    'dist/index.js',
    'dist/index.cjs',
    'dist/browser/index.js',
    ...WASM_NAMES.map((n) => `dist/browser/${n}`),
  ]) {
    if (!existsSync(join(PKG, f)))
      throw new Error(`${f} is missing: build @cnn/tensor first (npx turbo run build --filter=@cnn/tensor)`);
  }
  work = await mkdtemp(join(tmpdir(), 'cnn-consumers-'));
  // The reference: the same computation on tfjs's pure-JS cpu backend, from the sources.
  await setBackend('cpu');
  reference = compute(tf, conv2d);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Node consumers of the built package', () => {
  for (const [kind, file, source, entry] of [
    ['ESM', 'consumer.mjs', ESM_CONSUMER, 'index.js'],
    ['CJS', 'consumer.cjs', CJS_CONSUMER, 'index.cjs'],
  ] as const) {
    test(`Node ${kind}: tf with gradients and chained ops, wasm SIMD, one tfjs-core, exits by itself`, async () => {
      const dir = await consumerDir(`node-${kind.toLowerCase()}`);
      await writeFile(join(dir, file), source);
      const out = await runNode(dir, file);
      const r = parseResult(out);
      // The process used the wasm backend and exited by itself (nothing calls process.exit).
      expect(out.timedOut, 'still running after 30 s').toBe(false);
      expect(out.code, out.stderr).toBe(0);
      expect(r.resolved).toBe(join(PKG, 'dist', entry));
      expect(r.active).toBe('wasm');
      expect(r.info).toMatchObject({ backend: 'wasm', tfjsBackend: 'wasm', simd: true });
      expect(r.oneEngine).toBe(true);
      expect(r.sameClasses).toBe(true);
      expect(r.coreFiles).toEqual([join(TFJS_SCOPE, 'tfjs-core', 'dist', 'tf-core.node.js')]);
      expectMatchesReference(r as unknown as Computed);
    });
  }
});

/** Serves `root` on 127.0.0.1, and tfjs's own binaries under /custom-wasm/ (standing in for a CDN). */
const serve = (root: string): Promise<Served> => serveStatic(root, { '/custom-wasm/': TFJS_WASM_DIST });

/** What a page needs to be cross-origin isolated (and so to have SharedArrayBuffer and threads). */
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const NOT_ISOLATED_NOTICE =
  'cnn: wasm threads unavailable (the page is not cross-origin isolated; serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp); using one thread';

describe('a Vite-built page in headless Chromium', () => {
  let dist: string;
  let served: Served;
  let isolated: Served;
  let context: import('playwright-core').BrowserContext;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CNN_CHROMIUM)`);
    const app = await consumerDir('vite-app');
    await writeFile(join(app, 'index.html'), BROWSER_HTML);
    await writeFile(join(app, 'main.js'), BROWSER_MAIN);
    dist = join(app, 'dist');
    const { build } = await import('vite');
    await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: dist, emptyOutDir: true } });
    served = await serve(dist);
    isolated = await serveStatic(dist, { '/custom-wasm/': TFJS_WASM_DIST }, ISOLATION);
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    if (served) await new Promise((ok) => served.server.close(ok));
    if (isolated) await new Promise((ok) => isolated.server.close(ok));
  });

  async function open(
    query: string,
    server: Served = served,
  ): Promise<{ r: Record<string, any>; errors: string[]; warnings: string[]; wasmRequests: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    const warnings: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      if (m.type() === 'warning') warnings.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    const before = server.requests.length;
    try {
      await page.goto(server.url + query);
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
        timeout: 30_000,
      });
      const r = JSON.parse((await page.textContent('#out')) ?? '{}');
      const mine = server.requests.slice(before);
      expect(mine.filter((q) => q.status !== 200)).toEqual([]);
      return { r, errors, warnings, wasmRequests: mine.map((q) => q.path).filter((p) => p.endsWith('.wasm')) };
    } finally {
      await page.close();
    }
  }

  test('the bundle holds one tfjs-core and emits the wasm binaries as assets', async () => {
    const assets = await readdir(join(dist, 'assets'));
    const js = assets.filter((f) => f.endsWith('.js'));
    const text = (await Promise.all(js.map((f) => readFile(join(dist, 'assets', f), 'utf8')))).join('\n');
    const count = (s: string) => text.split(s).length - 1;
    expect(count('The highest priority backend')).toBe(1); // tfjs-core's engine
    expect(count('Make sure the server can serve the `.wasm` file')).toBe(1); // tfjs-backend-wasm
    for (const name of WASM_NAMES) {
      const hashed = new RegExp(`^${name.slice(0, -'.wasm'.length)}-[\\w-]{8}\\.wasm$`);
      expect(assets.filter((f) => hashed.test(f))).toHaveLength(1);
    }
  });

  test('wasm SIMD works with no configuration: binaries come from the bundle (one thread, with a notice, on a page that is not isolated)', async () => {
    const { r, errors, warnings, wasmRequests } = await open('');
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    expect(r.isolated).toBe(false);
    expect(r.info.threads).toBe(1);
    expect(warnings).toEqual(r.cores > 1 ? [NOT_ISOLATED_NOTICE] : []);
    expect(r.active).toBe('wasm');
    expect(r.info).toMatchObject({ backend: 'wasm', tfjsBackend: 'wasm', simd: true });
    expect(r.oneEngine).toBe(true);
    expect(r.fetchRestored).toBe(true);
    expect(r.aligned).toBe(true);
    expect(wasmRequests).toHaveLength(1);
    expect(wasmRequests[0]).toMatch(/^\/assets\/tfjs-backend-wasm-simd-[\w-]+\.wasm$/);
    expectMatchesReference(r as unknown as Computed);
  });

  test('a path given to setWasmPaths wins over the bundled binaries', async () => {
    const { r, errors, wasmRequests } = await open('?custom');
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    expect(r.info).toMatchObject({ backend: 'wasm', simd: true });
    expect(wasmRequests).toEqual(['/custom-wasm/tfjs-backend-wasm-simd.wasm']);
    expectMatchesReference(r as unknown as Computed);
  });

  test('a cross-origin-isolated page computes on every core; one thread and all agree within 1e-5', async () => {
    const { r, errors, warnings, wasmRequests } = await open('?threads', isolated);
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(r.isolated).toBe(true);
    expect(r.info).toMatchObject({ backend: 'wasm', simd: true, threads: r.cores });
    expect(wasmRequests).toHaveLength(1);
    expect(wasmRequests[0]).toMatch(/^\/assets\/tfjs-backend-wasm-threaded-simd-[\w-]+\.wasm$/);
    expectMatchesReference(r as unknown as Computed);
    expect(r.aligned).toBe(true);
    expect(r.threaded).toMatchObject({ threads: r.cores, oneThread: 1 });
    expect(r.threaded.maxRelErr).toBeLessThanOrEqual(1e-5);
  });

  test('a cross-origin-isolated page fetches the threaded binary from the path given to setWasmPaths', async () => {
    const { r, errors, wasmRequests } = await open('?custom', isolated);
    expect(r.ok, r.error).toBe(true);
    expect(errors).toEqual([]);
    expect(r.info.threads).toBe(r.cores);
    expect(wasmRequests).toEqual(['/custom-wasm/tfjs-backend-wasm-threaded-simd.wasm']);
    expectMatchesReference(r as unknown as Computed);
  });
});
