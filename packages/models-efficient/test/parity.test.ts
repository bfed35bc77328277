// Forward parity of whole models with PyTorch: torchvision's MobileNetV2, MobileNetV3 small / large and ShuffleNetV2
// x0.5 / x1.0 as torchvision defines them, and PyTorch rebuilds of MMPretrain's SE-ResNet-50 and ShuffleNetV1 x1.0 g3
// and of the MobileNetV1 paper's Table 1, against logits made by scripts/make-parity-fixtures.py with Debian's
// PyTorch 1.13 / torchvision 0.14 (float64, eval mode, cast to float32).
//
// No weights are stored: the fixture lists every PyTorch state-dict key with its PyTorch shape, and both sides compute
// every tensor from the same formula (a hash of the flat index and an FNV-1a seed of `id/key`). Each model is built
// with getModel(id) and loaded with loadTorchState, strictly and with no key map, so the PyTorch key names and layouts
// are checked as well as the arithmetic.
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { loadTorchState, type HostTensor } from '@cnn/layers';
import { tf, setBackend, getModel, type ImageClassifier } from '../src/index';
import { fnv1a, formula, realise, relErr, size } from '../../../test-support/fixtures';

const TOL = 1e-4;

// ---------------------------------------------------------------------------------------------
// Fixtures

interface ModelEntry {
  id: string;
  source: string;
  /** [PyTorch key, PyTorch shape], in PyTorch's state_dict order. */
  keys: Array<[string, number[]]>;
  /** [BatchNorm prefix, scalar v]: running_var in [0.75 v, 1.25 v), running_mean scaled by 0.2 sqrt(v). */
  bn: Array<[string, number]>;
  logitsStd: number;
  logits: { shape: number[]; offset: number };
}
interface Doc {
  torch: string;
  torchvision: string;
  gain: number;
  input: { shape: number[]; scale: number };
  formulaCheck: { seed: number; values: number[]; fnv1a: Record<string, number> };
  models: ModelEntry[];
}

const JSON_URL = new URL('./fixtures/parity/models.json', import.meta.url);
const BIN_URL = new URL('./fixtures/parity/logits.bin', import.meta.url);
const doc = JSON.parse(readFileSync(JSON_URL, 'utf8')) as Doc;
const logits = (() => {
  const bin = readFileSync(BIN_URL);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();

// ---------------------------------------------------------------------------------------------
// The state tensors: the script's rule on the formula (test-support/fixtures.ts), bit for bit

type Rule = { scale: number; offset: number } | { value: number };

/** The script's `rule`: scale and offset of a state tensor from its key's last part and its shape. */
function rule(key: string, shape: readonly number[], bn: number | undefined, gain: number): Rule {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const need = () => {
    if (bn === undefined) throw new Error(`no BatchNorm scalar for ${key}`);
    return bn;
  };
  if (leaf === 'num_batches_tracked') return { value: 0 };
  if (leaf === 'running_var') return { scale: 0.5 * need(), offset: need() };
  if (leaf === 'running_mean') return { scale: 0.2 * Math.sqrt(need()), offset: 0 };
  if (leaf === 'bias') return { scale: 0.2, offset: 0 };
  if (leaf === 'weight' && shape.length === 1) return { scale: 0.5, offset: 1 };
  if (leaf === 'weight' && (shape.length === 2 || shape.length === 4))
    return { scale: Math.sqrt((12 * gain) / size(shape.slice(1))), offset: 0 };
  throw new Error(`no rule for ${key} [${shape.join(', ')}]`);
}

/** The model's state dict in PyTorch's keys and layouts, regenerated. */
function torchDict(m: ModelEntry): Map<string, HostTensor> {
  const bn = new Map(m.bn);
  const dict = new Map<string, HostTensor>();
  for (const [key, shape] of m.keys) {
    const r = rule(key, shape, bn.get(key.slice(0, key.lastIndexOf('.'))), doc.gain);
    const data = 'value' in r ? Float32Array.of(r.value) : realise(shape, fnv1a(`${m.id}/${key}`), r.scale, r.offset);
    dict.set(key, { shape, data });
  }
  return dict;
}

/** The input batch, NHWC. */
const inputOf = (m: ModelEntry) =>
  tf.tensor(realise(doc.input.shape, fnv1a(`${m.id}/input`), doc.input.scale, 0), doc.input.shape);

const expected = (m: ModelEntry) => logits.subarray(m.logits.offset, m.logits.offset + size(m.logits.shape));

// ---------------------------------------------------------------------------------------------

const IDS = [
  'mobilenet_v2',
  'mobilenet_v3_small',
  'mobilenet_v3_large',
  'shufflenet_v2_x0_5',
  'shufflenet_v2_x1_0',
  'seresnet50',
  'shufflenet_v1_x1_0_g3',
  'mobilenet_v1',
];
/** Also run on the cpu backend (small and quick there). */
const ON_CPU = ['shufflenet_v2_x0_5'];

describe('parity fixtures', () => {
  it('cover the eight ids, with the formula and the key seeds of make-parity-fixtures.py bit for bit', () => {
    expect(doc.models.map((m) => m.id)).toEqual(IDS);
    expect(Array.from(formula(doc.formulaCheck.values.length, doc.formulaCheck.seed))).toEqual(doc.formulaCheck.values);
    for (const [s, h] of Object.entries(doc.formulaCheck.fnv1a)) expect(fnv1a(s), s).toBe(h);
    for (const m of doc.models) {
      expect(m.logits.shape, m.id).toEqual([2, 1000]);
      expect(m.logitsStd, `${m.id}: logits have a spread`).toBeGreaterThan(0.1);
    }
    expect(statSync(JSON_URL).size + statSync(BIN_URL).size).toBeLessThan(200_000);
  });
});

function checkModel(m: ModelEntry): void {
  const before = tf.memory().numTensors;
  const model: ImageClassifier = getModel(m.id);
  try {
    // Strict: throws naming every missing, unexpected and mis-shaped key.
    const res = loadTorchState(model, torchDict(m));
    expect(res.missing, `${m.id}: model keys the PyTorch state lacks`).toEqual([]);
    expect(res.unexpected, `${m.id}: PyTorch keys the model lacks`).toEqual([]);
    expect(res.loaded.length).toBe(m.keys.length);
    // Eval mode twice: fused (its folded tensors made first, by fuse(), so that only the call's own are counted),
    // then module by module.
    for (const mode of ['fused', 'unfused'] as const) {
      if (mode === 'fused') model.fuse();
      else model.unfuse();
      const inner = tf.memory().numTensors;
      const x = inputOf(m);
      const y = model.call(x);
      expect(y.shape, `${m.id}: logits shape`).toEqual(m.logits.shape);
      const e = relErr(y.dataSync() as Float32Array, expected(m));
      tf.dispose([x, y]);
      expect(tf.memory().numTensors, `${m.id} (${mode}): tensors left over by the forward pass`).toBe(inner);
      expect(
        e.rel,
        `${m.id} (${mode}): rel err ${e.rel.toExponential(3)} (worst at flat index ${e.at}: got ${e.got}, want ${e.want})`,
      ).toBeLessThanOrEqual(TOL);
    }
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors, `${m.id}: tensors left over`).toBe(before);
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`parity with PyTorch ${doc.torch} / torchvision ${doc.torchvision} on ${backend}`, () => {
    for (const m of doc.models.filter((x) => backend === 'wasm' || ON_CPU.includes(x.id))) {
      it(`${m.id} (${m.source})`, async () => {
        await setBackend(backend);
        checkModel(m);
      });
    }
  });
}
