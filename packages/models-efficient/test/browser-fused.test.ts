/**
 * Fused inference in a browser: a Vite-built page in headless Chromium, served cross-origin isolated (COOP
 * `same-origin` + COEP `require-corp`, as the docs site serves it) so that the wasm backend runs threaded, builds
 * mobilenet_v2 and resnet18 with random BatchNorm statistics and affine parameters (so the fold is not the identity)
 * and compares the fused eval logits with the unfused ones (module by module) at 64x64: within 1e-4 of the largest
 * logit, no tensor left behind. Timing in Chromium is bench/peers/browser.mjs's job (a benchmark, never asserted).
 *
 * Needs the build first (npx turbo run build --filter=@cnn/models-efficient...), and Debian's `chromium` at
 * /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type Served } from '../../../test-support/static-server';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(join(PKG, 'package.json'));
const dep = (name: string) => dirname(requireHere.resolve(`${name}/package.json`));
const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';
/** Largest |fused - unfused| accepted, relative to the largest |logit| (issue 14's bound). */
const TOL = 1e-4;

const MAIN = `
import { setBackend, backendInfo, getModel, tf } from '@cnn/models-efficient';
const out = document.getElementById('out');
/** Deterministic values in [0, 1). */
let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
try {
  await setBackend('wasm');
  const results = [];
  for (const id of ['mobilenet_v2', 'resnet18']) {
    const start = tf.memory().numTensors;
    const net = getModel(id);
    // Random running statistics and affine parameters in every BatchNorm (rank-1 entries), a zero classifier bias.
    for (const [key, v] of net.stateDict()) {
      if (v.rank !== 1) continue;
      const vals = new Float32Array(v.size);
      for (let i = 0; i < vals.length; i++)
        vals[i] = v.size === 1000 ? 0
          : key.endsWith('running_var') || key.endsWith('.weight') ? 0.5 + rnd()
          : (rnd() - 0.5) * 0.4;
      tf.tidy(() => v.assign(tf.tensor1d(vals)));
    }
    net.eval();
    const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 7);
    const fused = net.call(x);
    const f = fused.dataSync();
    net.unfuse();
    const unfused = net.call(x);
    const u = unfused.dataSync();
    net.fuse();
    let diff = 0, scale = 0;
    for (let i = 0; i < u.length; i++) {
      diff = Math.max(diff, Math.abs(f[i] - u[i]));
      scale = Math.max(scale, Math.abs(u[i]));
    }
    tf.dispose([x, fused, unfused]);
    net.dispose();
    results.push({ id, rel: diff / scale, scale, logits: u.length, leaked: tf.memory().numTensors - start });
  }
  out.textContent = JSON.stringify({ ok: true, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency,
    info: backendInfo(), results });
} catch (e) {
  out.textContent = JSON.stringify({ ok: false, error: String((e && (e.stack || e.message)) || e) });
}
`;

let work: string;
let served: Served;
let context: import('playwright-core').BrowserContext;

beforeAll(async () => {
  if (!existsSync(join(PKG, 'dist/index.js')))
    throw new Error('dist/index.js is missing: build first (npx turbo run build --filter=@cnn/models-efficient...)');
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CNN_CHROMIUM)`);
  work = await mkdtemp(join(tmpdir(), 'cnn-models-efficient-browser-'));
  const app = join(work, 'app');
  await mkdir(join(app, 'node_modules', '@cnn'), { recursive: true });
  await symlink(PKG, join(app, 'node_modules', '@cnn', 'models-efficient'), 'dir');
  for (const name of ['tensor', 'layers', 'datasets', 'models-classic'])
    await symlink(dep(`@cnn/${name}`), join(app, 'node_modules', '@cnn', name), 'dir');
  await writeFile(
    join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script type="module" src="./main.js"></script></body></html>',
  );
  await writeFile(join(app, 'main.js'), MAIN);
  const dist = join(app, 'dist');
  const { build } = await import('vite');
  await build({
    root: app,
    configFile: false,
    logLevel: 'silent',
    build: { outDir: dist, emptyOutDir: true, target: 'es2022' },
  });
  served = await serveStatic(
    dist,
    {},
    { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  );
  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}, 300_000);

afterAll(async () => {
  await context?.close();
  if (served) await new Promise((ok) => served.server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('fused inference in Chromium (cross-origin isolated, threaded wasm)', () => {
  it('mobilenet_v2 and resnet18: fused logits equal the unfused ones within 1e-4, on every thread, nothing leaks', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(served.url);
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
        timeout: 240_000,
      });
      const r = JSON.parse((await page.textContent('#out')) ?? '{}');
      expect(r.ok, r.error).toBe(true);
      expect(errors).toEqual([]);
      expect(r.isolated).toBe(true);
      expect(r.info).toMatchObject({ backend: 'wasm', simd: true, threads: r.cores });
      expect(r.results.map((x: { id: string }) => x.id)).toEqual(['mobilenet_v2', 'resnet18']);
      for (const x of r.results) {
        expect(x.logits, x.id).toBe(1000);
        expect(x.scale, x.id).toBeGreaterThan(0);
        expect(x.rel, `${x.id}: max |fused - unfused| / max |logit| = ${x.rel}`).toBeLessThanOrEqual(TOL);
        expect(x.leaked, x.id).toBe(0);
      }
      console.log(
        `browser-fused: ${r.cores} threads; ${r.results.map((x: { id: string; rel: number }) => `${x.id} rel ${x.rel.toExponential(2)}`).join(', ')}`,
      );
    } finally {
      await page.close();
    }
  }, 300_000);
});
