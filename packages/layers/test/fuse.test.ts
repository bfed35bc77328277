// The fused inference plans one by one (FusedConv, FusedLinear, a Sequential's grouping), on wasm and cpu: every kind
// of convolution (plain, depthwise with and without a multiplier, grouped, stride with dilation, per-side padding,
// with and without bias) and every activation (fused by tfjs, folded, written out, a module) gives the unfused
// module-by-module result within 1e-5 of the largest value, with random BatchNorm statistics; nothing leaks; and what
// cannot be folded is left to raise its own error.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  BatchNorm2d,
  Conv2d,
  ConvNormAct,
  Dropout,
  ELU,
  FusedConv,
  Hardsigmoid,
  Hardswish,
  LeakyReLU,
  Linear,
  Module,
  ReLU,
  ReLU6,
  Sequential,
  Sigmoid,
  Tanh,
  manualSeed,
  setForwardHook,
  type Conv2dOptions,
} from '../src/index';

const TOL = 1e-5;

function randomNorm(bn: BatchNorm2d, seed: number): void {
  const c = bn.numFeatures;
  tf.tidy(() => {
    bn.runningMean.assign(tf.randomUniform([c], -1, 1, 'float32', seed));
    bn.runningVar.assign(tf.randomUniform([c], 0.3, 3, 'float32', seed + 1));
    bn.weight!.assign(tf.randomUniform([c], -1.5, 1.5, 'float32', seed + 2));
    bn.bias!.assign(tf.randomUniform([c], -1, 1, 'float32', seed + 3));
  });
}

function maxRel(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(y[i]!));
  }
  return d / m;
}

/** Fused (eval) and unfused (unfuse) outputs of `m` on `x`, and the tensors the fused call left behind but its folded ones. */
function compare(m: Module, x: Tensor): number {
  m.fuse();
  const before = tf.memory().numTensors;
  const fused = m.call(x);
  expect(tf.memory().numTensors, 'a fused call adds its output only').toBe(before + 1);
  m.unfuse();
  const unfused = m.call(x);
  const rel = maxRel(fused, unfused);
  tf.dispose([fused, unfused]);
  return rel;
}

const CONVS: Array<[string, number, number, number, Conv2dOptions]> = [
  ['3x3 plain, padding 1', 6, 8, 3, { padding: 1, bias: false }],
  ['3x3 plain with bias, stride 2', 6, 8, 3, { padding: 1, stride: 2 }],
  ['7x7 stride 2 padding 3 (a stem)', 3, 8, 7, { padding: 3, stride: 2, bias: false }],
  ['1x1', 6, 10, 1, { bias: false }],
  ['3x3 depthwise', 6, 6, 3, { padding: 1, groups: 6, bias: false }],
  ['5x5 depthwise stride 2 dilation 1', 6, 6, 5, { padding: 2, stride: 2, groups: 6, bias: false }],
  ['3x3 depthwise, multiplier 2', 4, 8, 3, { padding: 1, groups: 4, bias: false }],
  [
    '3x3 depthwise, per-side padding',
    6,
    6,
    3,
    {
      padding: [
        [0, 1],
        [1, 0],
      ],
      groups: 6,
      bias: false,
    },
  ],
  ['3x3 grouped (groups 2)', 6, 8, 3, { padding: 1, groups: 2, bias: false }],
  ['3x3 grouped with bias', 6, 9, 3, { padding: 1, groups: 3 }],
  ['3x3 dilation 2', 6, 8, 3, { padding: 2, dilation: 2, bias: false }],
  ['3x3 stride 2 with dilation 2', 6, 8, 3, { padding: 2, stride: 2, dilation: 2, bias: false }],
  ["'same' at stride 2", 6, 8, 3, { padding: 'same', stride: 2, bias: false }],
  [
    'per-side padding',
    6,
    8,
    3,
    {
      padding: [
        [1, 0],
        [0, 2],
      ],
      bias: false,
    },
  ],
];

