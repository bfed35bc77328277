/**
 * The 'webgpu' backend in headless Chromium on SwiftShader (WebGPU on the CPU, selected explicitly with
 * `--use-webgpu-adapter=swiftshader`; a real page on http://127.0.0.1, built by Vite from the packages' browser
 * builds): backendInfo names the adapter, 'auto' refuses it (a fallback, software adapter) and picks wasm, the logits
 * of every registered id at the smallest input it takes (batch 1, random weights) match wasm's within 1e-3 (relative
 * to the largest logit), and training steps of lenet5, resnet20_cifar and mobilenet_v2 (loss, every gradient, the
 * weights after optimizer steps) match wasm's within 1e-3; no tensor is left over. One page serves every test, so
 * tfjs compiles each WebGPU shader once for all the ids that use it.
 *
 * Needs the build first, and Debian's `chromium` at /usr/bin/chromium (or CNN_CHROMIUM).
 */
import { copyFile, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, ISOLATED, launchChromium } from '../../../test-support/chromium-page';
import { relErr } from '../../../test-support/fixtures';
import { serveStatic, type Served } from '../../../test-support/static-server';
import { getCard, listModels } from '../src/index';
import { smallestInput } from './zoo-inputs';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Largest |webgpu - wasm| accepted, relative to the largest |wasm| value. */
const TOL = 1e-3;

/** Forward parity: every registered id (classic and efficient), in the registry's order. */
const FORWARD_IDS = listModels();

/**
 * Training-step parity, at batch 2: plain (LeNet-5); residual with train-mode BatchNorm (resnet20_cifar); inverted
 * residual with depthwise convolutions, ReLU6 and BatchNorm (MobileNetV2) with its BatchNorm statistics frozen (eval
 * mode, as when fine-tuning). Not MobileNetV2 with train-mode BatchNorm: its gradients are ill-conditioned at every
 * input SwiftShader can afford, on wasm alone (Node, wasm, batch 8 at 64x64: scaling the input by 1 +- 1e-7 moves
 * some gradients by 8% of their tensor's largest value; with frozen statistics, 1e-6 moves them by 3e-6), so no
 * backend comparison at 1e-3 would mean anything.
 */
const TRAIN_CASES: ReadonlyArray<{ id: string; frozenNorm: boolean; optimizers: ReadonlyArray<'sgd' | 'adam'> }> = [
  { id: 'lenet5', frozenNorm: false, optimizers: ['sgd', 'adam'] },
  // Not Adam here: it divides each gradient by its own size, and train-mode BatchNorm leaves gradients at rounding
  // level (1e-9 on either backend, of either sign), which Adam turns into full steps of +-lr (measured: 13% apart).
  { id: 'resnet20_cifar', frozenNorm: false, optimizers: ['sgd'] },
  // SGD only, to keep the suite's time down (Adam: lenet5).
  { id: 'mobilenet_v2', frozenNorm: true, optimizers: ['sgd'] },
];

/** One backend's training step, as the page reports it. */
interface Step {
  loss: number;
  grads: number[][];
  after: Partial<Record<'sgd' | 'adam', number[][]>>;
  ms: Record<string, number>;
}

