// Shared by the weights table's key-map tests (test/pretrained-keymaps.test.ts here, for the ids of this package, and
// packages/models-efficient/test/pretrained-keymaps.test.ts, for the efficient ids): the fixture that
// scripts/make-pretrained-fixtures.py writes (every published file's layout, as data from the upstream model
// definition, and a few logits), the formula of its weights, and the two checks. The model is passed in, so that each
// package's test builds it with its own registry.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { tf } from '@cnn/tensor';
import { loadTorchState, type HostTensor, type KeyMap, type Module } from '@cnn/layers';
import { checksum, fnv1a, realise, relErr, size } from '../../../test-support/fixtures';
import { KEY_MAPS } from '../src/pretrained/keymaps';
import type { PretrainedEntry } from '../src/pretrained/types';

/** One logits case: a representative per (architecture, key map) that the model parity tests do not cover. */
export interface PretrainedCase {
  case: string;
  layout: string;
  keyMap: string;
  modelOptions: Record<string, unknown>;
  /** NCHW, and the factor applied to the formula's values. */
  input: { shape: [number, number, number, number]; scale: number };
  logits: { offset: number; shape: [number, number] };
  /** The checksum of the first tensor, and of all (sum mod 2^32), as the script computed them. */
  checksum: { key: string; sum: number };
  checksumAll: number;
}

export interface PretrainedFixture {
  torch: string;
  torchvision: string;
  /** Per upstream layout ('torchvision:<id>', 'mmpretrain:<id>'): [key, PyTorch shape] in state_dict order. */
  layouts: Record<string, Array<[string, number[]]>>;
  cases: PretrainedCase[];
}

const dir = new URL('./fixtures/pretrained/', import.meta.url);

export const fixture = JSON.parse(
  gunzipSync(readFileSync(new URL('layouts.json.gz', dir))).toString('utf8'),
) as PretrainedFixture;

