// Forward parity with PyTorch: every function of F, every layer class, BatchNorm2d's training step (output and
// running statistics) and every generic block, on wasm and on cpu, against fixtures made by
// scripts/make-layer-fixtures.py with Debian's PyTorch 1.13 / torchvision 0.14 (float64, cast to float32).
// Inputs and weights are not stored: both sides compute them from the formula (test-support/fixtures.ts). Blocks
// load the PyTorch state dict (PyTorch keys and layouts) with loadTorchState, so the key names are checked too. The
// blocks of one model family are checked the same way beside that family's tests (packages/models-*/test).
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  F,
  type Module,
  Sequential,
  Conv2d,
  Linear,
  BatchNorm2d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  LocalResponseNorm,
  Dropout,
  Flatten,
  Identity,
  ChannelShuffle,
  Softmax,
  LogSoftmax,
  ReLU,
  ReLU6,
  LeakyReLU,
  ELU,
  Sigmoid,
  Tanh,
  GELU,
  SiLU,
  Hardsigmoid,
  Hardswish,
  ConvNormAct,
  SEModule,
  activation,
  loadTorchState,
} from '../src/index';
import {
  checkFormula,
  expectClose,
  expected,
  noLeaks,
  readLayerFixture,
  runModuleCase,
  tensorOf,
  torchDict,
  type Backend,
  type Case,
} from '../../../test-support/layer-fixtures';

// ---------------------------------------------------------------------------------------------
// Fixtures

const fixture = readLayerFixture(new URL('./fixtures/layers/cases', import.meta.url));
const { doc } = fixture;

// ---------------------------------------------------------------------------------------------
// What each case calls

type FnImpl = (x: Tensor[], a: any) => Tensor;
const FNS: Record<string, FnImpl> = {
  conv2d: ([x, w, b], a) =>
    F.conv2d(x, w, { bias: b, stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }),
  linear: ([x, w, b]) => F.linear(x, w, b),
  maxPool2d: ([x], a) => F.maxPool2d(x, a.kernelSize, { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode }),
  avgPool2d: ([x], a) =>
    F.avgPool2d(x, a.kernelSize, {
      stride: a.stride,
      padding: a.padding,
      ceilMode: a.ceilMode,
      countIncludePad: a.countIncludePad,
    }),
  adaptiveAvgPool2d: ([x], a) => F.adaptiveAvgPool2d(x, a.outputSize),
  globalAvgPool: ([x]) => F.globalAvgPool(x),
  batchNorm: ([x, mean, variance, weight, bias], a) => F.batchNorm(x, { mean, variance, weight, bias, eps: a.eps }),
  localResponseNorm: ([x], a) => F.localResponseNorm(x, a.size, { alpha: a.alpha, beta: a.beta, k: a.k }),
  dropout: ([x], a) => F.dropout(x, a.p, a.training),
  flatten: ([x], a) => F.flatten(x, a.startDim),
  softmax: ([x], a) => F.softmax(x, a.dim),
  logSoftmax: ([x], a) => F.logSoftmax(x, a.dim),
  relu: ([x]) => F.relu(x),
  relu6: ([x]) => F.relu6(x),
  leakyRelu: ([x], a) => F.leakyRelu(x, a.negativeSlope),
  elu: ([x], a) => F.elu(x, a.alpha),
  sigmoid: ([x]) => F.sigmoid(x),
  tanh: ([x]) => F.tanh(x),
  gelu: ([x]) => F.gelu(x),
  silu: ([x]) => F.silu(x),
  hardSigmoid: ([x]) => F.hardSigmoid(x),
  hardSwish: ([x]) => F.hardSwish(x),
  channelShuffle: ([x], a) => F.channelShuffle(x, a.groups),
  pad: ([x], a) => F.pad(x, a.padding, a.value),
  concat: (xs, a) => F.concat(xs, a.dim),
};

