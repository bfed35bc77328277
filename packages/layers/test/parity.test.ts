// Forward parity with PyTorch: every function of F, every layer class, BatchNorm2d's training step (output and
// running statistics) and every block, on wasm and on cpu, against fixtures made by
// scripts/make-layer-fixtures.py with Debian's PyTorch 1.13 / torchvision 0.14 (float64, cast to float32).
// Inputs and weights are not stored: both sides compute them from the formula (test-support). Blocks load the PyTorch
// state dict (PyTorch keys and layouts) with loadTorchState, so the key names are checked too.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  F, Module, Sequential, Conv2d, Linear, BatchNorm2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, LocalResponseNorm, Dropout,
  Flatten, Identity, ChannelShuffle, Softmax, LogSoftmax, ReLU, ReLU6, LeakyReLU, ELU, Sigmoid, Tanh, GELU, SiLU,
  Hardsigmoid, Hardswish, ConvNormAct, SEModule, BasicBlock, Bottleneck, DepthwiseSeparable, InvertedResidual,
  ShuffleUnitV1, ShuffleUnitV2, Inception, activation, batchNorm, loadTorchState, type HostTensor, type KeyMap,
} from '../src/index';
import { fnv1a, formula, realise, relErr, size } from '../../../test-support/fixtures';

const TOL = 1e-4;
type Backend = 'wasm' | 'cpu';

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Spec { shape: number[]; seed: number; scale: number; offset: number }
interface StateEntry { key: string; shape: number[]; seed?: number; scale?: number; offset?: number; value?: number }
interface Case {
  name: string;
  kind: 'fn' | 'layer' | 'bn-train' | 'block';
  op?: string;
  args?: any;
  inputs: Spec[];
  /** bn-train: the upstream gradient of the gradient check. */
  grad?: { dy: Spec };
  state?: StateEntry[];
  outputs: Array<{ shape: number[]; offset: number }>;
}
interface Doc {
  torch: string;
  formulaCheck: { seed: number; values: number[]; fnv1a: Record<string, number> };
  cases: Case[];
}

