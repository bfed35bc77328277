// Behaviour of @cnn/layers beyond forward parity: (a) gradients against central finite differences, (b) PyTorch's
// default initialisation, (c) manualSeed, (d) loadStateDict's errors, (e) the errors of bad inputs, (f) train/eval
// and Dropout. The same checks of a model family's blocks, and the summary of a ResNet-style stack, are beside the
// family's tests (packages/models-*/test).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  F,
  type Module,
  Sequential,
  Conv2d,
  Linear,
  BatchNorm2d,
  MaxPool2d,
  LocalResponseNorm,
  Dropout,
  Flatten,
  ReLU,
  ConvNormAct,
  SEModule,
  ChannelShuffle,
  manualSeed,
  getRandomState,
  setRandomState,
  summary,
  loadTorchState,
} from '../src/index';
import { formula, size } from '../../../test-support/fixtures';
import { checkFunctionGrads, checkModuleGrads, rnd } from '../../../test-support/grad-check';
import { itRefuses, type BadCall } from '../../../test-support/block-cases';

// ---------------------------------------------------------------------------------------------
// Deterministic test data (the hash of test/parity.test.ts)

/**
 * Distinct values (j + 1/2) * step for j = -n/2 .. n/2 - 1, in hashed order: every value is at least step / 2 from any
 * multiple of step (the kinks of relu, relu6, hardswish, ... at 0, +-3, 6 for step 0.1) and any two differ by at least
 * step (no ties in a max pool). Finite differences of size <= 0.005 then never cross a kink.
 */
function spread(shape: number[], seed: number, step = 0.1): Tensor {
  const n = size(shape);
  const keys = formula(n, seed);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  const out = new Float32Array(n);
  order.forEach((src, rank) => {
    out[src] = (rank - Math.floor(n / 2) + 0.5) * step;
  });
  return tf.tensor(out, shape);
}

// ---------------------------------------------------------------------------------------------
// (a) Gradients against central finite differences, on wasm