/** The module of each 'layer' and 'block' case, as PyTorch's in the script. */
const MODULES: Record<string, () => Module> = {
  'Conv2d 3 -> 6, 3x3, pad 1': () => new Conv2d(3, 6, 3, { padding: 1 }),
  'Conv2d stride 2 pad 1 groups 2 no bias': () =>
    new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, bias: false }),
  'Conv2d same 4x4 (PyTorch padding=same)': () => new Conv2d(3, 4, 4, { padding: 'same' }),
  'Conv2d dilation 2 same': () => new Conv2d(3, 5, 3, { padding: 'same', dilation: 2 }),
  'Conv2d [1, 3] kernel padding [0, 1]': () => new Conv2d(3, 4, [1, 3], { padding: [0, 1] }),
  'Conv2d depthwise stride 2': () => new Conv2d(6, 6, 3, { stride: 2, padding: 1, groups: 6 }),
  'Linear 8 -> 5': () => new Linear(8, 5),
  'Linear no bias': () => new Linear(6, 4, { bias: false }),
  'Flatten + Linear(flattenedFrom)': () =>
    new Sequential(new Flatten(), new Linear(60, 6, { flattenedFrom: [3, 4, 5] })),
  'BatchNorm2d eval': () => new BatchNorm2d(6),
  'BatchNorm2d eval eps 1e-3': () => new BatchNorm2d(5, { eps: 1e-3 }),
  'BatchNorm2d eval affine false': () => new BatchNorm2d(4, { affine: false }),
  'MaxPool2d 3 stride 2 pad 1': () => new MaxPool2d(3, { stride: 2, padding: 1 }),
  'MaxPool2d 3 stride 2 ceil_mode': () => new MaxPool2d(3, { stride: 2, ceilMode: true }),
  'AvgPool2d 3 stride 2 pad 1 count_include_pad False': () =>
    new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
  'AvgPool2d 2 stride 2 pad 1 ceil_mode': () => new AvgPool2d(2, { stride: 2, padding: 1, ceilMode: true }),
  'AdaptiveAvgPool2d 6': () => new AdaptiveAvgPool2d(6),
  'AdaptiveAvgPool2d (5, 7) up': () => new AdaptiveAvgPool2d([5, 7]),
  'LocalResponseNorm 5': () => new LocalResponseNorm(5, { alpha: 1e-2, beta: 0.75, k: 2 }),
  'Dropout eval': () => new Dropout(0.3),
  Flatten: () => new Flatten(),
  Identity: () => new Identity(),
  'ChannelShuffle 3': () => new ChannelShuffle(3),
  'Softmax dim 3 (channels)': () => new Softmax(3),
  LogSoftmax: () => new LogSoftmax(),
  ReLU: () => new ReLU(),
  ReLU6: () => new ReLU6(),
  'LeakyReLU 0.1': () => new LeakyReLU(0.1),
  'ELU 0.5': () => new ELU(0.5),
  Sigmoid: () => new Sigmoid(),
  Tanh: () => new Tanh(),
  GELU: () => new GELU(),
  SiLU: () => new SiLU(),
  Hardsigmoid: () => new Hardsigmoid(),
  Hardswish: () => new Hardswish(),
  'Sequential conv-bn-relu-maxpool': () =>
    new Sequential(new Conv2d(3, 8, 3, { padding: 1, bias: false }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2)),
  // Blocks
  'ConvNormAct 3x3 stride 2 (Conv2dNormActivation)': () => new ConvNormAct(8, 16, 3, { stride: 2 }),
  'ConvNormAct no norm relu6 (Conv2dNormActivation)': () =>
    new ConvNormAct(6, 8, 3, { norm: null, act: activation('relu6') }),
  'ConvNormAct hardswish 5x5 dilation 2': () => new ConvNormAct(4, 8, 5, { dilation: 2, act: activation('hardswish') }),
  'SEModule (SqueezeExcitation)': () => new SEModule(32, { squeezeChannels: 8 }),
  'SEModule hardsigmoid gate (SqueezeExcitation)': () => new SEModule(16, { squeezeChannels: 8, gate: 'hardsigmoid' }),
};

// ---------------------------------------------------------------------------------------------
// The cases