const doc = JSON.parse(readFileSync(new URL('./fixtures/layers/cases.json', import.meta.url), 'utf8')) as Doc;
const fixture = (() => {
  const bin = readFileSync(new URL('./fixtures/layers/cases.bin', import.meta.url));
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();

/** The values of a spec: the formula's, scaled and offset as the script's `realise_spec`. */
const realiseSpec = (sp: Spec): Float32Array => realise(sp.shape, sp.seed, sp.scale, sp.offset);

const tensorOf = (sp: Spec): Tensor => tf.tensor(realiseSpec(sp), sp.shape);

/** The case's state dict in PyTorch's keys and layouts. */
function torchDict(c: Case): Map<string, HostTensor> {
  const dict = new Map<string, HostTensor>();
  for (const e of c.state ?? []) {
    const data = e.value !== undefined ? Float32Array.of(e.value) : realiseSpec(e as Required<StateEntry>);
    dict.set(e.key, { shape: e.shape, data });
  }
  return dict;
}

function expected(c: Case, i: number): Float32Array {
  const o = c.outputs[i];
  return fixture.subarray(o.offset, o.offset + size(o.shape));
}

function expectClose(what: string, got: Tensor, c: Case, i: number): void {
  expect(got.shape, `${what}: shape`).toEqual(c.outputs[i].shape);
  const e = relErr(got.dataSync() as Float32Array, expected(c, i));
  expect.soft(e.rel, `${what}: rel err ${e.rel.toExponential(3)} (worst at flat index ${e.at}: got ${e.got}, want ${e.want})`).toBeLessThanOrEqual(TOL);
}

// ---------------------------------------------------------------------------------------------
// What each case calls

type FnImpl = (x: Tensor[], a: any) => Tensor;
const FNS: Record<string, FnImpl> = {
  conv2d: ([x, w, b], a) => F.conv2d(x, w, { bias: b, stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }),
  linear: ([x, w, b]) => F.linear(x, w, b),
  maxPool2d: ([x], a) => F.maxPool2d(x, a.kernelSize, { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode }),
  avgPool2d: ([x], a) => F.avgPool2d(x, a.kernelSize, { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode, countIncludePad: a.countIncludePad }),
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

const down = (i: number, o: number, s: number) => new Sequential(new Conv2d(i, o, 1, { stride: s, bias: false }), new BatchNorm2d(o));
const mbv3Norm = batchNorm({ eps: 1e-3, momentum: 0.01 });

/** The module of each 'layer' and 'block' case, as PyTorch's in the script. */
const MODULES: Record<string, () => Module> = {
  'Conv2d 3 -> 6, 3x3, pad 1': () => new Conv2d(3, 6, 3, { padding: 1 }),
  'Conv2d stride 2 pad 1 groups 2 no bias': () => new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, bias: false }),
  'Conv2d same 4x4 (PyTorch padding=same)': () => new Conv2d(3, 4, 4, { padding: 'same' }),
  'Conv2d dilation 2 same': () => new Conv2d(3, 5, 3, { padding: 'same', dilation: 2 }),
  'Conv2d [1, 3] kernel padding [0, 1]': () => new Conv2d(3, 4, [1, 3], { padding: [0, 1] }),
  'Conv2d depthwise stride 2': () => new Conv2d(6, 6, 3, { stride: 2, padding: 1, groups: 6 }),
  'Linear 8 -> 5': () => new Linear(8, 5),
  'Linear no bias': () => new Linear(6, 4, { bias: false }),
  'Flatten + Linear(flattenedFrom)': () => new Sequential(new Flatten(), new Linear(60, 6, { flattenedFrom: [3, 4, 5] })),
  'BatchNorm2d eval': () => new BatchNorm2d(6),
  'BatchNorm2d eval eps 1e-3': () => new BatchNorm2d(5, { eps: 1e-3 }),
  'BatchNorm2d eval affine false': () => new BatchNorm2d(4, { affine: false }),
  'MaxPool2d 3 stride 2 pad 1': () => new MaxPool2d(3, { stride: 2, padding: 1 }),
  'MaxPool2d 3 stride 2 ceil_mode': () => new MaxPool2d(3, { stride: 2, ceilMode: true }),
  'AvgPool2d 3 stride 2 pad 1 count_include_pad False': () => new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
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
  'Sequential conv-bn-relu-maxpool': () => new Sequential(new Conv2d(3, 8, 3, { padding: 1, bias: false }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2)),
  // Blocks
  'ConvNormAct 3x3 stride 2 (Conv2dNormActivation)': () => new ConvNormAct(8, 16, 3, { stride: 2 }),
  'ConvNormAct no norm relu6 (Conv2dNormActivation)': () => new ConvNormAct(6, 8, 3, { norm: null, act: activation('relu6') }),
  'ConvNormAct hardswish 5x5 dilation 2': () => new ConvNormAct(4, 8, 5, { dilation: 2, act: activation('hardswish') }),
  'SEModule (SqueezeExcitation)': () => new SEModule(32, { squeezeChannels: 8 }),
  'SEModule hardsigmoid gate (SqueezeExcitation)': () => new SEModule(16, { squeezeChannels: 8, gate: 'hardsigmoid' }),
  BasicBlock: () => new BasicBlock(16, 16),
  'BasicBlock with downsample': () => new BasicBlock(16, 32, { stride: 2, downsample: down(16, 32, 2) }),
  Bottleneck: () => new Bottleneck(64, 16),
  'Bottleneck stride 2 with downsample': () => new Bottleneck(32, 16, { stride: 2, downsample: down(32, 64, 2) }),
  'Bottleneck ResNeXt 32x4d': () => new Bottleneck(64, 64, { groups: 32, baseWidth: 4, downsample: down(64, 256, 1) }),
  // SEModule's default squeeze: 64 / 16 = 4, as MMPretrain's SELayer(64, ratio 16).
  'Bottleneck with SE': () => new Bottleneck(64, 16, { attention: (c) => new SEModule(c) }),
  'DepthwiseSeparable stride 2': () => new DepthwiseSeparable(16, 32, { stride: 2 }),
  'InvertedResidual v2 expand 1': () => new InvertedResidual(16, 8, { hiddenChannels: 16 }),
  'InvertedResidual v2 expand 6 residual': () => new InvertedResidual(8, 8, { hiddenChannels: 48 }),
  'InvertedResidual v2 expand 6 stride 2': () => new InvertedResidual(8, 16, { hiddenChannels: 48, stride: 2 }),
  'InvertedResidual v3 SE hardswish 5x5 residual': () => new InvertedResidual(16, 16, { hiddenChannels: 48, kernelSize: 5, act: 'hardswish', seChannels: 16, layout: 'v3', norm: mbv3Norm }),
  'InvertedResidual v3 SE relu stride 2': () => new InvertedResidual(16, 24, { hiddenChannels: 64, stride: 2, act: 'relu', seChannels: 16, layout: 'v3', norm: mbv3Norm }),
  'InvertedResidual v3 no expansion relu stride 2': () => new InvertedResidual(16, 24, { hiddenChannels: 16, stride: 2, act: 'relu', layout: 'v3', norm: mbv3Norm }),
  'ShuffleUnitV1 stride 1 (MMPretrain)': () => new ShuffleUnitV1(48, 48, { groups: 3 }),
  'ShuffleUnitV1 stride 2 (MMPretrain)': () => new ShuffleUnitV1(24, 48, { groups: 3, stride: 2, firstGrouped: false }),
  'ShuffleUnitV1 stride 2 signed input (MMPretrain)': () => new ShuffleUnitV1(24, 48, { groups: 3, stride: 2 }),
  'ShuffleUnitV2 stride 1': () => new ShuffleUnitV2(32, 32, 1),
  'ShuffleUnitV2 stride 2': () => new ShuffleUnitV2(16, 32, 2),
  Inception: () => new Inception(16, { ch1x1: 8, ch3x3red: 8, ch3x3: 12, ch5x5red: 4, ch5x5: 6, poolProj: 6 }),
  'Inception odd size': () => new Inception(12, { ch1x1: 4, ch3x3red: 4, ch3x3: 8, ch5x5red: 4, ch5x5: 4, poolProj: 4 }),
};

// ShuffleUnitV1's children carry MMPretrain's names (g_conv_1x1_compress.conv, ...), so its keys load as they are.
function keyMapOf(_c: Case): KeyMap | undefined {
  return undefined;
}

function buildModule(c: Case): Module {
  const make = MODULES[c.name];
  if (!make) throw new Error(`no module for case '${c.name}'`);
  const m = make();
  const res = loadTorchState(m, torchDict(c), { keyMap: keyMapOf(c) });
  expect(res.missing, `${c.name}: keys the PyTorch state lacks`).toEqual([]);
  expect(res.unexpected, `${c.name}: PyTorch keys the model lacks`).toEqual([]);
  return m;
}

// ---------------------------------------------------------------------------------------------
// The cases

/** Runs `body`, then checks every tensor made since (outputs and inputs included, disposed by `body`) is freed. */
function noLeaks(what: string, body: () => void): void {
  const before = tf.memory().numTensors;
  body();
  expect(tf.memory().numTensors, `${what}: tensors left over`).toBe(before);
}

function runCase(c: Case, backend: Backend): void {
  if (c.kind === 'fn') {
    const impl = FNS[c.op!];
    if (!impl) throw new Error(`no function for op '${c.op}'`);
    noLeaks(c.name, () => {
      const xs = c.inputs.map(tensorOf);
      if (backend === 'cpu' && c.name.includes('(wasm only)')) {
        // @cnn/tensor documents stride together with dilation as wasm-only; cpu refuses it by name.
        expect(() => impl(xs, c.args)).toThrow(/conv2d: stride 2x2 together with dilation 2x2 is supported only on the wasm backend/);
      } else {
        const y = impl(xs, c.args);
        expectClose(c.name, y, c, 0);
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
        expectClose(`${c.name} step ${step + 1}: output`, y, c, o);
        expectClose(`${c.name} step ${step + 1}: running_mean`, bn.runningMean, c, o + 1);
        expectClose(`${c.name} step ${step + 1}: running_var`, bn.runningVar, c, o + 2);
        expect(bn.numBatchesTracked.dataSync()[0], `${c.name} step ${step + 1}: num_batches_tracked`).toBe(expected(c, o + 3)[0]);
        tf.dispose([x, y]);
      });
      // Then PyTorch's gradients of sum(y * dy) in training mode, for the first input.
      const o = 4 * c.inputs.length;
      const x0 = tensorOf(c.inputs[0]);
      const x = tf.variable(x0);
      const dy = tensorOf(c.grad!.dy);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.call(x), dy)), [x, bn.weight!, bn.bias!]);
      expectClose(`${c.name}: input gradient`, grads[x.name], c, o);
      expectClose(`${c.name}: weight gradient`, grads[bn.weight!.name], c, o + 1);
      expectClose(`${c.name}: bias gradient`, grads[bn.bias!.name], c, o + 2);
      tf.dispose([x0, x, dy, value, ...Object.values(grads)]);
    });
    bn.dispose();
    return;
  }
  const m = buildModule(c);
  m.eval();
  noLeaks(c.name, () => {
    const xs = c.inputs.map(tensorOf);
    const y = m.call(...xs);
    expectClose(c.name, y, c, 0);
    tf.dispose([y, ...xs]);
  });
  m.dispose();
}