// The page: window.cnn holds the functions the tests call with page.evaluate. Every result comes back as plain arrays.
const MAIN = `
import { setBackend, backendInfo, tf, getModel, manualSeed } from '@cnn/models-efficient';
import { BatchNorm2d, Dropout } from '@cnn/layers';
import { randomise } from './zoo-inputs.ts';
import { Adam, SGD, crossEntropy } from '@cnn/train';
import { conv2d } from '@cnn/tensor';

async function read(t) {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

// Many tensors in one read: one GPU to CPU copy instead of one per tensor (on SwiftShader each read waits about
// 0.4 s, so MobileNetV2's 158 gradients read one by one took two minutes).
async function readAll(ts) {
  const flat = await read(tf.tidy(() => tf.concat(ts.map((t) => t.reshape([-1])))));
  let at = 0;
  return ts.map((t) => flat.slice(at, (at += t.size)));
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
  // One training step on each backend from the same weights: the loss and every gradient, then, from the same
  // gradients, the parameters after two steps of each optimizer (SGD with momentum and weight decay; Adam).
  // frozenNorm: BatchNorm in eval mode (running statistics, as when fine-tuning) while the rest trains.
  async trainStep(id, shape, frozenNorm, optimizerNames) {
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    manualSeed(2);
    const model = getModel(id, { numClasses: 4 });
    model.train();
    // Dropout off: each step would draw its masks at a later point of manualSeed's stream, so the two backends'
    // steps would zero different values.
    for (const [, m] of model.namedModules()) {
      if (m instanceof Dropout || (frozenNorm && m instanceof BatchNorm2d)) m.eval();
    }
    const named = model.namedParameters();
    const params = named.map(([, p]) => p);
    const initial = params.map((p) => p.clone());
    // Read here, on wasm: read later, after WebGPU used it, tfjs would move it back with a synchronous read (through
    // OffscreenCanvas), after which tfjs 4.22.0's WebGPU backend in Chromium on SwiftShader fails to create buffers.
    const first = await read(initial[0].clone());
    const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
    const y = tf.tensor1d(Array.from({ length: shape[0] }, (_, i) => (3 * i) % 4), 'int32');
    const optimizers = {
      sgd: () => new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
      adam: () => new Adam(params, { lr: 0.01 }),
    };
    async function step(backend) {
      await setBackend(backend);
      const ms = {};
      let t = performance.now();
      params.forEach((p, i) => p.assign(initial[i]));
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.call(x), y), params);
      const loss = (await read(value))[0];
      ms.gradients = performance.now() - t;
      const g = await readAll(params.map((p) => grads[p.name]));
      const after = {};
      for (const name of optimizerNames) {
        t = performance.now();
        params.forEach((p, i) => p.assign(initial[i]));
        const opt = optimizers[name]();
        opt.step(grads);
        opt.step(grads);
        after[name] = await readAll(params);
        opt.dispose();
        ms[name] = performance.now() - t;
      }
      tf.dispose(Object.values(grads));
      return { loss, grads: g, after, ms };
    }
    const wasm = await step('wasm');
    const webgpu = await step('webgpu');
    await setBackend('wasm');
    tf.dispose([...initial, x, y]);
    model.dispose();
    return { names: named.map(([name]) => name), first, wasm, webgpu, leaked: tf.memory().numTensors - before };
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
  trainStep(id: string, shape: readonly number[], frozenNorm: boolean, optimizers: readonly string[]): Promise<unknown>;
}

beforeAll(async () => {
  const built = await buildPage({
    tag: 'webgpu-browser',
    pkgDir: PKG,
    deps: ['@cnn/tensor', '@cnn/layers', '@cnn/datasets', '@cnn/models-classic', '@cnn/train'],
    main: MAIN,
    built: 'dist/index.js',
    // The random-weights helper the Node tests use, next to main.js (Vite compiles the TypeScript).
    prepare: (app) => copyFile(join(PKG, 'test', 'zoo-inputs.ts'), join(app, 'zoo-inputs.ts')),
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
      const shape = smallestInput(id, getCard(id).inputSize[2]);
      const t0 = performance.now();
      const r = (await page.evaluate(([id, shape]) => (window as unknown as { cnn: Cnn }).cnn.forward(id, shape), [
        id,
        shape,
      ] as const)) as { want: number[]; got: number[]; wasmMs: number; webgpuMs: number; leaked: number };
      expect(pageErrors).toEqual([]);
      expect(r.got.length).toBe(getCard(id).numClasses);
      const rel = expectClose(id, r.got, r.want);
      console.log(
        `${id} [${shape.join(', ')}]: rel err ${rel.toExponential(2)}; wasm ${r.wasmMs.toFixed(0)} ms, webgpu (SwiftShader, first call) ${r.webgpuMs.toFixed(0)} ms; test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(r.leaked, `${id}: tensors left over`).toBe(0);
    }, 300_000);
  }

  for (const { id, frozenNorm, optimizers } of TRAIN_CASES) {
    const norm = frozenNorm ? ', BatchNorm statistics frozen' : '';
    const steps = optimizers.map((o) => `two ${o === 'sgd' ? 'SGD-momentum' : 'Adam'} steps`).join(', after ');
    it(`${id}${norm}: a training step (loss, every gradient, the weights after ${steps}) matches wasm within ${TOL}`, async () => {
      const shape = smallestInput(id, getCard(id).inputSize[2], 2);
      const r = (await page.evaluate(
        ([id, shape, frozenNorm, optimizers]) =>
          (window as unknown as { cnn: Cnn }).cnn.trainStep(id, shape, frozenNorm, optimizers),
        [id, shape, frozenNorm, optimizers] as const,
      )) as {
        names: string[];
        first: number[];
        wasm: Step;
        webgpu: Step;
        leaked: number;
      };
      expect(pageErrors).toEqual([]);
      expect(Number.isFinite(r.wasm.loss)).toBe(true);
      expect(Math.abs(r.webgpu.loss - r.wasm.loss) / Math.abs(r.wasm.loss), `${id}: loss`).toBeLessThanOrEqual(TOL);
      expect(r.webgpu.grads.length).toBe(r.names.length);
      let worst = 0;
      r.names.forEach((name, i) => {
        // Each gradient, and each parameter after the steps, relative to its own largest |value| on wasm.
        worst = Math.max(worst, expectClose(`${id} gradient of ${name}`, r.webgpu.grads[i], r.wasm.grads[i]));
        for (const opt of optimizers)
          expectClose(
            `${id} ${name} after two ${opt} steps`,
            r.webgpu.after[opt]?.[i] ?? [],
            r.wasm.after[opt]?.[i] ?? [],
          );
      });
      // The steps changed the first parameter (frozen statistics make MobileNetV2's gradients small: 1e-4 of it).
      for (const opt of optimizers)
        expect(relErr(r.wasm.after[opt]?.[0] ?? [], r.first).rel, `${opt} moved ${r.names[0]}`).toBeGreaterThan(1e-5);
      const ms = (s: Step) =>
        Object.entries(s.ms)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ');
      console.log(
        `${id}${norm}, input [${shape.join(', ')}], training step: loss ${r.wasm.loss.toFixed(5)}; worst gradient rel err ${worst.toExponential(2)}; ms on wasm: ${ms(r.wasm)}; on webgpu: ${ms(r.webgpu)}`,
      );
      expect(r.leaked, `${id}: tensors left over`).toBe(0);
    }, 400_000);
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
