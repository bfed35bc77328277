/**
 * The 'webgpu' backend in headless Chromium on SwiftShader (WebGPU on the CPU, selected explicitly with
 * `--use-webgpu-adapter=swiftshader`; a real page on http://127.0.0.1, built by Vite from the packages' browser
 * builds): backendInfo names the adapter, 'auto' refuses it (a fallback, software adapter) and picks wasm, the logits
 * of zoo ids at the smallest input each takes match wasm's within 1e-3 (relative to the largest logit), and one
 * training step (loss, every gradient, the weights after an SGD step with momentum and weight decay) matches wasm's
 * within 1e-3; no tensor is left over. SwiftShader is slow: the ids are a representative set (plain, residual,
 * grouped, depthwise, channel-shuffle and inception convolutions), not all of them.
 *
 * Needs the build first, and Debian's `chromium` at /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, ISOLATED, launchChromium } from '../../../test-support/chromium-page';
import { relErr } from '../../../test-support/fixtures';
import { serveStatic, type Served } from '../../../test-support/static-server';
import { getCard } from '../src/index';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Largest |webgpu - wasm| accepted, relative to the largest |wasm| value. */
const TOL = 1e-3;

/** Forward parity: one id of each kind of convolution the zoo has. */
const FORWARD_IDS = [
  'lenet5',
  'resnet18',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'shufflenet_v1_x0_5_g3',
  'shufflenet_v2_x0_5',
  'resnext50_32x4d',
  'googlenet',
];
/**
 * Training-step parity: plain, and residual with BatchNorm (depthwise gradients are in the conv2d test). Not
 * MobileNetV2: at inputs SwiftShader runs in seconds its last blocks are 1x1, train-mode BatchNorm normalises 2 to 8
 * values per channel, and wasm and cpu themselves disagree by 7% of the largest gradient (Node, 32x32, batch 4).
 */
const TRAIN_IDS = ['lenet5', 'resnet20_cifar'];

/** The smallest input each architecture takes at batch 1 (CIFAR ids at their own 32x32; LeNet-5 at 28x28). */
function inputShape(id: string, channels: number): [number, number, number, number] {
  const special: Record<string, number> = { lenet5: 28, alexnet: 64, alexnet_2012: 96, googlenet: 64 };
  const side = special[id] ?? 32;
  return [1, side, side, channels];
}