describe('fixtures', () => {
  it('the formula and the key seeds match make-layer-fixtures.py bit for bit', () => {
    expect(Array.from(formula(doc.formulaCheck.values.length, doc.formulaCheck.seed))).toEqual(doc.formulaCheck.values);
    for (const [s, h] of Object.entries(doc.formulaCheck.fnv1a)) expect(fnv1a(s)).toBe(h);
    for (const c of doc.cases) {
      c.inputs.forEach((sp, j) => expect(sp.seed, `${c.name} input ${j}`).toBe(fnv1a(`${c.name}/input${j}`)));
      for (const e of c.state ?? []) if (e.seed !== undefined) expect(e.seed, `${c.name} ${e.key}`).toBe(fnv1a(`${c.name}/${e.key}`));
    }
  });

  it('cover every function of F, every layer class and every block', async () => {
    await setBackend('wasm');
    const ops = new Set(doc.cases.filter((c) => c.kind === 'fn').map((c) => c.op));
    expect([...ops].sort()).toEqual(Object.keys(FNS).sort());
    const modules = new Set(doc.cases.filter((c) => c.kind === 'layer' || c.kind === 'block').map((c) => c.name));
    expect([...modules].sort()).toEqual(Object.keys(MODULES).sort());
    const types = new Set(Object.values(MODULES).flatMap((make) => { const m = make(); const t = m.namedModules().map(([, x]) => x.typeName); m.dispose(); return t; }));
    for (const t of ['Conv2d', 'Linear', 'BatchNorm2d', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'LocalResponseNorm', 'Dropout', 'Flatten', 'Identity', 'ChannelShuffle', 'Softmax', 'LogSoftmax', 'ReLU', 'ReLU6', 'LeakyReLU', 'ELU', 'Sigmoid', 'Tanh', 'GELU', 'SiLU', 'Hardsigmoid', 'Hardswish', 'Sequential', 'ConvNormAct', 'SEModule', 'BasicBlock', 'Bottleneck', 'DepthwiseSeparable', 'InvertedResidual', 'ShuffleUnitV1', 'ShuffleUnitV2', 'Inception']) {
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
