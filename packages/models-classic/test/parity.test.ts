// Parity with PyTorch, model by model: torchvision's alexnet, vgg11, vgg11_bn, vgg16, googlenet, resnet18, resnet50
// and resnext50_32x4d, and PyTorch rebuilds of MMPretrain's LeNet-5, of alexnet_2012, of ResNet-18 for CIFAR and of
// the paper's CIFAR ResNet-20 (scripts/make-parity-fixtures.py, Debian's PyTorch 1.13 / torchvision 0.14, float64).
//
// No weights are committed: every tensor of the state dict (parameters and BatchNorm statistics) and the input are
// computed here from the same formula of (key, index) as in the script; the fixture holds the PyTorch keys and
// shapes, a checksum of each tensor (so that a difference in the formula is told apart from a model bug) and the
// logits. Each model is built with getModel, loads the dict through loadTorchState (PyTorch keys and layouts,
// strict: a module tree that differs from the reference's fails with every missing / unexpected key named), runs
// in eval mode, and its logits must be within 1e-4 of PyTorch's (max |difference| / max |logit|); so must the part
// of the logits that differs between the two images of the batch (within 1e-3 of its own size), because deep
// random networks give different inputs strongly correlated logits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { loadTorchState, type HostTensor } from '@cnn/layers';
import { getModel } from '../src/index';
import { checksum, fnv1a, relErr, size } from '../../../test-support/fixtures';

const TOL = 1e-4;
const DIFF_TOL = 1e-3;

/** [PyTorch key, shape in PyTorch's layout, checksum of its float32 values]. */
type KeyEntry = [string, number[], number];

interface ModelFixture {
  id: string;
  reference: string;
  numClasses: number;
  params: number;
  /** NCHW, and the factor applied to the formula's values. */
  input: { shape: [number, number, number, number]; scale: number };
  logits: { offset: number; shape: [number, number]; std: number; absmax: number };
  keys: KeyEntry[];
}

interface Fixture {
  torch: string;
  torchvision: string;
  formulaCheck: { fnv1a: Record<string, number>; inputU: number[]; values: Record<string, number[]> };
  models: ModelFixture[];
}

const dir = new URL('./fixtures/parity/', import.meta.url);
const doc = JSON.parse(readFileSync(new URL('parity.json', dir), 'utf8')) as Fixture;
const logits = (() => {
  const bin = readFileSync(new URL('parity.bin', dir));
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();

// ---------------------------------------------------------------------------------------------
// The formula (as in scripts/make-parity-fixtures.py)

/** u(i, seed) = (hash(i, seed) >> 8) / 2^24 - 0.5 for i < n: multiples of 2^-24 in [-0.5, 0.5), exact in float32. */
function unit(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d);
    h ^= h >>> 15;
    h = Math.imul(h, 0x846ca68b);
    h ^= h >>> 16;
    out[i] = (h >>> 8) / 16777216 - 0.5;
  }
  return out;
}

/** The float32 values of a state-dict tensor in PyTorch's layout (each rounded once from float64, as numpy does). */
function tensorValues(key: string, shape: readonly number[]): Float32Array {
  const name = key.slice(key.lastIndexOf('.') + 1);
  const n = size(shape);
  if (name === 'num_batches_tracked') return new Float32Array(n);
  const u = unit(n, fnv1a(key));
  let f: (v: number) => number;
  if (name === 'weight' && shape.length >= 2) {
    const s = Math.sqrt(16 / size(shape.slice(1)));
    f = (v) => v * s;
  } else if (name === 'weight') f = (v) => 1 + v / 2;
  else if (name === 'bias' || name === 'running_mean') f = (v) => v / 8;
  else if (name === 'running_var') f = (v) => 0.5 + Math.abs(v);
  else throw new Error(`no rule for state-dict key ${key}`);
  for (let i = 0; i < n; i++) u[i] = f(u[i]);
  return u;
}