const ACTS: Array<[string, (() => Module) | null]> = [
  ['none', null],
  ['relu', () => new ReLU()],
  ['relu6', () => new ReLU6()],
  ['sigmoid', () => new Sigmoid()],
  ['elu', () => new ELU()],
  ['elu alpha 0.5 (a module after the op)', () => new ELU(0.5)],
  ['leaky relu 0.2', () => new LeakyReLU(0.2)],
  ['hardsigmoid (folded)', () => new Hardsigmoid()],
  ['hardswish', () => new Hardswish()],
  ['tanh (a module after the op)', () => new Tanh()],
];

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fused inference plans on ${backend}`, () => {
    CONVS.forEach(([name, cin, cout, k, opts], i) => {
      it(`conv ${name}, with BatchNorm and every activation`, async () => {
        await setBackend(backend);
        const before = tf.memory().numTensors;
        const x = tf.randomNormal([2, 9, 10, cin], 0, 1, 'float32', 100 + i);
        for (const [act, make] of ACTS) {
          manualSeed(i);
          const conv = new Conv2d(cin, cout, k, opts);
          const bn = new BatchNorm2d(cout);
          randomNorm(bn, 10 * i);
          const layers: Module[] = [conv, bn, ...(make ? [make()] : [])];
          const seq = new Sequential(...layers);
          if (backend === 'cpu' && opts.stride === 2 && opts.dilation === 2) {
            // Only cnn's wasm kernel takes stride and dilation together; the fused path refuses as the unfused one does.
            seq.fuse();
            expect(() => seq.call(x)).toThrow(/stride 2x2 together with dilation 2x2 is supported only on the wasm/);
          } else expect(compare(seq, x), `${name} + ${act}`).toBeLessThanOrEqual(TOL);
          seq.dispose();
        }
        x.dispose();
        expect(tf.memory().numTensors, 'tensors left over').toBe(before);
      });
    });

    it('a FusedConv without BatchNorm (conv bias + activation), declared by a module of its own', async () => {
      await setBackend(backend);
      class Block extends Module {
        conv = this.registerModule('conv', new Conv2d(5, 7, 3, { padding: 1 }));
        act = this.registerModule('act', new Hardsigmoid());
        private readonly fused = this.registerPlan(new FusedConv(this.conv, null, this.act));
        forward(x: Tensor): Tensor {
          return this.fused.call(x);
        }
      }
      manualSeed(3);
      const b = new Block();
      const x = tf.randomNormal([1, 6, 6, 5]);
      expect(compare(b, x)).toBeLessThanOrEqual(TOL);
      b.dispose();
      x.dispose();
    });

    it('Linear + activation as one fused matMul, Dropout left out, in a Sequential', async () => {
      await setBackend(backend);
      manualSeed(4);
      const seq = new Sequential(
        new Linear(12, 16),
        new ReLU(),
        new Dropout(0.5),
        new Linear(16, 8),
        new Hardswish(),
        new Linear(8, 3),
      );
      const x = tf.randomNormal([4, 12]);
      expect(compare(seq, x)).toBeLessThanOrEqual(TOL);
      seq.dispose();
      x.dispose();
    });
  });
}

describe('what the plans leave alone', () => {
  it('a BatchNorm of another width than the convolution is not folded: it raises its own error', async () => {
    await setBackend('wasm');
    const seq = new Sequential(new Conv2d(3, 4, 1), new BatchNorm2d(5), new ReLU()).eval();
    const x = tf.zeros([1, 4, 4, 3]);
    expect(() => seq.call(x)).toThrow(/BatchNorm2d: input has 4 channels, expected 5/);
    seq.dispose();
    x.dispose();
  });

  it('training mode runs module by module and frees the folded tensors; eval-mode gradients reach the weights', async () => {
    await setBackend('wasm');
    manualSeed(5);
    const conv = new Conv2d(3, 4, 3, { padding: 1, bias: false });
    const bn = new BatchNorm2d(4);
    randomNorm(bn, 7);
    const seq = new Sequential(conv, bn, new ReLU()).fuse();
    const x = tf.randomNormal([2, 5, 5, 3]);
    const base = tf.memory().numTensors;
    tf.dispose(seq.call(x));
    // Eval mode, recording gradients: the unfused path, so the conv weight gets its gradient.
    const { grads, value } = tf.variableGrads(() => tf.sum(seq.call(x)) as tf.Scalar, [conv.weight]);
    expect(tf.tidy(() => Math.abs(grads[conv.weight.name]!.sum().dataSync()[0]!))).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    seq.train();
    expect(tf.memory().numTensors, 'train() freed the folded tensors').toBeLessThan(base);
    seq.dispose();
    x.dispose();
  });
});

// While training, a ConvNormAct's BatchNorm and ReLU / ReLU6 run as one op (BatchNorm2d.callWithActivation); with a
// forward hook installed (what `summary` does) every module runs on its own, the reference here. Both must give the
// same output, input and weight gradients and running statistics, bit for bit.
for (const backend of ['wasm', 'cpu'] as const) {
  describe(`training BatchNorm + activation as one op on ${backend}`, () => {
    for (const act of ['relu', 'relu6'] as const) {
      it(`ConvNormAct with ${act}: module by module's values, gradients and statistics exactly`, async () => {
        await setBackend(backend);
        const run = (hooked: boolean) => {
          manualSeed(11);
          const block = new ConvNormAct(3, 6, 3, { act: () => (act === 'relu' ? new ReLU() : new ReLU6()) });
          const norm = block.norm as BatchNorm2d;
          // Outputs well past 6 and below 0, so both edges of the clamp are crossed.
          tf.tidy(() => {
            norm.weight!.assign(tf.tensor1d([4, -3, 5, 0.5, 8, 2]));
            norm.bias!.assign(tf.tensor1d([1, 0.5, -1, 3, 2, 0]));
          });
          const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3);
          const r = tf.randomNormal([2, 6, 6, 6], 0, 1, 'float32', 4);
          if (hooked) setForwardHook(() => {});
          try {
            const vars = [block.conv.weight, norm.weight!, norm.bias!];
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(block.call(x), r)) as tf.Scalar, vars);
            const y = block.call(x);
            const out = [y, ...vars.map((v) => grads[v.name]!), norm.runningMean, norm.runningVar].map((t) =>
              Array.from(t.dataSync()),
            );
            tf.dispose([value, y, ...Object.values(grads), x, r]);
            return out;
          } finally {
            setForwardHook(null);
            block.dispose();
          }
        };
        const before = tf.memory().numTensors;
        const fused = run(false);
        const plain = run(true);
        expect(tf.memory().numTensors).toBe(before);
        expect(fused).toEqual(plain);
        const y = fused[0]!;
        expect(y.filter((v) => v === 0).length).toBeGreaterThan(y.length / 10);
        if (act === 'relu6') expect(y.filter((v) => v === 6).length).toBeGreaterThan(y.length / 50);
      });
    }
  });
}

describe('BatchNorm2d.callWithActivation', () => {
  it('is the BatchNorm then the activation in evaluation mode too; a bad name is a named error', async () => {
    await setBackend('wasm');
    const bn = new BatchNorm2d(3);
    randomNorm(bn, 2);
    bn.eval();
    const x = tf.randomNormal([1, 4, 4, 3], 0, 3, 'float32', 1);
    const a = bn.callWithActivation(x, 'relu6');
    const b = tf.relu6(bn.call(x));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(() => bn.callWithActivation(x, 'tanh' as 'relu')).toThrow(
      /BatchNorm2d: activation must be one of relu, relu6, got "tanh"/,
    );
    tf.dispose([a, b, x]);
    bn.dispose();
  });
});