describe('(a) gradients against finite differences on wasm', () => {
  type FnCase = [string, (...xs: Tensor[]) => Tensor, () => Tensor[]];
  const FN_CASES: FnCase[] = [
    [
      'conv2d stride 2 pad 1 bias',
      (x, w, b) => F.conv2d(x, w, { bias: b, stride: 2, padding: 1 }),
      () => [rnd([1, 7, 6, 3], 1), rnd([3, 3, 3, 4], 2), rnd([4], 3)],
    ],
    [
      'conv2d groups 2 dilation 2 same',
      (x, w) => F.conv2d(x, w, { groups: 2, dilation: 2, padding: 'same' }),
      () => [rnd([1, 7, 7, 4], 4), rnd([3, 3, 2, 6], 5)],
    ],
    [
      'conv2d depthwise stride 2',
      (x, w) => F.conv2d(x, w, { groups: 4, stride: 2, padding: 1 }),
      () => [rnd([1, 7, 7, 4], 6), rnd([3, 3, 1, 4], 7)],
    ],
    [
      'linear rank 3 with bias',
      (x, w, b) => F.linear(x, w, b),
      () => [rnd([2, 3, 5], 8), rnd([5, 4], 9), rnd([4], 10)],
    ],
    [
      'maxPool2d 3 stride 2 pad 1 ceilMode',
      (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
      () => [spread([1, 8, 7, 3], 11)],
    ],
    [
      'avgPool2d 3 stride 2 pad 1 ceilMode exclude pad',
      (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
      () => [rnd([1, 8, 7, 3], 12)],
    ],
    [
      'avgPool2d 2 stride 2 pad 1 ceilMode',
      (x) => F.avgPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }),
      () => [rnd([1, 5, 5, 2], 13)],
    ],
    ['adaptiveAvgPool2d 7 -> 3', (x) => F.adaptiveAvgPool2d(x, 3), () => [rnd([1, 7, 7, 3], 14)]],
    ['adaptiveAvgPool2d 3 -> 5', (x) => F.adaptiveAvgPool2d(x, 5), () => [rnd([1, 3, 3, 2], 15)]],
    ['globalAvgPool', (x) => F.globalAvgPool(x), () => [rnd([2, 3, 4, 3], 16)]],
    [
      'batchNorm',
      (x, mean, variance, weight, bias) => F.batchNorm(x, { mean, variance, weight, bias }),
      () => [rnd([2, 3, 3, 4], 17), rnd([4], 18), rnd([4], 19, 0.5, 0.75), rnd([4], 20, 0.5, 1), rnd([4], 21)],
    ],
    [
      'localResponseNorm size 5',
      (x) => F.localResponseNorm(x, 5, { alpha: 0.5, beta: 0.75, k: 1 }),
      () => [rnd([1, 3, 3, 7], 22, 4)],
    ],
    [
      'localResponseNorm size 4',
      (x) => F.localResponseNorm(x, 4, { alpha: 0.3, beta: 0.6, k: 2 }),
      () => [rnd([1, 2, 3, 6], 23, 4)],
    ],
    ['softmax dim 1', (x) => F.softmax(x, 1), () => [rnd([2, 4, 3, 3], 24, 4)]],
    ['logSoftmax', (x) => F.logSoftmax(x), () => [rnd([3, 6], 25, 4)]],
    ['relu', (x) => F.relu(x), () => [spread([2, 4, 4, 3], 26)]],
    ['relu6', (x) => F.relu6(x), () => [spread([2, 4, 4, 3], 27, 0.15)]],
    ['leakyRelu 0.2', (x) => F.leakyRelu(x, 0.2), () => [spread([2, 4, 4, 3], 28)]],
    ['elu alpha 1', (x) => F.elu(x), () => [spread([2, 4, 4, 3], 29)]],
    ['elu alpha 0.5', (x) => F.elu(x, 0.5), () => [spread([2, 4, 4, 3], 30)]],
    ['sigmoid', (x) => F.sigmoid(x), () => [spread([2, 4, 4, 3], 31)]],
    ['tanh', (x) => F.tanh(x), () => [spread([2, 4, 4, 3], 32)]],
    ['gelu', (x) => F.gelu(x), () => [spread([2, 4, 4, 3], 33)]],
    ['silu', (x) => F.silu(x), () => [spread([2, 4, 4, 3], 34)]],
    ['hardSigmoid', (x) => F.hardSigmoid(x), () => [spread([2, 4, 4, 3], 35)]],
    ['hardSwish', (x) => F.hardSwish(x), () => [spread([2, 4, 4, 3], 36)]],
    ['channelShuffle', (x) => F.channelShuffle(x, 3), () => [rnd([1, 2, 2, 6], 37)]],
    [
      'pad',
      (x) =>
        F.pad(
          x,
          [
            [1, 2],
            [0, 1],
          ],
          0.5,
        ),
      () => [rnd([1, 3, 3, 2], 38)],
    ],
    ['concat', (a, b) => F.concat([a, b]), () => [rnd([1, 2, 3, 2], 39), rnd([1, 2, 3, 3], 40)]],
    ['flatten', (x) => F.flatten(x), () => [rnd([2, 2, 3, 2], 41)]],
  ];
  for (const [name, f, make] of FN_CASES) {
    it(`F.${name}`, async () => {
      await setBackend('wasm');
      const xs = make();
      checkFunctionGrads(name, f, xs);
      tf.dispose(xs);
    });
  }

  it('F.maxPool2d 3 stride 2 pad 1 ceilMode on cpu (the same check, the reference backend)', async () => {
    await setBackend('cpu');
    const x = spread([1, 8, 7, 3], 11);
    checkFunctionGrads('maxPool2d on cpu', (t) => F.maxPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true }), [x]);
    x.dispose();
  });

  // The failure of F.maxPool2d above, reduced: one 2x2 window whose maximum is negative. The gradient belongs to the
  // maximum (index 1); wasm's MaxPoolGrad kernel (tfjs-backend-wasm 4.22) gives it to index 0.
  it('batchNormTrain: its results are ordinary tensors (a tidy around it leaves nothing), with and without a tape', async () => {
    await setBackend('wasm');
    const x = rnd([2, 3, 3, 4], 60, 2, 0.5);
    const w = tf.variable(tf.ones([4]));
    const b = tf.variable(tf.zeros([4]));
    const before = tf.memory().numTensors;
    const stats = tf.tidy(() => {
      const r = F.batchNormTrain(x, { weight: w, bias: b });
      return [r.mean.dataSync()[0], r.variance.dataSync()[0], r.unbiased.dataSync()[0]];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(stats[2]).toBeCloseTo((stats[1] * 18) / 17, 5);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(F.batchNormTrain(x, { weight: w, bias: b }).y)),
      [w, b],
    );
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`maxPool2d gradient of a window with a negative maximum goes to the maximum, on ${backend}`, async () => {
      await setBackend(backend);
      const x = tf.tensor4d([-0.9, -0.6, -0.7, -0.8], [1, 2, 2, 1]);
      const g = tf.grad((t) => tf.sum(F.maxPool2d(t, 2)))(x);
      expect(Array.from(g.dataSync())).toEqual([0, 1, 0, 0]);
      tf.dispose([x, g]);
    });
  }

  type ModCase = [string, () => Module, () => Tensor, 'train' | 'eval'];
  const MOD_CASES: ModCase[] = [
    [
      'Conv2d grouped stride 2',
      () => new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 }),
      () => rnd([1, 7, 7, 4], 50),
      'train',
    ],
    ['Linear', () => new Linear(6, 4), () => rnd([3, 6], 51), 'train'],
    [
      'BatchNorm2d in training (batch statistics)',
      () => new BatchNorm2d(4),
      () => rnd([2, 3, 3, 4], 52, 2, 0.3),
      'train',
    ],
    [
      'BatchNorm2d in training, affine false',
      () => new BatchNorm2d(3, { affine: false }),
      () => rnd([3, 2, 2, 3], 59, 2, -0.4),
      'train',
    ],
    ['BatchNorm2d in eval', () => new BatchNorm2d(4), () => rnd([2, 3, 3, 4], 53, 2), 'eval'],
    ['LocalResponseNorm', () => new LocalResponseNorm(3, { alpha: 0.5 }), () => rnd([1, 2, 2, 5], 54, 4), 'train'],
    ['SEModule', () => new SEModule(8, { squeezeChannels: 4 }), () => rnd([1, 3, 3, 8], 55, 2), 'eval'],
    ['ConvNormAct (train)', () => new ConvNormAct(3, 4, 3, { act: null }), () => rnd([2, 4, 4, 3], 56, 2), 'train'],
  ];
  for (const [name, make, input, mode] of MOD_CASES) {
    it(name, async () => {
      await setBackend('wasm');
      manualSeed(3);
      const m = make();
      m.train(mode === 'train');
      const x = input();
      checkModuleGrads(name, m, x);
      x.dispose();
      m.dispose();
    });
  }
});

