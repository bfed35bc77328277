/**
 * Fused inference in a browser: a Vite-built page in headless Chromium, served cross-origin isolated (COOP
 * `same-origin` + COEP `require-corp`, as the docs site serves it) so that the wasm backend runs threaded, builds
 * mobilenet_v2, resnet18 and shufflenet_v1_x0_5_g3 (its grouped convolutions: cnn's fused grouped kernel) with random
 * BatchNorm statistics and affine parameters (so the fold is not the identity)
 * and compares the fused eval logits with the unfused ones (module by module) at 64x64: within 1e-4 of the largest
 * logit, no tensor left behind. Timing in Chromium is bench/peers/browser.mjs's job (a benchmark, never asserted).
 *
 * Needs the build first (npx turbo run build --filter=@cnn/models-efficient...), and Debian's `chromium` at
 * /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, ISOLATED, launchChromium } from '../../../test-support/chromium-page';
import { serveStatic, type Served } from '../../../test-support/static-server';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
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
  for (const id of ['mobilenet_v2', 'resnet18', 'shufflenet_v1_x0_5_g3']) {
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
  const page = await buildPage({
    tag: 'models-efficient-browser',
    pkgDir: PKG,
    deps: ['@cnn/tensor', '@cnn/layers', '@cnn/datasets', '@cnn/models-classic'],
    main: MAIN,
    built: 'dist/index.js',
  });
  work = page.work;
  served = await serveStatic(page.dist, {}, ISOLATED);
  context = await launchChromium(work);
}, 300_000);

afterAll(async () => {
  await context?.close();
  if (served) await new Promise((ok) => served.server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('fused inference in Chromium (cross-origin isolated, threaded wasm)', () => {
  it('mobilenet_v2, resnet18 and shufflenet_v1_x0_5_g3: fused logits equal the unfused ones within 1e-4, on every thread, nothing leaks', async () => {
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
      expect(r.results.map((x: { id: string }) => x.id)).toEqual(['mobilenet_v2', 'resnet18', 'shufflenet_v1_x0_5_g3']);
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