// The page: window.cnn holds the functions the tests call with page.evaluate. Every result comes back as plain arrays.
const MAIN = `
import { setBackend, backendInfo, tf, getModel, manualSeed } from '@cnn/models-efficient';
import { Conv2d, Linear, BatchNorm2d, Dropout } from '@cnn/layers';
import { SGD, crossEntropy } from '@cnn/train';
import { conv2d } from '@cnn/tensor';

// Weights the logits depend on throughout (as the fused-inference test sets them): conv and linear weights normal
// with std sqrt(1 / fan-in), linear biases zero, random BatchNorm statistics and affine parameters. Seeded.
function randomise(model, seed) {
  let s = seed;
  for (const [, m] of model.namedModules()) {
    tf.tidy(() => {
      if (m instanceof Conv2d || m instanceof Linear) {
        const fanIn = m.weight.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        m.weight.assign(tf.randomNormal(m.weight.shape, 0, Math.sqrt(1 / fanIn), 'float32', s++));
        if (m instanceof Linear && m.bias) m.bias.assign(tf.zerosLike(m.bias));
      } else if (m instanceof BatchNorm2d) {
        const c = m.numFeatures;
        m.runningMean.assign(tf.randomUniform([c], -0.5, 0.5, 'float32', s++));
        m.runningVar.assign(tf.randomUniform([c], 0.5, 2, 'float32', s++));
        m.weight?.assign(tf.randomUniform([c], 0.5, 1.5, 'float32', s++));
        m.bias?.assign(tf.randomUniform([c], -0.3, 0.3, 'float32', s++));
      }
    });
  }
}

async function read(t) {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

window.cnn = {
  async wasmOnly() {
    await setBackend('wasm');
    return read(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2))));
  },
  async info() {
    const warnings = [];
    const warn = console.warn;
    console.warn = (...a) => warnings.push(a.join(' '));
    try {
      const auto = await setBackend('auto');
      const webgpu = await setBackend('webgpu');
      const info = backendInfo();
      const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3]), tf.tensor1d([10, 20, 30])));
      const sum = await read(y);
      await setBackend('wasm');
      return { auto, warnings, webgpu, info, sum, tensors: tf.memory().numTensors };
    } finally {
      console.warn = warn;
    }
  },
  // conv2d and its two gradients (tf.grads through cnn's registered gradients) on both backends, same numbers in.
  async conv(cases) {
    const out = [];
    for (const c of cases) {
      const per = {};
      for (const backend of ['wasm', 'webgpu']) {
        await setBackend(backend);
        const before = tf.memory().numTensors;
        const [x, w] = [tf.randomNormal(c.x, 0, 1, 'float32', 3), tf.randomNormal(c.w, 0, 1, 'float32', 4)];
        const y = conv2d(x, w, c.opts);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 6);
        const [dx, dw] = tf.grads((a, b) => conv2d(a, b, c.opts))([x, w], dy);
        per[backend] = { y: await read(y), dx: await read(dx), dw: await read(dw) };
        tf.dispose([x, w, dy]);
        per[backend].leaked = tf.memory().numTensors - before;
      }
      out.push(per);
    }
    await setBackend('wasm');
    return out;
  },
  // A kernel WebGPU cannot compile (tfjs 4.22.0's Pad of rank 6): its output is garbage, and cnn says so.
  async brokenKernel() {
    await setBackend('webgpu');
    const y = tf.tidy(() => tf.pad(tf.ones([1, 1, 1, 1, 2, 2]), [[0, 0], [0, 0], [0, 0], [0, 0], [0, 1], [0, 1]]));
    const v = await read(y);
    await setBackend('wasm');
    return v;
  },
  async forward(id, shape) {
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    manualSeed(1);
    const model = getModel(id);
    randomise(model, 11);
    model.eval();
    const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
    let t0 = performance.now();
    const want = await read(model.call(x));
    const wasmMs = performance.now() - t0;
    // The same weights and input, now computed on WebGPU (tfjs moves each tensor's data at its first use there).
    await setBackend('webgpu');
    t0 = performance.now();
    const got = await read(model.call(x));
    const webgpuMs = performance.now() - t0;
    x.dispose();
    model.dispose();
    await setBackend('wasm');
    return { want, got, wasmMs, webgpuMs, leaked: tf.memory().numTensors - before };
  },
  async trainStep(id, shape) {
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    manualSeed(2);
    const model = getModel(id, { numClasses: 4 });
    model.train();
    // Dropout draws its masks from Math.random, not from manualSeed's stream: off, so both backends run one network.
    for (const [, m] of model.namedModules()) if (m instanceof Dropout) m.eval();
    const params = model.parameters();
    const initial = params.map((p) => p.clone());
    const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
    const y = tf.tensor1d(Array.from({ length: shape[0] }, (_, i) => (3 * i) % 4), 'int32');
    async function step(backend) {
      await setBackend(backend);
      params.forEach((p, i) => p.assign(initial[i]));
      const opt = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.call(x), y), params);
      const loss = (await read(value))[0];
      const g = [];
      for (const p of params) g.push(await read(grads[p.name].clone()));
      opt.step(grads);
      opt.step(grads);
      tf.dispose(Object.values(grads));
      const after = [];
      for (const p of params) after.push(await read(p.clone()));
      opt.dispose?.();
      return { loss, grads: g, after };
    }
    const wasm = await step('wasm');
    const webgpu = await step('webgpu');
    await setBackend('wasm');
    tf.dispose([...initial, x, y]);
    model.dispose();
    return { names: params.map((p) => p.name), wasm, webgpu, leaked: tf.memory().numTensors - before };
  },
};
document.getElementById('out').textContent = 'ready';
`;

let work: string;
/** The built chunks that hold tfjs's WebGPU backend (one expected). */
const webgpuChunks: string[] = [];
let served: Served;
let context: import('playwright-core').BrowserContext;
let page: import('playwright-core').Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];

/** What the page's window.cnn offers. */
interface Cnn {
  wasmOnly(): Promise<number[]>;
  info(): Promise<unknown>;
  forward(id: string, shape: readonly number[]): Promise<unknown>;
  conv(cases: unknown[]): Promise<unknown>;
  brokenKernel(): Promise<number[]>;
  trainStep(id: string, shape: readonly number[]): Promise<unknown>;
}