// ---------------------------------------------------------------------------------------------
// (b) Initialisation

interface InitStats {
  name: string;
  weight: { count: number; maxAbs: number; mean: number; var: number };
  bias: { count: number; maxAbs: number; mean: number; var: number };
}
const torchInit = (
  JSON.parse(readFileSync(new URL('./fixtures/layers/cases.json', import.meta.url), 'utf8')) as { init: InitStats[] }
).init;

function stats(v: tf.Variable) {
  const d = v.dataSync();
  let mean = 0,
    maxAbs = 0;
  for (const e of d) {
    mean += e;
    maxAbs = Math.max(maxAbs, Math.abs(e));
  }
  mean /= d.length;
  let variance = 0;
  for (const e of d) variance += (e - mean) ** 2;
  return { count: d.length, mean, variance: variance / d.length, maxAbs };
}

describe('(b) initialisation follows PyTorch', () => {
  const LAYERS: Array<[string, () => Conv2d | Linear, number]> = [
    ['Conv2d(64, 128, 3)', () => new Conv2d(64, 128, 3), 64 * 9],
    ['Conv2d(32, 64, 3, groups=4)', () => new Conv2d(32, 64, 3, { groups: 4 }), 8 * 9],
    ['Conv2d(16, 16, 5, groups=16)', () => new Conv2d(16, 16, 5, { groups: 16 }), 25],
    ['Linear(1000, 500)', () => new Linear(1000, 500), 1000],
  ];
  for (const [name, make, fanIn] of LAYERS) {
    it(`${name}: weight and bias in U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = ${fanIn}, as PyTorch's measured init`, async () => {
      await setBackend('wasm');
      manualSeed(11);
      const m = make();
      const b = 1 / Math.sqrt(fanIn);
      const torch = torchInit.find((t) => t.name === name)!;
      expect(torch, name).toBeDefined();
      for (const [which, v] of [
        ['weight', m.weight],
        ['bias', m.bias!],
      ] as const) {
        const s = stats(v);
        const t = torch[which];
        expect(s.count, `${name}.${which} count`).toBe(t.count);
        // PyTorch's own init lies within the same bound and reaches close to it: the bound is PyTorch's.
        expect(t.maxAbs).toBeLessThanOrEqual(b);
        if (t.count > 1000) expect(t.maxAbs).toBeGreaterThan(0.99 * b);
        expect(s.maxAbs, `${name}.${which} max |value|`).toBeLessThanOrEqual(b);
        // Mean 0 and variance b^2 / 3 of U(-b, b), within 5 standard errors.
        const seMean = b / Math.sqrt(3 * s.count);
        const seVar = (b * b * 2) / (3 * Math.sqrt(5 * s.count)); // sd of the sample variance of U(-b, b): b^2 * sqrt(4/45) / sqrt(n)
        expect(Math.abs(s.mean), `${name}.${which} mean`).toBeLessThan(5 * seMean);
        expect(
          Math.abs(s.variance - (b * b) / 3),
          `${name}.${which} variance ${s.variance} vs ${(b * b) / 3}`,
        ).toBeLessThan(5 * seVar);
        if (s.count > 1000) {
          expect(s.maxAbs).toBeGreaterThan(0.99 * b);
          expect(
            Math.abs(s.variance - t.var) / t.var,
            `${name}.${which} variance against PyTorch's ${t.var}`,
          ).toBeLessThan(0.05);
        }
      }
      m.dispose();
    });
  }

  it('BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0; eps 1e-5, momentum 0.1', async () => {
    await setBackend('wasm');
    const bn = new BatchNorm2d(7);
    expect(Array.from(bn.weight!.dataSync())).toEqual(new Array(7).fill(1));
    expect(Array.from(bn.bias!.dataSync())).toEqual(new Array(7).fill(0));
    expect(Array.from(bn.runningMean.dataSync())).toEqual(new Array(7).fill(0));
    expect(Array.from(bn.runningVar.dataSync())).toEqual(new Array(7).fill(1));
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(0);
    expect([bn.eps, bn.momentum]).toEqual([1e-5, 0.1]);
    expect([...bn.stateDict().keys()]).toEqual([
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    expect(bn.numParameters()).toBe(14);
    bn.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// (c) manualSeed

/** A small network of several kinds of layers: conv-norm-act, a strided residual branch's layers, SE, a linear layer. */
function buildNet(): Module {
  const down = new Sequential(new Conv2d(8, 16, 1, { stride: 2, bias: false }), new BatchNorm2d(16));
  const branch = new Sequential(
    new Conv2d(8, 16, 3, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(16),
    new ReLU(),
    new Conv2d(16, 16, 3, { padding: 1, bias: false }),
    new BatchNorm2d(16),
  );
  return new Sequential(new ConvNormAct(3, 8, 3), branch, down, new SEModule(16), new Linear(16, 5));
}

function stateBytes(m: Module): Map<string, Uint8Array> {
  return new Map([...m.stateDict()].map(([k, v]) => [k, new Uint8Array(new Float32Array(v.dataSync()).buffer)]));
}

describe('(c) manualSeed', () => {
  it('a model built twice after manualSeed(7) is bitwise identical; seed 8 differs; on wasm and cpu alike', async () => {
    const built: Array<Map<string, Uint8Array>> = [];
    for (const [backend, seed] of [
      ['wasm', 7],
      ['wasm', 7],
      ['cpu', 7],
      ['wasm', 8],
    ] as const) {
      await setBackend(backend);
      manualSeed(seed);
      const m = buildNet();
      built.push(stateBytes(m));
      m.dispose();
    }
    const [a, b, c, d] = built;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, bytes] of a) {
      expect(Buffer.compare(bytes, b.get(k)!), `${k}: same seed, same backend`).toBe(0);
      expect(Buffer.compare(bytes, c.get(k)!), `${k}: same seed, wasm and cpu`).toBe(0);
    }
    const differing = [...a.keys()].filter(
      (k) => k.endsWith('weight') && a.get(k)!.length > 64 && Buffer.compare(a.get(k)!, d.get(k)!) !== 0,
    );
    expect(differing.length, 'weights that differ with seed 8').toBe(
      [...a.keys()].filter((k) => k.endsWith('weight') && a.get(k)!.length > 64).length,
    );
  });

  it('getRandomState / setRandomState replay the same initialisation', async () => {
    await setBackend('wasm');
    manualSeed(123);
    new Linear(4, 4).dispose(); // move the generator on
    const s = getRandomState();
    const m1 = new Conv2d(3, 4, 3);
    setRandomState(s);
    const m2 = new Conv2d(3, 4, 3);
    expect(Array.from(m1.weight.dataSync())).toEqual(Array.from(m2.weight.dataSync()));
    expect(Array.from(m1.bias!.dataSync())).toEqual(Array.from(m2.bias!.dataSync()));
    m1.dispose();
    m2.dispose();
  });

  it('dropout masks come from the same stream: seeded runs repeat, setRandomState replays them, eval draws nothing', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await setBackend(backend);
      const x = tf.ones([64, 32]);
      const before = tf.memory().numTensors;
      const d = new Dropout(0.5);
      const masks = (seed: number): number[][] => {
        manualSeed(seed);
        return [0, 1].map(() => {
          const y = d.call(x);
          const v = Array.from(y.dataSync());
          y.dispose();
          return v;
        });
      };
      const [a1, a2] = masks(5);
      const [b1, b2] = masks(5);
      expect(b1, `${backend}: same seed, first mask`).toEqual(a1);
      expect(b2, `${backend}: same seed, second mask`).toEqual(a2);
      expect(a2, `${backend}: a new mask each call`).not.toEqual(a1);
      expect(masks(6)[0], `${backend}: another seed, another mask`).not.toEqual(a1);
      // Resuming: restore the state saved after the first mask and the second one comes back.
      manualSeed(5);
      d.call(x).dispose();
      const s = getRandomState();
      d.eval();
      d.call(x).dispose();
      expect(getRandomState(), `${backend}: eval mode draws no seed`).toBe(s);
      F.dropout(x, 0.5, true, 99).dispose(); // an explicit seed draws none either
      expect(getRandomState()).toBe(s);
      d.train();
      new Linear(4, 4).dispose(); // move the generator on, then replay
      setRandomState(s);
      const again = d.call(x);
      expect(Array.from(again.dataSync()), `${backend}: replayed second mask`).toEqual(a2);
      again.dispose();
      expect(tf.memory().numTensors, `${backend}: no tensor leaks`).toBe(before);
      x.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (d) loadStateDict

describe('(d) loadStateDict', () => {
  const model = () => new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new Linear(4, 2));
  const host = (shape: number[], fill = 0.5) => ({ shape, data: new Float32Array(size(shape)).fill(fill) });

  it('strict: one error naming every missing, unexpected and mismatched key; nothing is loaded', async () => {
    await setBackend('wasm');
    const m = model();
    const before = Array.from(m.at(0).stateDict().get('weight')!.dataSync());
    const dict = new Map(
      Object.entries({
        '0.weight': host([3, 3, 3, 4]),
        '0.bias': host([5]), // mismatch
        '1.weight': host([4]),
        '1.bias': host([4]),
        '1.running_mean': host([4]),
        // 1.running_var, 1.num_batches_tracked, 2.weight missing
        '2.bias': host([2]),
        '2.scale': host([2]), // unexpected
        'head.weight': host([2, 2]), // unexpected
      }),
    );
    let msg = '';
    try {
      m.loadStateDict(dict);
    } catch (e) {
      msg = String(e);
    }
    for (const k of [
      '0.bias',
      '[5]',
      '[4]',
      '1.running_var',
      '1.num_batches_tracked',
      '2.weight',
      '2.scale',
      'head.weight',
    ])
      expect(msg, k).toContain(k);
    expect(msg).toMatch(/missing keys \(3\)/);
    expect(msg).toMatch(/unexpected keys \(2\)/);
    expect(msg).toMatch(/shape mismatch \(1\)/);
    expect(Array.from(m.at(0).stateDict().get('weight')!.dataSync()), 'nothing loaded after a refusal').toEqual(before);
    m.dispose();
  });

  it('strict: false loads what matches and reports what is missing and unexpected; shape mismatches are still refused', async () => {
    await setBackend('wasm');
    const m = model();
    const rv = Array.from((m.at(1) as BatchNorm2d).runningVar.dataSync());
    const res = m.loadStateDict(
      new Map(Object.entries({ '0.weight': host([3, 3, 3, 4], 0.25), '2.bias': host([2], -1), extra: host([1]) })),
      { strict: false },
    );
    expect(res.loaded).toEqual(['0.weight', '2.bias']);
    expect(res.unexpected).toEqual(['extra']);
    expect(res.missing).toEqual([
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '2.weight',
    ]);
    expect(new Set(m.at(0).stateDict().get('weight')!.dataSync())).toEqual(new Set([0.25]));
    expect(Array.from(m.at(2).stateDict().get('bias')!.dataSync())).toEqual([-1, -1]);
    expect(Array.from((m.at(1) as BatchNorm2d).runningVar.dataSync())).toEqual(rv);
    expect(() => m.loadStateDict({ '0.weight': host([4, 3, 3, 3]) }, { strict: false })).toThrow(
      /0\.weight: checkpoint \[4, 3, 3, 3\], model \[3, 3, 3, 4\]/,
    );
    m.dispose();
  });

  it('loadTorchState converts layouts (OIHW, [out, in]) and maps keys; bad keys are named', async () => {
    await setBackend('wasm');
    const m = new Sequential(
      new Conv2d(2, 3, [1, 2], { bias: false }),
      new Flatten(),
      new Linear(3, 2, { bias: false }),
    );
    // PyTorch conv weight [out 3, in 2, kh 1, kw 2]: value = 1000 o + 100 i + w.
    const conv = new Float32Array(12);
    for (let o = 0; o < 3; o++)
      for (let i = 0; i < 2; i++) for (let w = 0; w < 2; w++) conv[(o * 2 + i) * 2 + w] = 1000 * o + 100 * i + w;
    const lin = Float32Array.from([0, 1, 2, 10, 11, 12]); // [out 2, in 3]
    loadTorchState(
      m,
      new Map([
        ['backbone.0.weight', { shape: [3, 2, 1, 2], data: conv }],
        ['backbone.2.weight', { shape: [2, 3], data: lin }],
      ]),
      {
        keyMap: (k) => k.replace(/^backbone\./, ''),
      },
    );
    const w = (m.at(0) as Conv2d).weight; // [1, 2, 2, 3]
    expect(w.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(w.dataSync())).toEqual([0, 1000, 2000, 100, 1100, 2100, 1, 1001, 2001, 101, 1101, 2101]);
    expect(Array.from((m.at(2) as Linear).weight.dataSync())).toEqual([0, 10, 1, 11, 2, 12]);
    let msg = '';
    try {
      loadTorchState(
        m,
        new Map([
          ['0.weight', { shape: [3, 2, 1, 2], data: conv }],
          ['0.wieght', { shape: [1], data: new Float32Array(1) }],
        ]),
      );
    } catch (e) {
      msg = String(e);
    }
    expect(msg).toMatch(/missing keys \(1\): 2\.weight/);
    expect(msg).toMatch(/unexpected keys \(1\): 0\.wieght/);
    m.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// (e) Errors of bad inputs name the op and the numbers

describe('(e) bad inputs', () => {
  const cases: BadCall[] = [
    [
      'conv2d, input of rank 3',
      () => F.conv2d(tf.zeros([8, 8, 3]), tf.zeros([3, 3, 3, 4])),
      /conv2d: input must be rank 4 \(NHWC\), got shape \[8, 8, 3\]/,
    ],
    [
      'conv2d, channel mismatch',
      () => F.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 4, 6])),
      /conv2d: input has 3 channels, filter expects 4/,
    ],
    [
      'conv2d, bias shape',
      () => F.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 6]), { bias: tf.zeros([5]) }),
      /conv2d: bias must have shape \[6\], got \[5\]/,
    ],
    [
      'Conv2d layer, channel mismatch',
      () => new Conv2d(4, 6, 3).call(tf.zeros([1, 5, 5, 3])),
      /conv2d: input has 3 channels, filter expects 4/,
    ],
    [
      'linear, feature mismatch',
      () => F.linear(tf.zeros([2, 7]), tf.zeros([8, 3])),
      /linear: input has 7 features, weight expects 8/,
    ],
    [
      'Linear layer, feature mismatch',
      () => new Linear(8, 3).call(tf.zeros([2, 7])),
      /linear: input has 7 features, weight expects 8/,
    ],
    [
      'linear, bias shape',
      () => F.linear(tf.zeros([2, 8]), tf.zeros([8, 3]), tf.zeros([4])),
      /linear: bias must have shape \[3\], got \[4\]/,
    ],
    [
      'maxPool2d, padding > half the kernel',
      () => F.maxPool2d(tf.zeros([1, 6, 6, 1]), 3, { padding: 2 }),
      /maxPool2d: padding 2x2 must be at most half the kernel 3x3/,
    ],
    [
      'avgPool2d, padding > half the kernel',
      () => F.avgPool2d(tf.zeros([1, 6, 6, 1]), [2, 4], { padding: [2, 1] }),
      /avgPool2d: padding 2x1 must be at most half the kernel 2x4/,
    ],
    [
      'maxPool2d, kernel larger than the input',
      () => F.maxPool2d(tf.zeros([1, 4, 4, 1]), 5),
      /maxPool2d: kernel 5x5 is larger than the padded input 4x4/,
    ],
    [
      'avgPool2d, kernel larger than the input',
      () => new MaxPool2d(3).call(tf.zeros([1, 2, 6, 1])),
      /maxPool2d: kernel 3x3 is larger than the padded input 2x6/,
    ],
    [
      'avgPool2d, rank 2',
      () => F.avgPool2d(tf.zeros([4, 4]), 2),
      /avgPool2d: input must be rank 4 \(NHWC\), got shape \[4, 4\]/,
    ],
    [
      'channelShuffle, indivisible',
      () => F.channelShuffle(tf.zeros([1, 2, 2, 10]), 3),
      /channelShuffle: 10 channels cannot be split into 3 groups/,
    ],
    [
      'ChannelShuffle layer, indivisible',
      () => new ChannelShuffle(4).call(tf.zeros([1, 2, 2, 6])),
      /channelShuffle: 6 channels cannot be split into 4 groups/,
    ],
    [
      'Conv2d, groups not dividing the channels',
      () => new Conv2d(6, 8, 3, { groups: 4 }),
      /Conv2d: groups=4 must divide inChannels=6 and outChannels=8/,
    ],
    [
      'BatchNorm2d, channel mismatch',
      () => new BatchNorm2d(8).call(tf.zeros([1, 2, 2, 6])),
      /BatchNorm2d: input has 6 channels, expected 8/,
    ],
    [
      'BatchNorm2d in eval, channel mismatch',
      () => new BatchNorm2d(8).eval().call(tf.zeros([1, 2, 2, 6])),
      /BatchNorm2d: input has 6 channels, expected 8/,
    ],
    [
      'batchNorm, statistics shape',
      () => F.batchNorm(tf.zeros([1, 2, 2, 6]), { mean: tf.zeros([5]), variance: tf.ones([6]) }),
      /batchNorm: mean must have shape \[6\], got \[5\]/,
    ],
    [
      'batchNormTrain, weight shape',
      () => F.batchNormTrain(tf.zeros([2, 2, 2, 6]), { weight: tf.ones([4]) }),
      /batchNormTrain: weight must have shape \[6\], got \[4\]/,
    ],
    [
      'batchNormTrain, activation',
      () => F.batchNormTrain(tf.zeros([2, 2, 2, 6]), { activation: 'gelu' as 'relu' }),
      /batchNormTrain: activation must be one of linear, relu, relu6, got "gelu"/,
    ],
    [
      'BatchNorm2d in training, one value per channel',
      () => new BatchNorm2d(3).call(tf.zeros([1, 1, 1, 3])),
      /batchNormTrain: expected more than one value per channel to normalise over, got input shape \[1, 1, 1, 3\]/,
    ],
    [
      'concat, shape mismatch',
      () => F.concat([tf.zeros([1, 4, 4, 3]), tf.zeros([1, 5, 4, 3])]),
      /concat: tensor 1 has shape \[1, 5, 4, 3\], which does not match \[1, 4, 4, 3\] outside dim 3/,
    ],
    [
      'concat, rank mismatch',
      () => F.concat([tf.zeros([1, 4, 4, 3]), tf.zeros([4, 4, 3])]),
      /concat: tensor 1 has shape \[4, 4, 3\]/,
    ],
    ['concat, nothing', () => F.concat([]), /concat: no tensors given/],
    [
      'concat, dim out of range',
      () => F.concat([tf.zeros([1, 4, 4, 3]), tf.zeros([1, 4, 4, 3])], 4),
      /concat: .*dim.*4/,
    ],
    ['softmax, dim out of range', () => F.softmax(tf.zeros([2, 3]), 2), /softmax: .*dim.*2/],
    ['logSoftmax, dim out of range', () => F.logSoftmax(tf.zeros([2, 3]), -3), /logSoftmax: .*dim.*-3/],
    ['dropout, p = 1', () => F.dropout(tf.zeros([2, 2]), 1), /dropout: p must be in \[0, 1\), got 1/],
    ['dropout, p < 0', () => F.dropout(tf.zeros([2, 2]), -0.1), /dropout: p must be in \[0, 1\), got -0.1/],
    ['Dropout layer, p = 1.5', () => new Dropout(1.5), /Dropout: p must be in \[0, 1\), got 1.5/],
    [
      'flatten, startDim out of range',
      () => F.flatten(tf.zeros([2, 3]), 2),
      /flatten: startDim 2 is out of range for rank 2/,
    ],
    [
      'localResponseNorm, size 0',
      () => F.localResponseNorm(tf.zeros([1, 2, 2, 3]), 0),
      /localResponseNorm: size must be a positive integer, got 0/,
    ],
    [
      'adaptiveAvgPool2d, output size 0',
      () => F.adaptiveAvgPool2d(tf.zeros([1, 4, 4, 1]), 0),
      /adaptiveAvgPool2d: outputSize must be a positive integer or \[height, width\], got 0/,
    ],
    [
      'summary, shape of rank 2',
      () => summary(new Conv2d(3, 4, 3), [8, 8]),
      /summary: inputShape must be \[h, w, c\] or \[n, h, w, c\] of positive integers, got \[8, 8\]/,
    ],
    [
      'summary, zero dimension',
      () => summary(new Conv2d(3, 4, 3), [0, 8, 3]),
      /summary: inputShape .* got \[0, 8, 3\]/,
    ],
    [
      'summary, wrong channels',
      () => summary(new Conv2d(3, 4, 3), [8, 8, 5]),
      /conv2d: input has 5 channels, filter expects 3/,
    ],
  ];
  itRefuses(cases);
});

// ---------------------------------------------------------------------------------------------
// (f) train / eval, Dropout

describe('(f) train and eval', () => {
  it('eval() and train() reach every descendant', async () => {
    await setBackend('wasm');
    const m = new Sequential(
      new ConvNormAct(3, 4, 3),
      new Sequential(
        new Sequential(
          new ConvNormAct(4, 1, 1),
          new SEModule(1, { squeezeChannels: 1 }),
          new Sequential(new Conv2d(4, 4, 1)),
        ),
        new Dropout(),
      ),
      new Sequential(new MaxPool2d(3, { stride: 1, padding: 1 }), new ConvNormAct(4, 1, 1, { naming: 'named' })),
    );
    const modes = () => new Set(m.namedModules().map(([, x]) => x.training));
    expect(modes()).toEqual(new Set([true]));
    expect(m.eval()).toBe(m);
    expect(modes()).toEqual(new Set([false]));
    m.train();
    expect(modes()).toEqual(new Set([true]));
    m.train(false);
    expect(modes()).toEqual(new Set([false]));
    m.dispose();
  });

  it('Dropout: identity in eval; in training zeroes about p of the values and scales the rest by 1 / (1 - p)', async () => {
    await setBackend('wasm');
    const x = tf.tensor(
      formula(20000, 5).map((v) => v + 1),
      [200, 100],
    );
    const d = new Dropout(0.3);
    d.eval();
    const e = d.call(x);
    expect(Array.from(e.dataSync())).toEqual(Array.from(x.dataSync()));
    d.train();
    const y = d.call(x);
    const xs = x.dataSync(),
      ys = y.dataSync();
    let zeros = 0,
      wrong = 0;
    for (let i = 0; i < ys.length; i++) {
      if (ys[i] === 0) zeros++;
      else if (Math.abs(ys[i] - xs[i] / 0.7) > 1e-5) wrong++;
    }
    expect(Math.abs(zeros / ys.length - 0.3), `zeroed fraction ${zeros / ys.length}`).toBeLessThan(0.02);
    expect(wrong).toBe(0);
    const y2 = d.call(x);
    expect(Array.from(y2.dataSync())).not.toEqual(Array.from(ys)); // a new mask each call
    tf.dispose([e, y, y2, x]);
  });

  it('BatchNorm2d: training uses and updates batch statistics, eval uses the running ones and updates nothing', async () => {
    await setBackend('wasm');
    const bn = new BatchNorm2d(3);
    const x = rnd([4, 2, 2, 3], 9, 2, 1);
    const yt = bn.call(x);
    // Normalised with the batch statistics: mean 0, biased variance 1 per channel.
    const m = tf.moments(yt, [0, 1, 2]);
    Array.from(m.mean.dataSync()).forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
    Array.from(m.variance.dataSync()).forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
    bn.eval();
    const rm = Array.from(bn.runningMean.dataSync());
    const ye = bn.call(x);
    expect(Array.from(bn.runningMean.dataSync())).toEqual(rm);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
    const ref = F.batchNorm(x, { mean: bn.runningMean, variance: bn.runningVar, eps: 1e-5 });
    expect(Array.from(ye.dataSync())).toEqual(Array.from(ref.dataSync()));
    tf.dispose([x, yt, ye, ref, m.mean, m.variance]);
    bn.dispose();
  });
});
