// The hand-over to PyTorch and back, as a user who outgrows one machine makes it (apps/docs/guide/pytorch-handover.md),
// with torchvision's shufflenet_v2_x0_5 (10 classes) and fixtures made by scripts/make-handover-fixtures.py with
// Debian's PyTorch 1.13 / torchvision 0.14:
//
// 1. Weights saved here (saveWeights: safetensors, PyTorch's layouts, torchvision's keys), read by PyTorch with a few
//    lines of Python and loaded strictly into torchvision's model, give PyTorch the logits this library computes. The
//    weights are not stored: the test rebuilds the very file the script read (test/handover-weights.ts; every key's
//    shape and checksum as PyTorch loaded it must match), writes it to disk and loads it back as a user would.
// 2. A checkpoint trained by PyTorch and saved with torch.save (test/fixtures/handover/pytorch-trained.pth,
//    committed: CI has no PyTorch) loads here with loadWeights and gives PyTorch's logits.
//
// Logits are compared as max |ours - PyTorch| / max |PyTorch| <= 1e-4 (PyTorch's in float64, cast to float32).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@cnn/layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksum, relErr } from '../../../test-support/fixtures';
import { getModel, loadWeights, saveWeights, setBackend, tf, type ImageClassifier } from '../src/index';
import {
  HANDOVER_CLASSES,
  HANDOVER_INPUT_SEED,
  HANDOVER_INPUT_SHAPE,
  HANDOVER_MODEL,
  handoverInput,
  handoverModel,
} from './handover-weights';

const TOL = 1e-4;
const FIXTURES = new URL('./fixtures/handover/', import.meta.url);

type KeyRow = [string, number[], 'F32' | 'I64', number];
interface Direction {
  file: { bytes: number; sha256: string; name?: string };
  keys: KeyRow[];
  logits: number[][];
  spread: { std: number; argmax: number[] };
}
interface Expected {
  torch: string;
  torchvision: string;
  model: string;
  numClasses: number;
  input: { shape: number[]; seed: number; scale: number };
  oursToPytorch: Direction;
  pytorchToOurs: Direction & { numBatchesTracked: number; trainingLosses: number[] };
}
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as Expected;

let dir = '';
beforeAll(async () => {
  await setBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'cnn-handover-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The model's eval-mode logits on the fixture input. */
function logitsOf(model: ImageClassifier): Float32Array {
  return tf.tidy(() => model.forward(handoverInput()).dataSync() as Float32Array);
}

function compare(label: string, ours: Float32Array, theirs: number[][]): void {
  const flat = Float32Array.from(theirs.flat());
  expect(ours.length).toBe(flat.length);
  const { rel, at } = relErr(ours, flat);
  console.log(`[handover] ${label}: max |ours - PyTorch| / max |PyTorch| = ${rel.toExponential(2)} (at ${at})`);
  expect(rel).toBeLessThanOrEqual(TOL);
  // The two images must give logits that differ by far more than the tolerance, or the comparison would say little.
  const n = HANDOVER_CLASSES;
  const scale = Math.max(...flat.map(Math.abs));
  const apart = Math.max(...Array.from({ length: n }, (_, j) => Math.abs(flat[j] - flat[n + j])));
  expect(apart / scale).toBeGreaterThan(100 * TOL);
}

describe('hand-over to PyTorch and back (shufflenet_v2_x0_5, 10 classes)', () => {
  it('the fixture is for this model and input', () => {
    expect([expected.model, expected.numClasses]).toEqual([HANDOVER_MODEL, HANDOVER_CLASSES]);
    expect(expected.input).toEqual({ shape: [...HANDOVER_INPUT_SHAPE], seed: HANDOVER_INPUT_SEED, scale: 4 });
  });

  it("weights saved by this library load strictly into torchvision's model and give PyTorch the same logits", () => {
    const fix = expected.oursToPytorch;
    const before = tf.memory().numTensors;
    const model = handoverModel();
    const bytes = saveWeights(model);
    const file = join(dir, 'ours.safetensors');
    writeFileSync(file, bytes);
    const raw = readFileSync(file);
    // The file PyTorch read: same size; every key, in order, with PyTorch's shape, dtype and checksum.
    expect(raw.length).toBe(fix.file.bytes);
    const { tensors } = readSafetensors(new Uint8Array(raw));
    const rows: KeyRow[] = [...tensors].map(([k, t]) => [
      k,
      [...t.shape],
      t.dtype === 'int64' ? 'I64' : 'F32',
      checksum(t.data as Float32Array | BigInt64Array),
    ]);
    expect(rows).toEqual(fix.keys);
    const sha = createHash('sha256').update(raw).digest('hex');
    if (sha !== fix.file.sha256) console.log(`[handover] the file's header differs from the script's (${sha})`);

    compare('ours -> PyTorch', logitsOf(model), fix.logits);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the saved file loads back here (loadWeights from the path) to the same logits', async () => {
    const file = join(dir, 'ours.safetensors');
    const model = getModel(HANDOVER_MODEL, { numClasses: HANDOVER_CLASSES });
    const result = await loadWeights(model, file);
    expect([result.missing, result.unexpected]).toEqual([[], []]);
    compare('ours -> file -> ours', logitsOf(model.eval()), expected.oursToPytorch.logits);
    model.dispose();
  });

  it('a checkpoint trained and saved by PyTorch (torch.save, .pth) loads with loadWeights and gives its logits', async () => {
    const fix = expected.pytorchToOurs;
    const path = new URL(fix.file.name ?? 'pytorch-trained.pth', FIXTURES).pathname;
    const raw = readFileSync(path);
    expect(createHash('sha256').update(raw).digest('hex')).toBe(fix.file.sha256);
    const before = tf.memory().numTensors;
    const model = getModel(HANDOVER_MODEL, { numClasses: HANDOVER_CLASSES });
    const built = tf.memory().numTensors;
    const result = await loadWeights(model, path);
    expect(tf.memory().numTensors).toBe(built);
    expect([result.missing, result.unexpected]).toEqual([[], []]);
    // PyTorch's training moved the BatchNorm statistics; they came across with the weights.
    const tracked = model.stateDict().get('conv1.1.num_batches_tracked');
    expect(Array.from(tracked?.dataSync() ?? [])).toEqual([fix.numBatchesTracked]);
    compare('PyTorch -> ours', logitsOf(model.eval()), fix.logits);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