beforeAll(async () => {
  const built = await buildPage({
    tag: 'webgpu-browser',
    pkgDir: PKG,
    deps: ['@cnn/tensor', '@cnn/layers', '@cnn/datasets', '@cnn/models-classic', '@cnn/train'],
    main: MAIN,
    built: 'dist/index.js',
  });
  work = built.work;
  const dist = built.dist;
  const assets = await readdir(join(dist, 'assets'));
  for (const f of assets.filter((name) => name.endsWith('.js'))) {
    if ((await readFile(join(dist, 'assets', f), 'utf8')).includes('WEBGPU_CPU_FORWARD')) webgpuChunks.push(f);
  }
  // Cross-origin isolated, so that the wasm reference runs on threads.
  served = await serveStatic(dist, {}, ISOLATED);
  context = await launchChromium(work, ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'], true);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(served.url);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
    timeout: 60_000,
  });
}, 240_000);

afterAll(async () => {
  await context?.close();
  if (served) await new Promise((ok) => served.server.close(ok));
  if (work) await rm(work, { recursive: true, force: true });
});

function expectClose(what: string, got: number[], want: number[]): number {
  const e = relErr(got, want);
  expect(
    e.rel,
    `${what}: rel err ${e.rel.toExponential(2)} at ${e.at} (got ${e.got}, want ${e.want})`,
  ).toBeLessThanOrEqual(TOL);
  return e.rel;
}