function runCase(c: Case, backend: Backend): void {
  if (c.kind === 'fn') {
    const impl = FNS[c.op!];
    if (!impl) throw new Error(`no function for op '${c.op}'`);
    noLeaks(c.name, () => {
      const xs = c.inputs.map(tensorOf);
      if (backend === 'cpu' && c.name.includes('(wasm only)')) {
        // @cnn/tensor documents stride together with dilation as wasm-only; cpu refuses it by name.
        expect(() => impl(xs, c.args)).toThrow(
          /conv2d: stride 2x2 together with dilation 2x2 is supported only on the wasm backend/,
        );
      } else {
        const y = impl(xs, c.args);
        expectClose(fixture, c.name, y, c, 0);
        y.dispose();
      }
      tf.dispose(xs);
    });
    return;
  }
  if (c.kind === 'bn-train') {
    const bn = new BatchNorm2d(c.args.c, { momentum: c.args.momentum, eps: c.args.eps });
    loadTorchState(bn, torchDict(c));
    bn.train();
    noLeaks(c.name, () => {
      c.inputs.forEach((sp, step) => {
        const x = tensorOf(sp);
        const y = bn.call(x);
        const o = 4 * step;
        expectClose(fixture, `${c.name} step ${step + 1}: output`, y, c, o);
        expectClose(fixture, `${c.name} step ${step + 1}: running_mean`, bn.runningMean, c, o + 1);
        expectClose(fixture, `${c.name} step ${step + 1}: running_var`, bn.runningVar, c, o + 2);
        expect(bn.numBatchesTracked.dataSync()[0], `${c.name} step ${step + 1}: num_batches_tracked`).toBe(
          expected(fixture, c, o + 3)[0],
        );
        tf.dispose([x, y]);
      });
      // Then PyTorch's gradients of sum(y * dy) in training mode, for the first input.
      const o = 4 * c.inputs.length;
      const x0 = tensorOf(c.inputs[0]);
      const x = tf.variable(x0);
      const dy = tensorOf(c.grad!.dy);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.call(x), dy)), [x, bn.weight!, bn.bias!]);
      expectClose(fixture, `${c.name}: input gradient`, grads[x.name], c, o);
      expectClose(fixture, `${c.name}: weight gradient`, grads[bn.weight!.name], c, o + 1);
      expectClose(fixture, `${c.name}: bias gradient`, grads[bn.bias!.name], c, o + 2);
      tf.dispose([x0, x, dy, value, ...Object.values(grads)]);
    });
    bn.dispose();
    return;
  }
  const make = MODULES[c.name];
  if (!make) throw new Error(`no module for case '${c.name}'`);
  runModuleCase(fixture, c, make, loadTorchState);
}

describe('fixtures', () => {
  it('the formula and the key seeds match make-layer-fixtures.py bit for bit', () => {
    checkFormula(fixture);
  });

  it('cover every function of F, every layer class and every generic block', async () => {
    await setBackend('wasm');
    const ops = new Set(doc.cases.filter((c) => c.kind === 'fn').map((c) => c.op));
    expect([...ops].sort()).toEqual(Object.keys(FNS).sort());
    const modules = new Set(doc.cases.filter((c) => c.kind === 'layer' || c.kind === 'block').map((c) => c.name));
    expect([...modules].sort()).toEqual(Object.keys(MODULES).sort());
    const types = new Set(
      Object.values(MODULES).flatMap((make) => {
        const m = make();
        const t = m.namedModules().map(([, x]) => x.typeName);
        m.dispose();
        return t;
      }),
    );
    for (const t of [
      'Conv2d',
      'Linear',
      'BatchNorm2d',
      'MaxPool2d',
      'AvgPool2d',
      'AdaptiveAvgPool2d',
      'LocalResponseNorm',
      'Dropout',
      'Flatten',
      'Identity',
      'ChannelShuffle',
      'Softmax',
      'LogSoftmax',
      'ReLU',
      'ReLU6',
      'LeakyReLU',
      'ELU',
      'Sigmoid',
      'Tanh',
      'GELU',
      'SiLU',
      'Hardsigmoid',
      'Hardswish',
      'Sequential',
      'ConvNormAct',
      'SEModule',
    ]) {
      expect(types.has(t), t).toBe(true);
    }
  });
});

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`parity with PyTorch ${doc.torch} on ${backend}`, () => {
    for (const kind of ['fn', 'layer', 'bn-train', 'block'] as const) {
      describe(kind, () => {
        for (const c of doc.cases.filter((x) => x.kind === kind)) {
          it(c.name, async () => {
            await setBackend(backend);
            runCase(c, backend);
          });
        }
      });
    }
  });
}