const logitsBlob = (() => {
  const bin = readFileSync(new URL('logits.bin', dir));
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();

/** The upstream layout an entry's file has. */
export const layoutOf = (e: PretrainedEntry): string => `${e.source}:${e.id}`;

/** The float32 values of an upstream state-dict tensor (PyTorch layout): the script's `tensor_values`. */
export function pretrainedValues(key: string, shape: readonly number[]): Float32Array {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const seed = fnv1a(key);
  if (leaf === 'num_batches_tracked') return new Float32Array(size(shape));
  if (leaf === 'weight' && shape.length >= 2) return realise(shape, seed, Math.sqrt(16 / size(shape.slice(1))));
  if (leaf === 'weight' || leaf === 'running_var') return realise(shape, seed, 0.5, 1);
  if (leaf === 'bias' || leaf === 'running_mean') return realise(shape, seed, 0.125);
  throw new Error(`no rule for state-dict key ${key}`);
}

/** A tensor shape of ours in PyTorch's layout: HWIO convolution filters to OIHW, [in, out] linear weights to [out, in]. */
export function torchShape(shape: readonly number[]): number[] {
  if (shape.length === 4) return [shape[3], shape[2], shape[0], shape[1]];
  if (shape.length === 2) return [shape[1], shape[0]];
  return shape.slice();
}

/** What mapping an upstream layout through a key map onto a model leaves wrong (all empty: an exact match). */
export interface LayoutCheck {
  /** Model keys no upstream key maps to. */
  missing: string[];
  /** Mapped keys the model does not have. */
  unexpected: string[];
  /** Model keys two upstream keys map to. */
  duplicated: string[];
  /** `key: upstream shape vs ours (in PyTorch's layout)`. */
  badShapes: string[];
  /** Upstream keys the map dropped. */
  dropped: string[];
}

/** Maps every upstream [key, shape] through `map` and compares with the model's state dict, key by key. */
export function checkLayout(model: Module, layout: Array<[string, number[]]>, map: KeyMap): LayoutCheck {
  const ours = model.stateDict();
  const seen = new Set<string>();
  const out: LayoutCheck = { missing: [], unexpected: [], duplicated: [], badShapes: [], dropped: [] };
  for (const [key, shape] of layout) {
    const k = map(key);
    if (k === null) {
      out.dropped.push(key);
      continue;
    }
    if (seen.has(k)) out.duplicated.push(k);
    seen.add(k);
    const t = ours.get(k);
    if (t === undefined) {
      out.unexpected.push(`${key} -> ${k}`);
      continue;
    }
    const want = torchShape(t.shape);
    if (want.join('x') !== shape.join('x')) out.badShapes.push(`${k}: ${shape.join('x')} vs ${want.join('x')}`);
  }
  for (const k of ours.keys()) if (!seen.has(k)) out.missing.push(k);
  return out;
}

/**
 * Fills the case's upstream state dict from the formula, loads it into `model` through `map` (strict: loadTorchState
 * refuses any missing or unexpected key), runs the case's input in eval mode and returns our logits against the
 * script's, with the checksums of the filled tensors.
 */
export function runCase(
  model: Module,
  c: PretrainedCase,
  map: KeyMap,
): { got: Float32Array; want: Float32Array; sumFirst: number; sumAll: number; loaded: number } {
  const dict = new Map<string, HostTensor>();
  let sumAll = 0;
  let sumFirst = -1;
  for (const [key, shape] of fixture.layouts[c.layout]) {
    const data = pretrainedValues(key, shape);
    const s = checksum(data);
    if (key === c.checksum.key) sumFirst = s;
    sumAll = (sumAll + s) >>> 0;
    dict.set(key, { shape, data });
  }
  const res = loadTorchState(model, dict, { keyMap: map });
  dict.clear();
  model.eval();
  const [n, ch, h, w] = c.input.shape;
  const x = tf.tidy(() =>
    tf.tensor4d(realise(c.input.shape, fnv1a('input'), c.input.scale), [n, ch, h, w]).transpose([0, 2, 3, 1]),
  );
  const y = model.call(x);
  x.dispose();
  const got = y.dataSync() as Float32Array;
  y.dispose();
  const want = logitsBlob.subarray(c.logits.offset, c.logits.offset + size(c.logits.shape));
  return { got, want, sumFirst, sumAll, loaded: res.loaded.length };
}

export { relErr };

const TOL = 1e-4;

/**
 * Builds a model (`build`, with the package's own registry; disposed here), maps the upstream layout of `e`'s file onto
 * it through its key map and expects an exact fit: no missing, unexpected, duplicated or misshapen key, and no dropped
 * upstream key but those `droppable` matches (GoogLeNet's aux heads). Returns the dropped keys; leaks no tensor.
 */
export function expectKeyMapFits(build: () => Module, e: PretrainedEntry, droppable?: RegExp): string[] {
  const before = tf.memory().numTensors;
  const model = build();
  let dropped: string[];
  try {
    const r = checkLayout(model, fixture.layouts[layoutOf(e)], KEY_MAPS[e.keyMap]);
    expect(r.missing, 'model keys no file key maps to').toEqual([]);
    expect(r.unexpected, 'file keys the model lacks').toEqual([]);
    expect(r.duplicated).toEqual([]);
    expect(r.badShapes).toEqual([]);
    dropped = r.dropped;
    expect(
      dropped.filter((k) => !droppable?.test(k)),
      `file keys dropped${droppable ? ` (only ${droppable} may be)` : ''}`,
    ).toEqual([]);
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
  return dropped;
}

/**
 * Builds a model for logits case `c` (disposed here), fills it through the case's key map and expects the script's
 * checksums, every key loaded, and logits within 1e-4 (relative to the largest) of PyTorch's; leaks no tensor.
 */
export function expectCaseLogits(build: () => Module, c: PretrainedCase): void {
  const before = tf.memory().numTensors;
  const model = build();
  try {
    const r = runCase(model, c, KEY_MAPS[c.keyMap]);
    expect(r.sumFirst, 'the formula gives the script tensors').toBe(c.checksum.sum);
    expect(r.sumAll).toBe(c.checksumAll);
    expect(r.loaded).toBe(model.stateDict().size);
    const e = relErr(r.got, r.want);
    expect(e.rel, `rel err ${e.rel.toExponential(3)} at ${e.at}: ${e.got} vs ${e.want}`).toBeLessThanOrEqual(TOL);
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
}