describe("setBackend('webgpu') in Chromium on SwiftShader", () => {
  it("keeps tfjs's WebGPU backend in a chunk of its own, which a page on wasm never fetches", async () => {
    expect(webgpuChunks).toHaveLength(1);
    const fetched = () => served.requests.some((r) => r.path === `/assets/${webgpuChunks[0]}`);
    expect(await page.evaluate(() => (window as unknown as { cnn: Cnn }).cnn.wasmOnly())).toEqual([3]);
    expect(pageErrors).toEqual([]);
    expect(fetched()).toBe(false);
    await page.evaluate(() => (window as unknown as { cnn: Cnn }).cnn.info());
    expect(fetched()).toBe(true);
  });

  it("runs on the SwiftShader adapter, named by backendInfo; 'auto' refuses it (software) and picks wasm", async () => {
    const r = await page.evaluate(() => (window as unknown as { cnn: Cnn }).cnn.info());
    const info = r as {
      auto: string;
      warnings: string[];
      webgpu: string;
      info: { backend: string; device: string; adapter: Record<string, unknown> };
      sum: number[];
      tensors: number;
    };
    expect(pageErrors).toEqual([]);
    expect(info.auto).toBe('wasm');
    expect(info.warnings.join('\n')).toMatch(
      /cnn: WebGPU not used \(the only adapter, WebGPU: google swiftshader \(software\), computes on the CPU\); using wasm/,
    );
    expect(info.webgpu).toBe('webgpu');
    expect(info.info.backend).toBe('webgpu');
    expect(info.info.device).toBe('WebGPU: google swiftshader (software)');
    expect(info.info.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true });
    expect(info.sum).toEqual([11, 22, 33]);
    expect(info.tensors).toBe(0);
  });

  it('conv2d with groups, dilation, stride and padding, and its input and filter gradients, match wasm', async () => {
    const cases = [
      {
        what: 'grouped (2), dilated (2), padded',
        x: [2, 9, 11, 4],
        w: [3, 3, 2, 6],
        opts: { groups: 2, dilations: 2, pad: 2 },
      },
      { what: 'grouped (4), strided (2)', x: [2, 9, 11, 8], w: [3, 3, 2, 8], opts: { groups: 4, strides: 2, pad: 1 } },
      { what: 'plain, dilated (2), same', x: [1, 8, 8, 3], w: [3, 3, 3, 5], opts: { dilations: 2, pad: 'same' } },
      {
        what: 'depthwise x2, dilated (3)',
        x: [2, 10, 9, 6],
        w: [3, 3, 1, 12],
        opts: { groups: 6, dilations: 3, pad: 3 },
      },
      {
        what: 'depthwise, strided (2), same',
        x: [1, 9, 9, 4],
        w: [5, 5, 1, 4],
        opts: { groups: 4, strides: 2, pad: 'same' },
      },
    ];
    const r = (await page.evaluate((cases) => (window as unknown as { cnn: Cnn }).cnn.conv(cases), cases)) as Array<
      Record<'wasm' | 'webgpu', { y: number[]; dx: number[]; dw: number[]; leaked: number }>
    >;
    expect(pageErrors).toEqual([]);
    r.forEach((per, i) => {
      const what = cases[i].what;
      expect(per.webgpu.y.length, what).toBeGreaterThan(0);
      expectClose(`${what}: y`, per.webgpu.y, per.wasm.y);
      expectClose(`${what}: dx`, per.webgpu.dx, per.wasm.dx);
      expectClose(`${what}: dw`, per.webgpu.dw, per.wasm.dw);
      expect(per.webgpu.leaked, `${what}: tensors left over on webgpu`).toBe(0);
      expect(per.wasm.leaked, `${what}: tensors left over on wasm`).toBe(0);
    });
  }, 300_000);

  for (const id of FORWARD_IDS) {
    it(`${id}: eval logits match wasm within ${TOL} at the smallest input, no tensor left over`, async () => {
      const shape = inputShape(id, getCard(id).inputSize[2]);
      const r = (await page.evaluate(([id, shape]) => (window as unknown as { cnn: Cnn }).cnn.forward(id, shape), [
        id,
        shape,
      ] as const)) as { want: number[]; got: number[]; wasmMs: number; webgpuMs: number; leaked: number };
      expect(pageErrors).toEqual([]);
      expect(r.got.length).toBe(getCard(id).numClasses);
      const rel = expectClose(id, r.got, r.want);
      console.log(
        `${id} [${shape.join(', ')}]: rel err ${rel.toExponential(2)}; wasm ${r.wasmMs.toFixed(0)} ms, webgpu (SwiftShader, first call) ${r.webgpuMs.toFixed(0)} ms`,
      );
      expect(r.leaked, `${id}: tensors left over`).toBe(0);
    }, 300_000);
  }

  for (const id of TRAIN_IDS) {
    it(`${id}: a training step (loss, every gradient, the weights after two SGD steps) matches wasm within ${TOL}`, async () => {
      const shape = inputShape(id, getCard(id).inputSize[2]);
      shape[0] = 2;
      const r = (await page.evaluate(([id, shape]) => (window as unknown as { cnn: Cnn }).cnn.trainStep(id, shape), [
        id,
        shape,
      ] as const)) as {
        names: string[];
        wasm: { loss: number; grads: number[][]; after: number[][] };
        webgpu: { loss: number; grads: number[][]; after: number[][] };
        leaked: number;
      };
      expect(pageErrors).toEqual([]);
      expect(Number.isFinite(r.wasm.loss)).toBe(true);
      expect(Math.abs(r.webgpu.loss - r.wasm.loss) / Math.abs(r.wasm.loss), `${id}: loss`).toBeLessThanOrEqual(TOL);
      expect(r.webgpu.grads.length).toBe(r.names.length);
      let worst = 0;
      r.names.forEach((name, i) => {
        worst = Math.max(worst, expectClose(`${id} gradient of ${name}`, r.webgpu.grads[i], r.wasm.grads[i]));
        expectClose(`${id} ${name} after the steps`, r.webgpu.after[i], r.wasm.after[i]);
      });
      console.log(
        `${id} training step: loss ${r.wasm.loss.toFixed(5)}; worst gradient rel err ${worst.toExponential(2)}`,
      );
      expect(r.leaked, `${id}: tensors left over`).toBe(0);
    }, 300_000);
  }

  it('a WebGPU kernel that fails (tfjs 4.22.0 cannot compile a Pad of rank 6) is reported on the console, once, by cnn', async () => {
    const before = consoleErrors.length;
    const v = await page.evaluate(() => (window as unknown as { cnn: Cnn }).cnn.brokenKernel());
    expect(v).toHaveLength(9);
    const ours = consoleErrors.slice(before).filter((t) => t.startsWith('cnn: '));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(
      /^cnn: a WebGPU kernel failed on WebGPU: google swiftshader \(software\); its output, and anything computed from it, is wrong: /,
    );
  }, 120_000);
});