/** The model's input, NHWC: the formula's values in NCHW order, transposed. */
function inputOf(m: ModelFixture): tf.Tensor4D {
  const data = unit(size(m.input.shape), fnv1a('input'));
  for (let i = 0; i < data.length; i++) data[i] *= m.input.scale;
  return tf.tidy(() => tf.tensor4d(data, m.input.shape).transpose([0, 2, 3, 1]));
}

/** Row 0 minus row 1 of [2, k] logits, in float64. */
function batchDiff(v: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let j = 0; j < k; j++) out[j] = v[j] - v[k + j];
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('the formula', () => {
  it("gives the script's hashes and values bit for bit", () => {
    const c = doc.formulaCheck;
    for (const [s, h] of Object.entries(c.fnv1a)) expect(fnv1a(s), `fnv1a('${s}')`).toBe(h);
    expect(Array.from(unit(c.inputU.length, fnv1a('input')))).toEqual(c.inputU);
    const shapes: Record<string, number[]> = {
      'features.0.weight': [6, 1, 5, 5],
      'bn1.weight': [64],
      'fc.bias': [10],
      'bn1.running_mean': [16],
      'bn1.running_var': [16],
    };
    for (const [key, want] of Object.entries(c.values))
      expect(Array.from(tensorValues(key, shapes[key]).subarray(0, want.length)), key).toEqual(want);
  });

  it('covers the ids of the issue', () => {
    expect(doc.models.map((m) => m.id)).toEqual(
      expect.arrayContaining([
        'lenet5',
        'alexnet',
        'alexnet_2012',
        'vgg11',
        'vgg11_bn',
        'googlenet',
        'resnet18',
        'resnet50',
        'resnext50_32x4d',
      ]),
    );
  });
});

/** The small models also run on tfjs's plain cpu backend (the reference implementation of every kernel). */
const ON_CPU = new Set(['lenet5', 'resnet20_cifar']);

describe(`logits equal PyTorch's (torch ${doc.torch}, torchvision ${doc.torchvision})`, () => {
  for (const m of doc.models) {
    for (const backend of ON_CPU.has(m.id) ? (['wasm', 'cpu'] as const) : (['wasm'] as const)) {
      it(`${m.id} on ${backend} vs ${m.reference}, input ${m.input.shape.join('x')}`, async () => {
        await setBackend(backend);
        const before = tf.memory().numTensors;
        const model = getModel(m.id, { numClasses: m.numClasses });
        try {
          expect(model.numParameters(), 'learnable parameters').toBe(m.params);
          const dict = new Map<string, HostTensor>();
          const badSums: string[] = [];
          for (const [key, shape, sum] of m.keys) {
            const data = tensorValues(key, shape);
            if (checksum(data) !== sum) badSums.push(key);
            dict.set(key, { shape, data });
          }
          expect(badSums, "tensors whose values differ from the script's (the formula, not the model)").toEqual([]);
          const res = loadTorchState(model, dict);
          expect(res.loaded.length).toBe(m.keys.length);
          dict.clear();
          model.eval();

          const x = inputOf(m);
          const y = model.call(x);
          x.dispose();
          expect(y.shape).toEqual(m.logits.shape);
          const got = y.dataSync() as Float32Array;
          y.dispose();
          const want = logits.subarray(m.logits.offset, m.logits.offset + size(m.logits.shape));
          const e = relErr(got, want);
          expect(
            e.rel,
            `${m.id}: logits rel err ${e.rel.toExponential(3)} (worst at flat index ${e.at}: got ${e.got}, want ${e.want})`,
          ).toBeLessThanOrEqual(TOL);
          const k = m.logits.shape[1];
          const d = relErr(batchDiff(got, k), batchDiff(want, k));
          expect(
            d.rel,
            `${m.id}: image 0 - image 1 rel err ${d.rel.toExponential(3)} (worst at class ${d.at})`,
          ).toBeLessThanOrEqual(DIFF_TOL);
        } finally {
          model.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
